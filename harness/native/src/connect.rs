//! Opening a connected port: a nonblocking connect whose outcome is read
//! from SO_ERROR once the socket is writable (KN-CONN-1, KN-CONN-2).
//!
//! connect(2) on a nonblocking TCP socket returns EINPROGRESS even when the
//! destination will refuse (on loopback the RST arrives at once, but
//! `__inet_stream_connect` in net/ipv4/af_inet.c has already returned).
//! Completion is signalled by writability, and a refused socket is
//! writable too (POLLOUT|POLLERR|POLLHUP): only SO_ERROR says whether it
//! connected (`tcp_reset` in net/ipv4/tcp_input.c sets ECONNREFUSED in
//! SYN_SENT). inet_drv does the same (`tcp_inet_output` reads SO_ERROR
//! after the write event). The runtime goes through [`connect_result`]
//! and reports exactly the errno SO_ERROR held; the kernel probes
//! (`harness::kernel::connect`) check the kernel behaviour it relies on.

use crate::bugs::{Faults, PlantedBug};
use crate::close_mode::CloseMode;
use crate::sys::{errno_name, poll_fd, so_error};
use mio::net::TcpStream;
use nix::errno::Errno;
use serde::{Serialize, Serializer};
use socket2::{Domain, Protocol, Socket, Type};
use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsFd, BorrowedFd};
use std::time::Duration;

/// Socket-level options used when opening a connected port.
#[derive(Clone, Copy, Debug, Default)]
pub struct SocketOpts {
    /// SO_SNDBUF as requested (the kernel doubles it and applies a minimum).
    pub sndbuf: Option<usize>,
    /// TCP_NODELAY.
    pub nodelay: bool,
    /// TCP_MAXSEG, set before connecting.
    pub mss: Option<u32>,
    /// What closing the port does with input it never read: by default
    /// close as inet_drv does (RST when input was unread, CL-3);
    /// [`CloseMode::DrainInput`] discards it first so the peer sees FIN
    /// (KN-RST-5).
    pub close_mode: CloseMode,
}

/// The outcome of a non-blocking connect, as far as it is known.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum ConnectOutcome {
    /// Writable and SO_ERROR == 0.
    Connected,
    /// Not yet writable within the bound: still in progress.
    Pending,
    /// Writable with SO_ERROR != 0: exactly that errno (`ECONNREFUSED`),
    /// serialized by name. Also an immediate failure of connect(2).
    Failed(#[serde(serialize_with = "errno_by_name")] Errno),
}

fn errno_by_name<S: Serializer>(e: &Errno, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&errno_name(*e as i32))
}

/// Maps writability + SO_ERROR to the connect outcome: waits up to `bound`
/// for POLLOUT; if the socket became writable, `SO_ERROR` decides (reading
/// it clears it, so call this once per completion). POLLERR without POLLOUT
/// is treated like writability: SO_ERROR holds the reason.
pub fn connect_result(fd: BorrowedFd<'_>, bound: Duration) -> io::Result<ConnectOutcome> {
    let rev = poll_fd(fd, libc::POLLOUT, bound)?;
    if rev & (libc::POLLOUT | libc::POLLERR | libc::POLLHUP) == 0 {
        return Ok(ConnectOutcome::Pending);
    }
    match so_error(fd)? {
        0 => Ok(ConnectOutcome::Connected),
        e => Ok(ConnectOutcome::Failed(Errno::from_raw(e))),
    }
}

/// The naive check the kernel probes refute (KN-CONN-2): "writable means
/// connected". Only the planted bug `WritableIsConnected` uses it.
pub fn naive_connected(fd: BorrowedFd<'_>, bound: Duration) -> io::Result<bool> {
    Ok(poll_fd(fd, libc::POLLOUT, bound)? & libc::POLLOUT != 0)
}

/// Failure bound of a connect's completion (loopback completes at once).
pub const CONNECT_BOUND: Duration = Duration::from_secs(5);

/// Connect a nonblocking socket with `o` applied to `addr`. A refused or
/// failed connect is the `io::Error` of the errno SO_ERROR held
/// (ECONNREFUSED for a closed loopback port); one still in progress after
/// [`CONNECT_BOUND`] is `TimedOut`.
pub fn connect_nonblocking(addr: SocketAddr, o: SocketOpts, faults: Faults) -> io::Result<TcpStream> {
    let sock = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    sock.set_nonblocking(true)?;
    sock.set_cloexec(true)?;
    if let Some(n) = o.sndbuf {
        sock.set_send_buffer_size(n)?;
    }
    sock.set_tcp_nodelay(o.nodelay)?;
    if let Some(m) = o.mss {
        sock.set_tcp_mss(m)?;
    }
    match sock.connect(&addr.into()) {
        Ok(()) => {}
        Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => completion(&sock, faults)?,
        Err(e) => return Err(e),
    }
    Ok(TcpStream::from_std(std::net::TcpStream::from(sock)))
}

/// Wait for the connect under way to complete and learn how it ended.
fn completion(sock: &Socket, faults: Faults) -> io::Result<()> {
    if faults.has(PlantedBug::WritableIsConnected) {
        // Planted (KN-CONN-2): writable is taken for connected, SO_ERROR
        // is never read.
        return if naive_connected(sock.as_fd(), CONNECT_BOUND)? {
            Ok(())
        } else {
            Err(io::Error::new(io::ErrorKind::TimedOut, "connect did not complete"))
        };
    }
    match connect_result(sock.as_fd(), CONNECT_BOUND)? {
        ConnectOutcome::Connected => Ok(()),
        ConnectOutcome::Failed(errno) => Err(io::Error::from(errno)),
        ConnectOutcome::Pending => {
            Err(io::Error::new(io::ErrorKind::TimedOut, format!("connect still in progress after {CONNECT_BOUND:?}")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, TcpListener};
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

    const BOUND: Duration = Duration::from_secs(10);

    /// A listener with a full accept queue (backlog 0 holds one connection,
    /// never accepted) and a nonblocking socket whose connect to it is
    /// still in SYN_SENT: the listener drops its SYN (`tcp_conn_request`,
    /// `sk_acceptq_is_full`). Returns (listener, queued client, connecting).
    fn connect_in_progress() -> (Socket, std::net::TcpStream, Socket) {
        let l = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
        l.bind(&SocketAddr::from((Ipv4Addr::LOCALHOST, 0)).into()).unwrap();
        l.listen(0).unwrap();
        let addr = l.local_addr().unwrap().as_socket().unwrap();
        let first = std::net::TcpStream::connect(addr).unwrap();
        // The first connection is in the accept queue: the listener is readable.
        assert_ne!(poll_fd(l.as_fd(), libc::POLLIN, BOUND).unwrap() & libc::POLLIN, 0);
        let s = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
        s.set_nonblocking(true).unwrap();
        let e = s.connect(&addr.into()).unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::EINPROGRESS));
        (l, first, s)
    }

    /// KN-CONN-2's naive check says what poll says: a connected socket is
    /// "connected", one whose handshake has not completed is not.
    #[test]
    fn the_naive_check_follows_writability() {
        let (_l, _first, connecting) = connect_in_progress();
        assert!(!naive_connected(connecting.as_fd(), Duration::ZERO).unwrap(), "SYN_SENT is not writable");
        assert_eq!(connect_result(connecting.as_fd(), Duration::ZERO).unwrap(), ConnectOutcome::Pending);

        let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let c = std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let _s = l.accept().unwrap();
        assert!(naive_connected(c.as_fd(), BOUND).unwrap());
        assert_eq!(connect_result(c.as_fd(), BOUND).unwrap(), ConnectOutcome::Connected);
    }

    /// POLLERR without POLLOUT is a completion to ask SO_ERROR about, not a
    /// connect still in progress. A pipe's write end whose buffer is full
    /// and whose reader has gone polls exactly that (`pipe_poll`); it is no
    /// socket, so SO_ERROR answers ENOTSOCK.
    #[test]
    fn an_error_without_writability_is_not_taken_for_a_connect_in_progress() {
        let mut fds = [0; 2];
        // SAFETY: valid out-array.
        assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC | libc::O_NONBLOCK) }, 0);
        // SAFETY: fresh fds, owned from here on.
        let (rd, wr) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
        let chunk = [0u8; 4096];
        // SAFETY: writing our buffer to our pipe until it is full (EAGAIN).
        while unsafe { libc::write(wr.as_raw_fd(), chunk.as_ptr().cast(), chunk.len()) } > 0 {}
        drop(rd);
        assert_eq!(poll_fd(wr.as_fd(), libc::POLLOUT, Duration::ZERO).unwrap(), libc::POLLERR);
        let e = connect_result(wr.as_fd(), Duration::ZERO).expect_err("SO_ERROR was asked");
        assert_eq!(e.raw_os_error(), Some(libc::ENOTSOCK));
    }
}
