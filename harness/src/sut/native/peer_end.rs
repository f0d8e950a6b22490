//! The peer ends the connection (PC-*, RS-1): a FIN by shutdown of its
//! write side, or a RST. The step ends once the port's socket has it, read
//! from the port's socket itself (`tcpi_state`), so what the runtime does
//! next does not depend on loopback timing.

use std::io;
use std::net::{Shutdown, TcpStream};
use std::os::fd::{AsRawFd, RawFd};
use std::time::{Duration, Instant};

/// `tcpi_state` values (include/net/tcp_states.h).
const TCP_ESTABLISHED: u8 = 1;
const TCP_CLOSE: u8 = 7;

/// How the peer ends it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum End {
    Fin,
    Reset,
}

/// `tcpi_state` of `fd` (TCP_INFO).
fn tcp_state(fd: RawFd) -> io::Result<u8> {
    super::sent::tcp_info(fd).map(|(info, _)| info.tcpi_state)
}

/// The peer sends its FIN (it still reads), or aborts: connect(2) to
/// AF_UNSPEC disconnects an established socket with a RST (tcp_disconnect),
/// as a close with `{linger, {true, 0}}` does, and keeps the fd.
pub fn end(peer: &TcpStream, how: End) -> io::Result<()> {
    match how {
        End::Fin => peer.shutdown(Shutdown::Write),
        End::Reset => {
            // SAFETY: a zeroed sockaddr with family AF_UNSPEC is what
            // connect(2) takes to dissolve the association.
            let mut addr: libc::sockaddr = unsafe { std::mem::zeroed() };
            addr.sa_family = libc::AF_UNSPEC as libc::sa_family_t;
            // SAFETY: `addr` is a valid sockaddr of the given length.
            let rc = unsafe {
                libc::connect(peer.as_raw_fd(), &addr, std::mem::size_of::<libc::sockaddr>() as libc::socklen_t)
            };
            if rc < 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        }
    }
}

/// Has the port's socket `fd` received the peer's end? (A FIN leaves
/// ESTABLISHED; a RST leaves the socket in CLOSE.)
pub fn arrived(fd: RawFd, how: End) -> io::Result<bool> {
    let state = tcp_state(fd)?;
    Ok(match how {
        End::Fin => state != TCP_ESTABLISHED,
        End::Reset => state == TCP_CLOSE,
    })
}

/// Poll `arrived` until it holds or `bound` passes (a failure bound:
/// loopback delivers in microseconds).
pub fn await_arrival(fd: RawFd, how: End, bound: Duration) -> io::Result<bool> {
    let deadline = Instant::now() + bound;
    loop {
        if arrived(fd, how)? {
            return Ok(true);
        }
        if Instant::now() >= deadline {
            return Ok(false);
        }
        std::thread::yield_now();
    }
}
