//! The listen port's accept path at the edges `make mutants` found
//! untested: its wakeup bound for enormous waits, its pause state when fds
//! are plentiful, and a wait that goes on while accept is paused
//! (KN-EMFILE-1/2). The exhaustion scenario runs in a forked child with a
//! lowered RLIMIT_NOFILE, as in native_accept_exhaustion.rs.

use harness::kernel::fd_limit::Exhaustion;
use harness::kernel::{in_child, poll_fd, Probe};
use harness::native::bugs::Faults;
use harness::native::listen_port::ListenPort;
use harness::native::{AcceptPolicy, Runtime, VirtualClock};
use reference::options::PortOptions;
use socket2::{Domain, SockAddr, Socket, Type};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

const BOUND: Duration = Duration::from_secs(5);
const CHILD_BOUND: Duration = Duration::from_secs(20);

fn loopback() -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, 0))
}

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
    let (lp, _) = ListenPort::bind(loopback(), PortOptions::default(), AcceptPolicy::default(), Faults::default()).expect("bind");
    let shown = format!("{lp:?}");
    assert!(shown.starts_with("ListenPort") && shown.contains("paused: false") && shown.contains("opts"), "{shown}");
}

/// KN-EMFILE-1/2: out of fds, a wait for a connection meets EMFILE, pauses
/// accept, and goes on waiting: it answers "none" only once its wait is
/// over (by the monotonic clock; the code returns `None` only when no time
/// is left), not at the first fruitless wakeup.
#[test]
fn a_wait_goes_on_while_accept_is_paused() {
    let r: Probe<(bool, bool, u64, u64)> = in_child(CHILD_BOUND, || {
        let mut rt = Runtime::new(Box::new(VirtualClock::new()), 8, 1, None).map_err(|e| e.to_string())?;
        rt.set_accept_policy(AcceptPolicy { retry_after: Duration::from_secs(3600) });
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
        Ok((got.is_none() && paused, elapsed >= wait, stats.exhausted, elapsed.as_millis() as u64))
    });
    let (none_and_paused, waited, exhausted, ms) = r.expect("child");
    assert!(none_and_paused, "KN-EMFILE-1: out of fds, nothing accepted and accept paused");
    assert!(exhausted >= 1, "KN-EMFILE-1: accept met EMFILE");
    assert!(waited, "KN-EMFILE-2: `None` after {ms} ms of a 200 ms wait");
}

