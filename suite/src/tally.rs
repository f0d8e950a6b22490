//! Per-rule tallies: how each rule fared over the cases of a run (`check`)
//! or of a recorded corpus (`corpus`); `report` renders them.

use harness::executor::CaseOutcome;
use reference::rules::RuleId;
use serde::Serialize;
use std::collections::BTreeMap;

/// How one rule fared over a run.
#[derive(Clone, Debug, Default, Serialize)]
pub struct RuleTally {
    /// Cases in which the rule decided something.
    pub cases: u32,
    pub passed: u32,
    /// Cases whose failure was blamed on this rule.
    pub failed: u32,
    /// Interesting transitions of this rule reached, over all cases.
    pub crossings: u32,
}

/// Adds one case's outcome to the per-rule tallies.
pub fn tally(t: &mut BTreeMap<RuleId, RuleTally>, out: &CaseOutcome) {
    let blamed = out.failure.as_ref().and_then(|f| f.rule());
    for rule in out.touched.keys() {
        let e = t.entry(*rule).or_default();
        e.cases += 1;
        if out.passed() {
            e.passed += 1;
        }
    }
    for (rule, n) in &out.crossings {
        t.entry(*rule).or_default().crossings += *n as u32;
    }
    if let Some(r) = blamed {
        let e = t.entry(r).or_default();
        e.failed += 1;
        if !out.touched.contains_key(&r) {
            e.cases += 1;
        }
    }
}
