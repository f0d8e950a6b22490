//! MQ-1/MQ-3/MQ-4: with the port lock held elsewhere sends are scheduled as
//! port tasks; their bytes make the msgq size, busy above high_msgq (strict)
//! and clear below low_msgq (strict); tasks run FIFO at quiescence once the
//! lock is free, and the suspended sender resumes after them.

use crate::support::*;
use harness::sut::native::PlantedBug;
use reference::choice::{Activity, Choice};
use reference::observation::{Reply, SendResult, SenderStatus};
use reference::op::{Op, Setup};
use reference::options::Opt;
use reference::units::{Bytes, SenderId};

fn case(high_msgq: i64, bug: Option<PlantedBug>) -> Case {
    let s = Setup {
        senders: 3,
        options: vec![Opt::HighMsgqWatermark(high_msgq), Opt::LowMsgqWatermark(50)],
        ..Setup::default()
    };
    start_with(&s, bug)
}

#[test]
fn scheduled_tasks_run_in_order_after_release() {
    let mut c = case(100, None);
    c.apply(Op::ContendLock);
    let s = c.send(0, 60, 1);
    assert_eq!(s.observation.reply, Reply::Sent(None));
    assert_eq!(s.observation.msgq, Some(Bytes(60)));
    assert!(!s.observation.busy.unwrap().msgq);
    let s = c.send(1, 50, 2);
    assert_eq!(s.observation.msgq, Some(Bytes(110)));
    assert!(s.observation.busy.unwrap().msgq, "MQ-3: 110 > 100");
    let s = c.send(2, 5, 3);
    assert_eq!(s.observation.senders[2], SenderStatus::Suspended);
    assert_eq!(s.observation.busy_port_events, vec![SenderId(2)]);
    // Releasing the lock runs nothing by itself.
    let s = c.apply(Op::ReleaseLock);
    assert!(s.choices.is_empty());
    let s = c.apply(Op::Quiesce);
    let w = |n| Choice::Wrote { requested: Bytes(n), accepted: Bytes(n) };
    assert_eq!(
        s.choices,
        vec![
            Choice::Ran(Activity::Task),
            w(60),
            Choice::Ran(Activity::Task),
            w(50),
            Choice::Ran(Activity::Resume(SenderId(2))),
            w(5),
        ]
    );
    assert_eq!(
        s.observation.completed,
        vec![(SenderId(0), SendResult::Ok), (SenderId(1), SendResult::Ok), (SenderId(2), SendResult::Ok)]
    );
    assert_eq!(s.observation.msgq, Some(Bytes(0)));
    assert!(!s.observation.busy.unwrap().msgq);
}

#[test]
fn msgq_busy_is_strictly_above_high() {
    let mut c = case(110, None);
    c.apply(Op::ContendLock);
    c.send(0, 60, 1);
    let s = c.send(1, 50, 2);
    assert!(!s.observation.busy.unwrap().msgq, "110 is not > 110");
    let mut c = case(110, Some(PlantedBug::MsgqBusyAtGe));
    c.apply(Op::ContendLock);
    c.send(0, 60, 1);
    assert!(c.send(1, 50, 2).observation.busy.unwrap().msgq);
}
