//! The owner closes the port while a caller is blocked on it and a sender
//! is suspended on it (issue 16: `Close` generated while senders wait).
//! Decided by the rules the close and the flush already have: CL-1/CL-2
//! and WM-4 on the closed port's flush, SND-6 for a retry that finds the
//! port gone; CL-4 with `{linger, {true, 0}}`; DIFF-INET-3 on OTP's inet
//! driver, whose gen_tcp:close waits for the queue
//! (harness/beam/probes/probe_close_waiting.erl).

use crate::support::{send, wrote};
use reference::choice::{Activity, Choice};
use reference::model::Model;
use reference::observation::{Posix, Reply, SendResult, SenderStatus};
use reference::op::{Op, Setup};
use reference::options::Opt;
use reference::units::SenderId;
use reference::variant::Variant;

/// A busy port (64/16 watermarks): 10000 queued, S1 blocked in the
/// caller's slot, S2 suspended.
fn busy(variant: Variant, linger_zero: bool) -> Model {
    let setup = Setup {
        senders: 3,
        linger_zero,
        options: vec![Opt::HighWatermark(64), Opt::LowWatermark(16)],
        ..Setup::default()
    };
    let mut m = Model::new(&setup).expect("setup").into_variant(variant);
    m.step(&send(0, 13_000, 1), &[wrote(13_000, 3000)]).expect("WM-2");
    m.step(&send(1, 100, 2), &[]).expect("WM-3");
    let p = m.step(&send(2, 10, 3), &[]).expect("SND-1");
    assert_eq!(p.observation.senders[1..], [SenderStatus::Waiting, SenderStatus::Suspended]);
    m
}

/// The reference rules: the close answers nobody and the port leaves the
/// table (CL-2); its flush goes on (CL-1), and as it drains the queue the
/// blocked caller gets ok (WM-4) and the suspended sender resumes: its
/// retry finds the port gone, {error,closed} (SND-6).
#[test]
fn a_close_over_waiting_senders_answers_them_as_the_flush_drains() {
    let mut m = busy(Variant::Reference, false);
    let p = m.step(&Op::Close, &[]).expect("CL-1");
    assert_eq!((p.observation.reply, p.observation.ports), (Reply::Closed(Ok(())), 1));
    assert_eq!(p.observation.completed, vec![], "the close answers nobody");
    let p = m
        .step(
            &Op::AwaitIo,
            &[Choice::Ran(Activity::Output), wrote(10_100, 10_100), Choice::Ran(Activity::Resume(SenderId(2)))],
        )
        .expect("WM-4, SND-6");
    assert_eq!(
        p.observation.completed,
        vec![(SenderId(1), SendResult::Ok), (SenderId(2), SendResult::Error(Posix::Closed))]
    );
}

/// CL-4: a zero linger close drops the queue: the blocked caller gets
/// {error,closed} at the close, the suspended sender resumes and its retry
/// finds the port gone (SND-6).
#[test]
fn a_zero_linger_close_answers_the_blocked_caller_closed() {
    let mut m = busy(Variant::Reference, true);
    let p = m.step(&Op::Close, &[]).expect("CL-4");
    assert_eq!(p.observation.completed, vec![(SenderId(1), SendResult::Error(Posix::Closed))]);
    let p = m.step(&Op::Quiesce, &[Choice::Ran(Activity::Resume(SenderId(2)))]).expect("SND-6");
    assert_eq!(p.observation.completed, vec![(SenderId(2), SendResult::Error(Posix::Closed))]);
}

/// DIFF-INET-3: on OTP's inet driver the close waits for the queue, the
/// port stays open: the caller gets ok and the resumed sender's retry is
/// queued and answered ok, before the port closes.
#[test]
fn on_otp_the_close_waits_and_the_retry_is_queued() {
    let mut m = busy(Variant::OtpInet, false);
    let p = m.step(&Op::Close, &[]).expect("DIFF-INET-3");
    assert_eq!(p.observation.ports, 2, "DIFF-INET-3: the port stays while the queue drains");
    assert!(m.enabled(&Op::Quiesce));
}
