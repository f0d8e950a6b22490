//! Planted bugs: plausible defects of a port runtime, each breaking one
//! rule, selected with `--plant NAME` (`--list-plants` lists them). The
//! suite shows that checking through the protocol catches every one
//! under its rule (`suite/tests/tokio_ports.rs`). Without `--plant` the
//! runtime follows the rules.

/// A deliberate defect.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Plant {
    /// WM-4: the port leaves busy (answering the blocked caller and
    /// resuming the suspended senders) as soon as the queue is below the
    /// high watermark, not at the low one.
    ResumeAtHigh,
    /// TO-1: the send timer is never armed, so a blocked caller waits
    /// forever whatever `send_timeout` says.
    IgnoreSendTimeout,
    /// SND-2: a `nosuspend` send onto a busy port suspends like a plain one
    /// instead of returning false.
    NosuspendSuspends,
    /// SND-4: leaving busy resumes the suspended senders newest first.
    ResumeNewestFirst,
    /// PT-2: accept takes a table slot even when the table is full.
    AcceptOverLimit,
}

impl Plant {
    pub const ALL: &'static [Plant] = &[
        Plant::ResumeAtHigh,
        Plant::IgnoreSendTimeout,
        Plant::NosuspendSuspends,
        Plant::ResumeNewestFirst,
        Plant::AcceptOverLimit,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Plant::ResumeAtHigh => "resume-at-high",
            Plant::IgnoreSendTimeout => "ignore-send-timeout",
            Plant::NosuspendSuspends => "nosuspend-suspends",
            Plant::ResumeNewestFirst => "resume-newest-first",
            Plant::AcceptOverLimit => "accept-over-limit",
        }
    }

    /// The rule the defect breaks.
    pub fn rule(self) -> &'static str {
        match self {
            Plant::ResumeAtHigh => "WM-4",
            Plant::IgnoreSendTimeout => "TO-1",
            Plant::NosuspendSuspends => "SND-2",
            Plant::ResumeNewestFirst => "SND-4",
            Plant::AcceptOverLimit => "PT-2",
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            Plant::ResumeAtHigh => "leaves busy below the high watermark instead of at the low one",
            Plant::IgnoreSendTimeout => "never arms the send timer",
            Plant::NosuspendSuspends => "suspends a nosuspend send on a busy port",
            Plant::ResumeNewestFirst => "resumes suspended senders newest first",
            Plant::AcceptOverLimit => "accepts into a full port table",
        }
    }

    pub fn parse(name: &str) -> Option<Plant> {
        Plant::ALL.iter().copied().find(|p| p.name() == name)
    }
}
