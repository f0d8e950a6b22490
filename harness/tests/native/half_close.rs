//! PC-6, PC-7: `{exit_on_close, false}` on the native runtime over a real
//! loopback connection whose peer shuts its write side down (a FIN). The
//! FIN closes only the port's read side (inet_drv.c tcp_recv_closed
//! (exitf): `desc_close_read`): every passive recv is told
//! `{error,closed}`, an active port delivers `{tcp_closed,S}` once, and
//! the port stays, sending as before the end, with no FIN to the peer
//! until it is closed (CL-1). The default (exit_on_close true) is
//! `peer_end.rs`'s (PC-1..PC-3).

use crate::support::*;
use harness::sut::native::peer_end::{self, End};
use harness::sut::native::tcp_table::{self, sent_no_fin};
use native::{Runtime, SocketOpts, VirtualClock};
use reference::choice::{Activity, Choice};
use reference::observation::{OwnerMsg, PeerRead, Posix, Reader, Reply, SendResult};
use reference::op::{Op, Setup};
use reference::options::{Active, ActiveSetting, Opt};
use reference::units::{payload, Bytes, SenderId};
use std::net::{SocketAddr, SocketAddrV4, TcpListener};
use std::os::fd::BorrowedFd;
use std::time::Duration;

/// A port under test with `{exit_on_close, false}` and `options`.
fn half_closing(options: Vec<Opt>) -> Case {
    start(&Setup { exit_on_close: false, ..setup(options) })
}

fn active(a: ActiveSetting) -> Op {
    Op::SetOpts { opts: vec![Opt::Active(a)] }
}

fn recv(c: &mut Case) -> Reply {
    c.apply(Op::Recv).observation.reply
}

fn mailbox(c: &mut Case) -> Vec<OwnerMsg> {
    match c.apply(Op::Mailbox).observation.reply {
        Reply::Mailbox(m) => m,
        r => panic!("mailbox: {r:?}"),
    }
}

fn active_mode(c: &mut Case) -> Active {
    match c.apply(Op::GetOpts).observation.reply {
        Reply::Opts(o) => o.active,
        r => panic!("getopts: {r:?}"),
    }
}

/// The peer's next read: nothing there now is `WouldBlock`, its EOF `Eof`.
fn peer_read(c: &mut Case) -> PeerRead {
    match c.apply(Op::PeerRead { max: Bytes(65536) }).observation.reply {
        Reply::Peer(r) => r,
        r => panic!("peer read: {r:?}"),
    }
}

/// Whether a step read the socket (an input activity, or a read syscall).
fn read_the_socket(step: &harness::sut::Step) -> bool {
    step.choices.iter().any(|c| matches!(c, Choice::Read { .. } | Choice::Ran(Activity::Input)))
}

/// PC-6: the recv that reaches the FIN (after the bytes before it) reads
/// it and returns `{error,closed}`; every later recv returns
/// `{error,closed}` too, without a read (never enotconn, PC-2's answer
/// with exit_on_close true). The port keeps its slot and its options.
#[test]
fn a_half_closed_passive_port_answers_closed_to_every_recv() {
    let mut c = half_closing(vec![Opt::HighWatermark(20_000)]);
    c.apply(Op::PeerWrite { len: Bytes(10), tag: 4 });
    c.apply(Op::PeerShutdown);
    assert_eq!(recv(&mut c), Reply::Recv(Ok(payload(4, Bytes(10)))), "RX-6: the bytes before the end");
    let end = c.apply(Op::Recv);
    assert_eq!(end.observation.reply, Reply::Recv(Err(Posix::Closed)), "PC-6");
    assert_eq!(end.choices, vec![Choice::Read { got: Bytes(0) }], "PC-6: the recv read the FIN");
    assert_eq!(end.observation.ports, 2, "PC-6: the port keeps its slot");
    for _ in 0..3 {
        let later = c.apply(Op::Recv);
        assert_eq!(later.observation.reply, Reply::Recv(Err(Posix::Closed)), "PC-6: never enotconn");
        assert!(later.choices.is_empty(), "PC-6: answered without a read: {:?}", later.choices);
    }
    let q = c.apply(Op::Quiesce);
    assert!(q.choices.is_empty(), "nothing runs on a read-closed socket: {:?}", q.choices);
    assert_eq!(q.observation.ports, 2);
    match c.apply(Op::GetOpts).observation.reply {
        Reply::Opts(o) => assert_eq!((o.high, o.active), (Bytes(20_000), Active::Passive), "PC-6: its options"),
        r => panic!("getopts: {r:?}"),
    }
    assert_eq!(mailbox(&mut c), vec![], "PC-6: a passive port tells its owner nothing");
}

/// PC-6, CL-1: after the end a send goes out as before it; the peer reads
/// every byte and no EOF, until the port's close flushes and closes the
/// socket.
#[test]
fn a_half_closed_passive_port_keeps_sending_and_the_peer_sees_eof_only_at_the_close() {
    let mut c = half_closing(vec![]);
    c.apply(Op::PeerShutdown);
    assert_eq!(recv(&mut c), Reply::Recv(Err(Posix::Closed)), "PC-6");
    assert_eq!(c.send(0, 100, 7).observation.reply, Reply::Sent(Some(SendResult::Ok)), "PC-6: the send works");
    c.apply(Op::AwaitPeer);
    assert_eq!(c.peer_read_all(), payload(7, Bytes(100)), "PC-6: the peer reads every byte");
    assert_eq!(peer_read(&mut c), PeerRead::WouldBlock, "PC-6: no FIN while the port is open");
    assert_eq!(recv(&mut c), Reply::Recv(Err(Posix::Closed)), "PC-6: still told the end");
    let closed = c.apply(Op::Close).observation;
    assert_eq!((closed.reply, closed.ports), (Reply::Closed(Ok(())), 1), "CL-1");
    c.apply(Op::AwaitPeer);
    assert_eq!(peer_read(&mut c), PeerRead::Eof, "CL-1: the close sends the FIN");
}

/// PC-6: the driver queue, the watermarks and busy work after the end as
/// before it: a send onto the queue crossing the high watermark makes the
/// port busy, its caller waits, and the peer's reads drain the queue to
/// the low watermark (WM-4), which answers it; the peer gets every byte
/// in order, and still no EOF.
#[test]
fn a_half_closed_port_queues_and_goes_busy_as_before_the_end() {
    let mut c = half_closing(vec![Opt::HighWatermark(64), Opt::LowWatermark(16)]);
    c.apply(Op::PeerShutdown);
    assert_eq!(recv(&mut c), Reply::Recv(Err(Posix::Closed)), "PC-6");
    assert_eq!(c.send(0, 200_000, 1).observation.reply, Reply::Sent(Some(SendResult::Ok)), "WM-2");
    let busy = c.send(1, 100, 2).observation;
    assert_eq!(busy.reply, Reply::Sent(None), "WM-3: the caller waits on the busy port");
    assert!(busy.busy.is_some_and(|b| b.driver), "WM-3: busy after the end as before it");
    assert!(busy.queue > Bytes::ZERO, "output queued");
    let (got, steps) = c.drain();
    let mut want = payload(1, Bytes(200_000));
    want.extend(payload(2, Bytes(100)));
    assert!(got == want, "PC-6: the peer reads every byte in order ({} of {})", got.len(), want.len());
    let answered: Vec<_> = steps.iter().flat_map(|s| s.observation.completed.clone()).collect();
    assert_eq!(answered, vec![(SenderId(1), SendResult::Ok)], "WM-4: the blocked caller is answered ok");
    assert!(!steps.iter().any(read_the_socket), "the read side stays closed while the queue drains");
    assert_eq!(peer_read(&mut c), PeerRead::WouldBlock, "PC-6: no FIN while the port is open");
}

/// PC-6: a recv on a busy half-closed port reads the end again, and that
/// read answers the blocked caller `{error,closed}` with the queue
/// dropped (tcp_recv_closed's busy branch, exit_on_close or not:
/// `probe_eoc_busy_recv.erl`); the socket stays, the peer reads only what
/// the kernel had taken, and a send after it is written as before.
#[test]
fn a_recv_on_a_busy_half_closed_port_drops_the_queue_and_answers_the_caller() {
    let mut c = half_closing(vec![Opt::HighWatermark(64), Opt::LowWatermark(16)]);
    c.apply(Op::PeerShutdown);
    assert_eq!(recv(&mut c), Reply::Recv(Err(Posix::Closed)), "PC-6");
    assert_eq!(c.send(0, 200_000, 1).observation.reply, Reply::Sent(Some(SendResult::Ok)), "WM-2");
    assert_eq!(c.send(1, 100, 2).observation.reply, Reply::Sent(None), "WM-3");
    let r = c.apply(Op::Recv).observation;
    assert_eq!(r.reply, Reply::Recv(Err(Posix::Closed)), "PC-6");
    assert_eq!(r.completed, vec![(SenderId(1), SendResult::Error(Posix::Closed))], "PC-6: the caller answered");
    assert_eq!(r.queue, Bytes::ZERO, "PC-6: the queue dropped");
    let got = c.peer_read_all();
    assert!(got.len() < 200_000 && got == payload(1, Bytes(got.len())), "the kernel's share only: {}", got.len());
    assert_eq!(c.send(0, 10, 3).observation.reply, Reply::Sent(Some(SendResult::Ok)), "the socket stays");
    c.apply(Op::AwaitPeer);
    assert_eq!(c.peer_read_all(), payload(3, Bytes(10)));
}

/// PC-7: an active port delivers the bytes before the FIN, then
/// `{tcp_closed,S}` once, and stays: it sends, setopts and getopts work,
/// and no setopts delivers the end again; a recv while active is einval
/// (RX-1), once passive again `{error,closed}` (PC-6).
#[test]
fn a_half_closed_active_port_delivers_tcp_closed_once_and_stays() {
    let mut c = half_closing(vec![Opt::Active(ActiveSetting::True)]);
    c.apply(Op::PeerWrite { len: Bytes(10), tag: 4 });
    c.apply(Op::Quiesce);
    c.apply(Op::PeerShutdown);
    let q = c.apply(Op::Quiesce).observation;
    assert_eq!(q.ports, 2, "PC-7: the port does not exit");
    assert_eq!(mailbox(&mut c), vec![OwnerMsg::Tcp(payload(4, Bytes(10))), OwnerMsg::TcpClosed], "PC-7");
    let again = c.apply(Op::Quiesce);
    assert!(!read_the_socket(&again), "PC-7: the end is not read again: {:?}", again.choices);
    assert_eq!(c.send(0, 10, 9).observation.reply, Reply::Sent(Some(SendResult::Ok)), "PC-7: sends work");
    c.apply(Op::AwaitPeer);
    assert_eq!(c.peer_read_all(), payload(9, Bytes(10)), "PC-7: the peer reads them");
    assert_eq!(active_mode(&mut c), Active::Always, "PC-7: getopts works");
    assert_eq!(recv(&mut c), Reply::Recv(Err(Posix::Einval)), "RX-1: recv on an active port");
    assert_eq!(c.apply(active(ActiveSetting::True)).observation.reply, Reply::SetOpts(Ok(())));
    assert_eq!(c.apply(active(ActiveSetting::False)).observation.reply, Reply::SetOpts(Ok(())));
    assert_eq!(recv(&mut c), Reply::Recv(Err(Posix::Closed)), "PC-6: passive again, told the end");
    assert_eq!(c.apply(active(ActiveSetting::Once)).observation.reply, Reply::SetOpts(Ok(())));
    assert_eq!(mailbox(&mut c), vec![], "PC-7: told once, at the delivery");
    let last = c.apply(Op::Quiesce).observation;
    assert_eq!((last.ports, last.queue), (2, Bytes::ZERO), "PC-7: the port stays");
    assert_eq!(peer_read(&mut c), PeerRead::WouldBlock, "PC-7: no FIN while the port is open");
}

/// PC-7: a port that read the end passively (PC-6) delivers
/// `{tcp_closed,S}` at the first setopts that leaves it active (a passive
/// one before does not), once: no later setopts delivers another, and a
/// recv after it went passive again is still `{error,closed}`.
#[test]
fn a_passive_end_is_delivered_at_the_first_setopts_that_leaves_the_port_active_once() {
    let mut c = half_closing(vec![]);
    c.apply(Op::PeerShutdown);
    assert_eq!(recv(&mut c), Reply::Recv(Err(Posix::Closed)), "PC-6");
    assert_eq!(c.apply(active(ActiveSetting::False)).observation.reply, Reply::SetOpts(Ok(())));
    assert_eq!(mailbox(&mut c), vec![], "PC-7: a setopts that leaves the port passive tells nothing");
    let set = c.apply(active(ActiveSetting::Once)).observation;
    assert_eq!((set.reply, set.ports), (Reply::SetOpts(Ok(())), 2), "PC-7: the port stays");
    assert_eq!(mailbox(&mut c), vec![OwnerMsg::TcpClosed], "PC-7: the end, at the first active setopts");
    for a in [ActiveSetting::Once, ActiveSetting::True, ActiveSetting::N(2), ActiveSetting::False] {
        assert_eq!(c.apply(active(a)).observation.reply, Reply::SetOpts(Ok(())), "{a:?}");
        assert_eq!(mailbox(&mut c), vec![], "PC-7: once only ({a:?})");
    }
    assert_eq!(recv(&mut c), Reply::Recv(Err(Posix::Closed)), "PC-6: after active and passive again");
    let q = c.apply(Op::Quiesce);
    assert_eq!(q.observation.ports, 2);
    assert!(!read_the_socket(&q), "{:?}", q.choices);
}

/// PC-7: the `{tcp_closed,S}` takes nothing from an `{active,N}` count:
/// `{active,3}`, one data message, the FIN: `{active,2}` stays, no
/// tcp_passive; a setopts `{active,2}` then reads back `{active,4}`.
#[test]
fn the_end_takes_nothing_from_an_active_n_count() {
    let mut c = half_closing(vec![Opt::Active(ActiveSetting::N(3))]);
    c.apply(Op::PeerWrite { len: Bytes(10), tag: 4 });
    c.apply(Op::Quiesce);
    c.apply(Op::PeerShutdown);
    c.apply(Op::Quiesce);
    assert_eq!(mailbox(&mut c), vec![OwnerMsg::Tcp(payload(4, Bytes(10))), OwnerMsg::TcpClosed], "PC-7");
    assert_eq!(active_mode(&mut c), Active::Count(2), "PC-7: only the data message counted (RX-4)");
    assert_eq!(c.apply(active(ActiveSetting::N(2))).observation.reply, Reply::SetOpts(Ok(())));
    assert_eq!(active_mode(&mut c), Active::Count(4), "RX-3: additive");
    assert_eq!(mailbox(&mut c), vec![], "no tcp_passive, no second tcp_closed");
}

/// RX-9, PC-6: the reader's `recv(S, 5)` waiting over 2 bytes meets the
/// FIN: it returns `{error,closed}`, the 2 bytes dropped; the owner's
/// later recv and the reader's next one are told `{error,closed}` at
/// once; the port keeps sending.
#[test]
fn a_waiting_reader_meets_the_fin_and_later_recvs_are_told_closed() {
    let mut c = half_closing(vec![]);
    let wait = Op::RecvWait { len: Bytes(5), timeout: None };
    assert_eq!(c.apply(wait.clone()).observation.reader, Reader::Waiting, "RX-7");
    c.apply(Op::PeerWrite { len: Bytes(2), tag: 3 });
    assert_eq!(c.apply(Op::Quiesce).observation.reader, Reader::Waiting, "RX-7: 2 of 5");
    c.apply(Op::PeerShutdown);
    let met = c.apply(Op::Quiesce).observation;
    assert_eq!(met.reader, Reader::Returned(Err(Posix::Closed)), "RX-9");
    assert_eq!(met.ports, 2, "PC-6: the port stays");
    assert_eq!(recv(&mut c), Reply::Recv(Err(Posix::Closed)), "PC-6");
    let next = c.apply(wait);
    assert_eq!(next.observation.reader, Reader::Returned(Err(Posix::Closed)), "PC-6: the reader too, at once");
    assert!(next.choices.is_empty(), "PC-6: without a read: {:?}", next.choices);
    assert_eq!(c.send(0, 10, 8).observation.reply, Reply::Sent(Some(SendResult::Ok)), "PC-6");
    c.apply(Op::AwaitPeer);
    assert_eq!(c.peer_read_all(), payload(8, Bytes(10)));
}

/// RX-9, PC-6: a reader whose recv finds the FIN already there returns
/// `{error,closed}` within its own call.
#[test]
fn a_reader_that_finds_the_fin_there_returns_closed_at_once() {
    let mut c = half_closing(vec![]);
    c.apply(Op::PeerShutdown);
    let s = c.apply(Op::RecvWait { len: Bytes(5), timeout: None });
    assert_eq!(s.observation.reader, Reader::Returned(Err(Posix::Closed)), "RX-9");
    assert_eq!(s.choices, vec![Choice::Read { got: Bytes(0) }], "it read the FIN");
    assert_eq!(recv(&mut c), Reply::Recv(Err(Posix::Closed)), "PC-6");
    assert_eq!(c.apply(Op::Quiesce).observation.ports, 2);
}

/// The socket stays out of the read poll once the FIN was read: an active
/// port draining a queue (writable events keep coming, and the socket is
/// readable at EOF all along) never reads again nor delivers a second
/// `{tcp_closed,S}`.
#[test]
fn an_active_half_closed_port_drains_its_queue_without_reading_the_end_again() {
    let mut c = half_closing(vec![Opt::Active(ActiveSetting::True), Opt::HighWatermark(1 << 20)]);
    c.apply(Op::PeerShutdown);
    c.apply(Op::Quiesce);
    assert_eq!(mailbox(&mut c), vec![OwnerMsg::TcpClosed], "PC-7");
    assert_eq!(c.send(0, 200_000, 5).observation.reply, Reply::Sent(Some(SendResult::Ok)));
    let (got, steps) = c.drain();
    assert!(got == payload(5, Bytes(200_000)), "PC-7: the peer reads every byte ({} bytes)", got.len());
    assert!(steps.iter().any(|s| ran(s, Activity::Output)), "the queue was written on writable events");
    assert!(!steps.iter().any(read_the_socket), "the read side stays closed");
    assert_eq!(mailbox(&mut c), vec![], "PC-7: the end delivered once");
    assert_eq!(peer_read(&mut c), PeerRead::WouldBlock, "PC-7: no FIN while the port is open");
}

/// The planted `half-closed-port-exits`: the FIN is handled as with
/// exit_on_close true: a passive port closes its socket (the next recv is
/// enotconn, PC-2), an active one exits (PC-3).
#[test]
fn the_planted_half_closed_port_exits_closes_as_the_default_does() {
    let bug = Some(harness::sut::native::PlantedBug::HalfClosedPortExits);
    let mut c = start_with(&Setup { exit_on_close: false, ..setup(vec![]) }, bug);
    c.apply(Op::PeerShutdown);
    assert_eq!(recv(&mut c), Reply::Recv(Err(Posix::Closed)));
    assert_eq!(recv(&mut c), Reply::Recv(Err(Posix::Enotconn)), "the socket closed as with exit_on_close true");
    let mut c = start_with(&Setup { exit_on_close: false, ..setup(vec![Opt::Active(ActiveSetting::True)]) }, bug);
    c.apply(Op::PeerShutdown);
    assert_eq!(c.apply(Op::Quiesce).observation.ports, 1, "the active port exits as with exit_on_close true");
}

/// The port's end of its connection: (local, remote).
fn ends(rt: &Runtime) -> (SocketAddrV4, SocketAddrV4) {
    let fd = rt.subject_fd().expect("the port's socket is open");
    // SAFETY: the runtime keeps `fd` open for the borrow's lifetime (the
    // runtime is borrowed too).
    let fd = unsafe { BorrowedFd::borrow_raw(fd) };
    let s = socket2::SockRef::from(&fd);
    let v4 = |a: Option<SocketAddr>| match a {
        Some(SocketAddr::V4(a)) => a,
        a => panic!("loopback IPv4 expected, got {a:?}"),
    };
    (v4(s.local_addr().unwrap().as_socket()), v4(s.peer_addr().unwrap().as_socket()))
}

/// PC-6 in the kernel's socket table: after the recv that read the FIN
/// the port's end is in CLOSE_WAIT (it received a FIN and sent none), the
/// production loop's turns find nothing to do (the socket is not polled
/// for reading, though it is readable at EOF), and only the close sends
/// the port's FIN (CL-1).
#[test]
fn the_half_closed_socket_sends_no_fin_until_the_close_and_is_not_polled_for_reading() {
    let l = TcpListener::bind(loopback()).unwrap();
    let addr = l.local_addr().unwrap();
    let (state_after_end, turns, state_after_close) = bounded("a half-closed port on the runtime", move || {
        let mut rt = Runtime::new(Box::new(VirtualClock::new()), 4, 2, None).expect("runtime");
        rt.connect(addr, SocketOpts::default(), &[]).expect("connect");
        rt.set_exit_on_close(false).expect("exit_on_close");
        let (peer, _) = l.accept().expect("accept");
        peer_end::end(&peer, End::Fin).expect("the peer's FIN");
        let fd = rt.subject_fd().unwrap();
        assert!(peer_end::await_arrival(fd, End::Fin, BOUND).unwrap(), "the FIN reaches the port");
        assert_eq!(rt.recv().expect("recv"), Err(native::Posix::Closed), "PC-6");
        let (local, remote) = ends(&rt);
        let after_end = tcp_table::state(local, remote).unwrap();
        rt.take_trace();
        let mut turns = Vec::new();
        for _ in 0..3 {
            rt.turn(Some(Duration::ZERO)).expect("turn");
            turns.extend(rt.take_trace().actions);
        }
        rt.close().expect("close");
        (after_end, turns, tcp_table::state(local, remote).unwrap())
    });
    assert_eq!(state_after_end, Some(tcp_table::CLOSE_WAIT), "PC-6: the port's end sent no FIN");
    assert!(turns.is_empty(), "nothing runs on a read-closed socket: {turns:?}");
    assert!(!state_after_close.is_some_and(sent_no_fin), "CL-1: the close sent the FIN: {state_after_close:?}");
}
