//! The native runtime's behaviours, one per file, checked directly (not
//! through the lockstep executor): each file names the rules it covers.
//!
//! They share one test binary (`cargo test -p portcheck-harness --test
//! native close::`, say, runs one file) because `make mutants` rebuilds
//! every test binary for each of its ~1,250 mutants: one binary links once.

#[path = "../support/mod.rs"]
mod support;

mod accept_exhaustion;
mod busy_at_high;
mod connect;
mod delay_send;
mod direct_write;
mod msgq;
mod port_table;
mod receive;
mod send_timeout;
