//! The port shuts its own socket down: `gen_tcp:shutdown(S, write |
//! read_write)` (SD-*). The inet driver shuts at once on an empty queue
//! (SD-1) and otherwise notes the shutdown and makes it once the queue
//! has emptied (SD-2); a send after either fails as a write on the peer's
//! reset does (SD-3, PC-5); read_write ends the port's input too (SD-4).
//!
//! Fixed cases only (`suite/tests/peer_scenarios.rs`): the generator never
//! draws the op, so the model follows it only where it is enabled below.

use super::peer_end::PeerEnd;
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
    /// without read readiness (DIFF-INET-5).
    pub(super) fn shutdown_enabled(&self) -> bool {
        !self.on_socket()
            && self.state.life != Life::Closing
            && !matches!(self.state.shut, Shut::Pending(_))
            && self.state.tasks.queue.is_empty()
            && !self.state.tasks.lock_held
            && !self.state.input.deaf
    }

    /// Ops the model does not follow once the port asked for a shutdown:
    /// the peer's RST (what a write meets would be the reset's or the
    /// shutdown's), lock contention, and a forced send onto a busy port
    /// with the shutdown pending (its refusal would answer the blocked
    /// caller, leaving the forcing sender without a reply); after
    /// read_write, the peer's writes (the read side is shut).
    pub(super) fn enabled_after_shutdown(&self, op: &Op) -> Option<bool> {
        let how = match self.state.shut {
            Shut::Open => return None,
            Shut::Pending(how) => Some(how),
            Shut::Done => None,
        };
        match op {
            Op::PeerReset | Op::ContendLock => Some(false),
            Op::PeerWrite { .. } if how == Some(ShutdownHow::ReadWrite) => Some(false),
            Op::Send { flags, .. } | Op::SendAt { flags, .. } if how.is_some() && flags.force && self.driver().busy => {
                Some(false)
            }
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
            }
        }
    }

    /// `shutdown(2)`: the FIN follows the bytes the kernel has; with
    /// read_write the port's reads reach the end after the bytes it
    /// already has, as at the peer's FIN (SD-4: the driver's
    /// tcp_recv_closed either way).
    fn shut_now(&mut self, how: ShutdownHow) {
        self.state.shut = Shut::Done;
        if how == ShutdownHow::ReadWrite && !self.peer_ended() {
            self.cross(ids::SD_4);
            self.state.input.peer_end = PeerEnd::Fin;
        }
    }

    /// Has the port asked for a shutdown of its write side (pending or
    /// made)? Its failed writes are then the shutdown's (SD-3).
    pub(super) fn shut_asked(&self) -> bool {
        self.state.shut != Shut::Open
    }

    /// Is the write side shut down (the peer reads EOF after the bytes
    /// written, SD-1)?
    pub(super) fn write_side_shut(&self) -> bool {
        self.state.shut == Shut::Done
    }

    /// SD-3: a send reaching the driver while a shutdown waits for the
    /// queue is refused (`tcp_shutdown_error(EPIPE)`).
    pub(super) fn send_refused_by_shutdown(&self) -> bool {
        self.state.socket_open && matches!(self.state.shut, Shut::Pending(_))
    }
}
