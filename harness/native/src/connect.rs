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
