//! The native runtime's behaviours, one per file, checked directly (not
//! through the lockstep executor), through the adapter (`support::Case`)
//! or, where the kernel probes' helpers are needed, on the runtime itself:
//! each file names the rules it covers. (Tests that need neither are in
//! the runtime's own crate, `harness/native/tests/runtime/`.)
//!
//! They share one test binary (`cargo test -p portcheck-harness --test
//! native close::`, say, runs one file) because `make mutants` rebuilds
//! every test binary for each of its ~1,250 mutants: one binary links once.

#[path = "../support/mod.rs"]
mod support;

mod accept_exhaustion;
mod busy_at_high;
mod close_waiting;
mod connect;
mod delay_send;
mod direct_write;
mod driver_queue;
mod factory;
mod half_close;
mod killed_caller;
mod listen_port;
mod msgq;
mod owner_death;
mod payload;
mod peer_end;
mod peer_write;
mod port_kill;
mod port_table;
mod reader;
mod receive;
mod send_timeout;
mod tcp_table;
