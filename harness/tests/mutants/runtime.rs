//! The native runtime's production surface, which the lockstep tests (on a
//! virtual clock, through the SUT adapter) never reach: the send timer on
//! the monotonic clock driving `Runtime::turn`, the port's fd, and the error
//! for an unknown planted bug's name. Written to kill mutants `make mutants`
//! found missed.

use harness::native::runtime::SocketOpts;
use harness::native::{Clock, InstantClock, PlantedBug, Runtime, VirtualClock};
use reference::observation::{Posix, SendResult};
use reference::op::SendFlags;
use reference::options::{Opt, Timeout};
use reference::units::{Bytes, Millis, SenderId};
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::os::fd::{AsRawFd, FromRawFd};
use std::sync::mpsc;
use std::time::Duration;

/// Failure bound for a scenario run on its own thread (a hang fails the
/// test instead of the test run timing out). Not a timing assertion.
const BOUND: Duration = Duration::from_secs(20);

fn listener() -> (TcpListener, SocketAddr) {
    let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind loopback");
    let a = l.local_addr().expect("addr");
    (l, a)
}

/// Run `f` on its own thread; its result, or a failure once `BOUND` passes.
fn bounded<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(BOUND).unwrap_or_else(|e| panic!("{what}: no result within the failure bound {BOUND:?} ({e})"))
}

#[test]
fn the_monotonic_clock_is_real_and_the_virtual_one_is_not() {
    assert!(InstantClock::default().is_real());
    let v = VirtualClock::new();
    assert!(!v.is_real());
    v.advance(Millis(7));
    assert_eq!(v.now(), Millis(7));
}

/// TO-1 in production: with the monotonic clock, a busy port's send timer
/// fires by itself while the loop waits in `turn(None)` (which blocks until
/// I/O or the next timer): the blocked caller gets `{error, timeout}`.
#[test]
fn send_timer_fires_on_the_monotonic_clock_in_turn() {
    let (l, addr) = listener();
    let result = bounded("send timer on the monotonic clock", move || {
        let mut rt = Runtime::new(Box::new(InstantClock::default()), 4, 2, None).expect("runtime");
        let opts = [Opt::HighWatermark(64), Opt::LowWatermark(32), Opt::SendTimeout(Timeout::After(Millis(2)))];
        rt.connect(addr, SocketOpts { sndbuf: Some(1), nodelay: true, mss: None, ..SocketOpts::default() }, &opts)
            .expect("connect");
        // The peer accepts and never reads: the kernel soon takes nothing.
        let (_peer, _) = l.accept().expect("accept");
        // WM-2: far more than the kernel can hold; the rest is queued.
        let first = rt.send(SenderId(0), Bytes(8 << 20), 1, SendFlags::default()).expect("send");
        assert_eq!(first, Some(SendResult::Ok));
        // WM-3: onto the non-empty queue: busy, the caller waits.
        let second = rt.send(SenderId(1), Bytes(10), 2, SendFlags::default()).expect("send");
        assert_eq!(second, None, "the second send should wait on the busy port");
        for _ in 0..100_000 {
            rt.turn(None).expect("turn");
            let t = rt.take_trace();
            if let Some(&(s, r)) = t.completed.first() {
                return (s, r);
            }
        }
        panic!("the send timer never fired");
    });
    assert_eq!(result, (SenderId(1), SendResult::Error(Posix::Timeout)));
}

#[test]
fn subject_fd_is_the_port_socket_while_open() {
    let (l, addr) = listener();
    let mut rt = Runtime::new(Box::new(VirtualClock::new()), 4, 2, None).expect("runtime");
    assert_eq!(rt.subject_fd(), None, "no port yet");
    rt.connect(addr, SocketOpts::default(), &[]).expect("connect");
    let (peer, _) = l.accept().expect("accept");
    let fd = rt.subject_fd().expect("an open port has an fd");
    // The fd is the port's socket: its peer is our accepted socket.
    let sock = std::mem::ManuallyDrop::new(unsafe { socket2::Socket::from_raw_fd(fd) });
    let peer_of_port = sock.peer_addr().expect("getpeername").as_socket();
    assert_eq!(peer_of_port, Some(addr));
    assert_eq!(sock.local_addr().expect("getsockname").as_socket(), peer.peer_addr().ok());
    assert_ne!(fd, peer.as_raw_fd());
}

#[test]
fn an_unknown_bug_name_lists_the_known_ones() {
    let e = "no-such-bug".parse::<PlantedBug>().unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("\"no-such-bug\""), "{msg}");
    for b in PlantedBug::ALL {
        assert!(msg.contains(b.name()), "{msg} should list {}", b.name());
    }
}

/// The runtime's own diagnostics: an `await_io` that sees nothing says so
/// (the error's text is its message), with what the kernel still holds for
/// the port; the runtime's Debug names its ports.
#[test]
fn a_fruitless_await_says_what_the_kernel_holds() {
    let (l, addr) = listener();
    let mut rt = Runtime::new(Box::new(VirtualClock::new()), 4, 2, None).expect("runtime");
    rt.connect(addr, SocketOpts::default(), &[Opt::Active(reference::options::ActiveSetting::False)]).expect("connect");
    let (_peer, _) = l.accept().expect("accept");
    // Nothing can happen: no output queued, no input, no timer.
    let e = rt.await_io(Duration::from_millis(1), None).expect_err("nothing to do");
    let msg = e.to_string();
    assert!(msg.starts_with("await_io: no I/O event within"), "{msg}");
    assert!(msg.contains("(port socket: 0 bytes in the kernel send queue, 0 not yet sent)"), "{msg}");
    let shown = format!("{rt:?}");
    assert!(shown.starts_with("Runtime") && shown.contains("ports: 1"), "{shown}");
}

/// The factory's name is what reports and failure files call the system:
/// `native`, or `native+<bug>` with a planted bug.
#[test]
fn the_factory_names_the_system_and_its_bug() {
    use harness::sut::native::NativeFactory;
    use harness::sut::SutFactory;
    assert_eq!(NativeFactory::new(None).name(), "native");
    for b in PlantedBug::ALL {
        assert_eq!(NativeFactory::new(Some(*b)).name(), format!("native+{}", b.name()));
    }
}

/// `close` while sends wait as port tasks (msgq busy) and the driver queue
/// is busy too: the aborted tasks clear msgq busy, but the closed port is
/// still flushing its queue (CL-1) and stays busy, so a suspended sender
/// stays suspended (SND-1); it resumes once the flush leaves busy (SND-4).
/// Only when msgq busy was the last reason does close resume it at once.
#[test]
fn close_with_the_driver_still_busy_resumes_no_one() {
    use crate::support::*;
    use reference::observation::{Reply, SenderStatus};
    use reference::op::{Op, Setup};
    let seen = bounded("close with both busy", || {
        let s = Setup {
            senders: 3,
            options: vec![Opt::HighMsgqWatermark(100), Opt::LowMsgqWatermark(50)],
            ..Setup::default()
        };
        let mut c = start(&s);
        // The peer reads nothing: past what the kernel's buffers hold, the
        // send stays queued (WM-2), and the next one makes the port busy (WM-3).
        c.send(0, 64 << 20, 1);
        let busy = c.send(0, 10, 2).observation.busy.expect("native shows busy");
        c.apply(Op::ContendLock);
        let forced = c.send_flags(1, 200, 3, SendFlags { force: true, nosuspend: false }).observation;
        let third = c.send(2, 10, 4).observation;
        let closed = c.apply(Op::Close).observation;
        // Whatever close made runnable runs now.
        let after = c.apply(Op::Quiesce).observation;
        (busy, forced, third, closed, after)
    });
    let (busy, forced, third, closed, after) = seen;
    assert!(busy.driver, "WM-3: the driver queue is busy: {busy:?}");
    assert!(forced.busy.is_some_and(|b| b.msgq), "MQ-3: the forced send waits as a task over high_msgq: {forced:?}");
    assert_eq!(third.senders[2], SenderStatus::Suspended, "SND-1");
    assert_eq!(closed.reply, Reply::Closed(Ok(())));
    assert!(closed.busy.is_some_and(|b| b.driver && !b.msgq), "CL-1: still flushing, the tasks aborted: {closed:?}");
    assert_eq!(closed.senders[2], SenderStatus::Suspended, "SND-1: the driver queue is still busy");
    assert_eq!(after.senders[2], SenderStatus::Suspended, "SND-4: nothing left busy, no one resumed: {after:?}");
    assert!(after.completed.is_empty(), "no send finished: {after:?}");
}
