//! Variant otp-inet, DIFF-INET-2: when the port leaves busy, the blocked
//! caller's `{inet_reply,ok}` is seen after the senders that resumed have
//! run (OTP 25.2.3: `tcp_inet_output` resumes the suspended processes
//! before `inet_reply_ok` reaches the caller's mailbox). The rule is
//! crossed, and counted, only where it orders something: another send
//! finished in the same step.

use crate::support::{send, wrote};
use reference::choice::{Activity, Choice};
use reference::model::Model;
use reference::observation::SendResult;
use reference::op::{Op, Setup};
use reference::options::Opt;
use reference::rules::ids;
use reference::units::SenderId;
use reference::variant::{OtpRelease, Variant};

/// 150 queued, then sender 0 the busy caller (WM-3).
fn busy() -> Model {
    let setup = Setup { options: vec![Opt::HighWatermark(100), Opt::LowWatermark(50)], senders: 2, ..Setup::default() };
    let mut m = Model::new(&setup).expect("setup").into_variant(Variant::OtpInet);
    m.step(&send(0, 300, 1), &[wrote(300, 150)]).expect("WM-2: 150 queued");
    m.step(&send(0, 10, 2), &[]).expect("WM-3: busy");
    m
}

#[test]
fn the_blocked_callers_reply_follows_the_resumed_sender() {
    let mut m = busy();
    m.step(&send(1, 5, 3), &[]).expect("SND-1: sender 1 suspends");
    let p = m
        .step(
            &Op::Quiesce,
            &[Choice::Ran(Activity::Output), wrote(160, 160), Choice::Ran(Activity::Resume(SenderId(1))), wrote(5, 5)],
        )
        .expect("WM-4 then SND-4");
    assert_eq!(
        p.observation.completed,
        vec![(SenderId(1), SendResult::Ok), (SenderId(0), SendResult::Ok)],
        "DIFF-INET-2: the resumed sender's ok first"
    );
    assert_eq!(m.crossings().get(&ids::DIFF_INET_2), Some(&1), "DIFF-INET-2 ordered two replies: {:?}", m.crossings());
}

#[test]
fn a_reply_alone_orders_nothing() {
    let mut m = busy();
    let p = m.step(&Op::Quiesce, &[Choice::Ran(Activity::Output), wrote(160, 160)]).expect("WM-4");
    assert_eq!(p.observation.completed, vec![(SenderId(0), SendResult::Ok)], "WM-4: the busy caller's ok");
    assert_eq!(m.crossings().get(&ids::DIFF_INET_2), None, "nothing to order: {:?}", m.crossings());
}

/// The same port on OTP 27 (DIFF-INET-6): the blocked caller takes its
/// reply as an activity of its own, before or after the resumed sender.
fn busy_on(release: u16) -> Model {
    let setup = Setup { options: vec![Opt::HighWatermark(100), Opt::LowWatermark(50)], senders: 2, ..Setup::default() };
    let mut m = Model::new(&setup).expect("setup").into_variant(Variant::OtpInet).with_otp(OtpRelease(release));
    m.step(&send(0, 300, 1), &[wrote(300, 150)]).expect("WM-2: 150 queued");
    m.step(&send(0, 10, 2), &[]).expect("WM-3: busy");
    m.step(&send(1, 5, 3), &[]).expect("SND-1: sender 1 suspends");
    m
}

#[test]
fn from_otp_27_the_blocked_callers_reply_may_come_first() {
    let drained = [Choice::Ran(Activity::Output), wrote(160, 160)];
    let caller_first = [ran_returned(0), Choice::Ran(Activity::Resume(SenderId(1))), wrote(5, 5), ran_returned(1)];
    let mut m = busy_on(27);
    let p = m.step(&Op::Quiesce, &[&drained[..], &caller_first[..]].concat()).expect("DIFF-INET-6: caller first");
    assert_eq!(
        p.observation.completed,
        vec![(SenderId(0), SendResult::Ok), (SenderId(1), SendResult::Ok)],
        "DIFF-INET-6: the caller's ok first"
    );
    let resumed_first = [Choice::Ran(Activity::Resume(SenderId(1))), wrote(5, 5), ran_returned(1), ran_returned(0)];
    let p = busy_on(29).step(&Op::Quiesce, &[&drained[..], &resumed_first[..]].concat()).expect("DIFF-INET-6");
    assert_eq!(p.observation.completed, vec![(SenderId(1), SendResult::Ok), (SenderId(0), SendResult::Ok)]);
    assert!(
        busy_on(25)
            .step(
                &Op::Quiesce,
                &[&drained[..], &[ran_returned(0), Choice::Ran(Activity::Resume(SenderId(1))), wrote(5, 5)]].concat()
            )
            .is_err(),
        "DIFF-INET-2: on OTP 25 the caller cannot take its reply first"
    );
    let p = busy_on(27).step(&Op::Quiesce, &drained).expect("WM-4");
    assert_eq!(p.observation.completed, vec![], "DIFF-INET-6: the reply is not seen until its caller takes it");
    assert_eq!(p.observation.senders[0], reference::observation::SenderStatus::Waiting, "DIFF-INET-6");
}

fn ran_returned(s: u8) -> Choice {
    Choice::Ran(Activity::Returned(SenderId(s)))
}

/// OTP 27 (DIFF-INET-6): busy clears, and before the blocked caller took
/// its reply a resumed sender's retry makes the port busy again and the
/// queue drains a second time. Both replies are on their way; neither is
/// lost (the first is in its caller's mailbox), and each caller takes its
/// own. Found under load on OTP 29 (differential seed 101, case 71): a
/// model that kept one reply on its way let a lost reply explain a state
/// real OTP never had.
#[test]
fn from_otp_27_two_replies_may_be_on_their_way_and_each_arrives() {
    let setup = Setup { options: vec![Opt::HighWatermark(100), Opt::LowWatermark(50)], senders: 2, ..Setup::default() };
    let mut m = Model::new(&setup).expect("setup").into_variant(Variant::OtpInet).with_otp(OtpRelease(29));
    m.step(&send(0, 300, 1), &[wrote(300, 150)]).expect("WM-2: 150 queued");
    m.step(&send(0, 10, 2), &[]).expect("WM-3: busy, sender 0 the caller");
    m.step(&send(1, 200, 3), &[]).expect("SND-1: sender 1 suspends");
    let drained_twice = [
        Choice::Ran(Activity::Output),
        wrote(160, 120),
        Choice::Ran(Activity::Resume(SenderId(1))),
        Choice::Ran(Activity::Output),
        wrote(240, 240),
    ];
    let p = m
        .step(&Op::Quiesce, &[&drained_twice[..], &[ran_returned(1), ran_returned(0)][..]].concat())
        .expect("WM-4, SND-4 then WM-3 again, WM-4: two replies on their way, each taken");
    assert_eq!(p.observation.completed, vec![(SenderId(1), SendResult::Ok), (SenderId(0), SendResult::Ok)]);
    assert_eq!(p.observation.senders[0], reference::observation::SenderStatus::Idle, "sender 0 waits no more");
}

/// DIFF-INET-6 on OTP 27 and newer: a resumed sender's retry acts on the
/// port when it runs, but its `ok` is seen when its process takes the
/// reply, so a sender resumed after it can be seen first. Here a
/// gen_tcp:close waits for the queue (DIFF-INET-3): when the queue
/// empties, S2 retries (ok, on its way), the closer closes the port, and
/// S1's retry finds it gone. Real OTP 27 and 29 showed [S0 ok, S3
/// {error,closed}, S1 ok, S2 ok] this way (suite/regressions/
/// beam-inet-1002-otp27.json, step 34), which a model completing each
/// retry at once cannot explain.
#[test]
fn from_otp_27_a_later_resumed_senders_closed_may_be_seen_before_an_earlier_ok() {
    let setup = Setup { options: vec![Opt::HighWatermark(100), Opt::LowWatermark(50)], senders: 3, ..Setup::default() };
    let mut m = Model::new(&setup).expect("setup").into_variant(Variant::OtpInet).with_otp(OtpRelease(27));
    m.step(&send(0, 300, 1), &[wrote(300, 150)]).expect("WM-2: 150 queued");
    m.step(&Op::Close, &[]).expect("DIFF-INET-3: the close waits for the queue");
    m.step(&send(0, 10, 2), &[]).expect("WM-3: busy, sender 0 the caller");
    m.step(&send(1, 20, 3), &[]).expect("SND-1: sender 1 suspends");
    m.step(&send(2, 30, 4), &[]).expect("SND-1: sender 2 suspends");
    let p = m
        .step(
            &Op::Quiesce,
            &[
                Choice::Ran(Activity::Output),
                wrote(160, 160),
                ran_returned(0),
                Choice::Ran(Activity::Resume(SenderId(2))),
                wrote(30, 30),
                Choice::Ran(Activity::PendingClose),
                Choice::Ran(Activity::Resume(SenderId(1))),
                ran_returned(2),
            ],
        )
        .expect("WM-4, DIFF-INET-1's order, S2's ok on its way across the close");
    assert_eq!(
        p.observation.completed,
        vec![
            (SenderId(0), SendResult::Ok),
            (SenderId(1), SendResult::Error(reference::observation::Posix::Closed)),
            (SenderId(2), SendResult::Ok)
        ]
    );
    assert!(m.crossings().get(&ids::DIFF_INET_6).copied().unwrap_or(0) > 0, "DIFF-INET-6 crossed");
}

/// The same on OTP 25 is not allowed: a resumed retry's reply is seen when
/// it runs (DIFF-INET-2's order), so S2's ok cannot wait for S1.
#[test]
fn on_otp_25_a_resumed_senders_ok_is_seen_when_it_retries() {
    let setup = Setup { options: vec![Opt::HighWatermark(100), Opt::LowWatermark(50)], senders: 3, ..Setup::default() };
    let mut m = Model::new(&setup).expect("setup").into_variant(Variant::OtpInet).with_otp(OtpRelease(25));
    m.step(&send(0, 300, 1), &[wrote(300, 150)]).expect("WM-2: 150 queued");
    m.step(&send(0, 10, 2), &[]).expect("WM-3: busy");
    m.step(&send(1, 20, 3), &[]).expect("SND-1");
    m.step(&send(2, 30, 4), &[]).expect("SND-1");
    let p = m
        .step(
            &Op::Quiesce,
            &[
                Choice::Ran(Activity::Output),
                wrote(160, 160),
                Choice::Ran(Activity::Resume(SenderId(2))),
                wrote(30, 30),
                Choice::Ran(Activity::Resume(SenderId(1))),
                wrote(20, 20),
            ],
        )
        .expect("WM-4, DIFF-INET-1, DIFF-INET-2");
    assert_eq!(
        p.observation.completed,
        vec![(SenderId(2), SendResult::Ok), (SenderId(1), SendResult::Ok), (SenderId(0), SendResult::Ok)]
    );
}
