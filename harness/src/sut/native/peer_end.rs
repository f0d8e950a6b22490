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

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use socket2::{Domain, Protocol, Socket, Type};
    use std::net::{Ipv4Addr, SocketAddr, TcpListener};
    use std::sync::mpsc;

    const BOUND: Duration = Duration::from_secs(10);

    /// A loopback client whose connect the kernel gives up on about a
    /// second from now: its SYN is dropped by a listener whose accept queue
    /// is full (`listen(0)` with one connection queued), and
    /// TCP_USER_TIMEOUT ends the attempt at the first retransmission
    /// (initial RTO, 1 s) with ETIMEDOUT, the socket in CLOSE.
    /// Returns (the listener, the queued client, the given-up one).
    pub(crate) fn connect_given_up() -> (TcpListener, TcpStream, TcpStream) {
        let l = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP)).unwrap();
        l.bind(&SocketAddr::from((Ipv4Addr::LOCALHOST, 0)).into()).unwrap();
        l.listen(0).unwrap();
        let l: TcpListener = l.into();
        let addr = l.local_addr().unwrap();
        let queued = TcpStream::connect(addr).unwrap();
        let c = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP)).unwrap();
        c.set_nonblocking(true).unwrap();
        c.set_tcp_user_timeout(Some(Duration::from_millis(100))).unwrap();
        match c.connect(&addr.into()) {
            Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
            r => panic!("connect to a full accept queue: {r:?}"),
        }
        (l, queued, c.into())
    }

    /// `await_arrival` on `fd` in a thread, so that a wait that never ends
    /// fails the test instead of hanging it.
    fn await_in_thread(fd: RawFd, how: End, bound: Duration) -> io::Result<bool> {
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(await_arrival(fd, how, bound));
        });
        rx.recv_timeout(BOUND + bound).expect("await_arrival returned within its bound")
    }

    /// The wait looks again until the state comes, within its bound, also
    /// when it comes well after the first look: here the CLOSE a given-up
    /// connect reaches a second later.
    #[test]
    fn await_arrival_waits_for_a_state_that_comes_later() {
        let (_l, _queued, c) = connect_given_up();
        assert!(!arrived(c.as_raw_fd(), End::Reset).unwrap(), "SYN_SENT at first");
        assert!(await_in_thread(c.as_raw_fd(), End::Reset, BOUND).unwrap(), "CLOSE within the bound");
    }

    /// Nothing arrives on a connection nobody ends: the wait says so once
    /// its bound has passed (a zero bound: after one look).
    #[test]
    fn await_arrival_is_false_when_nothing_arrives_within_the_bound() {
        let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let c = TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let (s, _) = l.accept().unwrap();
        for how in [End::Fin, End::Reset] {
            assert!(!await_in_thread(s.as_raw_fd(), how, Duration::ZERO).unwrap(), "{how:?}");
        }
        end(&c, End::Fin).unwrap();
        assert!(await_in_thread(s.as_raw_fd(), End::Fin, BOUND).unwrap(), "the FIN");
    }

    /// A reset the kernel refuses is an error, not a reset assumed done
    /// (the step would then wait for an RST that never comes): connect(2)
    /// to AF_UNSPEC on a socket that is not TCP (here AF_UNIX) is EINVAL.
    #[test]
    fn a_reset_the_kernel_refuses_is_an_error() {
        let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
        let not_tcp = TcpStream::from(std::os::fd::OwnedFd::from(a));
        let e = end(&not_tcp, End::Reset).expect_err("not a TCP socket");
        assert_eq!(e.raw_os_error(), Some(libc::EINVAL));
    }

    /// Whether an end arrived, asked of something that is not a TCP socket,
    /// is an error rather than a guess from a zeroed TCP_INFO.
    #[test]
    fn arrival_on_a_non_tcp_socket_is_an_error() {
        let udp = std::net::UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        for how in [End::Fin, End::Reset] {
            assert!(arrived(udp.as_raw_fd(), how).is_err(), "{how:?}");
        }
    }
}
