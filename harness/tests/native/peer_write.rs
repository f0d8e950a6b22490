//! The native SUT adapter's peer, where the generated cases do not take
//! it (the model disables PeerWrite once the port's socket closed):
//! writing to a port whose socket is gone. The bytes can go nowhere; the
//! peer's writes fail once the port's kernel has answered with RST, and the
//! adapter reports that as the write's reply (as the model does), not as a
//! failure of the system under test.

use crate::support::*;
use reference::observation::{PeerRead, Reply};
use reference::op::Op;
use reference::units::Bytes;
use std::sync::mpsc;
use std::time::Duration;

const BOUND: Duration = Duration::from_secs(15);

#[test]
fn peer_writes_to_a_closed_port_go_nowhere() {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut c = start(&setup(vec![]));
        assert_eq!(c.apply(Op::Close).observation.reply, Reply::Closed(Ok(())));
        // CL-1: the queue was empty, so the socket closed at once; the
        // peer sees EOF.
        c.apply(Op::AwaitPeer);
        assert_eq!(c.apply(Op::PeerRead { max: Bytes(100) }).observation.reply, Reply::Peer(PeerRead::Eof));
        // One segment: the kernel takes it, the closed socket answers RST.
        let first = c.sut.apply(&Op::PeerWrite { len: Bytes(100), tag: 1 }).map(|s| s.observation.reply);
        // The peer had seen FIN (CLOSE_WAIT), so the RST turns into EPIPE
        // for every later write, shown as EOF; reads still see EOF.
        let second = c.sut.apply(&Op::PeerWrite { len: Bytes(100), tag: 2 }).map(|s| s.observation.reply);
        let read = c.sut.apply(&Op::PeerRead { max: Bytes(100) }).map(|s| s.observation.reply);
        let _ = tx.send([first, second, read].map(|r| r.map_err(|e| e.0)));
    });
    let eof = Ok(Reply::Peer(PeerRead::Eof));
    assert_eq!(rx.recv_timeout(BOUND).expect("no hang"), [Ok(Reply::None), eof.clone(), eof], "CL-1");
}

/// A peer read of at most 0 bytes reads nothing and says nothing about the
/// stream: recv(2) with an empty buffer returns 0 when bytes wait (EAGAIN
/// when none do), so that 0 is not end of stream. (Generated cases read at
/// least one byte; the adapter still answers this one truthfully.)
#[test]
fn a_zero_byte_peer_read_is_not_end_of_stream() {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut c = start(&setup(vec![]));
        let empty = c.apply(Op::PeerRead { max: Bytes(0) }).observation.reply;
        c.send(0, 10, 1);
        c.apply(Op::AwaitPeer);
        let waiting = c.apply(Op::PeerRead { max: Bytes(0) }).observation.reply;
        let _ = tx.send((empty, waiting, c.peer_read_all()));
    });
    let (empty, waiting, rest) = rx.recv_timeout(BOUND).expect("peer reads within the failure bound");
    assert_eq!(empty, Reply::Peer(PeerRead::WouldBlock), "ST-1: nothing sent yet");
    assert_eq!(waiting, Reply::Peer(PeerRead::Data(vec![])), "ST-1: 10 bytes wait, none asked for");
    assert_eq!(rest.len(), 10, "ST-1: the 10 bytes are still there");
}
