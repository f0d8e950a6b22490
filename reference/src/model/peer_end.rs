//! The peer ends the connection (PC-*, RS-1): a FIN (it shuts down its
//! write side) or a RST (it closes with `{linger, {true, 0}}`), and what
//! the port makes of it once its reads reach the end.
//!
//! Generated only on an idle port (nothing queued, every sender idle, no
//! port task) and never followed by a send: how a send meets a connection
//! the peer ended is not modelled yet.

use super::{Life, Model};
use crate::observation::{OwnerMsg, Posix, Reply};
use crate::options::{ActiveSetting, Opt};
use crate::rules::{ids, RuleId};

/// How the peer has ended its side of the connection.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(super) enum PeerEnd {
    #[default]
    Open,
    Fin,
    Reset,
}

impl Model {
    /// The peer's FIN or RST, which the op's step waits to reach the port's
    /// socket; nothing at the port changes until it reads.
    pub(super) fn peer_ends(&mut self, how: PeerEnd) -> (Reply, RuleId) {
        self.state.input.peer_end = how;
        if how == PeerEnd::Reset {
            // The peer's socket is gone, with whatever it had not read.
            self.state.peer.read = self.state.peer.written;
        }
        (Reply::None, self.end_rule())
    }

    pub(super) fn peer_ended(&self) -> bool {
        self.state.input.peer_end != PeerEnd::Open
    }

    /// May the peer end the connection now? Only on an open, idle port
    /// whose peer has not ended it yet (see the module doc), and not on a
    /// port active without read readiness (DIFF-INET-5): a system that
    /// settles waits for an active port to read the end.
    pub(super) fn may_end(&self) -> bool {
        self.state.life == Life::Open
            && self.state.socket_open
            && !self.state.input.deaf
            && !self.peer_ended()
            && self.driver().queue == crate::units::Bytes::ZERO
            && self.state.tasks.queue.is_empty()
            && !self.state.tasks.lock_held
            && self.state.senders.list.iter().all(|s| *s == super::senders::Sender::Idle)
            && !self.on_socket()
    }

    /// Ops the model follows once the peer has ended the connection: no
    /// sends and no peer writes; after a RST no peer reads; setopts only
    /// of an active mode (what was measured).
    pub(super) fn enabled_after_end(&self, op: &crate::op::Op) -> Option<bool> {
        use crate::op::Op;
        if !self.peer_ended() {
            return None;
        }
        let gone = self.state.input.end_read && self.state.life == Life::Closed;
        Some(match op {
            Op::Send { .. } | Op::SendAt { .. } | Op::PeerWrite { .. } => false,
            Op::PeerShutdown | Op::PeerReset => false,
            Op::PeerRead { .. } => self.state.input.peer_end == PeerEnd::Fin,
            Op::SetOpts { opts } => {
                (self.state.life == Life::Open || gone)
                    && !opts.is_empty()
                    && opts.iter().all(|o| {
                        matches!(o, Opt::Active(ActiveSetting::True | ActiveSetting::Once))
                            || matches!(o, Opt::Active(ActiveSetting::N(n)) if (1..=100).contains(n))
                    })
            }
            Op::Recv | Op::Mailbox => self.state.life == Life::Open || gone,
            _ => return None,
        })
    }

    /// The rule that decides how the end is reported: RS-1 for a RST
    /// (with show_econnreset or without), PC-1 for a FIN.
    fn end_rule(&self) -> RuleId {
        match self.state.input.peer_end {
            PeerEnd::Reset => ids::RS_1,
            _ => ids::PC_1,
        }
    }

    /// RS-1: a RST with show_econnreset is reported as a reset; anything
    /// else as closed.
    fn end_reason(&self) -> Posix {
        match self.state.input.peer_end {
            PeerEnd::Reset if self.config.show_econnreset => Posix::Econnreset,
            _ => Posix::Closed,
        }
    }

    /// A read found nothing more to read: has it reached the peer's end?
    /// (Once the FIN or RST is there, a read never blocks.)
    pub(super) fn at_end(&self) -> bool {
        self.peer_ended() && !self.state.input.end_read && self.input_pending() == crate::units::Bytes::ZERO
    }

    /// PC-1/RS-1: a passive recv reached the end. The driver closes the
    /// socket (inet_close); the port stays.
    pub(super) fn recv_end(&mut self) -> (Reply, RuleId) {
        let reason = self.end_reason();
        let rule = self.end_rule();
        self.state.input.end_read = true;
        self.cross(ids::PC_1);
        if reason == Posix::Econnreset {
            self.cross(ids::RS_1);
        }
        self.close_socket();
        (Reply::Recv(Err(reason)), self.decide(rule))
    }

    /// PC-2: recv after the end was reported; PC-3: on a port that exited.
    pub(super) fn recv_after_end(&mut self) -> Option<(Reply, RuleId)> {
        if !self.state.input.end_read {
            return None;
        }
        Some(if self.state.life == Life::Closed {
            (Reply::Recv(Err(Posix::Closed)), self.decide(ids::PC_3))
        } else {
            self.cross(ids::PC_2);
            (Reply::Recv(Err(Posix::Enotconn)), self.decide(ids::PC_2))
        })
    }

    /// PC-3/RS-1: an active port's read reached the end: [tcp_error],
    /// tcp_closed, and the port exits.
    pub(super) fn active_end(&mut self) {
        let reason = self.end_reason();
        self.state.input.end_read = true;
        self.cross(ids::PC_3);
        self.decide(ids::PC_3);
        if reason == Posix::Econnreset {
            self.cross(ids::RS_1);
            self.state.input.mailbox.push(OwnerMsg::TcpError(reason));
        }
        self.state.input.mailbox.push(OwnerMsg::TcpClosed);
        self.port_exits(ids::PC_3);
    }

    /// PC-2: an active setopts on a port whose socket PC-1 closed: the
    /// owner gets {tcp_closed,S} and the port exits. PC-3: setopts on a
    /// port that exited answers einval. `None` when neither applies.
    pub(super) fn setopts_after_end(&mut self, opts: &[Opt]) -> Option<(Reply, RuleId)> {
        if !self.state.input.end_read {
            return None;
        }
        if self.state.life == Life::Closed {
            return Some((Reply::SetOpts(Err(Posix::Einval)), self.decide(ids::PC_3)));
        }
        let applied = crate::options::setopts(self.state.opts, opts).ok()?;
        self.state.opts = applied.options;
        self.cross(ids::PC_2);
        self.state.input.mailbox.push(OwnerMsg::TcpClosed);
        self.port_exits(ids::PC_2);
        Some((Reply::SetOpts(Ok(())), self.decide(ids::PC_2)))
    }

    /// exit_on_close: the port leaves the table with its socket.
    fn port_exits(&mut self, rule: RuleId) {
        self.state.life = Life::Closed;
        self.state.table.ports -= 1;
        self.why.ports = rule;
        if self.state.socket_open {
            self.close_socket();
        }
        self.port_gone();
    }
}
