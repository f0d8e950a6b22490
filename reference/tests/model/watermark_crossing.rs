//! WM-2/WM-3/WM-4 on the seed article's numbers (high 20000, low 10000,
//! 5,000-byte sends): the kernel takes part of the first send, the rest
//! queues, and the send that brings the queue to >= high blocks.

use crate::support::send;
use reference::choice::{Activity, Choice};
use reference::model::Model;
use reference::observation::{Reply, SendResult, SenderStatus};
use reference::op::{Op, Setup};
use reference::options::Opt;
use reference::rules::ids;
use reference::units::{Bytes, SenderId};

fn setup() -> Setup {
    Setup { options: vec![Opt::HighWatermark(20000), Opt::LowWatermark(10000)], ..Setup::default() }
}

#[test]
fn seed_article_fifth_send_blocks() {
    let mut m = Model::new(&setup()).unwrap();
    // The kernel took 2,304 bytes of the first send (measured on Linux 6.18).
    let first = [Choice::Wrote { requested: Bytes(5000), accepted: Bytes(2304) }];
    let p = m.step(&send(0, 5000, 1), &first).unwrap();
    assert_eq!(p.observation.reply, Reply::Sent(Some(SendResult::Ok)));
    assert_eq!(p.observation.queue, Bytes(2696));
    assert_eq!(p.why.queue, ids::WM_2);
    let mut sizes = vec![];
    for _ in 0..3 {
        let p = m.step(&send(0, 5000, 1), &[]).unwrap();
        assert_eq!(p.observation.reply, Reply::Sent(Some(SendResult::Ok)));
        sizes.push(p.observation.queue.0);
    }
    assert_eq!(sizes, vec![7696, 12696, 17696]);
    // 17,696 + 5,000 >= 20,000: the fifth send blocks, the sender waits.
    let p = m.step(&send(0, 5000, 1), &[]).unwrap();
    assert_eq!(p.observation.reply, Reply::Sent(None));
    assert_eq!(p.observation.senders[0], SenderStatus::Waiting);
    assert_eq!(p.why.busy_driver, ids::WM_3);
    // The other sender is suspended, with a busy_port event.
    let p = m.step(&send(1, 10, 1), &[]).unwrap();
    assert_eq!(p.observation.senders[1], SenderStatus::Suspended);
    assert_eq!(p.observation.busy_port_events, vec![SenderId(1)]);
    // The kernel takes 12,686: 10,010 remain > low, still busy.
    let out = [Choice::Ran(Activity::Output), Choice::Wrote { requested: Bytes(22696), accepted: Bytes(12686) }];
    let p = m.step(&Op::Quiesce, &out).unwrap();
    assert!(p.observation.busy.unwrap().driver);
    // Ten more: 10,000 <= low: unbusy, the waiter gets ok, sender 1 resumes.
    let out = [
        Choice::Ran(Activity::Output),
        Choice::Wrote { requested: Bytes(10010), accepted: Bytes(10) },
        Choice::Ran(Activity::Resume(SenderId(1))),
    ];
    let p = m.step(&Op::Quiesce, &out).unwrap();
    // S0's blocked send is answered (WM-4); S1's retried send goes through.
    assert_eq!(p.observation.completed, vec![(SenderId(0), SendResult::Ok), (SenderId(1), SendResult::Ok)]);
    assert_eq!(p.why.completed[0], ids::WM_4);
    assert_eq!(p.observation.senders, vec![SenderStatus::Idle, SenderStatus::Idle,]);
}

#[test]
fn equality_at_high_blocks_and_one_less_does_not() {
    for (second, blocks) in [(99, false), (100, true)] {
        let mut m =
            Model::new(&Setup { options: vec![Opt::HighWatermark(101), Opt::LowWatermark(0)], ..Setup::default() })
                .unwrap();
        m.step(&send(0, 1, 1), &[Choice::Wrote { requested: Bytes(1), accepted: Bytes(0) }]).unwrap();
        let p = m.step(&send(0, second, 1), &[]).unwrap();
        assert_eq!(p.observation.reply == Reply::Sent(None), blocks, "1 + {second} vs high 101");
    }
}

#[test]
fn quiescence_with_a_resumable_sender_left_is_a_divergence() {
    let mut m =
        Model::new(&Setup { options: vec![Opt::HighWatermark(2), Opt::LowWatermark(0)], ..Setup::default() }).unwrap();
    m.step(&send(0, 1, 1), &[Choice::Wrote { requested: Bytes(1), accepted: Bytes(0) }]).unwrap();
    m.step(&send(0, 1, 1), &[]).unwrap();
    m.step(&send(1, 1, 1), &[]).unwrap();
    let out = [Choice::Ran(Activity::Output), Choice::Wrote { requested: Bytes(2), accepted: Bytes(2) }];
    m.step(&Op::Quiesce, &out).unwrap();
    // The sender was resumed by WM-4 and never ran: blamed on WM-4.
    let d = m.take_unquiet().expect("a resumable sender was left");
    assert_eq!(d.rule, ids::WM_4);
}

#[test]
fn delay_send_write_in_the_send_is_blamed_on_ds1() {
    let mut m = Model::new(&Setup { options: vec![Opt::DelaySend(true)], ..Setup::default() }).unwrap();
    let d = m.step(&send(0, 10, 1), &[Choice::Wrote { requested: Bytes(10), accepted: Bytes(10) }]).unwrap_err();
    assert_eq!(d.rule, ids::DS_1);
}
