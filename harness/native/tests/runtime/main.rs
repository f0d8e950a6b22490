//! The native runtime through its own API, one behaviour per file: each
//! file names the rules it covers. (Tests that need the adapter, the model's
//! vocabulary or the kernel probes' helpers are in `harness/tests/native/`.)
//!
//! They share one test binary (`cargo test -p portcheck-native --test
//! runtime port_table::`, say, runs one file) because `make mutants`
//! rebuilds every test binary for each mutant: one binary links once.

mod support;

mod accept_loop;
mod close_mode;
mod connect;
mod driver_queue;
mod event_loop;
mod half_close;
mod port_kill;
mod port_table;
mod port_tasks;
mod processes;
mod receive;
mod signals;
