//! The listen port's accept path at the edges `make mutants` found
//! untested: its wakeup bound for enormous waits, its pause state when fds
//! are plentiful, and a wait that goes on while accept is paused
//! (KN-EMFILE-1/2). The exhaustion scenario runs in a forked child with a
//! lowered RLIMIT_NOFILE, as in native/accept_exhaustion.rs.

use crate::support::loopback;
use harness::kernel::fd_limit::Exhaustion;
use harness::kernel::{in_child, poll_fd, Probe};
use native::bugs::Faults;
use native::listen_port::ListenPort;
use native::SocketOpts;
use native::{AcceptPolicy, Runtime, VirtualClock};
use native::{Bytes, PortOptions, SendFlags, SenderId};
use socket2::{Domain, SockAddr, Socket, Type};
use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

const BOUND: Duration = Duration::from_secs(5);
const CHILD_BOUND: Duration = Duration::from_secs(20);

/// KN-EMFILE-2: the bound on wakeups while exhausted grows with the time
/// exhausted and saturates rather than overflow.
#[test]
fn the_wakeup_bound_saturates() {
    let p = AcceptPolicy { retry_after: Duration::from_nanos(1) };
    assert_eq!(p.max_wakeups_while_exhausted(Duration::MAX), u64::MAX);
    assert_eq!(p.max_wakeups_while_exhausted(Duration::from_nanos(5)), 6);
}

/// With fds to spare, the accept path is never paused, before or after an
/// accept, and a fruitless accept does not blame fd exhaustion.
#[test]
fn accept_is_not_paused_while_fds_are_free() {
    let mut rt = Runtime::new(Box::new(VirtualClock::new()), 4, 1, None).expect("runtime");
    let addr = rt.listen(loopback(), &[]).expect("listen");
    assert_eq!(rt.accept_stats().map(|s| s.1), Some(false), "a fresh listen port");
    let e = rt.accept(Duration::ZERO).expect_err("nothing to accept");
    assert!(!e.to_string().contains("out of file descriptors"), "{e}");
    let _c = TcpStream::connect(addr).expect("connect");
    rt.accept(BOUND).expect("accept");
    assert_eq!(rt.accept_stats().map(|s| s.1), Some(false), "after an accept");
}

/// The listen port's Debug output (in the runtime's diagnostics) shows its
/// options and whether accept is paused.
#[test]
fn a_listen_port_shows_its_state() {
    let (lp, _) =
        ListenPort::bind(loopback(), PortOptions::default(), AcceptPolicy::default(), Faults::default()).expect("bind");
    let shown = format!("{lp:?}");
    assert!(shown.starts_with("ListenPort") && shown.contains("paused: false") && shown.contains("opts"), "{shown}");
}

/// KN-EMFILE-1/2: out of fds, a wait for a connection meets EMFILE, pauses
/// accept, and goes on waiting: it answers "none" only once its wait is
/// over (by the monotonic clock; the code returns `None` only when no time
/// is left), not at the first fruitless wakeup.
#[test]
fn a_wait_goes_on_while_accept_is_paused() {
    let r: Probe<(bool, bool, u64, u64, u64, u64)> = in_child(CHILD_BOUND, || {
        let mut rt = Runtime::new(Box::new(VirtualClock::new()), 8, 1, None).map_err(|e| e.to_string())?;
        let policy = AcceptPolicy { retry_after: Duration::from_secs(3600) };
        rt.set_accept_policy(policy);
        let addr = rt.listen(loopback(), &[]).map_err(|e| format!("listen: {e:?}"))?;
        let c = Socket::new(Domain::IPV4, Type::STREAM, None).map_err(|e| e.to_string())?;
        let _ex = Exhaustion::start(4).map_err(|e| format!("exhaust fds: {e}"))?;
        c.connect(&SockAddr::from(addr)).map_err(|e| format!("connect: {e}"))?;
        let l = rt.listener_fd().ok_or("no listen port")?;
        if poll_fd(l, libc::POLLIN, BOUND).map_err(|e| e.to_string())? & libc::POLLIN == 0 {
            return Err("no connection queued".into());
        }
        let wait = Duration::from_millis(200);
        let t0 = Instant::now();
        let got = rt.try_accept(wait).map_err(|e| e.to_string())?;
        let elapsed = t0.elapsed();
        let (stats, paused) = rt.accept_stats().ok_or("no listen port")?;
        let bound = policy.max_wakeups_while_exhausted(elapsed);
        Ok((
            got.is_none() && paused,
            elapsed >= wait,
            stats.exhausted,
            elapsed.as_millis() as u64,
            stats.wakeups,
            bound,
        ))
    });
    let (none_and_paused, waited, exhausted, ms, wakeups, bound) = r.expect("child");
    assert!(none_and_paused, "KN-EMFILE-1: out of fds, nothing accepted and accept paused");
    assert!(exhausted >= 1, "KN-EMFILE-1: accept met EMFILE");
    assert!(waited, "KN-EMFILE-2: `None` after {ms} ms of a 200 ms wait");
    // The policy set on the runtime is the one its listen port follows: no
    // retry within the hour, so the wait woke once, at the EMFILE.
    assert!(wakeups <= bound && bound == 1, "KN-EMFILE-2: {wakeups} wakeups, bound {bound}");
}

/// KN-EMFILE-2: accept resumes when the runtime releases an fd, and only
/// then: activities of the port under test that close nothing (a send, the
/// flush of its queue as the peer reads) leave accept paused.
#[test]
fn accept_stays_paused_while_no_fd_is_released() {
    let r: Probe<(bool, bool, u64, u64)> = in_child(CHILD_BOUND, || {
        let mut rt = Runtime::new(Box::new(VirtualClock::new()), 8, 1, None).map_err(|e| e.to_string())?;
        rt.set_accept_policy(AcceptPolicy { retry_after: Duration::from_secs(3600) });
        let addr = rt.listen(loopback(), &[]).map_err(|e| format!("listen: {e:?}"))?;
        let peer_listener = TcpListener::bind(loopback()).map_err(|e| e.to_string())?;
        let peer_addr = peer_listener.local_addr().map_err(|e| e.to_string())?;
        rt.connect(peer_addr, SocketOpts::default(), &[]).map_err(|e| format!("connect: {e:?}"))?;
        let (mut peer, _) = peer_listener.accept().map_err(|e| e.to_string())?;
        peer.set_nonblocking(true).map_err(|e| e.to_string())?;
        let c = Socket::new(Domain::IPV4, Type::STREAM, None).map_err(|e| e.to_string())?;
        let mut buf = vec![0u8; 1 << 16];
        let _ex = Exhaustion::start(4).map_err(|e| format!("exhaust fds: {e}"))?;
        c.connect(&SockAddr::from(addr)).map_err(|e| format!("connect: {e}"))?;
        let l = rt.listener_fd().ok_or("no listen port")?;
        if poll_fd(l, libc::POLLIN, BOUND).map_err(|e| e.to_string())? & libc::POLLIN == 0 {
            return Err("no connection queued".into());
        }
        let none = rt.try_accept(Duration::ZERO).map_err(|e| e.to_string())?.is_none();
        let (before, paused_before) = rt.accept_stats().ok_or("no listen port")?;
        // WM-2: more than the kernel takes at once; the rest is queued and
        // written as the peer reads.
        rt.send(SenderId(0), Bytes(300_000), 1, SendFlags::default()).map_err(|e| e.to_string())?;
        let mut got = 0;
        while got < 300_000 {
            rt.await_io(BOUND, Some(peer.as_raw_fd())).map_err(|e| e.to_string())?;
            match peer.read(&mut buf) {
                Ok(n) => got += n,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(format!("peer read: {e}")),
            }
        }
        let (after, paused_after) = rt.accept_stats().ok_or("no listen port")?;
        Ok((none && paused_before, paused_after, before.resumes, after.resumes))
    });
    let (paused_before, paused_after, resumes_before, resumes_after) = r.expect("child");
    assert!(paused_before, "KN-EMFILE-1: out of fds, accept paused");
    assert!(paused_after, "KN-EMFILE-2: no fd released, accept still paused");
    assert_eq!(resumes_after, resumes_before, "KN-EMFILE-2: no resume without a released fd");
}
