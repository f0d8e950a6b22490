//! Which rule set each option's current value (issue 15: blame by
//! provenance). A `getopts` that differs is blamed on the rule that
//! decided the differing value — the default's rule, the option's own rule
//! in the setopts (or setup) that set it, or the input rule that changed
//! the active mode — not on the option algebra as a whole.

use crate::options::{ActiveSetting, Opt, PortOptions};
use crate::rules::{ids, RuleId};

/// One option field of `PortOptions`, in the order a `getopts` difference
/// is reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OptField {
    High,
    Low,
    HighMsgq,
    LowMsgq,
    Active,
    DelaySend,
    SendTimeout,
    SendTimeoutClose,
}

impl OptField {
    pub const ALL: [OptField; 8] = [
        OptField::High,
        OptField::Low,
        OptField::HighMsgq,
        OptField::LowMsgq,
        OptField::Active,
        OptField::DelaySend,
        OptField::SendTimeout,
        OptField::SendTimeoutClose,
    ];

    /// Does `o` hold the same value for this field as `p`?
    pub fn same(self, o: &PortOptions, p: &PortOptions) -> bool {
        match self {
            OptField::High => o.high == p.high,
            OptField::Low => o.low == p.low,
            OptField::HighMsgq => o.high_msgq == p.high_msgq,
            OptField::LowMsgq => o.low_msgq == p.low_msgq,
            OptField::Active => o.active == p.active,
            OptField::DelaySend => o.delay_send == p.delay_send,
            OptField::SendTimeout => o.send_timeout == p.send_timeout,
            OptField::SendTimeoutClose => o.send_timeout_close == p.send_timeout_close,
        }
    }

    /// The field an option names.
    pub fn of(opt: &Opt) -> OptField {
        match opt {
            Opt::HighWatermark(_) => OptField::High,
            Opt::LowWatermark(_) => OptField::Low,
            Opt::HighMsgqWatermark(_) => OptField::HighMsgq,
            Opt::LowMsgqWatermark(_) => OptField::LowMsgq,
            Opt::DelaySend(_) => OptField::DelaySend,
            Opt::SendTimeout(_) => OptField::SendTimeout,
            Opt::SendTimeoutClose(_) => OptField::SendTimeoutClose,
            Opt::Active(_) => OptField::Active,
        }
    }

    /// The rule of the option that sets this field directly.
    fn own_rule(opt: &Opt) -> RuleId {
        match opt {
            Opt::HighWatermark(_) => ids::OPT_1,
            Opt::LowWatermark(_) => ids::OPT_2,
            Opt::HighMsgqWatermark(_) | Opt::LowMsgqWatermark(_) => ids::OPT_4,
            Opt::DelaySend(_) => ids::DS_1,
            Opt::SendTimeout(_) => ids::TO_1,
            Opt::SendTimeoutClose(_) => ids::TO_3,
            Opt::Active(ActiveSetting::N(_)) => ids::RX_3,
            Opt::Active(ActiveSetting::Once) => ids::RX_2,
            Opt::Active(ActiveSetting::True) => ids::RX_5,
            Opt::Active(ActiveSetting::False) => ids::RX_6,
        }
    }

    /// The rule that adjusts this field when another option is set
    /// (OPT-1/OPT-2: the other watermark follows; OPT-4 for msgq).
    fn adjusted_by(self) -> RuleId {
        match self {
            OptField::High => ids::OPT_2,
            OptField::Low => ids::OPT_1,
            OptField::HighMsgq | OptField::LowMsgq => ids::OPT_4,
            _ => ids::OPT_5,
        }
    }
}

/// The rule behind each option's current value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OptsWhy([RuleId; 8]);

impl Default for OptsWhy {
    /// The defaults decide every value: WM-1, MQ-7, OPT-7.
    fn default() -> Self {
        OptsWhy([ids::WM_1, ids::WM_1, ids::MQ_7, ids::MQ_7, ids::OPT_7, ids::OPT_7, ids::OPT_7, ids::OPT_7])
    }
}

impl OptsWhy {
    pub fn rule(&self, f: OptField) -> RuleId {
        self.0[f as usize]
    }

    pub fn set(&mut self, f: OptField, rule: RuleId) {
        self.0[f as usize] = rule;
    }

    /// A setopts of `list` took the options from `before` to `after`;
    /// `rejected`: the rule that refused the list (OPT-3, RX-3), which then
    /// decided that the options it names and did not apply kept their value.
    /// A field set twice in the list was decided by OPT-5 (back to front),
    /// and so was one whose value the list's order decided: `other_order`,
    /// the options the same list gives applied front to back, differs
    /// there (a high and a low watermark that adjust each other: OPT-1 and
    /// OPT-2 do the arithmetic, but which runs last is OPT-5's; a runtime
    /// that applies the list the wrong way is blamed on the order).
    pub fn record(
        &mut self,
        before: &PortOptions,
        after: &PortOptions,
        list: &[Opt],
        rejected: Option<RuleId>,
        other_order: Option<&PortOptions>,
    ) {
        for f in OptField::ALL {
            let named: Vec<&Opt> = list.iter().filter(|o| OptField::of(o) == f).collect();
            let changed = !f.same(before, after);
            if rejected.is_none() && other_order.is_some_and(|o| !f.same(after, o)) {
                self.set(f, ids::OPT_5);
                continue;
            }
            let rule = match (named.first(), rejected) {
                (None, _) if !changed => continue,
                (None, _) => f.adjusted_by(),
                (Some(_), Some(refused)) if !changed => refused,
                (Some(_), _) if named.len() > 1 => ids::OPT_5,
                (Some(one), _) => OptField::own_rule(one),
            };
            self.set(f, rule);
        }
    }

    /// OPT-8: every field the kernel environment's defaults changed was
    /// decided by them.
    pub fn record_kernel_env(&mut self, defaults: &PortOptions, base: &PortOptions) {
        for f in OptField::ALL {
            if !f.same(defaults, base) {
                self.set(f, ids::OPT_8);
            }
        }
    }

    /// The first field on which `e` and `o` differ, with the rule that set
    /// the expected value.
    pub fn blame(&self, e: &PortOptions, o: &PortOptions) -> Option<(OptField, RuleId)> {
        OptField::ALL.into_iter().find(|f| !f.same(e, o)).map(|f| (f, self.rule(f)))
    }
}

/// The rule that decided a setopts of `list` was accepted: the rule that
/// could have refused it (OPT-3 for a msgq watermark, RX-3 for an
/// `{active,N}`), else the rule of its first option.
pub fn accepted_rule(list: &[Opt]) -> RuleId {
    if list.iter().any(|o| matches!(o, Opt::HighMsgqWatermark(_) | Opt::LowMsgqWatermark(_))) {
        ids::OPT_3
    } else if list.iter().any(|o| matches!(o, Opt::Active(ActiveSetting::N(_)))) {
        ids::RX_3
    } else {
        list.first().map_or(ids::OPT_5, OptField::own_rule)
    }
}
