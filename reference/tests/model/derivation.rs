//! The derivation of the kernel's and the scheduler's share
//! (`reference::model::derive_set`) for a system that settles on a real
//! clock (OTP through its adapter): every way a step could have gone is
//! kept, and only those.

use crate::support::{derive, send};
use reference::model::Model;
use reference::observation::{Observation, Reply, SendResult, SenderStatus};
use reference::op::{Op, Setup};
use reference::options::Opt;
use reference::units::{Bytes, SenderId};
use reference::variant::Variant;

fn seen(reply: Reply, senders: [SenderStatus; 2], queue: usize) -> Observation {
    crate::support::observed(reply, &senders, queue)
}

/// A port made busy by sender 0 (WM-3), sender 1 suspended on it (SND-1).
fn busy_port() -> Vec<Model> {
    use SenderStatus::*;
    let setup = Setup { options: vec![Opt::HighWatermark(100), Opt::LowWatermark(50)], ..Setup::default() };
    let m = Model::new(&setup).expect("setup").into_variant(Variant::OtpInet).with_real_clock(true);
    let mut set = vec![m];
    let steps = [
        // WM-2: the kernel takes 150, the rest is queued unchecked.
        (send(0, 300, 1), seen(Reply::Sent(Some(SendResult::Ok)), [Idle, Idle], 150)),
        // WM-3: 150 + 10 >= 100.
        (send(0, 10, 2), seen(Reply::Sent(None), [Waiting, Idle], 160)),
        // SND-1.
        (
            send(1, 5, 3),
            Observation { busy_port_events: vec![SenderId(1)], ..seen(Reply::Sent(None), [Waiting, Suspended], 160) },
        ),
    ];
    for (op, obs) in &steps {
        set = derive(&set, op, obs).unwrap_or_else(|e| panic!("{op:?}: {e:?}")).into_iter().map(|d| d.model).collect();
    }
    set
}

/// WM-4 before the op: an ACK that arrived after the last step let the
/// driver write the whole queue before `queue_size` reached the port, so it
/// reads 0; the suspended sender then retries (SND-4) and both sends end
/// ok, the blocked caller's reply last (DIFF-INET-2). The same state is
/// reached by writing after the op (which would have read 160): the two
/// paths must not be merged before the step's end.
#[test]
fn an_output_before_the_op_shows_in_its_reply() {
    use SenderStatus::*;
    let obs = Observation {
        completed: vec![(SenderId(1), SendResult::Ok), (SenderId(0), SendResult::Ok)],
        ..seen(Reply::QueueSize(Bytes(0)), [Idle, Idle], 0)
    };
    let after = derive(&busy_port(), &Op::QueueSize, &obs);
    assert!(after.is_ok(), "WM-4: the write before the op is not derived: {:?}", after.err());
}

/// The same step, seen with the write after the op: also derived; and a
/// queue size no write explains is not.
#[test]
fn a_queue_size_no_write_explains_is_refused() {
    use SenderStatus::*;
    let late = Observation {
        completed: vec![(SenderId(1), SendResult::Ok), (SenderId(0), SendResult::Ok)],
        ..seen(Reply::QueueSize(Bytes(160)), [Idle, Idle], 0)
    };
    assert!(derive(&busy_port(), &Op::QueueSize, &late).is_ok(), "WM-4 after the op");
    let wrong = Observation { ..seen(Reply::QueueSize(Bytes(161)), [Waiting, Suspended], 160) };
    assert!(derive(&busy_port(), &Op::QueueSize, &wrong).is_err(), "a queue of 161 was accepted");
}

/// WM-4 before a send: an ACK the kernel processed after the last answer
/// made room, the driver wrote its whole queue, and the op's send then
/// found an empty queue and wrote directly (WM-2): not busy, `ok`, the
/// rest queued. Measured on OTP 29 under load (`suite/regressions/
/// beam-inet-101-otp29.json`). The derivation once let the output activity
/// take the send's own write as a second write from the emptied queue
/// (ST-2), so only "the send enqueued onto the old queue" was tried.
#[test]
fn an_ack_between_steps_empties_the_queue_before_a_direct_write() {
    let setup = Setup { options: vec![Opt::SendTimeoutClose(true)], ..Setup::default() };
    let m = Model::new(&setup).expect("setup").into_variant(Variant::OtpInet).with_real_clock(true);
    let ok = |queue| seen(Reply::Sent(Some(SendResult::Ok)), [SenderStatus::Idle; 2], queue);
    let mut set = vec![m];
    // 8191 onto an empty queue: the kernel took 6912, 1279 queued (WM-2).
    for (op, obs) in [(send(0, 431, 1), ok(0)), (send(0, 8191, 2), ok(1279))] {
        set =
            derive(&set, &op, &obs).unwrap_or_else(|e| panic!("{op:?}: {e:?}")).into_iter().map(|d| d.model).collect();
    }
    // Enqueued onto 1279 it would be 8192 >= high 8192: busy, no reply
    // (WM-3). Written directly after the late flush: ok, 4736 left.
    let after = derive(&set, &send(0, 6913, 3), &ok(4736));
    assert!(after.is_ok(), "the flush before the op is not derived: {:?}", after.err());
    // A partial write before the op leaves part of the old queue, and the
    // send is enqueued onto it: any queue below high with an ok reply has
    // a kernel's choice behind it (7000: 87 left, then 6913 enqueued). At
    // high the send would have made the port busy (WM-3): refused.
    assert!(derive(&set, &send(0, 6913, 3), &ok(7000)).is_ok(), "a partial write before the op is not derived");
    assert!(derive(&set, &send(0, 6913, 3), &ok(8192)).is_err(), "an ok at high_watermark was accepted");
}

/// TO-1 between steps, and what it sets off: on the real clock the busy
/// caller's send timer may fire after the last answer and before the op
/// reaches the port; it clears busy, so the suspended sender resumes and
/// retries (SND-4) before the op too — making the port busy again, so the
/// op's own send is suspended. Measured on OTP 25 (the cases kept as
/// `suite/regressions/beam-inet-42.json` and `-53.json`); the model once let
/// only the timer, not the resumed retry, run before the op.
#[test]
fn a_send_timer_between_steps_resumes_senders_before_the_op() {
    use reference::options::Timeout;
    use reference::units::Millis;
    use SenderStatus::*;
    let obs = |reply, senders: [SenderStatus; 3], queue| Observation {
        senders: senders.to_vec(),
        ..seen(reply, [Idle, Idle], queue)
    };
    let setup = Setup {
        options: vec![Opt::HighWatermark(100), Opt::LowWatermark(50), Opt::SendTimeout(Timeout::After(Millis(6)))],
        senders: 3,
        ..Setup::default()
    };
    let mut set = vec![Model::new(&setup).expect("setup").into_variant(Variant::OtpInet).with_real_clock(true)];
    let steps = [
        // WM-2: the kernel takes 150, the rest is queued unchecked.
        (send(0, 300, 1), obs(Reply::Sent(Some(SendResult::Ok)), [Idle, Idle, Idle], 150)),
        // WM-3: sender 1 is the busy caller; its send timer is armed.
        (send(1, 10, 2), obs(Reply::Sent(None), [Idle, Waiting, Idle], 160)),
        // SND-1: sender 2 is suspended.
        (
            send(2, 5, 3),
            Observation {
                busy_port_events: vec![SenderId(2)],
                ..obs(Reply::Sent(None), [Idle, Waiting, Suspended], 160)
            },
        ),
    ];
    for (op, o) in &steps {
        set = derive(&set, op, o).unwrap_or_else(|e| panic!("{op:?}: {e:?}")).into_iter().map(|d| d.model).collect();
    }
    // Before sender 0's send reaches the port: sender 1 times out, sender 2
    // retries (160 + 5 >= 100: busy again, sender 2 the busy caller); then
    // sender 0's send finds the port busy and is suspended.
    let seen_after = Observation {
        completed: vec![(SenderId(1), SendResult::Error(reference::observation::Posix::Timeout))],
        busy_port_events: vec![SenderId(0)],
        ..obs(Reply::Sent(None), [Suspended, Idle, Waiting], 165)
    };
    derive(&set, &send(0, 7, 4), &seen_after).expect("TO-1 and SND-4 before the op");
    // The resumed sender may as well retry after the op: sender 0 goes
    // through first (queue 167, sender 0 the busy caller), sender 2 is
    // suspended again.
    let retry_after = Observation {
        completed: vec![(SenderId(1), SendResult::Error(reference::observation::Posix::Timeout))],
        busy_port_events: vec![SenderId(2)],
        ..obs(Reply::Sent(None), [Waiting, Idle, Suspended], 167)
    };
    derive(&set, &send(0, 7, 4), &retry_after).expect("the timer before the op, the retry after it");
}

/// When no candidate explains a step, the failure names the candidate that
/// agreed on the most observables (compare's field order), not the first
/// one tried: here staying quiet already disagrees on the completions,
/// while writing the queue (WM-4) predicts them and disagrees only on
/// sender 0, which the observation shows still waiting.
#[test]
fn an_unexplained_step_reports_the_furthest_mismatch() {
    use reference::model::{Field, Underived};
    use SenderStatus::*;
    let set = busy_port();
    let obs = Observation {
        completed: vec![(SenderId(1), SendResult::Ok), (SenderId(0), SendResult::Ok)],
        ..seen(Reply::None, [Waiting, Idle], 0)
    };
    match derive(&set, &Op::Quiesce, &obs) {
        Err(Underived::Mismatch(m)) => assert!(matches!(m.field, Field::Sender(_)), "reported {m:?}"),
        other => panic!("explained: {:?}", other.map(|ds| ds.len())),
    }
}

/// The same for a candidate cut short because its completions already
/// disagree: it agreed further (on the reply) than one whose reply differs,
/// so it is the one reported.
#[test]
fn a_pruned_candidate_that_agreed_further_is_reported() {
    use reference::model::Underived;
    use SenderStatus::*;
    let set = busy_port();
    let obs = Observation {
        completed: vec![(SenderId(0), SendResult::Ok)],
        ..seen(Reply::QueueSize(Bytes::ZERO), [Idle, Idle], 0)
    };
    match derive(&set, &Op::QueueSize, &obs) {
        Err(Underived::Mismatch(m)) => {
            // Cut short: its completions disagreed before it predicted.
            assert_eq!(m.field.to_string(), "completed (so far)", "reported {m:?}");
            // Among candidates cut short at the same field, the first tried
            // (the most natural: the kernel taking everything) names the
            // rule, WM-2 here (a later one blames WM-3).
            assert_eq!(m.rule, reference::rules::ids::WM_2, "reported {m:?}");
        }
        other => panic!("explained: {:?}", other.map(|ds| ds.len())),
    }
}

/// Two paths to one state are one future: the prediction set keeps each
/// state once (merged by state, not by the path that reached it), so the
/// same set given twice derives the same number of states.
#[test]
fn a_state_reached_twice_is_kept_once() {
    use SenderStatus::*;
    let set = busy_port();
    let twice: Vec<Model> = set.iter().chain(set.iter()).cloned().collect();
    let obs = Observation {
        completed: vec![(SenderId(1), SendResult::Ok), (SenderId(0), SendResult::Ok)],
        ..seen(Reply::QueueSize(Bytes(160)), [Idle, Idle], 0)
    };
    let once = derive(&set, &Op::QueueSize, &obs).expect("WM-4 after the op").len();
    let doubled = derive(&twice, &Op::QueueSize, &obs).expect("WM-4 after the op").len();
    assert!(once < reference::model::MAX_SET, "{once} states: the cap would hide a duplicate");
    assert_eq!(doubled, once, "the same states, twice, kept once");
}

/// A real-clock send timer with send_timeout_close may fire before the op
/// (TO-3): the socket closes with the peer's bytes unread, the kernel
/// resets (CL-3), and the peer's next write fails with ECONNRESET — the
/// op's reply — instead of reaching the port. Seen on OTP 27 (portcheck
/// run --sut beam --seed 1003, case 16), where the adapter reported the
/// failed write as a failure of the system under test.
#[test]
fn a_peer_write_after_a_timeout_close_reports_the_reset() {
    use reference::observation::{PeerRead, Posix};
    use reference::options::Timeout;
    use reference::units::Millis;
    use SenderStatus::*;
    let setup = Setup {
        options: vec![
            Opt::HighWatermark(100),
            Opt::LowWatermark(50),
            Opt::SendTimeout(Timeout::After(Millis(5))),
            Opt::SendTimeoutClose(true),
        ],
        ..Setup::default()
    };
    let mut set = vec![Model::new(&setup).expect("setup").into_variant(Variant::OtpInet).with_real_clock(true)];
    let steps = [
        (send(0, 300, 1), seen(Reply::Sent(Some(SendResult::Ok)), [Idle, Idle], 150)),
        (send(0, 10, 2), seen(Reply::Sent(None), [Waiting, Idle], 160)),
        (Op::PeerWrite { len: Bytes(8), tag: 3 }, seen(Reply::None, [Waiting, Idle], 160)),
    ];
    for (op, obs) in &steps {
        set = derive(&set, op, obs).unwrap_or_else(|e| panic!("{op:?}: {e:?}")).into_iter().map(|d| d.model).collect();
    }
    let reset = Observation {
        completed: vec![(SenderId(0), SendResult::Error(Posix::Timeout))],
        ..seen(Reply::Peer(PeerRead::Reset), [Idle, Idle], 0)
    };
    let after = derive(&set, &Op::PeerWrite { len: Bytes(5), tag: 4 }, &reset);
    assert!(after.is_ok(), "TO-3 before the op, then CL-3: {:?}", after.err());
    let next = Observation { ..seen(Reply::Peer(PeerRead::Eof), [Idle, Idle], 0) };
    let set: Vec<Model> = after.unwrap().into_iter().map(|d| d.model).collect();
    assert!(derive(&set, &Op::PeerRead { max: Bytes(100) }, &next).is_ok(), "CL-3: the reset was reported once");
}

/// After a FIN (CL-1: closed with nothing unread) the peer's first write is
/// taken by its kernel and answered with RST by the closed socket; the peer
/// had seen FIN, so every later write fails with EPIPE (shown as EOF).
#[test]
fn a_peer_write_after_a_clean_close_is_refused_from_the_second() {
    use reference::observation::PeerRead;
    use SenderStatus::*;
    let mut set = vec![Model::new(&Setup::default()).expect("setup").into_variant(Variant::OtpInet)];
    let closed = |reply| Observation { ports: 1, ..seen(reply, [Idle, Idle], 0) };
    let steps = [
        (Op::Close, closed(Reply::Closed(Ok(())))),
        (Op::PeerWrite { len: Bytes(8), tag: 1 }, closed(Reply::None)),
        (Op::PeerWrite { len: Bytes(8), tag: 2 }, closed(Reply::Peer(PeerRead::Eof))),
        (Op::PeerRead { max: Bytes(100) }, closed(Reply::Peer(PeerRead::Eof))),
    ];
    for (op, obs) in &steps {
        set = derive(&set, op, obs)
            .unwrap_or_else(|e| panic!("CL-1, {op:?}: {e:?}"))
            .into_iter()
            .map(|d| d.model)
            .collect();
    }
}

/// WM-4/WM-3 between steps: after an ACK the driver wrote part of its
/// queue before the next send reached the port, and that send, enqueued
/// onto what the write left, stayed below the high watermark: ok, with a
/// queue no write after the send explains (regression
/// beam-inet-1001-case944-otp27). An ok with the queue at high is refused
/// (WM-3: that send makes the port busy).
#[test]
fn a_write_between_steps_is_followed_by_the_ops_own_enqueue() {
    use SenderStatus::*;
    let setup = Setup { options: vec![Opt::HighWatermark(100), Opt::LowWatermark(50)], ..Setup::default() };
    let m = Model::new(&setup).expect("setup").into_variant(Variant::OtpInet).with_real_clock(true);
    // WM-2: the kernel takes 20 of 80, 60 queued (below high: ok).
    let set: Vec<Model> = derive(&[m], &send(0, 80, 1), &seen(Reply::Sent(Some(SendResult::Ok)), [Idle, Idle], 60))
        .expect("WM-2")
        .into_iter()
        .map(|d| d.model)
        .collect();
    // 50 written before the op (10 left), then 70 enqueued: 80 < 100.
    let ok = seen(Reply::Sent(Some(SendResult::Ok)), [Idle, Idle], 80);
    assert!(derive(&set, &send(1, 70, 2), &ok).is_ok(), "the write before the send is not derived");
    let at_high = seen(Reply::Sent(Some(SendResult::Ok)), [Idle, Idle], 100);
    assert!(derive(&set, &send(1, 70, 2), &at_high).is_err(), "an ok at high_watermark was accepted");
}
