//! How often each rule decided something, or was crossed, in one case: the
//! coverage the report's per-rule table is made of.
//!
//! A model counts on every decision of every step, and the derivation
//! clones models by the thousand, so the tally is a short list rather than
//! a map: a case touches a dozen rules or so. Rule IDs are the `ids`
//! constants, whose one string literal has one address, so an entry is
//! found by address first; comparing the text stays the exact fallback.

use crate::rules::RuleId;
use std::collections::BTreeMap;

#[derive(Clone, Debug, Default)]
pub struct Tally(Vec<(RuleId, usize)>);

impl Tally {
    /// A tally in which each of `rules` counted once.
    pub fn once(rules: &[RuleId]) -> Tally {
        let mut t = Tally::default();
        for &r in rules {
            t.bump(r);
        }
        t
    }

    /// Count `rule` once more.
    pub fn bump(&mut self, rule: RuleId) {
        let at = self
            .0
            .iter()
            .position(|(r, _)| std::ptr::eq(r.0, rule.0))
            .or_else(|| self.0.iter().position(|(r, _)| *r == rule));
        match at {
            Some(i) => self.0[i].1 += 1,
            None => self.0.push((rule, 1)),
        }
    }

    /// The counts by rule, in rule-ID order.
    pub fn to_map(&self) -> BTreeMap<RuleId, usize> {
        self.0.iter().copied().collect()
    }
}
