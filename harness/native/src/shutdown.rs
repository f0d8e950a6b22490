//! `gen_tcp:shutdown/2` on a tcp port (SD-*): inet_drv's
//! `TCP_REQ_SHUTDOWN`, which shuts the socket at once when the driver
//! queue is empty and otherwise notes the request for the moment the queue
//! empties (`TCP_ADDF_PENDING_SHUT_WR` / `_RDWR`, `tcp_shutdown_async`).

/// Which sides `gen_tcp:shutdown/2` shuts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum How {
    /// `write`: a FIN after the queued bytes; the port still receives.
    Write,
    /// `read_write`: reads end after the bytes already received (SD-4).
    ReadWrite,
}

impl From<How> for std::net::Shutdown {
    fn from(h: How) -> Self {
        match h {
            How::Write => std::net::Shutdown::Write,
            How::ReadWrite => std::net::Shutdown::Both,
        }
    }
}

/// Where the port's own shutdown of its socket stands.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Shut {
    #[default]
    Open,
    /// Asked with output queued: made once the queue empties (SD-2); a
    /// send meanwhile is refused as a failed write (SD-3).
    Pending(How),
    /// `shutdown(2)` was made: writes fail with EPIPE (SD-3).
    Done,
}

impl Shut {
    /// The port asked for a shutdown (pending or made): a write that fails
    /// now fails on it, reported as closed (SD-3).
    pub fn asked(self) -> bool {
        self != Shut::Open
    }
}
