//! The reference model's and the option algebra's own tests, one behaviour
//! (or one rule family) per file; each file names the rules it covers, and
//! `support` holds the helpers they share.
//!
//! They share one test binary (`cargo test -p portcheck-reference --test
//! model socket_backend::`, say, runs one file) because `make mutants`
//! rebuilds every test binary for each of its ~1,250 mutants: one binary
//! links once.

mod support;

mod activity_choices;
mod blame;
mod blame_provenance;
mod close_waiting;
mod coverage_counts;
mod derivation;
mod derived_shares;
mod disabled_activity;
mod enabled_ops;
mod half_close;
mod inet_active_after_timeout_close;
mod inet_close;
mod inet_port_monitor;
mod inet_reply_order;
mod inet_send_timers;
mod inet_setopts_readiness;
mod killed_caller;
mod killed_sender;
mod linger;
mod option_algebra;
mod otp_releases;
mod owner_death;
mod peer_end;
mod port_kill;
mod reader;
mod required_progress;
mod send_at;
mod shutdown;
mod socket_backend;
mod task_queue;
mod watermark_crossing;
