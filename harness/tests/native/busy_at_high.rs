//! WM-3/WM-4/SND-1..5: a peer that does not read makes the driver queue
//! cross the high watermark; the crossing sender waits, later senders are
//! suspended, and draining to the low watermark answers the one and resumes
//! the others, with every byte delivered in order.

use crate::support::*;
use reference::observation::{Reply, SendResult, SenderStatus};
use reference::op::SendFlags;
use reference::options::Opt;
use reference::units::{payload, Bytes, SenderId};

fn busy_case() -> Case {
    let mut c = start(&setup(vec![Opt::HighWatermark(100), Opt::LowWatermark(50)]));
    // WM-2: onto the empty queue: one write, the rest queued, no busy.
    let s = c.send(0, 10_000, 1);
    assert_eq!(s.observation.reply, Reply::Sent(Some(SendResult::Ok)));
    assert!(s.observation.queue > Bytes(100), "the kernel took almost everything: {:?}", s.choices);
    assert!(!s.observation.busy.unwrap().driver);
    // WM-3: onto a non-empty queue past high: busy, the caller waits.
    let s = c.send(1, 10, 2);
    assert_eq!(s.observation.reply, Reply::Sent(None));
    assert!(s.choices.is_empty(), "no syscall onto a non-empty queue: {:?}", s.choices);
    assert_eq!(s.observation.senders[1], SenderStatus::Waiting);
    assert!(s.observation.busy.unwrap().driver);
    assert!(s.observation.busy_port_events.is_empty(), "SND-5: the crossing sender raises no event");
    c
}

#[test]
fn crossing_sender_waits_others_suspend_and_all_resume_in_order() {
    let mut c = busy_case();
    // SND-1
    let s = c.send(0, 5, 3);
    assert_eq!(s.observation.reply, Reply::Sent(None));
    assert_eq!(s.observation.senders[0], SenderStatus::Suspended);
    assert_eq!(s.observation.busy_port_events, vec![SenderId(0)]);
    // Nothing moves while the peer does not read.
    let s = c.apply(reference::op::Op::Quiesce);
    assert!(s.observation.busy.unwrap().driver);
    assert!(s.observation.completed.is_empty());

    let (got, steps) = c.drain();
    let completed: Vec<_> = steps.iter().flat_map(|s| s.observation.completed.clone()).collect();
    assert_eq!(completed, vec![(SenderId(1), SendResult::Ok), (SenderId(0), SendResult::Ok)]);
    let mut want = payload(1, Bytes(10_000));
    want.extend(payload(2, Bytes(10)));
    want.extend(payload(3, Bytes(5)));
    assert_eq!(got.len(), want.len());
    assert!(got == want, "ST-1: the peer got the sends out of order");
    let last = steps.last().unwrap();
    assert_eq!(last.observation.senders, vec![SenderStatus::Idle; 2]);
    assert!(!last.observation.busy.unwrap().driver);
}

#[test]
fn nosuspend_on_busy_port_returns_false_and_queues_nothing() {
    let mut c = busy_case();
    let before = c.apply(reference::op::Op::QueueSize).observation.queue;
    let s = c.send_flags(0, 7, 4, SendFlags { nosuspend: true, force: false });
    assert_eq!(s.observation.reply, Reply::Sent(Some(SendResult::False)));
    assert_eq!(s.observation.queue, before);
    assert_eq!(s.observation.senders[0], SenderStatus::Idle);
}

#[test]
fn forced_send_takes_the_busy_caller_slot() {
    let mut c = busy_case();
    // SND-3 + WM-6: the forced send goes through, crosses high again, and
    // displaces sender 1, which then never hears back.
    let s = c.send_flags(0, 7, 4, SendFlags { nosuspend: false, force: true });
    assert_eq!(s.observation.reply, Reply::Sent(None));
    assert_eq!(s.observation.senders, vec![SenderStatus::Waiting, SenderStatus::Waiting]);
    let (_, steps) = c.drain();
    let completed: Vec<_> = steps.iter().flat_map(|s| s.observation.completed.clone()).collect();
    assert_eq!(completed, vec![(SenderId(0), SendResult::Ok)]);
    assert_eq!(steps.last().unwrap().observation.senders[1], SenderStatus::Waiting);
}

#[test]
fn queue_size_reports_the_driver_queue() {
    let mut c = busy_case();
    let q = c.apply(reference::op::Op::QueueSize);
    assert_eq!(q.observation.reply, Reply::QueueSize(q.observation.queue));
}
