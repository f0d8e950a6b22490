//! Coverage as a gate (issue 15): a rule that was merely reached says
//! little; one whose interesting transition happened several times says
//! more. A rule's *count* over a run is its crossings for the rules that
//! have a transition to cross (`report::CROSSING_RULES`: busy set or
//! cleared, a timer firing, a suspension...), else the cases it decided
//! something in. A run prints the applicable rules whose count is below
//! [`FLOOR`]; `portcheck run --until-covered N` draws more cases until none
//! is below `N`; the lockstep gate asserts the floor for the native runtime.

use crate::report::CROSSING_RULES;
use crate::tally::RuleTally;
use reference::rules::{catalogue, Area, RuleId};
use std::collections::BTreeMap;

/// The count every applicable rule should reach in a default run.
pub const FLOOR: u32 = 5;

/// A rule's count over a run: crossings for a rule with a transition, else
/// cases.
pub fn count(id: RuleId, t: &RuleTally) -> u32 {
    if CROSSING_RULES.contains(&id) {
        t.crossings
    } else {
        t.cases
    }
}

/// The port rules that apply to the system (not a DIFF rule of another
/// variant, not a rule only fixed cases reach) whose count is below `floor`, with their counts, in catalogue
/// order.
pub fn below(tally: &BTreeMap<RuleId, RuleTally>, floor: u32) -> Vec<(RuleId, u32)> {
    catalogue()
        .into_iter()
        .filter(|r| r.area == Area::Port)
        .filter_map(|r| {
            let t = tally.get(&r.id).cloned().unwrap_or_default();
            let n = count(r.id, &t);
            (t.counted() && n < floor).then_some((r.id, n))
        })
        .collect()
}

/// One line for a run's output: every applicable rule at `floor` or more,
/// or which are not.
pub fn summary(tally: &BTreeMap<RuleId, RuleTally>, floor: u32) -> String {
    let low = below(tally, floor);
    if low.is_empty() {
        format!("coverage: every applicable rule crossed (or, without a transition, reached) {floor} or more times")
    } else {
        let list: Vec<String> = low.iter().map(|(id, n)| format!("{id} ({n})")).collect();
        format!("coverage: {} applicable rules below {floor}: {}", low.len(), list.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reference::rules::ids;

    #[test]
    fn a_crossing_rule_counts_crossings_and_another_counts_cases() {
        let t = RuleTally { cases: 9, passed: 9, crossings: 2, ..RuleTally::default() };
        assert_eq!(count(ids::WM_3, &t), 2);
        assert_eq!(count(ids::WM_1, &t), 9);
    }

    #[test]
    fn inapplicable_rules_are_never_below_and_unreached_ones_are() {
        let mut tally = BTreeMap::new();
        tally.insert(ids::DIFF_INET_1, RuleTally { not_applicable: true, ..RuleTally::default() });
        tally.insert(ids::WM_3, RuleTally { cases: 9, passed: 9, crossings: 5, ..RuleTally::default() });
        let low = below(&tally, 5);
        assert!(!low.iter().any(|(id, _)| *id == ids::DIFF_INET_1 || *id == ids::WM_3), "{low:?}");
        assert!(low.contains(&(ids::TO_2, 0)), "{low:?}");
    }

    /// A rule only fixed cases reach (OPT-8) is not held to the floor of a
    /// generated run, and its verdict says why it was not reached.
    #[test]
    fn a_rule_only_fixed_cases_reach_is_not_below_and_says_so() {
        let mut tally = BTreeMap::new();
        crate::tally::mark_inapplicable(&mut tally, reference::variant::Variant::Reference);
        let low = below(&tally, 5);
        assert!(!low.iter().any(|(id, _)| *id == ids::OPT_8), "{low:?}");
        assert!(low.contains(&(ids::TO_2, 0)), "{low:?}");
        assert_eq!(crate::report::verdict(ids::OPT_8, tally.get(&ids::OPT_8)), "n/a (fixed cases)");
    }
}
