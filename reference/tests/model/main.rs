//! The reference model's and the option algebra's own tests, one behaviour
//! (or one rule family) per file; each file names the rules it covers.
//!
//! They share one test binary (`cargo test -p portcheck-reference --test
//! model socket_backend::`, say, runs one file) because `make mutants`
//! rebuilds every test binary for each of its ~1,250 mutants: one binary
//! links once.

mod derivation;
mod disabled_activity;
mod inet_reply_order;
mod inet_send_timers;
mod inet_setopts_readiness;
mod mutants_model;
mod mutants_options;
mod option_algebra;
mod socket_backend;
mod watermark_crossing;
