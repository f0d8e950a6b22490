//! The machinery that drives systems under test: the native port runtime,
//! the lockstep executor, and kernel probes.

pub mod beam;
pub mod executor;
pub mod external;
pub mod kernel;
pub mod native;
pub mod recording;
pub mod rps;
pub mod sut;
