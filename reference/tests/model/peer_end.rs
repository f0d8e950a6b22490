//! The peer ends the connection (PC-1..PC-3, RS-1), on the reference
//! rules (the native runtime's) and on OTP's inet driver, which agree:
//! measured on OTP 25.2.3, 27 and 29.

use reference::choice::{Activity, Choice};
use reference::model::Model;
use reference::observation::{OwnerMsg, Posix, Reply};
use reference::op::{Op, Setup};
use reference::options::{ActiveSetting, Opt};
use reference::units::Bytes;
use rstest::rstest;

fn port(show_econnreset: bool) -> Model {
    Model::new(&Setup { show_econnreset, ..Setup::default() }).expect("setup")
}

fn read(got: usize) -> Choice {
    Choice::Read { got: Bytes(got) }
}

fn active(a: ActiveSetting) -> Op {
    Op::SetOpts { opts: vec![Opt::Active(a)] }
}

/// A passive port: the bytes, then the end once, then enotconn (PC-1,
/// PC-2); a RST is a reset only with show_econnreset (RS-1). The port
/// keeps its slot until it is made active, which delivers tcp_closed
/// alone and exits it (PC-2).
#[rstest]
#[case::fin(Op::PeerShutdown, false, Posix::Closed)]
#[case::fin_with_show_econnreset(Op::PeerShutdown, true, Posix::Closed)]
#[case::reset(Op::PeerReset, false, Posix::Closed)]
#[case::reset_with_show_econnreset(Op::PeerReset, true, Posix::Econnreset)]
fn a_passive_port_reports_the_peers_end_once(#[case] end: Op, #[case] sre: bool, #[case] reason: Posix) {
    let mut m = port(sre);
    m.step(&Op::PeerWrite { len: Bytes(5), tag: 1 }, &[]).expect("RX-6");
    m.step(&end, &[]).expect("the end reaches the port's socket");
    let p = m.step(&Op::Recv, &[read(5)]).expect("RX-6: the bytes first");
    assert!(matches!(p.observation.reply, Reply::Recv(Ok(ref d)) if d.len() == 5));
    let p = m.step(&Op::Recv, &[read(0)]).expect("PC-1");
    assert_eq!(p.observation.reply, Reply::Recv(Err(reason)), "PC-1/RS-1");
    assert_eq!(p.observation.ports, 2, "PC-1: the port keeps its slot");
    let p = m.step(&Op::Recv, &[]).expect("PC-2");
    assert_eq!(p.observation.reply, Reply::Recv(Err(Posix::Enotconn)), "PC-2");
    let p = m.step(&active(ActiveSetting::Once), &[]).expect("PC-2");
    assert_eq!(p.observation.reply, Reply::SetOpts(Ok(())), "PC-2");
    assert_eq!(p.observation.ports, 1, "PC-2: the port exits");
    let p = m.step(&Op::Mailbox, &[]).expect("PC-2");
    assert_eq!(p.observation.reply, Reply::Mailbox(vec![OwnerMsg::TcpClosed]), "PC-2: tcp_closed only");
    let p = m.step(&Op::Recv, &[]).expect("PC-3");
    assert_eq!(p.observation.reply, Reply::Recv(Err(Posix::Closed)), "PC-3: recv on the exited port");
    let p = m.step(&active(ActiveSetting::True), &[]).expect("PC-3");
    assert_eq!(p.observation.reply, Reply::SetOpts(Err(Posix::Einval)), "PC-3: setopts on the exited port");
}

/// An active port delivers the bytes, [tcp_error,] tcp_closed, and exits
/// in the same activity (PC-3, RS-1); the read that finds the end is
/// mandatory before quiescence (SCHED-1).
#[rstest]
#[case::fin(Op::PeerShutdown, true, vec![OwnerMsg::TcpClosed])]
#[case::reset(Op::PeerReset, false, vec![OwnerMsg::TcpClosed])]
#[case::reset_with_show_econnreset(Op::PeerReset, true, vec![OwnerMsg::TcpError(Posix::Econnreset), OwnerMsg::TcpClosed])]
fn an_active_port_delivers_the_end_and_exits(#[case] end: Op, #[case] sre: bool, #[case] tail: Vec<OwnerMsg>) {
    let mut m = port(sre);
    m.step(&active(ActiveSetting::True), &[]).expect("RX-5");
    m.step(&Op::PeerWrite { len: Bytes(5), tag: 1 }, &[]).expect("RX-6");
    m.step(&end, &[]).expect("the end reaches the port's socket");
    let quiet = m.step(&Op::Quiesce, &[]);
    assert!(quiet.is_ok(), "the observation itself matches: {quiet:?}");
    assert!(m.take_unquiet().is_some(), "SCHED-1: input (and the end) must be read before quiescence");
    let mut m = port(sre);
    m.step(&active(ActiveSetting::True), &[]).expect("RX-5");
    m.step(&Op::PeerWrite { len: Bytes(5), tag: 1 }, &[]).expect("RX-6");
    m.step(&end, &[]).expect("the end reaches the port's socket");
    let p = m.step(&Op::Quiesce, &[Choice::Ran(Activity::Input), read(5), read(0)]).expect("PC-3");
    assert_eq!(p.observation.ports, 1, "PC-3: the port exits");
    let p = m.step(&Op::Mailbox, &[]).expect("PC-3");
    let Reply::Mailbox(msgs) = p.observation.reply else { panic!("a mailbox") };
    assert!(matches!(&msgs[0], OwnerMsg::Tcp(d) if d.len() == 5), "PC-3: the bytes first");
    assert_eq!(msgs[1..], tail[..], "PC-3/RS-1");
}

/// Once the peer ended it, nothing is sent and the peer does not write
/// (not modelled); after a RST the peer does not read either.
#[test]
fn no_send_follows_the_peers_end() {
    let mut m = port(false);
    m.step(&Op::PeerShutdown, &[]).expect("PC-1");
    assert!(!m.enabled(&reference::op::Op::Send {
        sender: reference::units::SenderId(0),
        len: Bytes(1),
        tag: 0,
        flags: Default::default()
    }));
    assert!(!m.enabled(&Op::PeerWrite { len: Bytes(1), tag: 0 }));
    assert!(m.enabled(&Op::PeerRead { max: Bytes(1) }), "after a FIN the peer still reads");
    assert!(!m.enabled(&Op::PeerReset), "one end");
    let mut m = port(false);
    m.step(&Op::PeerReset, &[]).expect("RS-1");
    assert!(!m.enabled(&Op::PeerRead { max: Bytes(1) }), "after a RST the peer is gone");
}
