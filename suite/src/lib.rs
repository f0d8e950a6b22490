//! The conformance suite: case generation, capability checks, reports.

pub mod capability;
