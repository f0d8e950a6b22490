//! Planted bugs: deliberate deviations from the rules, selectable at
//! construction, so a test suite can show that it catches each one. With no
//! bug selected the runtime follows the rules exactly.
//!
//! Which rule each bug breaks, and which test catches it, is the suite's
//! business: the harness keeps that table (`harness::sut::native::bugs`).

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
    /// SND-2: a nosuspend send to a busy port answers `false` but queues
    /// its bytes anyway (a send that changes the queue when it must not).
    NosuspendQueues,
    /// OPT-5: the connect options (the case's setup) are applied front to
    /// back, so the last listed wins a conflict (a bug in how the setup is
    /// applied; setopts itself is right).
    SetupFrontToBack,
    /// ST-1 (a stalled writer): a direct write the kernel takes only part
    /// of queues the rest but never selects write readiness, so while the
    /// port is open nothing writes the queue again (no writable event ever
    /// comes) and the peer waits forever for bytes the port accepted. (A
    /// port close selects it for its flush, CL-1, so a closed port drains.)
    WriteNotRearmed,
    /// ST-2: a write from the queue ignores how much the kernel took: a
    /// short write is counted, reported and dequeued as if the whole queue
    /// had gone, so the runtime's own account (its trace and its queue)
    /// agrees with itself and not with the kernel.
    ShortWriteCountedWhole,
    /// RX-4: the `{active,N}` count running out turns the socket passive
    /// without telling the owner (no `tcp_passive`).
    ActiveNNoPassive,
    /// MQ-6: a scheduled nosuspend task that finds the driver busy when it
    /// runs is executed like any task instead of aborted with `false`.
    NosuspendTaskRuns,
    /// PT-1: the port table's size is rounded down to a power of two
    /// instead of up, so a table of 3 slots has 2, one of 5 has 4.
    TableSizeRoundedDown,
    /// TO-3: send_timeout_close closes the socket but does not discard the
    /// queued output: the port still counts it queued (`queue_size`), and
    /// it is never sent.
    TimeoutCloseKeepsQueue,
    /// RX-2: `{active,once}` is run as `{active,1}`: after its one message
    /// the owner also gets `tcp_passive`.
    ActiveOnceSendsPassive,
    /// WM-6: a caller displaced from the blocked-caller slot is answered
    /// `ok` at once, instead of never.
    DisplacedCallerAnswered,
    /// PC-3: an active port that reads the peer's end delivers tcp_closed
    /// but does not exit: it keeps its table slot.
    EndKeepsPort,
    /// RS-1: a RST is reported as a reset (econnreset) without
    /// show_econnreset.
    ResetShownWithoutOption,
    /// PC-5: a write that fails on the peer's RST is taken for EAGAIN: the
    /// queue and busy stay, and the port waits for a writable event that
    /// never comes again (the runtime's old write path).
    ResetWriteIgnored,
    /// PC-4: a send onto a socket the peer's end closed always answers
    /// enotconn: the delayed-close notice (`{error,closed}` for the first
    /// send nobody told) is never given.
    SendAfterEndNotTold,
    /// KN-CONN-2: a nonblocking connect counts as connected once the socket
    /// is writable; SO_ERROR is never read, so a refused connect opens a port.
    WritableIsConnected,
    /// KN-EMFILE-2: on EMFILE the accept path retries at once instead of
    /// pausing, so it wakes up again and again while the process is out of
    /// fds (the listener stays readable).
    AcceptSpinsOnEmfile,
    /// SD-2: gen_tcp:shutdown shuts the socket at once even with output
    /// queued, so the queue's writes fail (EPIPE) and the peer reads EOF
    /// early, without the queued bytes.
    ShutdownBeforeFlush,
    /// RX-9: a waiting recv whose reads find the peer's end before its Len
    /// bytes returns the bytes it had gathered (`{ok, Partial}`) instead
    /// of `{error,closed}` / `{error,econnreset}`; the port still reports
    /// the end as any recv would (PC-1).
    ReaderReturnsPartialAtEnd,
    /// CL-4: with `{linger, {true, 0}}` the owner's close still waits for
    /// the queue (CL-1's flush), the port keeping it; SO_LINGER is set, so
    /// the close after the flush resets.
    LingerZeroFlushes,
    /// SND-7: a sender killed while suspended on the busy port is not
    /// taken off the port's wait: it stays suspended and retries its send
    /// when the port leaves busy.
    KilledSenderStillSends,
    /// RX-11: a recv whose timer fires discards the bytes it had gathered
    /// instead of keeping them in the driver for the next recv, which then
    /// reads past them (they are lost).
    RecvTimeoutDropsGathered,
    /// CL-5: a port killed by another process flushes its driver queue to
    /// the peer before its socket closes, as the owner's close without a
    /// linger time does (CL-1), instead of dropping it: the peer reads
    /// bytes the kill should have discarded.
    KilledPortFlushes,
    /// PC-6, PC-7: with `{exit_on_close, false}` a read that reaches the
    /// peer's FIN is handled as with `true`: a passive port closes its
    /// socket (the peer gets a FIN, later recvs answer enotconn, sends
    /// fail), an active one exits, instead of closing only the read side.
    HalfClosedPortExits,
    /// SND-8: a caller killed while blocked on its reply stays in the
    /// driver's caller slot, and the reply busy's end sends reaches the
    /// fresh process that took its id (an idle sender completes a send it
    /// never made) instead of nobody.
    KilledCallerAnswered,
    /// CL-6: the owner's death leaves its port open and in the table (a
    /// port that outlives its owner: a leak), instead of ending it.
    PortOutlivesOwner,
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
        PlantedBug::NosuspendQueues,
        PlantedBug::SetupFrontToBack,
        PlantedBug::WriteNotRearmed,
        PlantedBug::ShortWriteCountedWhole,
        PlantedBug::ActiveNNoPassive,
        PlantedBug::NosuspendTaskRuns,
        PlantedBug::TableSizeRoundedDown,
        PlantedBug::TimeoutCloseKeepsQueue,
        PlantedBug::ActiveOnceSendsPassive,
        PlantedBug::DisplacedCallerAnswered,
        PlantedBug::EndKeepsPort,
        PlantedBug::ResetShownWithoutOption,
        PlantedBug::ResetWriteIgnored,
        PlantedBug::SendAfterEndNotTold,
        PlantedBug::WritableIsConnected,
        PlantedBug::AcceptSpinsOnEmfile,
        PlantedBug::ShutdownBeforeFlush,
        PlantedBug::ReaderReturnsPartialAtEnd,
        PlantedBug::LingerZeroFlushes,
        PlantedBug::KilledSenderStillSends,
        PlantedBug::RecvTimeoutDropsGathered,
        PlantedBug::KilledPortFlushes,
        PlantedBug::HalfClosedPortExits,
        PlantedBug::KilledCallerAnswered,
        PlantedBug::PortOutlivesOwner,
    ];

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
            PlantedBug::NosuspendQueues => "nosuspend-queues",
            PlantedBug::SetupFrontToBack => "setup-front-to-back",
            PlantedBug::WriteNotRearmed => "write-not-rearmed",
            PlantedBug::ShortWriteCountedWhole => "short-write-counted-whole",
            PlantedBug::ActiveNNoPassive => "active-n-no-passive",
            PlantedBug::NosuspendTaskRuns => "nosuspend-task-runs",
            PlantedBug::TableSizeRoundedDown => "table-size-rounded-down",
            PlantedBug::TimeoutCloseKeepsQueue => "timeout-close-keeps-queue",
            PlantedBug::ActiveOnceSendsPassive => "active-once-sends-passive",
            PlantedBug::DisplacedCallerAnswered => "displaced-caller-answered",
            PlantedBug::EndKeepsPort => "end-keeps-port",
            PlantedBug::ResetShownWithoutOption => "reset-shown-without-option",
            PlantedBug::ResetWriteIgnored => "reset-write-ignored",
            PlantedBug::SendAfterEndNotTold => "send-after-end-not-told",
            PlantedBug::WritableIsConnected => "writable-is-connected",
            PlantedBug::AcceptSpinsOnEmfile => "accept-spins-on-emfile",
            PlantedBug::ShutdownBeforeFlush => "shutdown-before-flush",
            PlantedBug::ReaderReturnsPartialAtEnd => "reader-returns-partial-at-end",
            PlantedBug::LingerZeroFlushes => "linger-zero-flushes",
            PlantedBug::KilledSenderStillSends => "killed-sender-still-sends",
            PlantedBug::RecvTimeoutDropsGathered => "recv-timeout-drops-gathered",
            PlantedBug::KilledPortFlushes => "killed-port-flushes",
            PlantedBug::HalfClosedPortExits => "half-closed-port-exits",
            PlantedBug::KilledCallerAnswered => "killed-caller-answered",
            PlantedBug::PortOutlivesOwner => "port-outlives-owner",
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
}
