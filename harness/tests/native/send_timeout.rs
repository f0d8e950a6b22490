//! TO-1..TO-4 on the virtual clock: the send timer fires exactly at its
//! deadline, answers the blocked caller with a timeout and keeps (or, with
//! send_timeout_close, discards) the queued data.

use crate::support::*;
use harness::sut::native::PlantedBug;
use reference::choice::{Activity, Choice};
use reference::observation::{PeerRead, Posix, Reply, SendResult, SenderStatus};
use reference::op::Op;
use reference::options::{Opt, Timeout};
use reference::units::{payload, Bytes, Millis, SenderId};

fn opts(timeout: u64, close: bool) -> Vec<Opt> {
    vec![
        Opt::HighWatermark(100),
        Opt::LowWatermark(50),
        Opt::SendTimeout(Timeout::After(Millis(timeout))),
        Opt::SendTimeoutClose(close),
    ]
}

fn go_busy(c: &mut Case) -> Bytes {
    c.send(0, 10_000, 1);
    let s = c.send(1, 10, 2);
    assert_eq!(s.observation.reply, Reply::Sent(None));
    assert!(s.observation.busy.unwrap().driver);
    s.observation.queue
}

#[test]
fn timeout_answers_the_caller_and_keeps_the_data() {
    let mut c = start(&setup(opts(30, false)));
    let queued = go_busy(&mut c);
    let s = c.apply(Op::AdvanceTime { by: Millis(29) });
    assert!(!ran(&s, Activity::SendTimeout));
    let s = c.apply(Op::AdvanceTime { by: Millis(1) });
    assert_eq!(s.choices.first(), Some(&Choice::Ran(Activity::SendTimeout)));
    assert_eq!(s.observation.completed, vec![(SenderId(1), SendResult::Error(Posix::Timeout))]);
    assert!(!s.observation.busy.unwrap().driver);
    assert_eq!(s.observation.queue, queued, "TO-1: the data stays queued");
    let (got, _) = c.drain();
    let mut want = payload(1, Bytes(10_000));
    want.extend(payload(2, Bytes(10)));
    assert!(got == want, "TO-1: queued data is still delivered");
}

#[test]
fn send_timeout_zero_replies_timeout_at_once_without_busy() {
    let mut c = start(&setup(opts(0, false)));
    c.send(0, 10_000, 1);
    let s = c.send(1, 10, 2);
    assert_eq!(s.observation.reply, Reply::Sent(Some(SendResult::Error(Posix::Timeout))));
    assert!(!s.observation.busy.unwrap().driver);
    assert_eq!(s.observation.senders[1], SenderStatus::Idle);
}

#[test]
fn send_timeout_close_discards_and_later_sends_get_enotconn() {
    let mut c = start(&setup(opts(5, true)));
    go_busy(&mut c);
    let s = c.apply(Op::AdvanceTime { by: Millis(5) });
    assert_eq!(s.observation.completed, vec![(SenderId(1), SendResult::Error(Posix::Timeout))]);
    assert_eq!(s.observation.queue, Bytes(0));
    let s = c.send(0, 1, 3);
    assert_eq!(s.observation.reply, Reply::Sent(Some(SendResult::Error(Posix::Enotconn))));
    // The peer gets what the kernel had taken, then EOF.
    let mut saw_eof = false;
    for _ in 0..1000 {
        match c.apply(Op::PeerRead { max: Bytes(65536) }).observation.reply {
            Reply::Peer(PeerRead::Data(_)) => continue,
            Reply::Peer(PeerRead::WouldBlock) => {
                c.apply(Op::AwaitIo);
            }
            _ => {
                saw_eof = true;
                break;
            }
        }
    }
    assert!(saw_eof);
}

#[test]
fn leaving_busy_through_low_cancels_the_timer() {
    let mut c = start(&setup(opts(30, false)));
    go_busy(&mut c);
    let (_, steps) = c.drain();
    assert!(steps.iter().any(|s| s.observation.completed == vec![(SenderId(1), SendResult::Ok)]));
    let s = c.apply(Op::AdvanceTime { by: Millis(1000) });
    assert!(s.choices.is_empty(), "TO-4: the timer was cancelled, got {:?}", s.choices);
}

#[test]
fn planted_bug_drops_the_queue() {
    let mut c = start_with(&setup(opts(5, false)), Some(PlantedBug::DropOnSendTimeout));
    go_busy(&mut c);
    let s = c.apply(Op::AdvanceTime { by: Millis(5) });
    assert_eq!(s.observation.queue, Bytes(0));
}
