//! The peer ends the connection (PC-1..PC-5, RS-1), on the reference
//! rules (the native runtime's) and on OTP's inet driver, which agree:
//! measured on OTP 25.2.3, 27 and 29.

use reference::choice::{Activity, Choice};
use reference::model::Model;
use reference::observation::{OwnerMsg, Posix, Reply, SendResult};
use reference::op::{Op, Setup};
use reference::options::{ActiveSetting, Opt};
use reference::units::{Bytes, SenderId};
use reference::variant::Variant;
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

/// Once the peer shut down its side, nothing is sent until the port has
/// read the FIN (the peer still reads: nothing the port reports), and the
/// peer does not write (not modelled); after a RST sends meet it (PC-5)
/// and the peer does not read.
#[test]
fn no_send_follows_an_unread_fin() {
    let mut m = port(false);
    m.step(&Op::PeerShutdown, &[]).expect("PC-1");
    assert!(!m.enabled(&send(0, 1)));
    assert!(!m.enabled(&Op::PeerWrite { len: Bytes(1), tag: 0 }));
    assert!(m.enabled(&Op::PeerRead { max: Bytes(1) }), "after a FIN the peer still reads");
    assert!(!m.enabled(&Op::PeerReset), "one end");
    m.step(&Op::Recv, &[read(0)]).expect("PC-1");
    assert!(m.enabled(&send(0, 1)), "PC-4: once read, sends are answered");
    let mut m = port(false);
    m.step(&Op::PeerReset, &[]).expect("RS-1");
    assert!(!m.enabled(&Op::PeerRead { max: Bytes(1) }), "after a RST the peer is gone");
    assert!(m.enabled(&send(0, 1)), "PC-5: a send meets the reset");
}

fn send(s: u8, len: usize) -> Op {
    Op::Send { sender: SenderId(s), len: Bytes(len), tag: s as u16, flags: Default::default() }
}

fn wrote(requested: usize, accepted: usize) -> Choice {
    Choice::Wrote { requested: Bytes(requested), accepted: Bytes(accepted) }
}

fn watermarks(high: i64, low: i64) -> Op {
    Op::SetOpts { opts: vec![Opt::HighWatermark(high), Opt::LowWatermark(low)] }
}

/// The sender whose own write meets the RST is answered with it (PC-5,
/// RS-1); the next send finds the socket gone (enotconn, PC-4) and the
/// next recv still reports the end, once (PC-5). measured on OTP 25.2.3,
/// 27 and 29: gen_tcp_misc_SUITE:econnreset_after_sync_send's sequence.
#[rstest]
#[case::closed(false, Posix::Closed)]
#[case::econnreset(true, Posix::Econnreset)]
fn a_send_that_meets_the_reset_is_answered_with_it(#[case] sre: bool, #[case] reason: Posix) {
    let mut m = port(sre);
    m.step(&Op::PeerReset, &[]).expect("the RST reaches the port's socket");
    let p = m.step(&send(0, 10), &[]).expect("PC-5: the write fails, no kernel choice");
    assert_eq!(p.observation.reply, Reply::Sent(Some(SendResult::Error(reason))), "PC-5");
    let p = m.step(&send(1, 10), &[]).expect("PC-4");
    assert_eq!(p.observation.reply, Reply::Sent(Some(SendResult::Error(Posix::Enotconn))), "PC-4: told already");
    let p = m.step(&Op::Recv, &[]).expect("PC-5");
    assert_eq!(p.observation.reply, Reply::Recv(Err(reason)), "PC-5: the recv after the failed write");
    assert_eq!(p.observation.ports, 2, "a passive port stays");
    let p = m.step(&Op::Recv, &[]).expect("PC-2");
    assert_eq!(p.observation.reply, Reply::Recv(Err(Posix::Enotconn)), "PC-2");
    let p = m.step(&send(0, 10), &[]).expect("PC-4");
    assert_eq!(p.observation.reply, Reply::Sent(Some(SendResult::Error(Posix::Enotconn))), "PC-4");
}

/// Output queued when the RST comes: the driver's write meets it at once
/// (a quiescence without it is a SCHED-1 violation), the queue goes, and
/// with nobody to answer the next send is told, then the next recv
/// (PC-4, PC-5). Measured on OTP 25.2.3, 27 and 29
/// (probe_async_send_first.erl): queue_size 0, sends {error,closed},
/// {error,enotconn}, recvs {error,closed}, {error,enotconn}.
#[rstest]
#[case::closed(false, Posix::Closed)]
#[case::econnreset(true, Posix::Econnreset)]
fn queued_output_meets_the_reset_and_the_next_send_is_told(#[case] sre: bool, #[case] reason: Posix) {
    let queued = |sre| {
        let mut m = port(sre);
        m.step(&watermarks(1 << 20, 1 << 19), &[]).expect("OPT-1");
        m.step(&send(0, 12000), &[wrote(12000, 4000)]).expect("WM-2");
        m.step(&Op::PeerReset, &[]).expect("the RST reaches the port's socket");
        m
    };
    let mut m = queued(sre);
    assert!(m.step(&Op::Quiesce, &[]).is_ok());
    assert!(m.take_unquiet().is_some(), "SCHED-1: the write that meets the RST is due");
    let mut m = queued(sre);
    let p = m.step(&Op::Quiesce, &[Choice::Ran(Activity::Output)]).expect("PC-5");
    assert_eq!(p.observation.queue, Bytes::ZERO, "PC-5: the queue goes");
    let p = m.step(&send(1, 10), &[]).expect("PC-4");
    assert_eq!(p.observation.reply, Reply::Sent(Some(SendResult::Error(reason))), "PC-4: the first send is told");
    let p = m.step(&send(1, 10), &[]).expect("PC-4");
    assert_eq!(p.observation.reply, Reply::Sent(Some(SendResult::Error(Posix::Enotconn))), "PC-4");
    let p = m.step(&Op::Recv, &[]).expect("PC-5");
    assert_eq!(p.observation.reply, Reply::Recv(Err(reason)), "PC-5: then the recv");
    let p = m.step(&Op::Recv, &[]).expect("PC-2");
    assert_eq!(p.observation.reply, Reply::Recv(Err(Posix::Enotconn)), "PC-2");
}

/// A busy port when the RST comes: its blocked caller is answered with
/// the reset, the suspended sender resumes and retries onto the closed
/// socket (enotconn, PC-4); an active port exits, and there the retry
/// finds no port: {error,closed} on the reference rules (SND-6),
/// {error,einval} from OTP's prim_inet (DIFF-INET-10). Measured on OTP
/// 25.2.3, 27 and 29 (probe_suspended_exit.erl).
#[rstest]
#[case::passive(false, Variant::Reference, Posix::Enotconn, 2)]
#[case::passive_inet(false, Variant::OtpInet, Posix::Enotconn, 2)]
#[case::active(true, Variant::Reference, Posix::Closed, 1)]
#[case::active_inet(true, Variant::OtpInet, Posix::Einval, 1)]
fn a_busy_port_answers_its_blocked_caller_with_the_reset(
    #[case] active_port: bool,
    #[case] variant: Variant,
    #[case] retried: Posix,
    #[case] ports: usize,
) {
    for sre in [false, true] {
        let reason = if sre { Posix::Econnreset } else { Posix::Closed };
        let mut m = port(sre).into_variant(variant);
        m.step(&watermarks(64, 16), &[]).expect("OPT-1");
        m.step(&send(0, 12000), &[wrote(12000, 4000)]).expect("WM-2");
        m.step(&send(1, 100), &[]).expect("WM-3: busy, S1 blocked");
        m.step(&send(0, 100), &[]).expect("SND-1: S0 suspended");
        if active_port {
            m.step(&active(ActiveSetting::True), &[]).expect("RX-5");
        }
        m.step(&Op::PeerReset, &[]).expect("the RST reaches the port's socket");
        let p = m
            .step(&Op::Quiesce, &[Choice::Ran(Activity::Output), Choice::Ran(Activity::Resume(SenderId(0)))])
            .expect("PC-5");
        let mut done = p.observation.completed.clone();
        done.sort();
        assert_eq!(
            done,
            vec![(SenderId(0), SendResult::Error(retried)), (SenderId(1), SendResult::Error(reason))],
            "PC-5: the blocked caller gets the reset; the retry {retried:?}"
        );
        assert_eq!(p.observation.queue, Bytes::ZERO, "PC-5: the queue goes");
        assert_eq!(p.observation.ports, ports, "an active port exits, a passive one stays");
    }
}

/// An active port that reads the RST before its write meets it answers
/// the blocked caller {error,closed} even with show_econnreset
/// (tcp_recv_error's busy branch), and drops the queue with the port.
#[test]
fn an_active_port_reading_the_reset_first_answers_closed() {
    let mut m = port(true);
    m.step(&watermarks(64, 16), &[]).expect("OPT-1");
    m.step(&send(0, 12000), &[wrote(12000, 4000)]).expect("WM-2");
    m.step(&send(1, 100), &[]).expect("WM-3: busy, S1 blocked");
    m.step(&active(ActiveSetting::True), &[]).expect("RX-5");
    m.step(&Op::PeerReset, &[]).expect("the RST reaches the port's socket");
    let p = m.step(&Op::Quiesce, &[Choice::Ran(Activity::Input), read(0)]).expect("PC-3, PC-5");
    assert_eq!(p.observation.completed, vec![(SenderId(1), SendResult::Error(Posix::Closed))], "PC-5");
    assert_eq!(p.observation.ports, 1, "PC-3");
    let p = m.step(&Op::Mailbox, &[]).expect("PC-3");
    assert_eq!(
        p.observation.reply,
        Reply::Mailbox(vec![OwnerMsg::TcpError(Posix::Econnreset), OwnerMsg::TcpClosed]),
        "RS-1, PC-3"
    );
}

/// After a recv reported the end, the next send is told the socket went
/// ({error,closed}) and later ones get enotconn; a reported reset
/// (show_econnreset, tcp_recv_error) leaves no notice (PC-4). Measured on
/// OTP 25.2.3, 27 and 29 (probe_peer_end.erl, probe_send_after_end.erl).
#[rstest]
#[case::fin(Op::PeerShutdown, false, Posix::Closed)]
#[case::reset(Op::PeerReset, false, Posix::Closed)]
#[case::reported_reset(Op::PeerReset, true, Posix::Enotconn)]
fn a_send_after_the_reported_end_is_told_once(#[case] end: Op, #[case] sre: bool, #[case] first: Posix) {
    let mut m = port(sre);
    m.step(&end, &[]).expect("the end reaches the port's socket");
    m.step(&Op::Recv, &[read(0)]).expect("PC-1");
    let p = m.step(&send(0, 10), &[]).expect("PC-4");
    assert_eq!(p.observation.reply, Reply::Sent(Some(SendResult::Error(first))), "PC-4");
    let p = m.step(&send(0, 10), &[]).expect("PC-4");
    assert_eq!(p.observation.reply, Reply::Sent(Some(SendResult::Error(Posix::Enotconn))), "PC-4");
}

fn setopts(opts: Vec<Opt>) -> Op {
    Op::SetOpts { opts }
}

/// PC-3: the port that exited at the end still answers recv, the mailbox
/// and a setopts of an active mode (what was measured there), so the
/// generator keeps offering them; other setopts were not measured.
#[test]
fn the_exited_port_still_takes_recv_mailbox_and_active_modes() {
    let mut m = port(false);
    m.step(&active(ActiveSetting::True), &[]).expect("RX-5");
    m.step(&Op::PeerShutdown, &[]).expect("PC-1");
    let p = m.step(&Op::Quiesce, &[Choice::Ran(Activity::Input), read(0)]).expect("PC-3");
    assert_eq!(p.observation.ports, 1, "PC-3: the port exits");
    assert!(m.enabled(&Op::Recv), "PC-3: recv on the exited port");
    assert!(m.enabled(&Op::Mailbox), "PC-3: tcp_closed is read");
    for a in [ActiveSetting::True, ActiveSetting::Once, ActiveSetting::N(1), ActiveSetting::N(100)] {
        assert!(m.enabled(&active(a)), "PC-3: {a:?} on the exited port");
    }
    assert!(!m.enabled(&active(ActiveSetting::N(101))), "not measured");
    assert!(!m.enabled(&setopts(vec![Opt::DelaySend(true)])), "not measured");
    assert!(!m.enabled(&setopts(vec![])), "an empty list changes nothing");
}

/// PC-5: after a RST, making the port active ends it, which is followed
/// only while no send waits as a port task (MQ-1) or behind another
/// scheduler's lock: its abort when the port exits is not modelled.
#[test]
fn no_active_mode_while_a_send_is_scheduled_after_a_reset() {
    let mut m = port(false);
    m.step(&Op::PeerReset, &[]).expect("RS-1");
    assert!(m.enabled(&active(ActiveSetting::True)), "PC-5: the port may be made active");
    m.step(&Op::ContendLock, &[]).expect("MQ-1: another scheduler holds the lock");
    assert!(!m.enabled(&active(ActiveSetting::True)), "MQ-1: the lock is held");
    m.step(&send(0, 10), &[]).expect("MQ-1: the send is scheduled");
    assert!(!m.enabled(&active(ActiveSetting::True)), "MQ-1: a task and the lock");
    m.step(&Op::ReleaseLock, &[]).expect("MQ-1: released, the task not run yet");
    assert!(!m.enabled(&active(ActiveSetting::True)), "MQ-1: the task still waits");
}

/// PC-2 (probe_setopts_after_end.erl): after a passive port read its end,
/// a setopts that leaves it passive only sets the options, as often as it
/// is made; an {active,N} at or below zero sends its tcp_passive (RX-4).
#[test]
fn a_passive_setopts_after_the_end_keeps_the_port() {
    let mut m = port(false);
    m.step(&Op::PeerShutdown, &[]).expect("PC-1");
    m.step(&Op::Recv, &[read(0)]).expect("PC-1");
    let ports = m.step(&Op::Recv, &[]).expect("PC-2").observation.ports;
    for _ in 0..2 {
        let p = m.step(&setopts(vec![Opt::HighWatermark(64), Opt::LowWatermark(16)]), &[]).expect("PC-2");
        assert_eq!((p.observation.reply, p.observation.ports), (Reply::SetOpts(Ok(())), ports));
    }
    m.step(&active(ActiveSetting::N(-32768)), &[]).expect("PC-2, RX-4");
    let p = m.step(&Op::Mailbox, &[]).expect("RX-4");
    assert_eq!((p.observation.reply, p.observation.ports), (Reply::Mailbox(vec![OwnerMsg::TcpPassive]), ports));
}
