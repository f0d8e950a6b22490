//! PC-1..PC-3, RS-1: the native runtime on a real loopback connection
//! whose peer ends it (a FIN by shutdown, a RST by disconnect).

use crate::support::*;
use reference::observation::{OwnerMsg, Posix, Reply};
use reference::op::{Op, Setup};
use reference::options::{ActiveSetting, Opt};
use reference::units::{payload, Bytes};

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
