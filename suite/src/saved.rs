//! Saved traces: a failing case by value (setup and ops) with the
//! environment it failed in, so a changed generator cannot silently replay
//! a different case.

use crate::check::Counterexample;
use crate::environment::Environment;
use harness::recording::Recording;
use reference::op::{Op, Setup};
use reference::rules::RuleId;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Bumped when the file format changes incompatibly.
pub const FORMAT_VERSION: u32 = 1;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SavedTrace {
    pub format: u32,
    pub sut: String,
    pub seed: u64,
    pub case_index: u32,
    /// The rule the failure was blamed on (its ID as a string in the file;
    /// an ID the catalogue does not know is refused on reading).
    pub rule: Option<RuleId>,
    pub failure: Option<String>,
    pub environment: Environment,
    pub setup: Setup,
    pub ops: Vec<Op>,
    /// What the system observed in the failing run, step by step, the
    /// diverging step included (`harness::recording::Recording::of_failure`):
    /// `portcheck replay --trace FILE --observed` re-checks the model
    /// against it without the system. Absent in traces saved before it
    /// existed, and when the system failed before answering a step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed: Option<Recording>,
}

impl SavedTrace {
    pub fn new(sut: &str, cx: &Counterexample, environment: Environment) -> SavedTrace {
        SavedTrace {
            format: FORMAT_VERSION,
            sut: sut.to_string(),
            seed: cx.seed,
            case_index: cx.case_index,
            rule: cx.rule(),
            failure: cx.outcome.failure.as_ref().map(|f| f.to_string()),
            environment,
            setup: cx.shrunk.setup.clone(),
            ops: cx.shrunk.ops.clone(),
            observed: Recording::of_failure(sut, &cx.shrunk.ops, &cx.outcome),
        }
    }
}

pub fn write(path: &Path, t: &SavedTrace) -> std::io::Result<()> {
    std::fs::write(path, serde_json::to_string_pretty(t).expect("trace serializes"))
}

pub fn read(path: &Path) -> Result<SavedTrace, String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let t: SavedTrace = serde_json::from_str(&text).map_err(|e| format!("not a portcheck trace: {e}"))?;
    if t.format != FORMAT_VERSION {
        return Err(format!("trace format {} but this portcheck reads {FORMAT_VERSION}", t.format));
    }
    Ok(t)
}
