//! The conformance suite: case generation, the property runner, capability
//! checks and reports.

pub mod capability;
pub mod check;
pub mod generate;
pub mod report;
