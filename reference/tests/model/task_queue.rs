//! The port's task queue (MQ-*): which scheduled send runs first while the
//! driver is busy, and when msgq-busy clears.

use crate::support::{send, wrote};
use reference::choice::Choice;
use reference::model::Model;
use reference::observation::SenderStatus;
use reference::op::{Op, SendFlags, Setup};
use reference::options::Opt;
use reference::rules::ids;
use reference::units::{Bytes, SenderId};

/// MQ-5/MQ-6: a nosuspend task runs past a plain task that waits for the
/// busy driver (MQ-5 crossed), and is aborted with `false` (MQ-6).
#[test]
fn a_nosuspend_task_runs_past_a_waiting_plain_task() {
    use reference::choice::Activity;
    use reference::observation::SendResult;
    let setup =
        Setup { options: vec![Opt::HighWatermark(4000), Opt::LowWatermark(1000)], senders: 3, ..Setup::default() };
    let mut m = Model::new(&setup).unwrap();
    m.step(&send(0, 5000, 1), &[wrote(5000, 0)]).unwrap();
    m.step(&Op::ContendLock, &[]).unwrap();
    let flags = |nosuspend, force| SendFlags { nosuspend, force };
    m.step(&Op::Send { sender: SenderId(0), len: Bytes(10), tag: 2, flags: flags(false, true) }, &[]).unwrap();
    m.step(&send(1, 10, 3), &[]).unwrap();
    m.step(&Op::Send { sender: SenderId(2), len: Bytes(10), tag: 4, flags: flags(true, false) }, &[]).unwrap();
    m.step(&Op::ReleaseLock, &[]).unwrap();
    let p = m.step(&Op::Quiesce, &[Choice::Ran(Activity::Task), Choice::Ran(Activity::Task)]).unwrap();
    assert_eq!(p.observation.completed, vec![(SenderId(2), SendResult::False)], "MQ-6");
    assert_eq!(p.observation.senders, vec![SenderStatus::Waiting, SenderStatus::Waiting, SenderStatus::Idle]);
    assert_eq!(m.crossings().get(&ids::MQ_5), Some(&1), "MQ-5: S1's task waits, S2's ran past it");
}

/// MQ-4 is strict: a msgq size equal to low_msgq keeps msgq-busy, so a
/// sender suspended on it may not resume yet.
#[test]
fn mq4_keeps_msgq_busy_at_low() {
    use reference::choice::Activity;
    let setup =
        Setup { options: vec![Opt::HighMsgqWatermark(100), Opt::LowMsgqWatermark(50)], senders: 3, ..Setup::default() };
    let mut m = Model::new(&setup).unwrap();
    m.step(&Op::ContendLock, &[]).unwrap();
    m.step(&send(0, 60, 1), &[]).unwrap();
    let p = m.step(&send(1, 50, 2), &[]).unwrap();
    assert!(p.observation.busy.unwrap().msgq, "MQ-3: 110 > 100");
    let p = m.step(&send(2, 5, 3), &[]).unwrap();
    assert_eq!(p.observation.senders[2], SenderStatus::Suspended);
    m.step(&Op::ReleaseLock, &[]).unwrap();
    // After the first task the msgq holds 50 = low: still busy.
    let e = m
        .clone()
        .step(&Op::Quiesce, &[Choice::Ran(Activity::Task), wrote(60, 60), Choice::Ran(Activity::Resume(SenderId(2)))])
        .unwrap_err();
    assert_eq!(e.rule, ids::MQ_4, "{e}");
    let resume = Choice::Ran(Activity::Resume(SenderId(2)));
    let all =
        [Choice::Ran(Activity::Task), wrote(60, 60), Choice::Ran(Activity::Task), wrote(50, 50), resume, wrote(5, 5)];
    m.step(&Op::Quiesce, &all).unwrap();
}

/// MQ-1: a send scheduled behind another scheduler's lock waits because it
/// was scheduled, so a system where it did not wait is blamed on MQ-1; at
/// exactly high_msgq (not busy: MQ-3's strict >) the blame is MQ-3's.
#[test]
fn a_scheduled_sender_that_did_not_wait_is_blamed_on_the_scheduling() {
    use reference::model::compare;
    for (high_msgq, rule) in [(8192, ids::MQ_1), (10, ids::MQ_3)] {
        let setup = Setup { options: vec![Opt::HighMsgqWatermark(high_msgq)], ..Setup::default() };
        let mut m = Model::new(&setup).unwrap();
        m.step(&Op::ContendLock, &[]).unwrap();
        m.step(&send(0, 10, 1), &[]).expect("MQ-1: scheduled");
        let p = m.step(&send(1, 10, 2), &[]).expect("MQ-1: scheduled");
        assert_eq!(p.observation.senders[1], SenderStatus::Waiting, "MQ-1: high_msgq {high_msgq}");
        let mut seen = p.observation.clone();
        seen.senders[1] = SenderStatus::Idle;
        assert_eq!(compare(&p, &seen).expect("a difference").rule, rule, "high_msgq {high_msgq}");
    }
}
