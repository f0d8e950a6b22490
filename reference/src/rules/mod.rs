//! The rule catalogue. Every rule has an ID, a one-line statement and a
//! citation; the model names the rule behind every value it predicts, so a
//! divergence is reported against the rule that was broken.

use serde::Serialize;
use std::fmt;

/// Declares one area's rules, once each: every rule becomes a constant in
/// the area's `ids` module, an entry of its `RULES` (catalogue order) and
/// of its ID list (`ids::PORT`, `ids::KERNEL`).
macro_rules! catalogue {
    ($area:ident, $list:ident; $($name:ident = $id:literal: $statement:literal, $citation:literal;)*) => {
        /// Rule IDs as constants, so the model and the tests name them without typos.
        pub mod ids {
            use crate::rules::RuleId;
            $(pub const $name: RuleId = RuleId($id);)*
            /// Every rule of the area, in catalogue order.
            pub const $list: &[RuleId] = &[$($name),*];

            #[test]
            fn each_constant_spells_its_id() {
                for (name, id) in [$((stringify!($name), $name)),*] {
                    assert_eq!(name.replace('_', "-"), id.0);
                }
            }
        }

        pub static RULES: &[crate::rules::Rule] = &[$(crate::rules::Rule {
            id: ids::$name,
            area: crate::rules::Area::$area,
            statement: $statement,
            citation: $citation,
        }),*];
    };
}

mod kernel;
mod port;

/// Rules whose precondition the case generator never sets up: a setup
/// feature only fixed cases use (OPT-8: the kernel environment's default
/// options, `Setup::kernel_env`, in `suite/tests/peer_scenarios.rs`). A
/// generated run shows them as `n/a (fixed cases)` when no case reached
/// them, and the coverage floor does not count them; their fixed cases
/// check them in lockstep on every `make test`.
pub const FIXED_CASES_ONLY: &[&str] = &["OPT-8"];

/// The measured OTP releases `id` holds on; empty: every release (a
/// reference rule, or a difference common to all measured releases).
pub fn releases_of(id: RuleId) -> &'static [u16] {
    port::RELEASES.iter().find(|(r, _)| *r == id).map_or(&[], |(_, rel)| rel)
}

/// Whether `id` applies to a system running `release`: judged by the rule
/// set `OtpRelease::rule_set` picks.
pub fn applies_to(id: RuleId, release: crate::variant::OtpRelease) -> bool {
    let rel = releases_of(id);
    rel.is_empty() || rel.contains(&release.rule_set().release.0)
}

/// A rule identifier such as `WM-3`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct RuleId(pub &'static str);

impl<'de> serde::Deserialize<'de> for RuleId {
    /// Only catalogued IDs deserialize: a saved trace naming an unknown rule
    /// is an error, not a silently new rule.
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        catalogue()
            .into_iter()
            .map(|r| r.id)
            .find(|id| id.0 == s)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown rule id {s:?}")))
    }
}

impl fmt::Display for RuleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

/// Which part of the system a rule constrains.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Area {
    /// The port model, checked in lockstep against a runtime.
    Port,
    /// Linux behaviour the runtimes rely on, checked by kernel probes.
    Kernel,
}

#[derive(Clone, Copy, Debug, Serialize)]
pub struct Rule {
    pub id: RuleId,
    pub area: Area,
    pub statement: &'static str,
    pub citation: &'static str,
}

/// Every rule, port rules first, in catalogue order.
pub fn catalogue() -> Vec<&'static Rule> {
    port::RULES.iter().chain(kernel::RULES.iter()).collect()
}

/// Look a rule up by ID.
pub fn rule(id: RuleId) -> Option<&'static Rule> {
    catalogue().into_iter().find(|r| r.id == id)
}

/// Does `id` match a `--rules` pattern such as `WM-*` or `TO-2`?
pub fn matches(pattern: &str, id: RuleId) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => id.0.starts_with(prefix),
        None => id.0 == pattern,
    }
}

/// Every rule's ID as a constant: `ids::WM_3`, `ids::KN_CONN_2`.
pub mod ids {
    pub use super::kernel::ids::*;
    pub use super::port::ids::*;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_cited() {
        let all = catalogue();
        let mut seen = std::collections::BTreeSet::new();
        for r in &all {
            assert!(seen.insert(r.id), "duplicate rule id {}", r.id);
            assert!(!r.citation.is_empty(), "{} has no citation", r.id);
            assert!(!r.statement.is_empty(), "{} has no statement", r.id);
        }
    }

    #[test]
    fn every_named_id_is_in_the_catalogue() {
        for id in ids::PORT.iter().chain(ids::KERNEL) {
            assert!(rule(*id).is_some(), "{id} is named in ids but not catalogued");
        }
    }

    #[test]
    fn patterns() {
        assert!(matches("WM-*", RuleId("WM-3")));
        assert!(!matches("WM-*", RuleId("MQ-3")));
        assert!(matches("TO-2", RuleId("TO-2")));
        assert!(!matches("TO-2", RuleId("TO-21")));
    }
}
