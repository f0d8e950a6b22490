//! The tcp driver and the event loop on the runtime itself, at the
//! boundaries `make mutants` found untested: which readiness the port asks
//! the kernel for (ST-2, WM-2, WM-4), a write from the queue that fails,
//! FIONREAD on the port, a full table that opens nothing (PT-3), sends from
//! unknown senders, `turn` blocking until the send timer (TO-1) instead of
//! spinning, the low watermark checked only after a write that took bytes
//! (WM-4), and close with the driver busy (CL-1, SND-1, SND-4).
//!
//! No sleeps: every wait is a readiness wait with a failure bound.

use crate::support::{bounded, epoll_interests, peer_read_all, wait_fd, BOUND};
use native::{Action, Activity, Bytes, InstantClock, Millis, OpenError, Opt, Posix, Runtime, SendFlags};
use native::{SendResult, SenderId, SenderStatus, SocketOpts, Timeout, VirtualClock};
use socket2::{Domain, Protocol, Socket, Type};
use std::io::{self, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::fd::{AsRawFd, RawFd};
use std::time::Duration;

/// A loopback listener whose accepted sockets advertise a window clamped to
/// 2 KiB (as the SUT adapter's peer does), so a port writing to a peer that
/// does not read stalls within kilobytes.
fn clamped_listener() -> (TcpListener, SocketAddr) {
    let s = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP)).unwrap();
    s.set_recv_buffer_size(65536).unwrap();
    let clamp: libc::c_int = 2048;
    // SAFETY: setsockopt with a valid c_int and its size.
    let rc = unsafe {
        libc::setsockopt(
            s.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_WINDOW_CLAMP,
            &clamp as *const libc::c_int as *const libc::c_void,
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    assert_eq!(rc, 0, "TCP_WINDOW_CLAMP: {}", io::Error::last_os_error());
    s.bind(&SocketAddr::from((Ipv4Addr::LOCALHOST, 0)).into()).unwrap();
    s.listen(16).unwrap();
    let l: TcpListener = s.into();
    let a = l.local_addr().unwrap();
    (l, a)
}

const PORT_SOCK: SocketOpts =
    SocketOpts { sndbuf: Some(1), nodelay: true, mss: None, close_mode: native::CloseMode::Plain };

/// A runtime on the virtual clock with its port connected to a peer we hold.
fn connected(options: &[Opt]) -> (Runtime, TcpStream) {
    let (l, addr) = clamped_listener();
    let mut rt = Runtime::new(Box::new(VirtualClock::new()), 4, 2, None).unwrap();
    rt.connect(addr, PORT_SOCK, options).unwrap();
    let (peer, _) = l.accept().unwrap();
    peer.set_nonblocking(true).unwrap();
    (rt, peer)
}

/// The event mask the kernel's epoll holds for `fd` (from
/// /proc/self/fdinfo of the epoll instance watching it): what the port
/// asked to be woken for.
fn epoll_interest(fd: RawFd) -> u32 {
    let found = epoll_interests(fd);
    assert_eq!(found.len(), 1, "fd {fd} should be in exactly one epoll: {found:?}");
    found[0]
}

fn wants_write(rt: &Runtime) -> bool {
    epoll_interest(rt.subject_fd().expect("port open")) & libc::EPOLLOUT as u32 != 0
}

/// ST-2/WM-2/WM-4 and `sock_select(FD_WRITE)`: the port asks for write
/// readiness exactly while its driver queue holds bytes. A send the kernel
/// takes whole leaves it off; a partial write turns it on; draining the
/// queue turns it off again.
#[test]
fn write_interest_follows_the_driver_queue() {
    bounded("write interest", || {
        let (mut rt, mut peer) = connected(&[]);
        assert!(!wants_write(&rt), "a fresh port asks only for input");
        // WM-2: taken whole by the kernel, nothing queued.
        assert_eq!(rt.send(SenderId(0), Bytes(100), 1, SendFlags::default()).unwrap(), Some(SendResult::Ok));
        assert_eq!(rt.snapshot().queue, Bytes(0));
        assert!(!wants_write(&rt), "nothing queued: no write interest");
        // WM-2: far more than the kernel takes: the rest is queued.
        assert_eq!(rt.send(SenderId(1), Bytes(200_000), 2, SendFlags::default()).unwrap(), Some(SendResult::Ok));
        assert!(rt.snapshot().queue > Bytes(0));
        assert!(wants_write(&rt), "bytes queued: the port waits for writability");
        // Drain: the peer reads, the port writes from its queue.
        let mut got = peer_read_all(&mut peer);
        while rt.snapshot().queue > Bytes(0) {
            rt.await_io(BOUND, Some(peer.as_raw_fd())).unwrap();
            got += peer_read_all(&mut peer);
            assert!(rt.snapshot().queue == Bytes(0) || wants_write(&rt), "still queued: still asking");
        }
        assert!(!wants_write(&rt), "queue drained: write interest dropped");
        // Whatever the kernel still holds reaches the peer.
        while got < 200_100 {
            wait_fd(peer.as_raw_fd(), libc::POLLIN);
            got += peer_read_all(&mut peer);
        }
        assert_eq!(got, 200_100);
    });
}

/// A write from the queue that fails (the peer reset the connection) is no
/// kernel choice (not traced): the queue goes with the socket (PC-5), and
/// the runtime stops instead of retrying the syscall for ever.
#[test]
fn a_failed_write_from_the_queue_drops_the_queue() {
    let (choices, queue, left) = bounded("write after reset", || {
        let (mut rt, peer) = connected(&[]);
        rt.send(SenderId(0), Bytes(200_000), 1, SendFlags::default()).unwrap();
        let queued = rt.snapshot().queue;
        assert!(queued > Bytes(0));
        rt.take_trace();
        // The peer resets: SO_LINGER 0, then close.
        Socket::from(peer).set_linger(Some(Duration::ZERO)).unwrap();
        rt.await_io(BOUND, None).unwrap();
        (rt.take_trace().actions, queued, rt.snapshot().queue)
    });
    assert_eq!(choices.first(), Some(&Action::Ran(Activity::Output)), "{choices:?}");
    assert!(!choices.iter().any(|c| matches!(c, Action::Wrote { .. })), "a failed write is not traced: {choices:?}");
    assert!(queue > Bytes(0));
    assert_eq!(left, Bytes(0), "PC-5: the queue goes");
}

/// FIONREAD on the port's socket while it is open; `None` once closed.
#[test]
fn bytes_readable_is_what_the_peer_sent() {
    let (mut rt, mut peer) = connected(&[]);
    assert_eq!(rt.subject_bytes_readable().unwrap(), Some(0));
    peer.write_all(&[7u8; 10]).unwrap();
    wait_fd(rt.subject_fd().unwrap(), libc::POLLIN);
    assert_eq!(rt.subject_bytes_readable().unwrap(), Some(10));
    rt.close().unwrap();
    assert_eq!(rt.subject_bytes_readable().unwrap(), None, "closed: no socket");
}

/// PT-3: with the table full, connecting another port fails with
/// system_limit before any socket is created: the target sees no
/// connection at all.
#[test]
fn a_full_table_opens_nothing() {
    let (target, addr) = clamped_listener();
    target.set_nonblocking(true).unwrap();
    let (l, port_addr) = clamped_listener();
    // Two slots: the port under test and the listen port.
    let mut rt = Runtime::new(Box::new(VirtualClock::new()), 2, 2, None).unwrap();
    rt.listen(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)), &[]).map_err(|e| format!("{e:?}")).unwrap();
    rt.connect(port_addr, PORT_SOCK, &[]).map_err(|e| format!("{e:?}")).unwrap();
    let _peer = l.accept().unwrap();
    assert_eq!(rt.snapshot().ports, 2);

    assert!(matches!(rt.open_extra(addr), Err(OpenError::SystemLimit)));
    assert!(matches!(rt.connect(addr, PORT_SOCK, &[]), Err(OpenError::SystemLimit)));
    assert!(matches!(rt.listen(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)), &[]), Err(OpenError::SystemLimit)));
    match target.accept() {
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
        r => panic!("PT-3: a refused open must not connect: {r:?}"),
    }
    assert_eq!(rt.snapshot().ports, 2);
}

/// Only the runtime's senders may send; an unknown one is a runtime error,
/// not a crash.
#[test]
fn sends_from_unknown_senders_are_refused() {
    let (mut rt, _peer) = connected(&[]);
    assert!(rt.send(SenderId(2), Bytes(1), 1, SendFlags::default()).is_err(), "ids are 0 and 1");
    assert!(rt.send(SenderId(9), Bytes(1), 1, SendFlags::default()).is_err());
    assert_eq!(rt.send(SenderId(1), Bytes(1), 1, SendFlags::default()).unwrap(), Some(SendResult::Ok));
}

/// TO-1 in production: `turn(None)` blocks until the send timer is due
/// (or I/O happens) rather than polling in a loop, and the timer then
/// fires. Once the peer's clamped window is full no I/O happens, so a
/// handful of turns must do; a loop that does not block would make
/// thousands before the 300 ms timer is due.
#[test]
fn turn_blocks_until_the_send_timer() {
    let (completed, turns) = bounded("turn until the send timer", || {
        let (l, addr) = clamped_listener();
        let mut rt = Runtime::new(Box::new(InstantClock::default()), 4, 2, None).unwrap();
        let opts = [Opt::HighWatermark(64), Opt::LowWatermark(32), Opt::SendTimeout(Timeout::After(Millis(300)))];
        rt.connect(addr, PORT_SOCK, &opts).unwrap();
        let (_peer, _) = l.accept().unwrap();
        rt.send(SenderId(0), Bytes(8 << 20), 1, SendFlags::default()).unwrap();
        assert_eq!(rt.send(SenderId(1), Bytes(10), 2, SendFlags::default()).unwrap(), None, "WM-3: busy");
        for turns in 1..=100 {
            rt.turn(None).unwrap();
            if let Some(&c) = rt.take_trace().completed.first() {
                return (c, turns);
            }
        }
        panic!("the send timer did not fire within 100 turns: the loop does not wait for it");
    });
    assert_eq!(completed, (SenderId(1), SendResult::Error(Posix::Timeout)), "after {turns} turns");
}

/// WM-4 checks the low watermark after a write from the queue that took
/// bytes; a write that took none (here the peer reset the connection, so
/// the writev failed) leaves busy as it was, even with the queue below low.
/// Setopts raises low above the queue while the port is busy, so the next
/// write from the queue decides: one that took bytes clears busy and
/// replies to the blocked caller; one that took none does neither.
#[test]
fn wm4_checks_low_only_after_a_write_that_took_bytes() {
    for reset in [false, true] {
        let (completed, busy, choices) = bounded("WM-4 after a write from the queue", move || {
            let (mut rt, mut peer) = connected(&[]);
            assert_eq!(
                rt.send(SenderId(0), Bytes(200_000), 1, SendFlags::default()).unwrap(),
                Some(SendResult::Ok),
                "WM-2"
            );
            assert_eq!(rt.send(SenderId(1), Bytes(10), 2, SendFlags::default()).unwrap(), None, "WM-3: busy");
            rt.setopts(&[Opt::HighWatermark(1 << 21), Opt::LowWatermark(1 << 20)]).unwrap().unwrap();
            let s = rt.snapshot();
            assert!(s.busy.driver && s.queue < Bytes(1 << 20), "busy, the queue now below low: {s:?}");
            rt.take_trace();
            if reset {
                Socket::from(peer).set_linger(Some(Duration::ZERO)).unwrap();
            } else {
                wait_fd(peer.as_raw_fd(), libc::POLLIN);
                assert!(peer_read_all(&mut peer) > 0);
            }
            rt.await_io(BOUND, None).unwrap();
            let t = rt.take_trace();
            (t.completed, rt.snapshot().busy.driver, t.actions)
        });
        let took: Vec<usize> = choices
            .iter()
            .filter_map(|c| if let Action::Wrote { accepted, .. } = c { Some(accepted.0) } else { None })
            .collect();
        if reset {
            assert!(took.is_empty(), "the write failed, not traced: {choices:?}");
            assert_eq!(
                completed,
                vec![(SenderId(1), SendResult::Error(Posix::Closed))],
                "PC-5: the blocked caller gets the reset, not WM-4's ok: {choices:?}"
            );
            assert!(!busy, "PC-5: busy ends");
        } else {
            assert!(!took.is_empty() && took[0] > 0, "{choices:?}");
            assert_eq!(completed, vec![(SenderId(1), SendResult::Ok)], "WM-4: bytes taken, queue <= low: {choices:?}");
            assert!(!busy);
        }
    }
}

/// MQ-4 and SND-4 at close: closing aborts the port's tasks, which ends a
/// msgq-busy state, but a sender suspended on the busy *driver* stays
/// suspended while the closed port still flushes (CL-1): only leaving
/// driver-busy resumes it. Once the flush brings the queue to low, the
/// blocked caller gets its reply and the suspended sender retries on the
/// closed port: `{error, closed}` (SND-6).
#[test]
fn close_keeps_senders_suspended_on_a_busy_driver_until_it_flushes() {
    let (after_close, completed) = bounded("close with a busy driver", || {
        let (mut rt, mut peer) = connected(&[]);
        assert_eq!(
            rt.send(SenderId(0), Bytes(200_000), 1, SendFlags::default()).unwrap(),
            Some(SendResult::Ok),
            "WM-2"
        );
        assert_eq!(rt.send(SenderId(0), Bytes(10), 2, SendFlags::default()).unwrap(), None, "WM-3: busy");
        assert_eq!(rt.send(SenderId(1), Bytes(5), 3, SendFlags::default()).unwrap(), None, "SND-1: suspended");
        assert!(!rt.snapshot().busy.msgq);
        rt.take_trace();
        rt.close().unwrap();
        rt.quiesce().unwrap();
        let after_close = (rt.snapshot().senders, rt.take_trace().completed);
        // CL-1: the peer reads; the closed port flushes its queue.
        let mut completed = vec![];
        while completed.len() < 2 {
            wait_fd(peer.as_raw_fd(), libc::POLLIN);
            peer_read_all(&mut peer);
            rt.await_io(BOUND, Some(peer.as_raw_fd())).unwrap();
            completed.extend(rt.take_trace().completed);
        }
        (after_close, completed)
    });
    assert_eq!(after_close.0, vec![SenderStatus::Waiting, SenderStatus::Suspended], "MQ-4/SND-4: {after_close:?}");
    assert!(after_close.1.is_empty(), "{after_close:?}");
    assert_eq!(
        completed,
        vec![(SenderId(0), SendResult::Ok), (SenderId(1), SendResult::Error(Posix::Closed))],
        "WM-4, SND-4, SND-6"
    );
}
