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
    /// The rule does not apply to the system under test (a DIFF rule of
    /// another variant, `Variant::applies`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub not_applicable: bool,
    /// The rule's precondition is never generated, only set up by fixed
    /// cases (`reference::rules::FIXED_CASES_ONLY`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub fixed_cases_only: bool,
}

impl RuleTally {
    /// Whether a run's coverage floor counts this rule.
    pub fn counted(&self) -> bool {
        !self.not_applicable && !self.fixed_cases_only
    }
}

/// Marks the port rules that do not apply to `variant`, and those only
/// fixed cases reach.
pub fn mark_inapplicable(t: &mut BTreeMap<RuleId, RuleTally>, variant: reference::variant::Variant) {
    let port = reference::rules::catalogue().into_iter().filter(|r| r.area == reference::rules::Area::Port);
    for r in port {
        if !variant.applies(r.id) {
            t.entry(r.id).or_default().not_applicable = true;
        } else if reference::rules::FIXED_CASES_ONLY.contains(&r.id.0) {
            t.entry(r.id).or_default().fixed_cases_only = true;
        }
    }
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
