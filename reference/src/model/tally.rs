//! How often each rule decided something, or was crossed, in one case: the
//! coverage the report's per-rule table is made of.
//!
//! A model counts on every decision of every step, and the derivation
//! clones models by the thousand, so the tally is a short list rather than
//! a map: a case touches a dozen rules or so. Rule IDs are the `ids`
//! constants, whose one string literal has one address, so an entry is
//! found by address first; comparing the text stays the exact fallback.

use super::Model;
use crate::options::{ActiveSetting, Opt};
use crate::rules::{ids, RuleId};
use std::collections::BTreeMap;

/// What a case covered: kept apart from the state, so that the derivation
/// merges states however they were reached.
#[derive(Clone, Debug, Default)]
pub(super) struct Coverage {
    /// Every rule that decided something in this case.
    pub(super) touched: Tally,
    /// Interesting transitions reached (busy set or cleared, timeouts, ...).
    pub(super) crossings: Tally,
}

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

impl Model {
    /// Record an interesting transition of `rule` (coverage).
    pub(super) fn cross(&mut self, rule: RuleId) {
        self.coverage.touched.bump(rule);
        self.coverage.crossings.bump(rule);
    }

    /// OPT-*: which option rules a setopts list exercised.
    pub(super) fn cross_options(&mut self, list: &[Opt]) {
        for o in list {
            match o {
                Opt::HighWatermark(v) if (*v as i128) < self.state.opts.low.0 as i128 || *v < 0 => {
                    self.cross(ids::OPT_1)
                }
                Opt::LowWatermark(v) if (*v as i128) > self.state.opts.high.0 as i128 || *v < 0 => {
                    self.cross(ids::OPT_2)
                }
                Opt::HighMsgqWatermark(_) | Opt::LowMsgqWatermark(_) => self.cross(ids::OPT_4),
                Opt::Active(ActiveSetting::N(_)) => self.cross(ids::RX_3),
                _ => {}
            }
        }
        if list.len() > 1 {
            self.cross(ids::OPT_5);
        }
    }

    /// Rules that decided something in this case, with counts.
    pub fn touched(&self) -> BTreeMap<RuleId, usize> {
        self.coverage.touched.to_map()
    }

    /// Interesting transitions reached in this case, with counts.
    pub fn crossings(&self) -> BTreeMap<RuleId, usize> {
        self.coverage.crossings.to_map()
    }
}
