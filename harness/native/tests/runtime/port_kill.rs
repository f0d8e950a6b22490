//! CL-5 on the runtime itself, where the lockstep cases cannot go: a
//! sender the port resumed that has not retried yet is answered
//! `{error,closed}` by the kill as a suspended one is (it is still inside
//! its `port_command`), and a kill of a port that is closed already is a
//! misuse. The lockstep scenarios are in `harness/tests/native/port_kill.rs`.
//!
//! No sleeps: every wait is a readiness wait with a failure bound.

use crate::support::{listener, BOUND};
use native::{Bytes, Posix, Runtime, SendFlags, SendResult, SenderId, SenderStatus, SocketOpts, VirtualClock};
use native::{Opt, RuntimeError};
use std::net::{Shutdown, TcpStream};

const CLOSED: SendResult = SendResult::Error(Posix::Closed);

/// More than the kernel takes at once from a port with the minimum
/// SO_SNDBUF writing to a peer that does not read.
const BIG: usize = 1_000_000;

/// A passive port on the virtual clock, three senders, busy from 64
/// queued bytes, connected to a peer we hold.
fn connected() -> (Runtime, TcpStream) {
    let (l, addr) = listener();
    let mut rt = Runtime::new(Box::new(VirtualClock::new()), 4, 3, None).expect("runtime");
    let opts = [Opt::HighWatermark(64), Opt::LowWatermark(16)];
    rt.connect(addr, SocketOpts { sndbuf: Some(1), ..SocketOpts::default() }, &opts).expect("connect");
    let (peer, _) = l.accept().expect("accept");
    (rt, peer)
}

fn send(rt: &mut Runtime, s: u8, len: usize) -> Option<SendResult> {
    rt.send(SenderId(s), Bytes(len), 1, SendFlags::default()).expect("send")
}

/// S0 leaves most of its send queued, S1 blocks on its reply (WM-3), S2
/// suspends (SND-1).
fn busy(rt: &mut Runtime) {
    assert_eq!(send(rt, 0, BIG), Some(SendResult::Ok), "WM-2");
    assert_eq!(send(rt, 1, 10), None, "WM-3: S1 blocks");
    assert_eq!(send(rt, 2, 10), None, "SND-1: S2 suspends");
    assert_eq!(rt.snapshot().senders[2], SenderStatus::Suspended);
}

/// The owner's recv reads the peer's FIN on the busy port (PC-1): the
/// queue goes, the blocked caller is answered `{error,closed}` (PC-5) and
/// the suspended sender is resumed, to retry at the next quiescence. A
/// kill before that answers it `{error,closed}` at once, and nothing is
/// left to run.
#[test]
fn a_kill_answers_a_resumed_sender_that_has_not_retried_yet_closed() {
    let (mut rt, peer) = connected();
    busy(&mut rt);
    peer.shutdown(Shutdown::Write).expect("the peer's FIN");
    let fd = rt.subject_fd().expect("open");
    assert!(native::sys::wait_any_readable(&[fd], BOUND).expect("poll"), "the FIN reaches the port");
    assert_eq!(rt.recv().expect("recv"), Err(Posix::Closed), "PC-1");
    assert_eq!(rt.take_trace().completed, vec![(SenderId(1), CLOSED)], "PC-5: the blocked caller");
    assert_eq!(rt.snapshot().senders[2], SenderStatus::Suspended, "SND-4: resumed, not yet retried");

    rt.kill_port().expect("kill");
    let trace = rt.take_trace();
    assert_eq!(trace.completed, vec![(SenderId(2), CLOSED)], "CL-5: the resumed sender is answered");
    assert_eq!(rt.snapshot().senders, vec![SenderStatus::Idle; 3]);
    assert_eq!(rt.snapshot().ports, 0, "CL-5: the port left the table");
    rt.quiesce().expect("quiesce");
    assert_eq!(rt.take_trace().actions, vec![], "no retry is left to run");
}

/// CL-5 through the runtime's API: the caller blocked on the busy port,
/// then the suspended sender, are answered `{error,closed}` at once; the
/// socket is closed; a later send is `{error,closed}` (SND-6).
#[test]
fn a_kill_answers_the_blocked_caller_then_the_suspended_sender_and_closes_the_socket() {
    let (mut rt, _peer) = connected();
    busy(&mut rt);
    rt.take_trace();
    rt.kill_port().expect("kill");
    assert_eq!(rt.take_trace().completed, vec![(SenderId(1), CLOSED), (SenderId(2), CLOSED)], "CL-5");
    assert_eq!(rt.subject_fd(), None, "CL-5: the socket closed with the port");
    assert_eq!(rt.queue_size().expect("queue_size"), Bytes::ZERO, "CL-5: the queue dropped");
    assert_eq!(send(&mut rt, 0, 10), Some(CLOSED), "SND-6");
}

/// A port that left the table cannot be killed again: the harness's
/// misuse, reported as an error (the generator makes no such op).
#[test]
fn killing_a_port_that_is_closed_already_is_a_misuse() {
    let (mut rt, _peer) = connected();
    rt.close().expect("close");
    let e: RuntimeError = rt.kill_port().expect_err("closed already");
    assert!(e.0.contains("closed already"), "{e}");

    let (mut rt, _peer) = connected();
    rt.kill_port().expect("kill");
    assert!(rt.kill_port().is_err(), "killed already");
}
