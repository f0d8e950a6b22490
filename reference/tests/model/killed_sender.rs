//! A sender killed while suspended on the busy port (SND-7), as measured on
//! OTP 25.2.3, 27.3.4.1 and 29.1.2 (harness/beam/probes/probe_kill_suspended.erl).

use crate::support::{send, wrote};
use reference::choice::{Activity, Choice};
use reference::observation::{SendResult, SenderStatus};
use reference::op::{Op, Setup};
use reference::options::Opt;
use reference::rules::ids;
use reference::units::{Bytes, SenderId};

/// SND-7: the killed sender leaves the wait and never sends; when the port
/// leaves busy only the other suspended sender resumes (SND-4), and only
/// its bytes follow the queue.
#[test]
fn a_killed_suspended_sender_never_sends_and_the_others_resume() {
    let setup = Setup { senders: 3, options: vec![Opt::HighWatermark(64), Opt::LowWatermark(16)], ..Setup::default() };
    let mut m = reference::model::Model::new(&setup).expect("setup");
    m.step(&send(0, 1000, 1), &[wrote(1000, 900)]).expect("WM-2");
    m.step(&send(0, 10, 2), &[]).expect("WM-3");
    m.step(&send(1, 10, 3), &[]).expect("SND-1");
    m.step(&send(2, 10, 4), &[]).expect("SND-1");
    assert!(!m.enabled(&Op::Kill { sender: SenderId(0) }), "the blocked caller is not killed");
    let p = m.step(&Op::Kill { sender: SenderId(1) }, &[]).expect("SND-7");
    assert_eq!(p.observation.senders, vec![SenderStatus::Waiting, SenderStatus::Idle, SenderStatus::Suspended]);
    assert_eq!(p.why.senders[1], ids::SND_7);
    let out =
        [Choice::Ran(Activity::Output), wrote(110, 110), Choice::Ran(Activity::Resume(SenderId(2))), wrote(10, 10)];
    let p = m.step(&Op::Quiesce, &out).expect("SND-4");
    assert_eq!(p.observation.completed, vec![(SenderId(0), SendResult::Ok), (SenderId(2), SendResult::Ok)]);
    assert_eq!(p.observation.queue, Bytes::ZERO);
}

/// The queue drains below low (WM-4) and the suspended S2 and S3 retry,
/// S`first` first: the step the two DIFF-INET-1 tests below compare.
fn drain_then_retries(
    m: &mut reference::model::Model,
    first: u8,
) -> Result<reference::model::Prediction, reference::model::Divergence> {
    let out = [
        Choice::Ran(Activity::Output),
        wrote(110, 110),
        Choice::Ran(Activity::Resume(SenderId(first))),
        wrote(10, 10),
        Choice::Ran(Activity::Resume(SenderId(5 - first))),
        wrote(10, 10),
    ];
    m.step(&Op::Quiesce, &out)
}

/// DIFF-INET-1 with SND-7 (OTP 25, swarm seed 901): the first-suspended
/// sender, which OTP resumes last, was killed; its place stays at the
/// head of the port's list, so the others retry in suspension order.
#[test]
fn on_otp_a_killed_first_suspended_sender_leaves_the_others_in_order() {
    let setup = Setup { senders: 4, options: vec![Opt::HighWatermark(64), Opt::LowWatermark(16)], ..Setup::default() };
    let run = |first: u8| {
        let mut m =
            reference::model::Model::new(&setup).expect("setup").into_variant(reference::variant::Variant::OtpInet);
        m.step(&send(0, 1000, 1), &[wrote(1000, 900)]).expect("WM-2");
        m.step(&send(1, 10, 2), &[]).expect("WM-3");
        for s in [0, 2, 3] {
            m.step(&send(s, 10, 3), &[]).expect("SND-1");
        }
        m.step(&Op::Kill { sender: SenderId(0) }, &[]).expect("SND-7");
        drain_then_retries(&mut m, first)
    };
    run(2).expect("S2 then S3");
    assert!(run(3).is_err(), "S3 first is the order with S0 alive (DIFF-INET-1), not with it killed");
}

/// DIFF-INET-1 with SND-7 (OTP 25, 27 and 29, swarm seed 1101): the dead
/// head stays in the port's list until busy clears, also when every
/// sender suspended with it was killed: senders suspended after them
/// retry in suspension order.
#[test]
fn on_otp_a_killed_head_stays_when_every_suspended_sender_was_killed() {
    let setup = Setup { senders: 4, options: vec![Opt::HighWatermark(64), Opt::LowWatermark(16)], ..Setup::default() };
    let run = |first: u8| {
        let mut m =
            reference::model::Model::new(&setup).expect("setup").into_variant(reference::variant::Variant::OtpInet);
        m.step(&send(0, 1000, 1), &[wrote(1000, 900)]).expect("WM-2");
        m.step(&send(1, 10, 2), &[]).expect("WM-3");
        for s in [0, 2] {
            m.step(&send(s, 10, 3), &[]).expect("SND-1");
        }
        m.step(&Op::Kill { sender: SenderId(0) }, &[]).expect("SND-7");
        m.step(&Op::Kill { sender: SenderId(2) }, &[]).expect("SND-7");
        for s in [2, 3] {
            m.step(&send(s, 10, 4), &[]).expect("SND-1");
        }
        drain_then_retries(&mut m, first)
    };
    run(2).expect("S2 then S3: suspension order behind the dead head");
    assert!(run(3).is_err(), "S3 first would be DIFF-INET-1's order with a live head");
}
