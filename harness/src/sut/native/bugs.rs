//! The harness's table of the runtime's planted bugs: which rule each one
//! breaks and how the suite catches it.
//!
//! Most bugs break a port rule and the lockstep property finds them
//! (`suite/tests/planted_bugs.rs`). Some break how the runtime handles the
//! kernel (`KN-…` rules) on paths the lockstep cases never take (a refused
//! connect, running out of fds); [`BugTable::detection`] names the test
//! that catches those, so no list of bugs claims a catch that cannot happen.

use crate::kernel::ids;
use native::PlantedBug;
use reference::rules::RuleId;

/// How the suite catches a planted bug.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Detection {
    /// The lockstep property finds it (`suite/tests/planted_bugs.rs`) and
    /// blames [`BugTable::rule`].
    Lockstep,
    /// The lockstep property cannot reach it (`why`); the test file `test`
    /// (a path in the workspace) catches it under [`BugTable::rule`].
    Outside { test: &'static str, why: &'static str },
}

/// What the suite knows about each [`PlantedBug`].
pub trait BugTable: Sized {
    /// The rule the bug breaks.
    fn rule(self) -> RuleId;
    /// How the suite catches this bug.
    fn detection(self) -> Detection;
    /// The bugs the lockstep property can find, in [`PlantedBug::ALL`] order.
    fn lockstep() -> std::vec::IntoIter<Self>;
}

impl BugTable for PlantedBug {
    fn rule(self) -> RuleId {
        use reference::rules::ids as port;
        match self {
            PlantedBug::HighGtInsteadOfGe => port::WM_3,
            PlantedBug::LowLtInsteadOfLe => port::WM_4,
            PlantedBug::ResumeBeforeLow => port::WM_4,
            PlantedBug::DelaySendIgnored => port::DS_1,
            PlantedBug::DropOnSendTimeout => port::TO_1,
            PlantedBug::LeakAcceptedFd => port::PT_2,
            PlantedBug::MsgqBusyAtGe => port::MQ_3,
            PlantedBug::NosuspendQueues => port::SND_2,
            PlantedBug::SetupFrontToBack => port::OPT_5,
            PlantedBug::WriteNotRearmed => port::ST_1,
            PlantedBug::ShortWriteCountedWhole => port::ST_2,
            PlantedBug::ActiveNNoPassive => port::RX_4,
            PlantedBug::NosuspendTaskRuns => port::MQ_6,
            PlantedBug::TableSizeRoundedDown => port::PT_1,
            PlantedBug::TimeoutCloseKeepsQueue => port::TO_3,
            PlantedBug::ActiveOnceSendsPassive => port::RX_2,
            PlantedBug::DisplacedCallerAnswered => port::WM_6,
            PlantedBug::EndKeepsPort => port::PC_3,
            PlantedBug::ResetShownWithoutOption => port::RS_1,
            PlantedBug::ResetWriteIgnored => port::PC_5,
            PlantedBug::SendAfterEndNotTold => port::PC_4,
            PlantedBug::WritableIsConnected => ids::KN_CONN_2,
            PlantedBug::AcceptSpinsOnEmfile => ids::KN_EMFILE_2,
            PlantedBug::ShutdownBeforeFlush => port::SD_2,
            PlantedBug::ReaderReturnsPartialAtEnd => port::RX_9,
            PlantedBug::LingerZeroFlushes => port::CL_4,
            PlantedBug::KilledSenderStillSends => port::SND_7,
            PlantedBug::RecvTimeoutDropsGathered => port::RX_11,
            PlantedBug::KilledPortFlushes => port::CL_5,
            PlantedBug::HalfClosedPortExits => port::PC_6,
            PlantedBug::KilledCallerAnswered => port::SND_8,
            PlantedBug::PortOutlivesOwner => port::CL_6,
        }
    }

    fn detection(self) -> Detection {
        match self {
            PlantedBug::WritableIsConnected => Detection::Outside {
                test: "harness/tests/native/connect.rs",
                why: "every lockstep case connects the port under test to a listening peer, so no connect is ever refused",
            },
            PlantedBug::AcceptSpinsOnEmfile => Detection::Outside {
                test: "harness/tests/native/accept_exhaustion.rs",
                why: "exhausting fds needs RLIMIT_NOFILE lowered in a child process, which lockstep cases never do",
            },
            _ => Detection::Lockstep,
        }
    }

    fn lockstep() -> std::vec::IntoIter<PlantedBug> {
        let v: Vec<PlantedBug> =
            PlantedBug::ALL.iter().copied().filter(|b| b.detection() == Detection::Lockstep).collect();
        v.into_iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A port rule's bug is caught outside the generated lockstep cases
    /// only when the rule is reached by fixed cases alone
    /// (`reference::rules::FIXED_CASES_ONLY`).
    #[test]
    fn lockstep_bugs_break_port_rules_and_the_others_kernel_or_fixed_case_rules() {
        for b in PlantedBug::ALL {
            let kernel_rule = b.rule().0.starts_with("KN-");
            let fixed_only = reference::rules::FIXED_CASES_ONLY.contains(&b.rule().0);
            match b.detection() {
                Detection::Lockstep => {
                    assert!(!kernel_rule && !fixed_only, "{b}: lockstep blames generated port rules only")
                }
                Detection::Outside { test, why } => {
                    assert!(kernel_rule || fixed_only, "{b}: a generated port rule's bug should be caught by lockstep");
                    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(test);
                    assert!(path.is_file(), "{b}: {test} does not exist");
                    assert!(!why.is_empty());
                }
            }
        }
    }
}
