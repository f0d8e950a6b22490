//! The machinery that drives systems under test: the systems under test
//! and their adapters (`sut`), the lockstep executor and its recordings,
//! and kernel probes.

pub mod executor;
pub mod interrupt;
pub mod kernel;
pub mod recording;
pub mod sut;
