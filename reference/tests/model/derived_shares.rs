//! The derivation's candidates for the kernel's share where a system does
//! not report it (real OTP through its adapter): a passive recv that read
//! only part of what the peer wrote (RX-6), and a write from the queue
//! after which a resumed sender's retry was enqueued (WM-4, SND-4); and
//! the limits of the search: the prediction set's size and the budget.

use crate::support::{derive, observed as seen, send};
use reference::choice::Choice;
use reference::model::{Model, Underived, DERIVE_BUDGET, MAX_SET};
use reference::observation::{Observation, Reply, SendResult, SenderStatus};
use reference::op::{Op, Setup};
use reference::options::Opt;
use reference::units::{payload_byte, Bytes, SenderId};
use reference::variant::Variant;

use SenderStatus::{Idle, Suspended, Waiting};

fn otp_inet(options: Vec<Opt>, senders: u8) -> Vec<Model> {
    let setup = Setup { options, senders, ..Setup::default() };
    vec![Model::new(&setup).expect("setup").into_variant(Variant::OtpInet).with_real_clock(true)]
}

/// Derive every step in turn; the prediction set after the last.
fn run(mut set: Vec<Model>, steps: &[(Op, Observation)]) -> Vec<Model> {
    for (op, obs) in steps {
        set = derive(&set, op, obs).unwrap_or_else(|e| panic!("{op:?}: {e:?}")).into_iter().map(|d| d.model).collect();
    }
    set
}

/// RX-6: a passive recv returns what has reached the port's receive queue,
/// which may be less than the peer wrote (the rest is still on its way
/// through loopback); the rest comes with the next recv.
#[test]
fn a_passive_recv_may_return_part_of_what_the_peer_wrote() {
    let set =
        run(otp_inet(vec![], 2), &[(Op::PeerWrite { len: Bytes(100), tag: 4 }, seen(Reply::None, &[Idle; 2], 0))]);
    let part = |from: usize, len: usize| (from..from + len).map(|i| payload_byte(4, i)).collect::<Vec<u8>>();
    let got = derive(&set, &Op::Recv, &seen(Reply::Recv(Ok(part(0, 40))), &[Idle; 2], 0))
        .expect("RX-6: 40 of the 100 bytes had arrived");
    assert!(
        got.iter().any(|d| d.choices.contains(&Choice::Read { got: Bytes(40) })),
        "RX-6: the read took 40: {:?}",
        got.iter().map(|d| &d.choices).collect::<Vec<_>>()
    );
    let set: Vec<Model> = got.into_iter().map(|d| d.model).collect();
    derive(&set, &Op::Recv, &seen(Reply::Recv(Ok(part(40, 60))), &[Idle; 2], 0)).expect("RX-6: then the other 60");
}

/// WM-4, SND-4, DIFF-INET-2: a write from the queue takes it to 30, at or
/// below low (50), so busy clears; the suspended sender's 60-byte retry
/// is enqueued onto those 30 (90 < high 100: ok) and the blocked caller's
/// ok is seen last. Only writes that leave exactly 90 - 60 before the
/// retry explain the queue of 90: leaving 50 (low) the retry would find
/// 110 >= high, and leaving 0 it would be written directly.
#[test]
fn a_write_is_derived_from_the_queue_a_resumed_retry_enqueued_onto() {
    let busy = run(
        otp_inet(vec![Opt::HighWatermark(100), Opt::LowWatermark(50)], 2),
        &[
            // WM-2: the kernel takes 150, 150 queued.
            (send(0, 300, 1), seen(Reply::Sent(Some(SendResult::Ok)), &[Idle, Idle], 150)),
            // WM-3: 150 + 10 >= 100, sender 0 the busy caller.
            (send(0, 10, 2), seen(Reply::Sent(None), &[Waiting, Idle], 160)),
            // SND-1: sender 1 suspended on the busy port.
            (
                send(1, 60, 3),
                Observation {
                    busy_port_events: vec![SenderId(1)],
                    ..seen(Reply::Sent(None), &[Waiting, Suspended], 160)
                },
            ),
        ],
    );
    let drained = Observation {
        completed: vec![(SenderId(1), SendResult::Ok), (SenderId(0), SendResult::Ok)],
        ..seen(Reply::Mailbox(vec![]), &[Idle, Idle], 90)
    };
    derive(&busy, &Op::Mailbox, &drained).expect("WM-4: the queue written down to 30, then the retry");
}

/// The prediction set keeps at most MAX_SET states: 70 distinct states
/// (watermarks differ), each explained one way, derive to MAX_SET.
#[test]
fn the_prediction_set_keeps_at_most_max_set_states() {
    let set: Vec<Model> =
        (0..70).flat_map(|i| otp_inet(vec![Opt::HighWatermark(1000 + i), Opt::LowWatermark(500)], 2)).collect();
    let got = derive(&set, &Op::Mailbox, &seen(Reply::Mailbox(vec![]), &[Idle; 2], 0)).expect("an empty mailbox");
    assert_eq!(got.len(), MAX_SET);
}

/// A step no candidate explains, among more candidates than the budget
/// allows (thirteen suspended senders' retries enqueued after any write:
/// every subset of twelve of them is a landing), fails with the budget
/// spent, DERIVE_BUDGET model runs, instead of searching on.
#[test]
fn a_search_past_the_budget_fails_with_the_budget_named() {
    let setup =
        Setup { options: vec![Opt::HighWatermark(100), Opt::LowWatermark(50)], senders: 14, ..Setup::default() };
    let mut m = Model::new(&setup).expect("setup").into_variant(Variant::OtpInet).with_real_clock(true);
    m.step(&send(0, 300, 1), &[Choice::Wrote { requested: Bytes(300), accepted: Bytes(150) }]).expect("WM-2");
    m.step(&send(0, 10, 2), &[]).expect("WM-3: busy");
    for s in 1..14u8 {
        m.step(&send(s, 5 + s as usize, 2 + s as u16), &[]).expect("SND-1: suspended");
    }
    // DIFF-INET-1: the first-suspended sender retries last; DIFF-INET-2:
    // the blocked caller's ok is seen after the retries. Only the number
    // of ports (7) is beyond any candidate.
    let mut completed: Vec<_> = (2..14u8).chain([1]).map(|s| (SenderId(s), SendResult::Ok)).collect();
    completed.push((SenderId(0), SendResult::Ok));
    let nowhere = Observation { completed, ports: 7, ..seen(Reply::Mailbox(vec![]), &[Idle; 14], 90) };
    match derive(&[m], &Op::Mailbox, &nowhere) {
        Err(Underived::Budget { tried }) => assert_eq!(tried, DERIVE_BUDGET),
        other => panic!("not the budget: {:?}", other.map(|ds| ds.len())),
    }
}

/// WM-3, WM-4, SND-1, DIFF-INET-1 with high = low = 100: a write leaves
/// 40 (<= low: busy clears); sender 2, suspended last, retries first and
/// its 60 bytes make 100 >= high, busy again with it the caller; sender 1's
/// 7-byte retry is suspended again. Only a write that left 100 - 60, one of
/// the two suspended sends enqueued after it and not the other, explains
/// it: leaving 100 (the observed queue, and low) would clear busy with the
/// queue at 160 after the retry, and a later write down to 100 would clear
/// it again.
#[test]
fn a_write_is_derived_from_the_queue_one_of_two_retries_enqueued_onto() {
    let busy = run(
        otp_inet(vec![Opt::HighWatermark(100), Opt::LowWatermark(100)], 3),
        &[
            (send(0, 300, 1), seen(Reply::Sent(Some(SendResult::Ok)), &[Idle, Idle, Idle], 150)),
            (send(0, 10, 2), seen(Reply::Sent(None), &[Waiting, Idle, Idle], 160)),
            (
                send(1, 7, 3),
                Observation {
                    busy_port_events: vec![SenderId(1)],
                    ..seen(Reply::Sent(None), &[Waiting, Suspended, Idle], 160)
                },
            ),
            (
                send(2, 60, 4),
                Observation {
                    busy_port_events: vec![SenderId(2)],
                    ..seen(Reply::Sent(None), &[Waiting, Suspended, Suspended], 160)
                },
            ),
        ],
    );
    let busy_again = Observation {
        completed: vec![(SenderId(0), SendResult::Ok)],
        busy_port_events: vec![SenderId(1)],
        ..seen(Reply::Mailbox(vec![]), &[Idle, Suspended, Waiting], 100)
    };
    derive(&busy, &Op::Mailbox, &busy_again).expect("WM-4: the queue written down to 40, then sender 2's retry");
}
