//! The native runtime's production surface, which the lockstep tests (on a
//! virtual clock, through the SUT adapter) never reach: the send timer and
//! the recv timer (RX-11) on the monotonic clock driving `Runtime::turn`,
//! the port's fd, and the error for an unknown planted bug's name. Written
//! to kill mutants `make mutants` found missed.

use crate::support::{bounded, listener};
use native::SendFlags;
use native::SocketOpts;
use native::{Bytes, Millis, SenderId};
use native::{Clock, InstantClock, PlantedBug, Runtime, VirtualClock};
use native::{Opt, Timeout};
use native::{Posix, SendResult};
use std::os::fd::{AsRawFd, FromRawFd};
use std::time::Duration;

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

/// RX-11 in production: with the monotonic clock, the reader's
/// `gen_tcp:recv(S, 10, 2)` over 4 bytes times out by itself while the
/// loop waits in `turn(None)` (the recv's timer bounds the wait as the send
/// timer does); the owner's next recv gets the 4 bytes it had gathered.
#[test]
fn recv_timer_fires_on_the_monotonic_clock_in_turn() {
    let (l, addr) = listener();
    let (timed_out, next) = bounded("recv timer on the monotonic clock", move || {
        let mut rt = Runtime::new(Box::new(InstantClock::default()), 4, 2, None).expect("runtime");
        rt.connect(addr, SocketOpts::default(), &[Opt::Active(native::ActiveSetting::False)]).expect("connect");
        let (mut peer, _) = l.accept().expect("accept");
        std::io::Write::write_all(&mut peer, b"abcd").expect("peer write");
        while rt.subject_bytes_readable().expect("FIONREAD") != Some(4) {
            std::thread::yield_now();
        }
        assert_eq!(rt.recv_wait(Bytes(10), Some(Millis(2))).expect("recv_wait"), None, "4 of 10: it waits");
        for _ in 0..100_000 {
            rt.turn(None).expect("turn");
            if let Some(r) = rt.take_trace().reader_returned.pop() {
                return (r, rt.recv().expect("recv"));
            }
        }
        panic!("the recv timer never fired");
    });
    assert_eq!(timed_out, Err(Posix::Timeout), "RX-11");
    assert_eq!(next, Ok(b"abcd".to_vec()), "RX-11: the gathered bytes are the next recv's");
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
    rt.connect(addr, SocketOpts::default(), &[Opt::Active(native::ActiveSetting::False)]).expect("connect");
    let (_peer, _) = l.accept().expect("accept");
    // Nothing can happen: no output queued, no input, no timer.
    let e = rt.await_io(Duration::from_millis(1), None).expect_err("nothing to do");
    let msg = e.to_string();
    assert!(msg.starts_with("await_io: no I/O event within"), "{msg}");
    assert!(msg.contains("(port socket: 0 bytes in the kernel send queue, 0 not yet sent)"), "{msg}");
    let shown = format!("{rt:?}");
    assert!(shown.starts_with("Runtime") && shown.contains("ports: 1"), "{shown}");
}
