//! The peer ends the connection (PC-*, RS-1): a FIN (it shuts down its
//! write side) or a RST (it closes with `{linger, {true, 0}}`), and what
//! the port makes of it once its reads reach the end.
//!
//! A FIN is generated only on an idle port (nothing queued, every sender
//! idle, no port task), and no send follows it until the port has read it
//! (the peer still reads: nothing for the port to report). A RST may also
//! come while output is queued and senders are blocked or suspended: the
//! driver's write meets it (PC-5); sends after either end are answered
//! as the driver's delayed-close flags say (PC-4).

use super::senders::Sender;
use super::{Life, Model};
use crate::observation::{OwnerMsg, Posix, Reply, SendResult};
use crate::options::{ActiveSetting, Opt};
use crate::rules::{ids, RuleId};
use crate::units::{Bytes, SenderId};

/// How the peer has ended its side of the connection.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(super) enum PeerEnd {
    #[default]
    Open,
    Fin,
    Reset,
}

/// What inet_drv notes for the next send and recv once a passive port's
/// socket closed on the peer's end: `TCP_ADDF_DELAYED_CLOSE_SEND`,
/// `_CLOSE_RECV` and `_ECONNRESET` (PC-4, PC-5).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(super) struct Delayed {
    /// The next send is answered {error,closed} (or econnreset) instead of
    /// {error,enotconn}: nobody was there to be told when the socket went.
    pub(super) send: bool,
    /// The next recv reports the end: a write found it first.
    pub(super) recv: bool,
    /// ... as {error,econnreset} (show_econnreset, RS-1).
    pub(super) econnreset: bool,
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

    /// May the peer reset the connection now? As for a FIN (`may_end`),
    /// or with output queued and senders blocked or suspended on it
    /// (PC-5), as long as the driver's state is the plain one: no port
    /// task or held lock, no second send timer or reply on its way
    /// (DIFF-INET-4, -6), no blocked caller but the busy one, and busy
    /// only with that caller in its slot (DIFF-INET-9 empties it).
    pub(super) fn may_reset(&self) -> bool {
        if self.half_closes()
            || self.state.life != Life::Open
            || !self.state.socket_open
            || self.state.input.deaf
            || self.peer_ended()
            || self.on_socket()
            || !self.state.tasks.queue.is_empty()
            || self.state.tasks.lock_held
        {
            return false;
        }
        let d = self.driver();
        let senders = &self.state.senders;
        d.more_timers.is_empty()
            && d.replying.is_empty()
            && (!d.busy || d.busy_caller.is_some())
            && senders.resumable.is_empty()
            && senders.orphaned.is_empty()
            && senders.stale.iter().all(|s| s.is_empty())
            && !senders.detached.iter().any(|&d| d)
            && senders.list.iter().enumerate().all(|(i, s)| match s {
                Sender::Idle | Sender::Suspended(_) => true,
                Sender::Waiting => d.busy_caller == Some(SenderId(i as u8)),
            })
    }

    /// Ops the model follows once the peer has ended the connection: no
    /// peer writes; after a RST no peer reads; setopts only of an active
    /// mode (what was measured); sends, except onto a FIN the port has not
    /// read (PC-4, PC-5).
    pub(super) fn enabled_after_end(&self, op: &crate::op::Op) -> Option<bool> {
        use crate::op::Op;
        if !self.peer_ended() {
            return None;
        }
        let gone = self.state.input.end_read && self.state.life == Life::Closed;
        Some(match op {
            Op::Send { .. } | Op::SendAt { .. }
                if self.state.input.peer_end == PeerEnd::Fin
                    && !self.state.input.end_read
                    && self.state.life != Life::Closed =>
            {
                false
            }
            Op::PeerWrite { .. } => false,
            Op::PeerShutdown | Op::PeerReset => false,
            Op::PeerRead { .. } => self.state.input.peer_end == PeerEnd::Fin,
            // Making the port active ends it (PC-2, PC-3, PC-5): not with a
            // send scheduled as a port task, whose abort is not modelled.
            Op::SetOpts { opts } => {
                (gone
                    || self.state.life == Life::Open
                        && self.state.tasks.queue.is_empty()
                        && !self.state.tasks.lock_held)
                    && !opts.is_empty()
                    && opts.iter().all(|o| {
                        matches!(o, Opt::Active(ActiveSetting::True | ActiveSetting::Once))
                            || matches!(o, Opt::Active(ActiveSetting::N(n)) if (1..=100).contains(n))
                    })
            }
            Op::Recv | Op::Mailbox => self.state.life == Life::Open || gone,
            // Answered at once: the end was reported (PC-2, PC-3).
            Op::RecvWait { .. } if self.state.input.end_read => {
                (self.state.life == Life::Open || gone) && !self.reader_waits()
            }
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
        if self.half_closes() {
            return self.half_close_on_recv();
        }
        let reason = self.end_reason();
        let rule = self.end_rule();
        self.state.input.end_read = true;
        self.cross(ids::PC_1);
        if reason == Posix::Econnreset {
            self.cross(ids::RS_1);
        }
        // tcp_desc_close: the queue goes too; a busy port's blocked caller
        // is answered {error,closed} (PC-5). Otherwise tcp_recv_closed
        // (not tcp_recv_error, the reported reset) tells the next send
        // the socket closed (PC-4).
        let busy = self.driver().busy;
        if self.driver().queue > Bytes::ZERO || busy {
            self.drop_output(ids::PC_5, SendResult::Error(Posix::Closed));
        }
        self.state.input.delayed.send = reason == Posix::Closed && !busy;
        self.close_socket();
        (Reply::Recv(Err(reason)), self.decide(rule))
    }

    /// PC-2: recv after the end was reported; PC-3: on a port that exited.
    pub(super) fn recv_after_end(&mut self) -> Option<(Reply, RuleId)> {
        if !self.state.input.end_read {
            return None;
        }
        if self.half_closes() && self.state.life == Life::Open {
            return self.recv_after_half_close();
        }
        Some(if self.state.life == Life::Closed {
            (Reply::Recv(Err(Posix::Closed)), self.decide(ids::PC_3))
        } else if std::mem::take(&mut self.state.input.delayed.recv) {
            // PC-5: a write met the reset first (SD-3: failed on the
            // shutdown); this recv reports it.
            self.state.input.delayed.send = false;
            let reason = if std::mem::take(&mut self.state.input.delayed.econnreset) {
                Posix::Econnreset
            } else {
                Posix::Closed
            };
            let rule = if self.shut_asked() { ids::SD_3 } else { ids::PC_5 };
            self.cross(rule);
            (Reply::Recv(Err(reason)), self.decide(rule))
        } else {
            self.cross(ids::PC_2);
            (Reply::Recv(Err(Posix::Enotconn)), self.decide(ids::PC_2))
        })
    }

    /// PC-3/RS-1: an active port's read reached the end: [tcp_error],
    /// tcp_closed, and the port exits.
    /// Output still queued goes with the port (a RST fails its writes):
    /// a blocked caller is answered {error,closed} (tcp_recv_closed and
    /// tcp_recv_error alike) and the suspended senders resume (PC-5).
    pub(super) fn active_end(&mut self) {
        if self.half_closes() {
            return self.half_close_on_delivery();
        }
        let reason = self.end_reason();
        self.state.input.end_read = true;
        self.cross(ids::PC_3);
        self.decide(ids::PC_3);
        if self.driver().queue > Bytes::ZERO || self.driver().busy {
            self.drop_output(ids::PC_5, SendResult::Error(Posix::Closed));
        }
        if reason == Posix::Econnreset {
            self.cross(ids::RS_1);
            self.state.input.mailbox.push(OwnerMsg::TcpError(reason));
        }
        self.state.input.mailbox.push(OwnerMsg::TcpClosed);
        self.port_exits(ids::PC_3);
    }

    /// PC-2: an active setopts on a port whose socket PC-1 closed: the
    /// owner gets {tcp_closed,S} and the port exits; one that leaves it
    /// passive only sets the options. PC-3: setopts on a
    /// port that exited answers einval. `None` when neither applies.
    pub(super) fn setopts_after_end(&mut self, opts: &[Opt]) -> Option<(Reply, RuleId)> {
        if !self.state.input.end_read || self.half_closes() && self.state.life == Life::Open {
            // A half-closed port takes setopts as any open port (PC-7).
            return None;
        }
        if self.state.life == Life::Closed {
            return Some((Reply::SetOpts(Err(Posix::Einval)), self.decide(ids::PC_3)));
        }
        let applied = crate::options::setopts(self.state.opts, opts).ok()?;
        self.state.opts = applied.options;
        self.cross(ids::PC_2);
        if !applied.options.active.is_active() {
            // Left passive: only the options change, an {active,N} at or
            // below zero sends its tcp_passive (RX-4) as on any port
            // (probe_setopts_after_end.erl).
            for _ in 0..applied.passive_notices {
                self.state.input.mailbox.push(OwnerMsg::TcpPassive);
            }
            return Some((Reply::SetOpts(Ok(())), self.decide(ids::PC_2)));
        }
        self.state.input.mailbox.push(OwnerMsg::TcpClosed);
        self.port_exits(ids::PC_2);
        Some((Reply::SetOpts(Ok(())), self.decide(ids::PC_2)))
    }

    /// PC-3: a recv or a setopts on a port that exited without a read of
    /// the end (its send timer closed it while active, DIFF-INET-11; on a
    /// real clock between two steps): the port is gone, recv answers
    /// {error,closed}, setopts {error,einval}. `None` otherwise.
    pub(super) fn on_exited_port(&mut self, asked: RuleId) -> Option<(Reply, RuleId)> {
        if self.state.life != Life::Closed || !self.state.exited || self.state.input.end_read {
            return None;
        }
        // A killed port answers the same (CL-5).
        let rule = if self.state.killed { ids::CL_5 } else { ids::PC_3 };
        self.cross(rule);
        let reply =
            if asked == ids::RX_6 { Reply::Recv(Err(Posix::Closed)) } else { Reply::SetOpts(Err(Posix::Einval)) };
        Some((reply, self.decide(rule)))
    }

    /// exit_on_close: the port leaves the table with its socket.
    pub(super) fn port_exits(&mut self, rule: RuleId) {
        self.state.life = Life::Closed;
        self.state.exited = true;
        self.state.table.ports -= 1;
        self.why.ports = rule;
        if self.state.socket_open {
            self.close_socket();
        }
        self.port_gone();
    }

    /// PC-5: the write the driver is about to make meets the peer's RST
    /// (the step that brought it waited until it reached the socket).
    pub(super) fn write_meets_reset(&self) -> bool {
        self.state.input.peer_end == PeerEnd::Reset && self.state.socket_open
    }

    /// PC-5, SD-3: the write the driver is about to make fails: it meets
    /// the peer's RST, or the write side the port shut down (EPIPE).
    pub(super) fn write_fails(&self) -> bool {
        self.write_meets_reset() || (self.state.socket_open && self.write_side_shut())
    }

    /// PC-5 (`tcp_send_or_shutdown_error`): a write failed on the peer's
    /// RST. Busy ends (its blocked caller is the one answered; the
    /// suspended senders resume), the send timer is cancelled, the queue
    /// and the socket go. An active port tells its owner ([tcp_error],
    /// tcp_closed) and exits; a passive one answers `caller` (the sender
    /// whose own write failed) or, with nobody to answer, the next send,
    /// and the next recv reports the end. Returns `caller`'s reply.
    /// A write that fails on the port's own shutdown (SD-3: EPIPE, or the
    /// driver's refusal while the shutdown is pending) takes the same path:
    /// the refusal reported as closed, EPIPE as a reset where
    /// show_econnreset asks for one.
    pub(super) fn write_failed(&mut self, caller: Option<SenderId>) -> Option<SendResult> {
        let (reason, rule) = if self.shutdown_waits() {
            // The driver's refusal (tcp_shutdown_error): closed.
            (Posix::Closed, ids::SD_3)
        } else if self.write_side_shut() {
            // The write's EPIPE, which tcp_send_error reports as a reset
            // (probe_shutdown_econnreset.erl), but after a shutdown made
            // when the queue emptied (probe_shutdown_made_later.erl).
            (if self.shutdown_write_shows_reset() { Posix::Econnreset } else { Posix::Closed }, ids::SD_3)
        } else {
            (self.end_reason(), ids::PC_5)
        };
        self.cross(rule);
        self.decide(rule);
        if reason == Posix::Econnreset {
            self.cross(ids::RS_1);
        }
        let busy = self.driver().busy;
        self.drop_output(rule, SendResult::Error(reason));
        if self.state.life == Life::Closed {
            // Closed by its owner while flushing (CL-1): it left the table
            // then, and nobody is told; only the socket goes.
            self.close_socket();
            return None;
        }
        self.state.input.end_read = true;
        if self.state.opts.active.is_active() {
            if reason == Posix::Econnreset {
                self.state.input.mailbox.push(OwnerMsg::TcpError(reason));
            }
            self.state.input.mailbox.push(OwnerMsg::TcpClosed);
            self.port_exits(rule);
            return caller.map(|_| SendResult::Error(reason));
        }
        self.close_socket();
        self.reader_socket_closed();
        let answered = busy || caller.is_some();
        self.state.input.delayed = Delayed { send: !answered, recv: true, econnreset: reason == Posix::Econnreset };
        caller.filter(|_| !busy).map(|_| SendResult::Error(reason))
    }

    /// The queue goes with the socket, the flush and the send timers are
    /// cancelled, and a busy port leaves busy: its blocked caller gets
    /// `reply` and the suspended senders resume.
    pub(super) fn drop_output(&mut self, rule: RuleId, reply: SendResult) {
        let busy = self.driver().busy;
        self.discard_queue(rule, rule == ids::SD_3 || rule == ids::CL_4);
        if busy {
            self.unbusy_with(rule, reply);
        }
    }

    /// The driver's queue and its timers go, by `rule`; the peer reads no
    /// byte of the queue. `by_op`: an op dropped it (the refused send,
    /// SD-3; the zero linger close, CL-4; the kill, CL-5), and on a real
    /// clock the driver may have handed the kernel part of it between the
    /// last answer and the op (as before a send timer fires, TO-3): the
    /// peer's reads will show it. Each of those closes the socket, so no
    /// later write follows the bytes it may have lost (a recv on a busy
    /// half-closed port, PC-6, would leave the socket open: it is not
    /// generated on a real clock, `enabled_half_closed`).
    pub(super) fn discard_queue(&mut self, rule: RuleId, by_op: bool) {
        let d = self.driver_mut();
        d.queue = Bytes::ZERO;
        d.flush_armed = false;
        d.send_deadline = None;
        d.more_timers.clear();
        d.caller_deadline = None;
        self.why.queue = rule;
        if self.config.real_clock && by_op {
            self.state.peer.cut_slack = self.state.peer.out.len() - self.state.peer.written;
        } else {
            self.state.peer.out.truncate(self.state.peer.written);
        }
    }

    /// PC-4: a send onto a socket the peer's end closed under a passive
    /// port: {error,closed} (econnreset after a reported reset write,
    /// PC-5) for the first send nobody told yet, {error,enotconn} after.
    pub(super) fn send_after_end(&mut self) -> SendResult {
        self.cross(ids::PC_4);
        self.decide(ids::PC_4);
        let d = &mut self.state.input.delayed;
        if std::mem::take(&mut d.send) {
            SendResult::Error(if d.econnreset { Posix::Econnreset } else { Posix::Closed })
        } else {
            SendResult::Error(Posix::Enotconn)
        }
    }
}
