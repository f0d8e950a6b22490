//! PC-1..PC-5, RS-1: the native runtime on a real loopback connection
//! whose peer ends it (a FIN by shutdown, a RST by disconnect), also
//! while output is queued or senders wait on a busy port.

use crate::support::*;
use reference::observation::{OwnerMsg, Posix, Reply, SendResult};
use reference::op::{Op, Setup};
use reference::options::{ActiveSetting, Opt};
use reference::units::{payload, Bytes, SenderId};

fn port(show_econnreset: bool, options: Vec<Opt>) -> Case {
    start(&Setup { show_econnreset, ..setup(options) })
}

#[test]
fn a_passive_port_reads_the_bytes_then_the_fin_once_then_is_not_connected() {
    let mut c = port(false, vec![]);
    c.apply(Op::PeerWrite { len: Bytes(10), tag: 4 });
    c.apply(Op::PeerShutdown);
    assert_eq!(c.apply(Op::Recv).observation.reply, Reply::Recv(Ok(payload(4, Bytes(10)))), "RX-6");
    let end = c.apply(Op::Recv).observation;
    assert_eq!(end.reply, Reply::Recv(Err(Posix::Closed)), "PC-1");
    assert_eq!(end.ports, 2, "PC-1: the port keeps its slot");
    assert_eq!(c.apply(Op::Recv).observation.reply, Reply::Recv(Err(Posix::Enotconn)), "PC-2");
    // The peer sees the port's FIN: PC-1 closed the socket.
    c.apply(Op::AwaitPeer);
    assert_eq!(
        c.apply(Op::PeerRead { max: Bytes(10) }).observation.reply,
        Reply::Peer(reference::observation::PeerRead::Eof),
        "PC-1"
    );
    let set = c.apply(Op::SetOpts { opts: vec![Opt::Active(ActiveSetting::True)] }).observation;
    assert_eq!((set.reply, set.ports), (Reply::SetOpts(Ok(())), 1), "PC-2: the port exits");
    assert_eq!(c.apply(Op::Mailbox).observation.reply, Reply::Mailbox(vec![OwnerMsg::TcpClosed]), "PC-2");
}

#[test]
fn a_reset_is_reported_as_closed_unless_show_econnreset_is_set() {
    for (sre, reason) in [(false, Posix::Closed), (true, Posix::Econnreset)] {
        let mut c = port(sre, vec![]);
        c.apply(Op::PeerReset);
        assert_eq!(c.apply(Op::Recv).observation.reply, Reply::Recv(Err(reason)), "RS-1 (show_econnreset {sre})");
    }
}

#[test]
fn an_active_port_delivers_the_bytes_then_the_end_and_exits() {
    for (end, sre, tail) in [
        (Op::PeerShutdown, true, vec![OwnerMsg::TcpClosed]),
        (Op::PeerReset, false, vec![OwnerMsg::TcpClosed]),
        (Op::PeerReset, true, vec![OwnerMsg::TcpError(Posix::Econnreset), OwnerMsg::TcpClosed]),
    ] {
        let mut c = port(sre, vec![Opt::Active(ActiveSetting::True)]);
        c.apply(Op::PeerWrite { len: Bytes(10), tag: 4 });
        c.apply(Op::Quiesce);
        c.apply(end.clone());
        let q = c.apply(Op::Quiesce).observation;
        assert_eq!(q.ports, 1, "PC-3: {end:?} makes the port exit");
        let mut want = vec![OwnerMsg::Tcp(payload(4, Bytes(10)))];
        want.extend(tail);
        assert_eq!(c.apply(Op::Mailbox).observation.reply, Reply::Mailbox(want), "PC-3/RS-1 after {end:?}");
        assert_eq!(c.apply(Op::Recv).observation.reply, Reply::Recv(Err(Posix::Closed)), "PC-3");
    }
}

fn send(s: u8, len: usize) -> Op {
    Op::Send { sender: SenderId(s), len: Bytes(len), tag: s as u16, flags: Default::default() }
}

/// PC-5, PC-4: a send whose own write meets the RST is answered with it;
/// the next send gets enotconn, the next recv still reports the end once.
#[test]
fn a_send_that_meets_the_reset_is_answered_with_it() {
    for (sre, reason) in [(false, Posix::Closed), (true, Posix::Econnreset)] {
        let mut c = port(sre, vec![]);
        c.apply(Op::PeerReset);
        let sent = |r| Reply::Sent(Some(SendResult::Error(r)));
        assert_eq!(c.apply(send(0, 10)).observation.reply, sent(reason), "PC-5 (show_econnreset {sre})");
        assert_eq!(c.apply(send(1, 10)).observation.reply, sent(Posix::Enotconn), "PC-4");
        assert_eq!(c.apply(Op::Recv).observation.reply, Reply::Recv(Err(reason)), "PC-5");
        assert_eq!(c.apply(Op::Recv).observation.reply, Reply::Recv(Err(Posix::Enotconn)), "PC-2");
    }
}

/// PC-5: queued output when the RST comes is dropped by the write that
/// meets it; a passive port tells the next send, then the next recv
/// (PC-4); a busy port answers its blocked caller and resumes the
/// suspended sender, whose retry finds the socket gone.
#[test]
fn queued_output_and_a_blocked_caller_meet_the_reset() {
    for sre in [false, true] {
        let reason = if sre { Posix::Econnreset } else { Posix::Closed };
        let mut c = port(sre, vec![Opt::HighWatermark(64), Opt::LowWatermark(16)]);
        c.apply(send(0, 200_000));
        c.apply(send(1, 100));
        c.apply(send(0, 100));
        assert!(c.apply(Op::QueueSize).observation.queue > Bytes::ZERO, "output queued (the peer reads nothing)");
        c.apply(Op::PeerReset);
        let q = c.apply(Op::Quiesce).observation;
        assert_eq!(q.queue, Bytes::ZERO, "PC-5: the queue goes");
        let mut done = q.completed.clone();
        done.sort();
        assert_eq!(
            done,
            vec![(SenderId(0), SendResult::Error(Posix::Enotconn)), (SenderId(1), SendResult::Error(reason))],
            "PC-5: the blocked caller gets the reset, the resumed retry enotconn (show_econnreset {sre})"
        );
        assert_eq!(c.apply(Op::Recv).observation.reply, Reply::Recv(Err(reason)), "PC-5");
    }
    let mut c = port(false, vec![Opt::HighWatermark(1 << 20), Opt::LowWatermark(1 << 19)]);
    c.apply(send(0, 200_000));
    c.apply(Op::PeerReset);
    assert_eq!(c.apply(Op::Quiesce).observation.queue, Bytes::ZERO, "PC-5");
    let sent = |r| Reply::Sent(Some(SendResult::Error(r)));
    assert_eq!(c.apply(send(0, 10)).observation.reply, sent(Posix::Closed), "PC-4: nobody was told");
    assert_eq!(c.apply(send(0, 10)).observation.reply, sent(Posix::Enotconn), "PC-4");
}

/// PC-5 on an active port with a blocked caller: [tcp_error,] tcp_closed,
/// the port exits, the suspended sender's retry finds it closed (SND-6).
#[test]
fn an_active_busy_port_exits_on_the_reset() {
    let mut c = port(true, vec![Opt::HighWatermark(64), Opt::LowWatermark(16), Opt::Active(ActiveSetting::True)]);
    c.apply(send(0, 200_000));
    c.apply(send(1, 100));
    c.apply(send(0, 100));
    c.apply(Op::PeerReset);
    let q = c.apply(Op::Quiesce).observation;
    assert_eq!(q.ports, 1, "PC-5: the port exits");
    let mut done = q.completed.clone();
    done.sort();
    assert_eq!(done.len(), 2, "both senders answered: {done:?}");
    assert_eq!(done[0], (SenderId(0), SendResult::Error(Posix::Closed)), "SND-6: the retry finds no port");
    assert_eq!(
        c.apply(Op::Mailbox).observation.reply,
        Reply::Mailbox(vec![OwnerMsg::TcpError(Posix::Econnreset), OwnerMsg::TcpClosed]),
        "PC-5, RS-1"
    );
}

/// After its own reset the peer's socket is no longer connected: a peer
/// read then is not something the model asks (it disables PeerRead after
/// PeerReset), and the adapter says so as an error (ENOTCONN) rather than
/// reporting a reset the port never sent.
#[test]
fn a_peer_read_after_the_peers_own_reset_is_an_error() {
    let mut c = port(false, vec![]);
    c.apply(Op::PeerReset);
    // The disconnect's own ECONNRESET goes to the first call on the socket.
    let first = c.sut.apply(&Op::PeerWrite { len: Bytes(10), tag: 1 }).map(|s| s.observation.reply);
    assert_eq!(first, Ok(Reply::Peer(reference::observation::PeerRead::Reset)));
    let e = c.sut.apply(&Op::PeerRead { max: Bytes(10) }).expect_err("not connected");
    assert!(e.0.starts_with("native: peer read: ") && e.0.contains("os error 107"), "{e}");
}

/// `gen_tcp_misc_SUITE:zombie_sockets` (OTP-7615, ports left in the table
/// after close): the port sends more than the peer takes, the peer resets
/// (a client that closes with the data unread, KN-RST-1), the recv reports
/// the end; the close that follows has nothing left to flush, since the
/// write that met the RST dropped the queue (PC-5), so the port leaves the
/// table at once (CL-1 waits only for queued output; PT-4).
#[test]
fn a_close_after_the_reset_dropped_the_queue_leaves_the_table_at_once() {
    let mut c = port(false, vec![]);
    c.apply(send(0, 200_000));
    assert!(c.apply(Op::QueueSize).observation.queue > Bytes::ZERO, "output queued (the peer reads nothing)");
    c.apply(Op::PeerReset);
    assert_eq!(c.apply(Op::Recv).observation.reply, Reply::Recv(Err(Posix::Closed)), "PC-5");
    let before = c.apply(Op::QueueSize).observation;
    assert_eq!(before.queue, Bytes::ZERO, "PC-5: the queue went with the write that met the RST");
    let closed = c.apply(Op::Close).observation;
    assert_eq!(closed.reply, Reply::Closed(Ok(())));
    assert_eq!(closed.ports, before.ports - 1, "CL-1, PT-4: nothing to flush, the slot is free at the close");
}
