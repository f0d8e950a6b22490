//! Which backend carries the port's output: the inet driver's queue, or
//! (variant otp-socket) the socket NIF's pending sends, which have no
//! driver queue and no busy port (DIFF-SOCK-1). Each entry point that
//! differs matches on it once; the small otp-inet tweaks stay flag checks.

use super::driver::DriverQueue;
use super::socket_backend::SocketSide;
use super::{Choices, Divergence, Model, PendingSend};
use crate::observation::SendResult;

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(super) enum Backend {
    Driver(DriverQueue),
    Socket(SocketSide),
}

/// What shared code reads of the driver on the socket backend: an empty
/// queue, not busy, no timer (DIFF-SOCK-1).
static NO_DRIVER: DriverQueue = DriverQueue::IDLE;

/// What shared code reads of the socket side on the driver backend.
static NO_SOCKET: SocketSide = SocketSide::IDLE;

impl Model {
    #[inline]
    pub(super) fn driver(&self) -> &DriverQueue {
        match &self.state.backend {
            Backend::Driver(d) => d,
            Backend::Socket(_) => &NO_DRIVER,
        }
    }

    /// Only the inet driver's own paths change its queue.
    #[inline]
    pub(super) fn driver_mut(&mut self) -> &mut DriverQueue {
        match &mut self.state.backend {
            Backend::Driver(d) => d,
            Backend::Socket(_) => unreachable!("DIFF-SOCK-1: the socket backend has no driver queue"),
        }
    }

    #[inline]
    pub(super) fn sock(&self) -> &SocketSide {
        match &self.state.backend {
            Backend::Socket(s) => s,
            Backend::Driver(_) => &NO_SOCKET,
        }
    }

    /// Only the socket backend's own paths change its side.
    #[inline]
    pub(super) fn sock_mut(&mut self) -> &mut SocketSide {
        match &mut self.state.backend {
            Backend::Socket(s) => s,
            Backend::Driver(_) => unreachable!("the inet driver has no socket side"),
        }
    }

    /// A process sends. `Ok(None)`: the sender is now waiting or suspended.
    pub(super) fn send(&mut self, p: PendingSend, c: &mut Choices) -> Result<Option<SendResult>, Divergence> {
        match self.state.backend {
            Backend::Driver(_) => self.driver_send(p, c),
            Backend::Socket(_) => self.sock_send(p, c),
        }
    }

    #[inline]
    pub(super) fn on_socket(&self) -> bool {
        matches!(self.state.backend, Backend::Socket(_))
    }
}
