//! Kernel behaviours the runtimes rely on (checked by `harness::kernel`
//! probes, not by the lockstep model).

use super::{Area, Rule, RuleId};

pub static RULES: &[Rule] = &[];

#[allow(dead_code)]
const fn kernel(id: &'static str, statement: &'static str, citation: &'static str) -> Rule {
    Rule { id: RuleId(id), area: Area::Kernel, statement, citation }
}
