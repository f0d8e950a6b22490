//! Tests written to kill mutants that `make mutants` found surviving in the
//! native runtime: each file holds the edges of one module that the
//! generated cases do not reach.
//!
//! One test binary for all of them (`cargo test -p portcheck-harness
//! --test mutants driver::` runs one file): `make mutants` rebuilds every
//! test binary for each mutant, and one binary links once.

#[path = "../support/mod.rs"]
mod support;

mod close_mode;
mod connect;
mod driver;
mod listen_port;
mod payload;
mod receive;
mod runtime;
mod signals;
mod sut;
mod tables;
mod tcp_table;
