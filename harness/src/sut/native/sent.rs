//! What the kernel took from writes on the port under test's socket,
//! measured on the socket itself rather than taken from the runtime's
//! report (issue 15: the runtime's own account is not trusted).
//!
//! Every byte a write hands the kernel moves `write_seq` on by one; the
//! kernel has either had it acknowledged by the peer (`tcpi_bytes_acked`,
//! RFC 4898 tcpEStatsAppHCThruOctetsAcked, which grows with `snd_una`) or
//! still holds it in its send queue (SIOCOUTQ: `write_seq - snd_una`). Their
//! sum is `write_seq` up to a constant fixed at the handshake, so the
//! difference between two readings is exactly what writes took in between.
//! An ACK arriving between the two calls moves both; a reading is taken
//! only when `tcpi_bytes_acked` did not move across it. A FIN the socket
//! queued (its own shutdown, SD-1: `tcp_send_fin` moves `write_seq`) takes
//! one sequence number too: it is no byte a write took. Whether it was
//! queued is not in TCP_INFO once the peer's FIN followed (the socket left
//! for TIME_WAIT reads as CLOSE), so the caller says so.

use std::io;
use std::os::fd::RawFd;

/// How often a reading is retried while ACKs keep arriving across it.
const ATTEMPTS: usize = 1000;

/// `struct tcp_info` of `fd` (TCP_INFO) and how many bytes of it the
/// kernel filled in (older kernels fill fewer fields).
pub(super) fn tcp_info(fd: RawFd) -> io::Result<(libc::tcp_info, usize)> {
    // SAFETY: a zeroed tcp_info is valid; getsockopt writes at most `len`.
    let mut info: libc::tcp_info = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::tcp_info>() as libc::socklen_t;
    // SAFETY: `info` is valid for `len` bytes.
    let rc = unsafe {
        libc::getsockopt(fd, libc::IPPROTO_TCP, libc::TCP_INFO, (&mut info as *mut libc::tcp_info).cast(), &mut len)
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok((info, len as usize))
}

/// `tcpi_bytes_acked` of `fd` (TCP_INFO).
fn bytes_acked(fd: RawFd) -> io::Result<u64> {
    let (info, len) = tcp_info(fd)?;
    acked_within(&info, len)
}

/// `tcpi_bytes_acked` of `info`, of which the kernel filled in `len` bytes.
fn acked_within(info: &libc::tcp_info, len: usize) -> io::Result<u64> {
    let end = std::mem::offset_of!(libc::tcp_info, tcpi_bytes_acked) + std::mem::size_of::<u64>();
    if len < end {
        return Err(io::Error::new(io::ErrorKind::Unsupported, "TCP_INFO without tcpi_bytes_acked (Linux < 4.1)"));
    }
    Ok(info.tcpi_bytes_acked)
}

/// The bytes writes on `fd` have handed the kernel, up to a constant of
/// the connection: compare two readings. `fin_queued`: the socket was
/// shut down for writing.
pub fn taken(fd: RawFd, fin_queued: bool) -> io::Result<u64> {
    for _ in 0..ATTEMPTS {
        let acked = bytes_acked(fd)?;
        let (outq, _) = native::sys::send_queue(fd)?;
        if bytes_acked(fd)? == acked {
            return Ok((acked + outq as u64).saturating_sub(u64::from(fin_queued)));
        }
    }
    Err(io::Error::other(format!("ACKs kept arriving across {ATTEMPTS} readings")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::{Ipv4Addr, TcpListener, TcpStream};
    use std::os::fd::AsRawFd;

    /// A kernel that fills `tcp_info` up to and including
    /// `tcpi_bytes_acked` (Linux >= 4.1) reports it; one that stops short of
    /// it, even inside the field, has no count to give rather than a
    /// guessed one.
    #[test]
    fn bytes_acked_needs_the_whole_field() {
        // SAFETY: a zeroed tcp_info is valid.
        let mut info: libc::tcp_info = unsafe { std::mem::zeroed() };
        info.tcpi_bytes_acked = 4242;
        let start = std::mem::offset_of!(libc::tcp_info, tcpi_bytes_acked);
        let end = start + std::mem::size_of::<u64>();
        for len in [end, end + 8, std::mem::size_of::<libc::tcp_info>()] {
            assert_eq!(acked_within(&info, len).unwrap(), 4242, "filled {len} bytes");
        }
        for len in [0, start, start + 4, end - 1] {
            let e = acked_within(&info, len).expect_err("the field is not all there");
            assert_eq!(e.kind(), io::ErrorKind::Unsupported, "filled {len} bytes");
        }
    }

    /// TCP_INFO of something that is not a TCP socket is an error, not a
    /// zeroed record (a state of 0, no bytes acked).
    #[test]
    fn tcp_info_of_a_non_tcp_socket_is_an_error() {
        let udp = std::net::UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        assert!(tcp_info(udp.as_raw_fd()).is_err());
        let (r, _w) = std::io::pipe().unwrap();
        let e = tcp_info(r.as_raw_fd()).expect_err("a pipe");
        assert_eq!(e.raw_os_error(), Some(libc::ENOTSOCK));
    }

    /// Readings differ by exactly what writes took, whether the bytes are
    /// still queued in the kernel or already acknowledged by the peer.
    #[test]
    fn readings_differ_by_what_writes_took() {
        let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let mut c = TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let (mut s, _) = l.accept().unwrap();
        let base = taken(c.as_raw_fd(), false).unwrap();
        c.write_all(&[7u8; 3000]).unwrap();
        assert_eq!(taken(c.as_raw_fd(), false).unwrap() - base, 3000);
        let mut buf = [0u8; 3000];
        s.read_exact(&mut buf).unwrap();
        c.write_all(&[8u8; 5]).unwrap();
        assert_eq!(taken(c.as_raw_fd(), false).unwrap() - base, 3005);
    }

    /// The FIN of a shutdown takes a sequence number, queued or acked,
    /// and after the peer's FIN too (the socket reads as CLOSE then): told
    /// of it, the reading still counts only what writes took.
    #[test]
    fn a_shutdown_fin_is_not_counted_as_written() {
        let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let mut c = TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let (mut s, _) = l.accept().unwrap();
        let base = taken(c.as_raw_fd(), false).unwrap();
        c.write_all(&[7u8; 10]).unwrap();
        c.shutdown(std::net::Shutdown::Write).unwrap();
        assert_eq!(taken(c.as_raw_fd(), false).unwrap() - base, 11, "the FIN moved write_seq");
        assert_eq!(taken(c.as_raw_fd(), true).unwrap() - base, 10);
        let mut buf = Vec::new();
        s.read_to_end(&mut buf).unwrap();
        s.shutdown(std::net::Shutdown::Write).unwrap();
        let mut rest = Vec::new();
        c.read_to_end(&mut rest).unwrap();
        assert_eq!((buf.len(), rest.len()), (10, 0));
        assert_eq!(taken(c.as_raw_fd(), true).unwrap() - base, 10);
    }
}
