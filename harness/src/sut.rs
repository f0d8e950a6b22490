//! The one interface every system under test implements. The executor
//! (`crate::executor`) drives any `SystemUnderTest` the same way.

use reference::choice::Choice;
use reference::observation::Observation;
use reference::op::{Op, Setup};
use std::fmt;

/// What a system under test reports after one op: what it observed, and the
/// kernel's and scheduler's choices it made on the way (in order).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    pub observation: Observation,
    pub choices: Vec<Choice>,
}

/// A failure of the system under test itself (not a divergence from the
/// model): an I/O error in the harness, a crashed adapter, a bound exceeded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SutError(pub String);

impl fmt::Display for SutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for SutError {}

impl From<std::io::Error> for SutError {
    fn from(e: std::io::Error) -> Self {
        SutError(format!("I/O error: {e}"))
    }
}

/// A running system under test, set up for one case.
pub trait SystemUnderTest {
    /// Apply one op and report what happened. Must return only once the op's
    /// effects are complete (no background progress after it returns).
    fn apply(&mut self, op: &Op) -> Result<Step, SutError>;

    /// Does this system report every kind of choice (writes, reads, the
    /// scheduler's activities, the peer's reads)? The model takes them as
    /// inputs; without them a choice-level divergence cannot be blamed on a
    /// rule, and the executor says the case could not be checked instead.
    fn reports_all_choices(&self) -> bool {
        true
    }
}

/// Creates a fresh system under test for each case (and each shrink attempt).
pub trait SutFactory {
    fn name(&self) -> &str;
    fn start(&self, setup: &Setup) -> Result<Box<dyn SystemUnderTest>, SutError>;
}
