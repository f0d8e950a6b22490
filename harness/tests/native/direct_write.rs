//! WM-2: a send onto an empty driver queue is one write syscall; the reply
//! is ok at once and the peer gets the payload.

use crate::support::*;
use reference::choice::Choice;
use reference::observation::{Reply, SendResult, SenderStatus};
use reference::units::{payload, Bytes};

#[test]
fn send_onto_empty_queue_writes_directly() {
    let mut c = start(&setup(vec![]));
    let s = c.send(0, 100, 7);
    assert_eq!(s.observation.reply, Reply::Sent(Some(SendResult::Ok)));
    assert_eq!(s.choices, vec![Choice::Wrote { requested: Bytes(100), accepted: Bytes(100) }]);
    assert_eq!(s.observation.queue, Bytes(0));
    assert_eq!(s.observation.senders, vec![SenderStatus::Idle, SenderStatus::Idle]);
    assert_eq!(s.observation.ports, 2);
    assert_eq!(c.peer_read_all(), payload(7, Bytes(100)));
}

#[test]
fn zero_length_send_is_a_no_op() {
    let mut c = start(&setup(vec![]));
    let s = c.send(1, 0, 1);
    assert_eq!(s.observation.reply, Reply::Sent(Some(SendResult::Ok)));
    assert!(s.choices.is_empty(), "WM-5: no syscall, got {:?}", s.choices);
}

#[test]
fn remainder_of_a_large_send_is_queued_without_going_busy() {
    let mut c = start(&setup(vec![]));
    let s = c.send(0, 100_000, 3);
    assert_eq!(s.observation.reply, Reply::Sent(Some(SendResult::Ok)));
    let w = writes(&s);
    assert_eq!(w.len(), 1);
    assert_eq!(w[0].0, 100_000);
    assert!(w[0].1 < 100_000, "the kernel took everything: {w:?}");
    assert_eq!(s.observation.queue, Bytes(100_000 - w[0].1));
    assert_eq!(s.observation.busy.map(|b| b.driver), Some(false));
    let (got, _) = c.drain();
    assert_eq!(got, payload(3, Bytes(100_000)));
}
