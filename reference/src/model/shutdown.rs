//! The port shuts its own socket down: `gen_tcp:shutdown(S, write |
//! read_write)` (SD-*). The inet driver shuts at once on an empty queue
//! (SD-1) and otherwise notes the shutdown and makes it once the queue
//! has emptied (SD-2); a send after either fails as a write on the peer's
//! reset does (SD-3, PC-5); read_write ends the port's input too (SD-4).
//!
//! Generated as a recipe (swarm) and as a uniform case's tail on systems
//! that have the op (`suite/src/generate.rs`), and checked by fixed cases
//! (`suite/tests/peer_scenarios.rs`); the model follows it only where it
//! is enabled below.

use super::peer_end::PeerEnd;
use super::senders::Sender;
use super::{Life, Model};
use crate::observation::{Posix, Reply};
use crate::op::{Op, ShutdownHow};
use crate::rules::{ids, RuleId};
use crate::units::Bytes;

/// Where the port's own shutdown of its socket stands.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(super) enum Shut {
    #[default]
    Open,
    /// Asked with output queued: the driver shuts the socket once the
    /// queue empties (SD-2, `TCP_ADDF_PENDING_SHUT_*`).
    Pending(ShutdownHow),
    /// `shutdown(2)` was made: the peer reads EOF after the bytes written,
    /// and a write fails (SD-1, SD-3).
    Done,
}

impl Model {
    /// May the owner call gen_tcp:shutdown now? On the inet driver's port
    /// (open, or closed: SD-1's {error,closed}), not while a shutdown waits
    /// for the queue (a second one would only add a flag), not while port
    /// tasks are queued or the lock is held (port_control would wait), not
    /// while gen_tcp:close waits (DIFF-INET-3), and not on an active port
    /// without read readiness (DIFF-INET-5), nor with senders suspended
    /// (see below). Once the shutdown is made,
    /// not a second one over output a delay_send queued after it (its
    /// flush, a close meanwhile and the pending flag together are not
    /// measured), nor once the peer's end came too (both FINs crossed: the
    /// kernel's connection closed, and the model does not tell the peer's
    /// FIN from read_write's end). Not with `{linger, {true, 0}}` (the
    /// reset of a later close races the FIN: see below).
    pub(super) fn shutdown_enabled(&self) -> bool {
        // Suspended senders retry when busy ends, maybe just after the
        // shutdown is made, when only the peer's window decides whether a
        // failed retry's reset follows the FIN (`enabled_after_shutdown`).
        let suspended = self.state.senders.list.iter().any(|s| matches!(s, Sender::Suspended(_)))
            || !self.state.senders.resumable.is_empty();
        let waits = suspended
            || self.state.life == Life::Closing
            || matches!(self.state.shut, Shut::Pending(_))
            || !self.state.tasks.queue.is_empty()
            || self.state.tasks.lock_held;
        let after_made = self.write_side_shut() && (self.driver().queue > Bytes::ZERO || self.peer_ended());
        // With a zero linger time the socket's close resets, maybe after
        // the shutdown's FIN reached the peer (EOF), maybe before (the
        // reset): only the peer's window decides (CL-4, CL-3).
        let resets_after_fin = self.config.linger_zero;
        !self.on_socket() && !waits && !after_made && !self.state.input.deaf && !resets_after_fin
    }

    /// Ops the model does not follow once the port asked for a shutdown:
    /// the peer's RST (what a write meets would be the reset's or the
    /// shutdown's), lock contention, and a send onto a busy port
    /// with the shutdown pending (its refusal would answer the blocked
    /// caller, leaving the forcing sender without a reply; any other
    /// would suspend, see below); after
    /// read_write, the peer's writes (the read side is shut). Once the
    /// shutdown is made, not a send or a close (whose failed write or
    /// close may reset with input unread, CL-3) before the peer has read
    /// every byte before the FIN: the RST then overtakes a FIN still behind
    /// output in the kernel's queue or follows one already delivered,
    /// which only the peer's window decides (`peer_had_the_fin`; the
    /// harnesses give the peer different buffers: measured, a BEAM
    /// adapter's peer saw the reset where the native runtime's saw EOF).
    pub(super) fn enabled_after_shutdown(&self, op: &Op) -> Option<bool> {
        if self.write_side_shut()
            && self.state.socket_open
            && !self.peer_had_the_fin()
            && matches!(op, Op::Send { .. } | Op::SendAt { .. } | Op::Close)
        {
            return Some(false);
        }
        let how = match self.state.shut {
            Shut::Open => return None,
            Shut::Pending(how) => Some(how),
            Shut::Done => None,
        };
        match op {
            Op::PeerReset | Op::ContendLock => Some(false),
            Op::PeerWrite { .. } if how == Some(ShutdownHow::ReadWrite) => Some(false),
            // A forced send's refusal would answer the blocked caller; any
            // other would suspend and retry once the shutdown is made,
            // maybe before the peer has the FIN.
            Op::Send { .. } | Op::SendAt { .. } if how.is_some() && self.driver().busy => Some(false),
            _ => None,
        }
    }

    /// SD-1/SD-2: `gen_tcp:shutdown(S, how)` by the owner.
    pub(super) fn shutdown(&mut self, how: ShutdownHow) -> (Reply, RuleId) {
        if self.state.life == Life::Closed {
            return (Reply::Shutdown(Err(Posix::Closed)), self.decide(ids::SD_1));
        }
        self.cross(ids::SD_1);
        if !self.state.socket_open {
            // TCP_REQ_SHUTDOWN: `!IS_CONNECTED` -> ENOTCONN.
            return (Reply::Shutdown(Err(Posix::Enotconn)), self.decide(ids::SD_1));
        }
        if self.state.input.peer_end == PeerEnd::Reset && self.driver().queue == Bytes::ZERO {
            // The peer's RST closed the kernel's connection: sock_shutdown
            // fails (inet_shutdown on TCP_CLOSE) and the driver answers
            // its errno.
            return (Reply::Shutdown(Err(Posix::Enotconn)), self.decide(ids::SD_1));
        }
        if self.driver().queue > Bytes::ZERO {
            self.cross(ids::SD_2);
            self.state.shut = Shut::Pending(how);
            // The queue stays as it is: SD-2 decides that it is still there.
            self.why.queue = ids::SD_2;
            return (Reply::Shutdown(Ok(())), self.decide(ids::SD_2));
        }
        self.shut_now(how);
        (Reply::Shutdown(Ok(())), self.decide(ids::SD_1))
    }

    /// SD-2: the queue emptied; a pending shutdown is made now
    /// (`tcp_shutdown_async`).
    pub(super) fn shut_when_flushed(&mut self) {
        if let Shut::Pending(how) = self.state.shut {
            if self.driver().queue == Bytes::ZERO && self.state.socket_open {
                self.decide(ids::SD_2);
                self.shut_now(how);
                self.state.shut_after_flush = true;
            }
        }
    }

    /// `shutdown(2)`: the FIN follows the bytes the kernel has; with
    /// read_write the port's reads reach the end after the bytes it
    /// already has, as at the peer's FIN (SD-4: the driver's
    /// tcp_recv_closed either way).
    fn shut_now(&mut self, how: ShutdownHow) {
        self.state.shut = Shut::Done;
        self.state.fin_sent = true;
        if how == ShutdownHow::ReadWrite && !self.peer_ended() {
            self.cross(ids::SD_4);
            self.state.input.peer_end = PeerEnd::Fin;
        }
    }

    /// Does a shutdown wait for the queue to empty (SD-2)? A send meanwhile
    /// is refused (SD-3).
    pub(super) fn shutdown_waits(&self) -> bool {
        matches!(self.state.shut, Shut::Pending(_))
    }

    /// SD-3: is a write's EPIPE on the port's shutdown shown as a reset?
    /// With show_econnreset, unless that shutdown was made when the queue
    /// emptied (measured on OTP 25, 27 and 29,
    /// probe_shutdown_made_later.erl; swarm seed 1602 on 25 and 27).
    pub(super) fn shutdown_write_shows_reset(&self) -> bool {
        self.config.show_econnreset && !self.state.shut_after_flush
    }

    /// Has the port asked for a shutdown of its write side (pending or
    /// made)? Its failed writes are then the shutdown's (SD-3).
    pub(super) fn shut_asked(&self) -> bool {
        self.state.shut != Shut::Open
    }

    /// SD-3, CL-3: has the peer's socket surely received the FIN of the
    /// shutdown? Once the peer has read every byte before it, none waits
    /// in the kernel's send queue: the FIN rides on the last segment or
    /// follows it at once (`tcp_send_fin` pushes with Nagle off). After
    /// the shutdown nothing more is written, so this only becomes true. A RST after it is not reported to the peer's reads:
    /// they stop at the FIN (`tcp_recvmsg` looks at `SOCK_DONE` before
    /// `sk_err`), and `tcp_reset` in CLOSE_WAIT sets EPIPE, not
    /// ECONNRESET, for its writes.
    pub(super) fn peer_had_the_fin(&self) -> bool {
        self.write_side_shut() && self.peer_unread() == Bytes::ZERO
    }

    /// Is the write side shut down (the peer reads EOF after the bytes
    /// written, SD-1)? Also while a second shutdown, asked over output
    /// a delay_send queued after the first, waits for the queue (SD-2):
    /// its writes fail on the first one's FIN (SD-3).
    pub(super) fn write_side_shut(&self) -> bool {
        self.state.fin_sent
    }

    /// SD-3: a send reaching the driver while a shutdown waits for the
    /// queue is refused (`tcp_shutdown_error(EPIPE)`).
    pub(super) fn send_refused_by_shutdown(&self) -> bool {
        self.state.socket_open && matches!(self.state.shut, Shut::Pending(_))
    }
}
