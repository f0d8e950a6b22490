//! Per-rule tallies and their rendering.

use harness::executor::CaseOutcome;
use reference::rules::{catalogue, Area, RuleId};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write;

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

pub fn tally(t: &mut BTreeMap<RuleId, RuleTally>, out: &CaseOutcome) {
    let blamed = out.failure.as_ref().and_then(|f| f.rule());
    for (rule, _) in &out.touched {
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

/// The verdict of a rule over a run.
pub fn verdict(t: Option<&RuleTally>) -> &'static str {
    match t {
        Some(t) if t.failed > 0 => "FAILED",
        Some(t) if t.cases > 0 => "passed",
        _ => "not reached",
    }
}

/// A plain-text table of every port rule.
pub fn table(t: &BTreeMap<RuleId, RuleTally>) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "{:<8} {:>7} {:>7} {:>7} {:>9}  {:<12} statement", "rule", "cases", "passed", "failed", "crossings", "verdict");
    for r in catalogue().into_iter().filter(|r| r.area == Area::Port) {
        let e = t.get(&r.id);
        let d = e.cloned().unwrap_or_default();
        let mut stmt = r.statement.to_string();
        if stmt.len() > 70 {
            stmt.truncate(67);
            stmt.push_str("...");
        }
        let _ = writeln!(s, "{:<8} {:>7} {:>7} {:>7} {:>9}  {:<12} {}", r.id, d.cases, d.passed, d.failed, d.crossings, verdict(e), stmt);
    }
    s
}
