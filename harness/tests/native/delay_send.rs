//! DS-1/DS-2: with delay_send, sends onto an empty queue make no syscall;
//! the flush at the next quiescence writes the whole queue in one write.

use crate::support::*;
use harness::sut::native::PlantedBug;
use reference::choice::{Activity, Choice};
use reference::observation::{Reply, SendResult};
use reference::op::Op;
use reference::options::Opt;
use reference::units::{payload, Bytes};

#[test]
fn sends_are_coalesced_into_one_write_at_quiescence() {
    let mut c = start(&setup(vec![Opt::DelaySend(true)]));
    for (s, len, tag) in [(0, 100, 1), (1, 200, 2), (0, 300, 3)] {
        let step = c.send(s, len, tag);
        assert_eq!(step.observation.reply, Reply::Sent(Some(SendResult::Ok)));
        assert!(step.choices.is_empty(), "DS-1: no syscall, got {:?}", step.choices);
    }
    assert_eq!(c.apply(Op::QueueSize).observation.reply, Reply::QueueSize(Bytes(600)));
    let q = c.apply(Op::Quiesce);
    assert_eq!(
        q.choices,
        vec![Choice::Ran(Activity::DelayFlush), Choice::Wrote { requested: Bytes(600), accepted: Bytes(600) }]
    );
    let mut want = payload(1, Bytes(100));
    want.extend(payload(2, Bytes(200)));
    want.extend(payload(3, Bytes(300)));
    assert_eq!(c.peer_read_all(), want);
    // Nothing is armed any more.
    assert!(c.apply(Op::Quiesce).choices.is_empty());
}

#[test]
fn planted_bug_writes_at_once() {
    let mut c = start_with(&setup(vec![Opt::DelaySend(true)]), Some(PlantedBug::DelaySendIgnored));
    let step = c.send(0, 100, 1);
    assert_eq!(step.choices, vec![Choice::Wrote { requested: Bytes(100), accepted: Bytes(100) }]);
}
