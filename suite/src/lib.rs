//! The conformance suite: case generation, the property runner, capability
//! checks and reports; `cli` is the `portcheck` command's.

pub mod capability;
pub mod check;
pub mod cli;
pub mod corpus;
pub mod coverage;
pub mod difference;
pub mod environment;
pub mod generate;
pub mod known;
pub mod report;
pub mod saved;
pub mod tally;
pub mod trace;
pub mod workers;
