//! `{exit_on_close, false}`: the peer's FIN closes only the port's read
//! side (PC-6, PC-7). inet_drv's `tcp_recv_closed` then calls
//! `desc_close_read` where the default closes the socket (passive) or
//! exits the port (active): the port stays, keeps writing, and every
//! later recv is told the end.
//!
//! Only the peer's FIN is generated on such a port. The peer's RST, the
//! port's own shutdown and send_timeout_close are not: each closes the
//! socket or exits the port through paths whose exit_on_close branches
//! were not measured (`enabled_half_closed`).

use super::{Life, Model};
use crate::observation::{OwnerMsg, Posix, Reply, SendResult};
use crate::op::Op;
use crate::options::Opt;
use crate::rules::{ids, RuleId};

impl Model {
    /// Is the port under test `{exit_on_close, false}`?
    pub(super) fn half_closes(&self) -> bool {
        !self.config.exit_on_close
    }

    /// PC-6: a passive recv reached the peer's FIN: `{error,closed}`; the
    /// socket and the queue stay, reading stops.
    pub(super) fn half_close_on_recv(&mut self) -> (Reply, RuleId) {
        self.state.input.end_read = true;
        self.why.ports = ids::PC_6;
        self.cross(ids::PC_6);
        (Reply::Recv(Err(Posix::Closed)), self.decide(ids::PC_6))
    }

    /// PC-6: a recv on a passive port that read the end reads it again
    /// and is told it again (an active one answers einval as always,
    /// RX-1). `tcp_recv_closed` answers a busy port's blocked caller
    /// first, with the queue dropped, exit_on_close or not: the suspended
    /// senders resume. `None` where the rule does not apply.
    pub(super) fn recv_after_half_close(&mut self) -> Option<(Reply, RuleId)> {
        if !self.half_closes() || self.state.life != Life::Open || self.state.opts.active.is_active() {
            return None;
        }
        self.cross(ids::PC_6);
        if self.driver().busy {
            self.drop_output(ids::PC_6, SendResult::Error(Posix::Closed));
        }
        Some((Reply::Recv(Err(Posix::Closed)), self.decide(ids::PC_6)))
    }

    /// PC-7: an active port read the peer's FIN: `{tcp_closed,S}`, and it
    /// stays, its active mode as it was.
    pub(super) fn half_close_on_delivery(&mut self) {
        self.state.input.end_read = true;
        self.why.ports = ids::PC_7;
        self.state.input.told_closed = true;
        self.cross(ids::PC_7);
        self.decide(ids::PC_7);
        self.state.input.mailbox.push(OwnerMsg::TcpClosed);
    }

    /// PC-7: a setopts left a port that read the end passively active:
    /// the owner is told, the first time only.
    pub(super) fn tell_half_closed(&mut self) -> Option<RuleId> {
        let i = &self.state.input;
        if !self.half_closes() || !i.end_read || i.told_closed || !self.state.opts.active.is_active() {
            return None;
        }
        self.state.input.told_closed = true;
        self.state.input.mailbox.push(OwnerMsg::TcpClosed);
        self.cross(ids::PC_7);
        Some(self.decide(ids::PC_7))
    }

    /// What a half-closing port does not generate (see the module doc);
    /// once it read the end, setopts lists the driver would reject (how a
    /// rejected active option meets a read side closed was not measured),
    /// and an active mode set while busy (the driver reads the end again:
    /// measured only for the first such setopts). On a real clock, no recv
    /// while busy either: the queue it drops may have lost bytes to the
    /// kernel since the last step (a write on the socket's last window),
    /// which later writes would come after, and only the peer's reads show
    /// how many (OTP 25 swarm seed 1402 case 33: one byte); the native
    /// runtime's exact writes check the drop (PC-6).
    /// `None`: the usual rules decide.
    pub(super) fn enabled_half_closed(&self, op: &Op) -> Option<bool> {
        if !self.half_closes() {
            return None;
        }
        match op {
            Op::PeerReset | Op::Shutdown { .. } => Some(false),
            Op::SetOpts { opts } if opts.iter().any(|o| matches!(o, Opt::SendTimeoutClose(true))) => Some(false),
            Op::Recv | Op::RecvWait { .. }
                if self.config.real_clock && self.state.input.end_read && self.driver().busy =>
            {
                Some(false)
            }
            Op::SetOpts { opts } if self.state.input.end_read && self.state.life == Life::Open => {
                let busy_active = self.driver().busy && opts.iter().any(|o| matches!(o, Opt::Active(_)));
                Some(
                    crate::options::setopts(self.state.opts, opts).is_ok()
                        && self.enabled_while_held(opts)
                        && !busy_active,
                )
            }
            _ => None,
        }
    }
}
