//! The listen port and its accept path, which must survive running out of
//! file descriptors (KN-EMFILE-1, KN-EMFILE-2).
//!
//! At RLIMIT_NOFILE, accept(2) fails with EMFILE *before* it dequeues a
//! connection (net/socket.c reserves the fd first), so the connection
//! stays queued and the listener stays readable. A level-triggered loop
//! that just retries spins; an edge-triggered one (mio) that waits for the
//! next edge never accepts the waiting connection until another one
//! arrives. The runtime therefore accepts through its
//! [`AcceptLoop`] with [`Strategy::PauseAccept`] (nginx's
//! `ngx_disable_accept_events`): on EMFILE it drops accept interest and
//! retries when the runtime releases an fd ([`ListenPort::fd_released`]) or
//! after [`AcceptPolicy::retry_after`], whichever comes first. Nothing is
//! lost meanwhile: the connection waits in the kernel's queue, the
//! listener stays open.

use crate::accept_loop::{AcceptLoop, Stats, Strategy};
use crate::bugs::{Faults, PlantedBug};
use crate::options::PortOptions;
use mio::net::TcpStream;
use std::io;
use std::net::SocketAddr;
use std::os::fd::{BorrowedFd, OwnedFd};
use std::time::{Duration, Instant};

/// How the accept path waits out fd exhaustion.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AcceptPolicy {
    /// After EMFILE/ENFILE, retry accept this long later if the runtime has
    /// not released an fd before (an fd freed elsewhere in the process is
    /// only noticed this way).
    pub retry_after: Duration,
}

impl Default for AcceptPolicy {
    fn default() -> Self {
        AcceptPolicy { retry_after: Duration::from_millis(100) }
    }
}

impl AcceptPolicy {
    /// The most wakeups the accept path may have while the process stays
    /// out of fds for `elapsed` and the runtime releases none: the one that
    /// meets EMFILE and pauses, then one retry per `retry_after`
    /// (KN-EMFILE-2). Each fd the runtime releases may add one more.
    pub fn max_wakeups_while_exhausted(&self, elapsed: Duration) -> u64 {
        let retries = elapsed.as_nanos() / self.retry_after.as_nanos().max(1);
        1 + u64::try_from(retries).unwrap_or(u64::MAX - 1)
    }
}

/// The listen port: the listener inside its accept loop, and the options
/// its accepted ports inherit (OPT-6).
pub struct ListenPort {
    accept: AcceptLoop,
    pub opts: PortOptions,
}

impl std::fmt::Debug for ListenPort {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ListenPort")
            .field("opts", &self.opts)
            .field("paused", &self.accept.is_paused())
            .field("stats", &self.accept.stats)
            .finish()
    }
}

impl ListenPort {
    /// Bind and listen on `addr` (loopback in every test); returns the port
    /// and the bound address.
    pub fn bind(
        addr: SocketAddr,
        opts: PortOptions,
        policy: AcceptPolicy,
        faults: Faults,
    ) -> io::Result<(ListenPort, SocketAddr)> {
        let listener = std::net::TcpListener::bind(addr)?;
        let local = listener.local_addr()?;
        let strategy = if faults.has(PlantedBug::AcceptSpinsOnEmfile) {
            // Planted (KN-EMFILE-2): retry at once on EMFILE.
            Strategy::Naive
        } else {
            let ms = policy.retry_after.as_millis().clamp(1, u128::from(u64::MAX)) as u64;
            Strategy::PauseAccept { backoff_ms: ms }
        };
        // One connection per accept call: each becomes a port (or is closed,
        // PT-2) before the next fd is taken.
        let accept = AcceptLoop::new(OwnedFd::from(listener), strategy)?.with_batch_limit(1);
        Ok((ListenPort { accept, opts }, local))
    }

    /// The next connection, waiting at most `wait` (zero: only what is
    /// ready now). `None` when none was accepted in time, also when the
    /// process is out of fds: the connection then waits in the kernel's
    /// queue and accept is paused until [`ListenPort::fd_released`] or the
    /// policy's retry.
    pub fn next_connection(&mut self, wait: Duration) -> io::Result<Option<TcpStream>> {
        let deadline = Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if let Some(fd) = self.accept.turn(left)?.pop() {
                let std = std::net::TcpStream::from(fd);
                return Ok(Some(TcpStream::from_std(std)));
            }
            if left.is_zero() || Instant::now() >= deadline {
                return Ok(None);
            }
        }
    }

    /// The runtime closed an fd: if accept is paused, resume it now.
    pub fn fd_released(&mut self) -> io::Result<()> {
        self.accept.fd_released()
    }

    /// Accept is paused after EMFILE/ENFILE.
    pub fn is_paused(&self) -> bool {
        self.accept.is_paused()
    }

    /// What the accept loop did: wakeups, accepts, EMFILEs, pauses.
    pub fn stats(&self) -> Stats {
        self.accept.stats
    }

    /// The listening socket, e.g. to wait until a connection is queued.
    pub fn listener(&self) -> BorrowedFd<'_> {
        self.accept.listener()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wakeup_bound_is_one_plus_one_per_retry() {
        let p = AcceptPolicy { retry_after: Duration::from_millis(50) };
        assert_eq!(p.max_wakeups_while_exhausted(Duration::ZERO), 1);
        assert_eq!(p.max_wakeups_while_exhausted(Duration::from_millis(49)), 1);
        assert_eq!(p.max_wakeups_while_exhausted(Duration::from_millis(50)), 2);
        assert_eq!(p.max_wakeups_while_exhausted(Duration::from_millis(120)), 3);
    }
}
