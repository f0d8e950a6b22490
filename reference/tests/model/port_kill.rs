//! A port killed by another process (CL-5, DIFF-INET-13), as measured on
//! OTP 25.2.3, 27.3.4.1 and 29.1.2 (harness/beam/probes/probe_port_killed.erl,
//! probe_port_killed_caller.erl).

use crate::support::{send, wrote};
use reference::choice::{Activity, Choice};
use reference::model::Model;
use reference::observation::{Posix, Reply, SendResult, SenderStatus};
use reference::op::{Op, Setup};
use reference::options::Opt;
use reference::rules::ids;
use reference::units::{Bytes, SenderId};
use reference::variant::{OtpRelease, Variant};

fn busy_setup() -> Setup {
    Setup { senders: 3, options: vec![Opt::HighWatermark(64), Opt::LowWatermark(16)], ..Setup::default() }
}

/// S0's send leaves 100 bytes queued (busy), S1 blocks on its reply
/// (WM-3), S2 suspends (SND-1).
fn busy(m: &mut Model) {
    m.step(&send(0, 1000, 1), &[wrote(1000, 900)]).expect("WM-2");
    m.step(&send(1, 10, 2), &[]).expect("WM-3");
    m.step(&send(2, 10, 3), &[]).expect("SND-1");
}

/// CL-5: the queue goes unflushed, the port leaves the table, the blocked
/// caller and the suspended sender get {error,closed} at once; a later
/// send {error,closed}; the peer reads what the kernel took, then EOF.
#[test]
fn a_killed_port_drops_its_queue_and_answers_its_senders_closed() {
    let mut m = Model::new(&busy_setup()).expect("setup");
    busy(&mut m);
    let ports = m.step(&Op::QueueSize, &[]).expect("queue").observation.ports;
    let p = m.step(&Op::KillPort, &[]).expect("CL-5");
    assert_eq!(
        p.observation.completed,
        vec![(SenderId(1), SendResult::Error(Posix::Closed)), (SenderId(2), SendResult::Error(Posix::Closed))]
    );
    assert_eq!(p.observation.ports, ports - 1);
    assert_eq!(p.why.ports, ids::CL_5);
    let p = m.step(&send(0, 10, 4), &[]).expect("a send on the killed port");
    assert_eq!(p.observation.reply, Reply::Sent(Some(SendResult::Error(Posix::Closed))));
    let p = m.step(&Op::PeerRead { max: Bytes(4096) }, &[Choice::PeerGot { got: Bytes(900) }]).expect("ST-1");
    assert!(matches!(p.observation.reply, Reply::Peer(_)));
    let e = m.clone().step(&Op::PeerRead { max: Bytes(4096) }, &[Choice::PeerGot { got: Bytes(10) }]);
    assert!(e.is_err(), "the dropped queue never reaches the peer");
}

/// DIFF-INET-13 on OTP 27+: the caller closed, the suspended sender's
/// retry einval, each returning on its own, in either order; on 25 the
/// caller waits for INET_CLOSE_TIMEOUT (the real clock's CloseFallback).
#[test]
fn on_otp_a_killed_port_answers_nobody_and_prim_inet_gives_up() {
    let otp = |rel: u16| {
        Model::new(&busy_setup())
            .expect("setup")
            .into_variant(Variant::OtpInet)
            .with_otp(OtpRelease(rel))
            .with_real_clock(true)
    };
    let returned = |s: u8| Choice::Ran(Activity::Returned(SenderId(s)));
    let mut m = otp(27);
    busy(&mut m);
    m.step(&Op::KillPort, &[]).expect("DIFF-INET-13");
    let mut other = m.clone();
    let p = m.step(&Op::Quiesce, &[returned(1), returned(2)]).expect("DIFF-INET-13");
    assert_eq!(
        p.observation.completed,
        vec![(SenderId(1), SendResult::Error(Posix::Closed)), (SenderId(2), SendResult::Error(Posix::Einval))]
    );
    other.step(&Op::Quiesce, &[returned(2), returned(1)]).expect("each returns on its own: any order");
    let mut m = otp(25);
    busy(&mut m);
    m.step(&Op::KillPort, &[]).expect("DIFF-INET-13");
    let p = m.step(&Op::Quiesce, &[returned(2)]).expect("DIFF-INET-13");
    assert_eq!(p.observation.completed, vec![(SenderId(2), SendResult::Error(Posix::Einval))]);
    assert_eq!(p.observation.senders[1], SenderStatus::Waiting);
    let p = m.step(&Op::Quiesce, &[Choice::Ran(Activity::CloseFallback(SenderId(1)))]).expect("DIFF-INET-3");
    assert_eq!(p.observation.completed, vec![(SenderId(1), SendResult::Error(Posix::Closed))]);
}

/// DIFF-INET-13 (probe_port_killed_order.erl): on 27+ the caller and
/// the suspended senders are answered at once, each returning on its own
/// (the probe's order: the caller, then DIFF-INET-1's). DIFF-INET-14: a reader waiting on the port
/// killed while busy is never answered; CL-5 after it: recv closed,
/// setopts einval, nothing in the mailbox.
#[test]
fn on_otp_the_kill_answers_in_resume_order_and_strands_a_reader_of_a_busy_port() {
    let setup = Setup { senders: 4, options: vec![Opt::HighWatermark(64), Opt::LowWatermark(16)], ..Setup::default() };
    let mut m = Model::new(&setup).expect("setup").into_variant(Variant::OtpInet).with_otp(OtpRelease(29));
    m.step(&Op::RecvWait { len: Bytes(10), timeout: None }, &[Choice::Read { got: Bytes(0) }]).expect("RX-7");
    m.step(&send(0, 1000, 1), &[wrote(1000, 900)]).expect("WM-2");
    m.step(&send(1, 10, 2), &[]).expect("WM-3");
    m.step(&send(2, 10, 3), &[]).expect("SND-1");
    m.step(&send(3, 10, 4), &[]).expect("SND-1");
    let p = m.step(&Op::KillPort, &[]).expect("DIFF-INET-13");
    assert_eq!(
        (p.observation.reader.clone(), p.why.reader),
        (reference::observation::Reader::Waiting, ids::DIFF_INET_14)
    );
    let returned = |s: u8| Choice::Ran(Activity::Returned(SenderId(s)));
    let p = m.step(&Op::Quiesce, &[returned(1), returned(3), returned(2)]).expect("the probe's order");
    assert_eq!(
        p.observation.completed,
        vec![
            (SenderId(1), SendResult::Error(Posix::Closed)),
            (SenderId(3), SendResult::Error(Posix::Einval)),
            (SenderId(2), SendResult::Error(Posix::Einval)),
        ]
    );
    let p = m.step(&Op::Recv, &[]).expect("CL-5");
    assert_eq!((p.observation.reply, p.why.reply), (Reply::Recv(Err(Posix::Closed)), ids::CL_5));
    let p = m.step(&Op::SetOpts { opts: vec![Opt::HighWatermark(10)] }, &[]).expect("CL-5");
    assert_eq!(p.observation.reply, Reply::SetOpts(Err(Posix::Einval)));
    let p = m.step(&Op::Mailbox, &[]).expect("mailbox");
    assert_eq!(p.observation.reply, Reply::Mailbox(vec![]));
    assert!(!m.enabled(&Op::GetOpts));
}
