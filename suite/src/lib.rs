//! The conformance suite: case generation, the property runner, capability
//! checks and reports.

pub mod capability;
pub mod check;
pub mod corpus;
pub mod environment;
pub mod generate;
pub mod kernel_cmd;
pub mod known;
pub mod report;
pub mod saved;
pub mod suts;
pub mod trace;
