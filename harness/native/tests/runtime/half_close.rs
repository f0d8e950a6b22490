//! PC-6, PC-7 on the runtime itself: what the port asks the kernel's
//! poller for once the peer's FIN closed its read side (exit_on_close
//! false; inet_drv.c tcp_recv_closed (exitf): `desc_close_read`, which
//! deselects reading only). At EOF the socket is readable for ever and
//! nothing more can come, so it is never polled for reading again; it is
//! polled for writing while output waits, as before the end.
//!
//! No sleeps: every wait is a readiness wait with a failure bound.

use crate::support::{bounded, epoll_interests, listener, peer_read_all, wait_fd, BOUND};
use native::{Action, ActiveSetting, Bytes, Opt, OwnerMsg, Posix, Runtime, SendFlags, SendResult, SenderId};
use native::{SocketOpts, VirtualClock};
use std::net::{Shutdown, TcpStream};
use std::os::fd::{AsRawFd, RawFd};

const IN: u32 = libc::EPOLLIN as u32;
const OUT: u32 = libc::EPOLLOUT as u32;
/// More than the kernel takes at once from a port with the minimum send
/// buffer: the rest is queued.
const SENT: usize = 200_000;

/// A port with `{exit_on_close, false}` and `options`, its peer (which
/// has sent its FIN, now at the port's socket) and the port's fd.
fn half_closing(options: &[Opt]) -> (Runtime, TcpStream, RawFd) {
    let (l, addr) = listener();
    let mut rt = Runtime::new(Box::new(VirtualClock::new()), 4, 2, None).expect("runtime");
    let sock = SocketOpts { sndbuf: Some(1), nodelay: true, ..SocketOpts::default() };
    rt.connect(addr, sock, options).expect("connect");
    rt.set_exit_on_close(false).expect("exit_on_close");
    let (peer, _) = l.accept().expect("accept");
    peer.set_nonblocking(true).expect("nonblocking");
    let fd = rt.subject_fd().expect("open");
    assert_eq!(epoll_interests(fd).len(), 1, "the port is in the poller");
    assert_ne!(epoll_interests(fd)[0] & IN, 0, "for reading");
    peer.shutdown(Shutdown::Write).expect("the peer's FIN");
    wait_fd(fd, libc::POLLRDHUP);
    (rt, peer, fd)
}

fn reads(actions: &[Action]) -> usize {
    actions.iter().filter(|a| matches!(a, Action::Read { .. })).count()
}

/// PC-6: the passive recv that reads the FIN takes the socket out of the
/// read poll (with nothing queued, out of the poller); a send that queues
/// output has it polled for writing only, until the queue drains; later
/// recvs are answered without a read.
#[test]
fn a_read_closed_socket_is_polled_only_for_writing_while_output_waits() {
    let (interests, after_drain, reads_made, last) = bounded("a half-closed passive port", || {
        let (mut rt, mut peer, fd) = half_closing(&[]);
        assert_eq!(rt.recv().expect("recv"), Err(Posix::Closed), "PC-6");
        let mut interests = vec![epoll_interests(fd)];
        let sent = rt.send(SenderId(0), Bytes(SENT), 1, SendFlags::default()).expect("send");
        assert_eq!(sent, Some(SendResult::Ok), "PC-6: the send works");
        assert!(rt.snapshot().queue > Bytes::ZERO, "output queued");
        interests.push(epoll_interests(fd));
        let mut got = peer_read_all(&mut peer);
        while rt.snapshot().queue > Bytes::ZERO {
            rt.await_io(BOUND, Some(peer.as_raw_fd())).expect("await_io");
            got += peer_read_all(&mut peer);
        }
        // What the kernel still holds reaches the peer.
        while got < SENT {
            wait_fd(peer.as_raw_fd(), libc::POLLIN);
            got += peer_read_all(&mut peer);
        }
        assert_eq!(got, SENT, "the peer reads every byte");
        let after_drain = epoll_interests(fd);
        let last = rt.recv().expect("recv");
        (interests, after_drain, reads(&rt.take_trace().actions), last)
    });
    assert_eq!(interests[0], Vec::<u32>::new(), "PC-6: out of the poller, nothing to read or write");
    assert_eq!(interests[1].len(), 1, "{interests:?}");
    assert_eq!(interests[1][0] & (IN | OUT), OUT, "output queued: polled for writing only");
    assert_eq!(after_drain, Vec::<u32>::new(), "drained: out of the poller again");
    assert_eq!(reads_made, 1, "only the recv that met the FIN read the socket");
    assert_eq!(last, Err(Posix::Closed), "PC-6");
}

/// PC-7: an active port reads the FIN on its readiness, tells its owner,
/// and leaves the read poll; its turns then find nothing to do.
#[test]
fn an_active_port_leaves_the_read_poll_with_its_tcp_closed() {
    let (mailbox, interests, later) = bounded("a half-closed active port", || {
        let (mut rt, _peer, fd) = half_closing(&[Opt::Active(ActiveSetting::True)]);
        rt.await_io(BOUND, None).expect("await_io");
        let mailbox = rt.take_mailbox();
        let interests = epoll_interests(fd);
        rt.take_trace();
        for _ in 0..3 {
            rt.turn(Some(std::time::Duration::ZERO)).expect("turn");
        }
        (mailbox, interests, rt.take_trace().actions)
    });
    assert_eq!(mailbox, vec![OwnerMsg::TcpClosed], "PC-7");
    assert_eq!(interests, Vec::<u32>::new(), "PC-7: out of the poller");
    assert!(later.is_empty(), "nothing runs on a read-closed socket: {later:?}");
}
