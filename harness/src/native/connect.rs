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
//! after the write event). The runtime goes through the harness's
//! [`connect_result`] and reports exactly the errno SO_ERROR held.

use super::bugs::{Faults, PlantedBug};
use super::runtime::SocketOpts;
use crate::kernel::connect::{connect_result, naive_connected, ConnectOutcome};
use mio::net::TcpStream;
use socket2::{Domain, Protocol, Socket, Type};
use std::io;
use std::net::SocketAddr;
use std::os::fd::AsFd;
use std::time::Duration;

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
