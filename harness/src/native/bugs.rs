//! Planted bugs: deliberate deviations from the rules, selectable at
//! construction, so the suite can show that it catches each one. With no bug
//! selected the runtime follows the rules exactly.
//!
//! Most bugs break a port rule and the lockstep property finds them
//! (`suite/tests/planted_bugs.rs`). Some break how the runtime handles the
//! kernel (`KN-…` rules) on paths the lockstep cases never take (a refused
//! connect, running out of fds); [`PlantedBug::detection`] names the test that catches those,
//! so no list of bugs claims a catch that cannot happen.

use std::fmt;
use std::str::FromStr;

/// A deliberate defect in the native runtime. Each names the rule it breaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PlantedBug {
    /// WM-3: busy when `queued_before + size > high` instead of `>=`.
    HighGtInsteadOfGe,
    /// WM-4: unbusy when `remaining < low` instead of `<=`.
    LowLtInsteadOfLe,
    /// WM-4: unbusy and resume as soon as a write from the queue makes any
    /// progress, before the queue has drained to the low watermark.
    ResumeBeforeLow,
    /// DS-1: delay_send is ignored and a send onto an empty queue writes at once.
    DelaySendIgnored,
    /// TO-1: the send timeout discards the queued output (without closing).
    DropOnSendTimeout,
    /// PT-2: an accept into a full table leaves the accepted fd open.
    LeakAcceptedFd,
    /// MQ-3: msgq busy at `size >= high_msgq` instead of `>`.
    MsgqBusyAtGe,
    /// KN-CONN-2: a nonblocking connect counts as connected once the socket
    /// is writable; SO_ERROR is never read, so a refused connect opens a port.
    WritableIsConnected,
    /// KN-EMFILE-2: on EMFILE the accept path retries at once instead of
    /// pausing, so it wakes up again and again while the process is out of
    /// fds (the listener stays readable).
    AcceptSpinsOnEmfile,
}

/// How the suite catches a planted bug.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Detection {
    /// The lockstep property finds it (`suite/tests/planted_bugs.rs`) and
    /// blames [`PlantedBug::rule`].
    Lockstep,
    /// The lockstep property cannot reach it (`why`); the test file `test`
    /// (a path in the workspace) catches it under [`PlantedBug::rule`].
    Outside { test: &'static str, why: &'static str },
}

impl PlantedBug {
    /// Every planted bug, in a stable order.
    pub const ALL: &'static [PlantedBug] = &[
        PlantedBug::HighGtInsteadOfGe,
        PlantedBug::LowLtInsteadOfLe,
        PlantedBug::ResumeBeforeLow,
        PlantedBug::DelaySendIgnored,
        PlantedBug::DropOnSendTimeout,
        PlantedBug::LeakAcceptedFd,
        PlantedBug::MsgqBusyAtGe,
        PlantedBug::WritableIsConnected,
        PlantedBug::AcceptSpinsOnEmfile,
    ];

    /// The bugs the lockstep property can find, in [`PlantedBug::ALL`] order.
    pub fn lockstep() -> impl Iterator<Item = PlantedBug> {
        PlantedBug::ALL.iter().copied().filter(|b| b.detection() == Detection::Lockstep)
    }

    /// How the suite catches this bug.
    pub fn detection(self) -> Detection {
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

    /// The stable kebab-case name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            PlantedBug::HighGtInsteadOfGe => "high-gt",
            PlantedBug::LowLtInsteadOfLe => "low-lt",
            PlantedBug::ResumeBeforeLow => "resume-before-low",
            PlantedBug::DelaySendIgnored => "delay-send-ignored",
            PlantedBug::DropOnSendTimeout => "drop-on-send-timeout",
            PlantedBug::LeakAcceptedFd => "leak-accepted-fd",
            PlantedBug::MsgqBusyAtGe => "msgq-busy-ge",
            PlantedBug::WritableIsConnected => "writable-is-connected",
            PlantedBug::AcceptSpinsOnEmfile => "accept-spins-on-emfile",
        }
    }

    /// The rule the bug breaks.
    pub fn rule(self) -> reference::rules::RuleId {
        use reference::rules::ids;
        match self {
            PlantedBug::HighGtInsteadOfGe => ids::WM_3,
            PlantedBug::LowLtInsteadOfLe => ids::WM_4,
            PlantedBug::ResumeBeforeLow => ids::WM_4,
            PlantedBug::DelaySendIgnored => ids::DS_1,
            PlantedBug::DropOnSendTimeout => ids::TO_1,
            PlantedBug::LeakAcceptedFd => ids::PT_2,
            PlantedBug::MsgqBusyAtGe => ids::MQ_3,
            PlantedBug::WritableIsConnected => crate::kernel::ids::CONN_2,
            PlantedBug::AcceptSpinsOnEmfile => crate::kernel::ids::EMFILE_2,
        }
    }
}

impl fmt::Display for PlantedBug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An unknown bug name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownBug(pub String);

impl fmt::Display for UnknownBug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = PlantedBug::ALL.iter().map(|b| b.name()).collect();
        write!(f, "unknown planted bug {:?} (known: {})", self.0, names.join(", "))
    }
}
impl std::error::Error for UnknownBug {}

impl FromStr for PlantedBug {
    type Err = UnknownBug;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        PlantedBug::ALL.iter().copied().find(|b| b.name() == s).ok_or_else(|| UnknownBug(s.to_string()))
    }
}

/// The bug (if any) a runtime was built with; the code asks it at each spot
/// where a bug can be planted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Faults(pub Option<PlantedBug>);

impl Faults {
    pub fn has(self, bug: PlantedBug) -> bool {
        self.0 == Some(bug)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for b in PlantedBug::ALL {
            assert_eq!(b.name().parse::<PlantedBug>(), Ok(*b));
            assert_eq!(b.to_string(), b.name());
        }
        assert!("nope".parse::<PlantedBug>().is_err());
    }

    #[test]
    fn lockstep_bugs_break_port_rules_and_the_others_kernel_rules() {
        for b in PlantedBug::ALL {
            let kernel_rule = b.rule().0.starts_with("KN-");
            match b.detection() {
                Detection::Lockstep => assert!(!kernel_rule, "{b}: lockstep blames port rules only"),
                Detection::Outside { test, why } => {
                    assert!(kernel_rule, "{b}: a port rule's bug should be caught by lockstep");
                    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(test);
                    assert!(path.is_file(), "{b}: {test} does not exist");
                    assert!(!why.is_empty());
                }
            }
        }
    }
}
