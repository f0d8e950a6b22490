//! `{exit_on_close, false}`: the peer's FIN half-closes the port (PC-6,
//! PC-7), on the reference rules and on OTP's inet driver alike, as
//! measured on OTP 25.2.3, 27.3.4.1 and 29.1.2
//! (harness/beam/probes/probe_exit_on_close_fin.erl).

use crate::support::{send, wrote};
use reference::choice::{Activity, Choice};
use reference::model::Model;
use reference::observation::{OwnerMsg, PeerRead, Posix, Reply};
use reference::op::{Op, Setup, ShutdownHow};
use reference::options::{ActiveSetting, Opt};
use reference::rules::ids;
use reference::units::Bytes;
use reference::variant::Variant;

fn half_closing(variant: Variant) -> Model {
    Model::new(&Setup { exit_on_close: false, ..Setup::default() }).expect("setup").into_variant(variant)
}

fn read(got: usize) -> Choice {
    Choice::Read { got: Bytes(got) }
}

fn active(a: ActiveSetting) -> Op {
    Op::SetOpts { opts: vec![Opt::Active(a)] }
}

fn peer_read(m: &mut Model, got: usize) -> Reply {
    m.step(&Op::PeerRead { max: Bytes(1 << 20) }, &[Choice::PeerGot { got: Bytes(got) }])
        .expect("ST-1")
        .observation
        .reply
}

fn mailbox(m: &mut Model) -> Vec<OwnerMsg> {
    match m.step(&Op::Mailbox, &[]).expect("RX-5").observation.reply {
        Reply::Mailbox(msgs) => msgs,
        other => panic!("a mailbox, got {other:?}"),
    }
}

/// PC-6: the recv at the end and every recv after it return closed (not
/// PC-2's enotconn); the port keeps its slot and keeps sending, and the
/// peer reads the bytes with no FIN until the port closes (CL-1).
#[test]
fn a_half_closed_passive_port_answers_closed_and_keeps_sending() {
    for variant in [Variant::Reference, Variant::OtpInet] {
        let mut m = half_closing(variant);
        m.step(&Op::PeerShutdown, &[]).expect("the FIN reaches the port's socket");
        for choices in [vec![read(0)], vec![], vec![]] {
            let p = m.step(&Op::Recv, &choices).expect("PC-6");
            assert_eq!((p.observation.reply, p.why.reply), (Reply::Recv(Err(Posix::Closed)), ids::PC_6));
            assert_eq!(p.observation.ports, 2, "PC-6: the port keeps its slot");
        }
        assert!(m.enabled(&send(0, 10, 1)), "PC-6: sends go on");
        m.step(&send(0, 10, 1), &[wrote(10, 10)]).expect("WM-2");
        assert!(matches!(peer_read(&mut m, 10), Reply::Peer(PeerRead::Data(d)) if d.len() == 10));
        assert_eq!(peer_read(&mut m, 0), Reply::Peer(PeerRead::WouldBlock), "PC-6: no FIN yet");
        m.step(&Op::Close, &[]).expect("CL-1");
        assert_eq!(peer_read(&mut m, 0), Reply::Peer(PeerRead::Eof), "{variant:?}: CL-1: the FIN at the close");
    }
}

/// PC-6 beside the default: the same steps with exit_on_close true close
/// the socket at the end (PC-1), and the next recv is enotconn (PC-2).
#[test]
fn the_default_closes_the_socket_at_the_end() {
    let mut m = Model::new(&Setup::default()).expect("setup");
    m.step(&Op::PeerShutdown, &[]).expect("PC-1");
    m.step(&Op::Recv, &[read(0)]).expect("PC-1");
    assert_eq!(m.step(&Op::Recv, &[]).expect("PC-2").observation.reply, Reply::Recv(Err(Posix::Enotconn)));
    assert_eq!(peer_read(&mut m, 0), Reply::Peer(PeerRead::Eof), "PC-1: the driver's FIN");
}

/// PC-7: an active port delivers the bytes, then tcp_closed once, and
/// stays, its mode as it was; a recv on it is RX-1's einval.
#[test]
fn a_half_closed_active_port_tells_its_owner_once_and_stays() {
    let mut m = half_closing(Variant::OtpInet);
    m.step(&active(ActiveSetting::N(3)), &[]).expect("RX-4");
    m.step(&Op::PeerWrite { len: Bytes(2), tag: 1 }, &[]).expect("RX-6");
    m.step(&Op::PeerShutdown, &[]).expect("the FIN reaches the port's socket");
    let p = m.step(&Op::Quiesce, &[Choice::Ran(Activity::Input), read(2), read(0)]).expect("PC-7");
    assert_eq!(p.observation.ports, 2, "PC-7: the port stays");
    let msgs = mailbox(&mut m);
    assert!(matches!(&msgs[..], [OwnerMsg::Tcp(d), OwnerMsg::TcpClosed] if d.len() == 2), "{msgs:?}");
    assert_eq!(m.options().active, reference::options::Active::Count(2), "PC-7: tcp_closed uses no count");
    let p = m.step(&active(ActiveSetting::N(2)), &[]).expect("RX-4");
    assert_eq!(p.observation.reply, Reply::SetOpts(Ok(())));
    assert_eq!(mailbox(&mut m), vec![], "PC-7: told once");
    assert_eq!(m.step(&Op::Recv, &[]).expect("RX-1").observation.reply, Reply::Recv(Err(Posix::Einval)));
}

/// PC-7: a port that read the end passively is told at its first active
/// setopts, and only then; made passive again, its recv is closed (PC-6).
#[test]
fn a_passive_end_is_told_at_the_first_active_setopts() {
    let mut m = half_closing(Variant::OtpInet);
    m.step(&Op::PeerShutdown, &[]).expect("the FIN");
    m.step(&Op::Recv, &[read(0)]).expect("PC-6");
    let p = m.step(&active(ActiveSetting::Once), &[]).expect("PC-7");
    assert_eq!((p.observation.reply, p.why.reply), (Reply::SetOpts(Ok(())), ids::PC_7));
    assert_eq!(mailbox(&mut m), vec![OwnerMsg::TcpClosed]);
    m.step(&active(ActiveSetting::True), &[]).expect("OPT-1");
    assert_eq!(mailbox(&mut m), vec![], "PC-7: once");
    m.step(&active(ActiveSetting::False), &[]).expect("OPT-1");
    assert_eq!(m.step(&Op::Recv, &[]).expect("PC-6").observation.reply, Reply::Recv(Err(Posix::Closed)));
}

/// What is not generated on a half-closing port: the peer's RST, the
/// port's shutdown and send_timeout_close (their exit_on_close branches
/// were not measured); once the end is read, setopts lists the driver
/// would reject.
#[test]
fn a_half_closing_port_generates_no_reset_shutdown_or_timeout_close() {
    let mut m = half_closing(Variant::OtpInet);
    assert!(!m.enabled(&Op::PeerReset));
    assert!(!m.enabled(&Op::Shutdown { how: ShutdownHow::Write }));
    assert!(!m.enabled(&Op::SetOpts { opts: vec![Opt::SendTimeoutClose(true)] }));
    m.step(&Op::PeerShutdown, &[]).expect("the FIN");
    m.step(&Op::Recv, &[read(0)]).expect("PC-6");
    assert!(m.enabled(&Op::SetOpts { opts: vec![Opt::HighWatermark(100)] }));
    assert!(!m.enabled(&Op::SetOpts { opts: vec![Opt::HighMsgqWatermark(0)] }), "a rejected list (OPT-3)");
    assert!(!m.enabled(&Op::KillPort), "CL-5 is generated before any end only");
}

/// RX-9 with PC-6: a reader waiting for more than came before the FIN
/// gets closed, and so does every recv after it.
#[test]
fn a_waiting_reader_meets_the_half_close() {
    let mut m = half_closing(Variant::OtpInet);
    m.step(&Op::RecvWait { len: Bytes(5), timeout: None }, &[read(0)]).expect("RX-7");
    m.step(&Op::PeerWrite { len: Bytes(2), tag: 1 }, &[]).expect("RX-6");
    m.step(&Op::PeerShutdown, &[]).expect("the FIN");
    let p = m.step(&Op::Quiesce, &[Choice::Ran(Activity::Input), read(2), read(0)]).expect("RX-9");
    assert_eq!(p.observation.reader, reference::observation::Reader::Returned(Err(Posix::Closed)));
    assert_eq!(m.step(&Op::Recv, &[]).expect("PC-6").observation.reply, Reply::Recv(Err(Posix::Closed)));
}

/// PC-6: a recv on a busy half-closed port reads the end again, and the
/// read answers the blocked caller {error,closed} with the queue dropped
/// (tcp_recv_closed's busy branch comes before its exit_on_close one);
/// no active mode is generated on it while busy.
#[test]
fn a_recv_on_a_busy_half_closed_port_drops_the_queue() {
    use reference::observation::SendResult;
    use reference::units::SenderId;
    let mut m = half_closing(Variant::OtpInet);
    m.step(&Op::PeerShutdown, &[]).expect("the FIN");
    m.step(&Op::Recv, &[read(0)]).expect("PC-6");
    m.step(&send(0, 20_000, 1), &[wrote(20_000, 3000)]).expect("WM-2");
    let p = m.step(&send(1, 10, 2), &[]).expect("WM-3");
    assert_eq!(p.observation.reply, Reply::Sent(None), "WM-3: the caller waits");
    assert!(!m.enabled(&active(ActiveSetting::Once)), "not while busy");
    let p = m.step(&Op::Recv, &[]).expect("PC-6");
    assert_eq!(p.observation.reply, Reply::Recv(Err(Posix::Closed)));
    assert_eq!(p.observation.completed, vec![(SenderId(1), SendResult::Error(Posix::Closed))]);
    assert_eq!((p.observation.queue, p.why.queue), (Bytes::ZERO, ids::PC_6));
}
