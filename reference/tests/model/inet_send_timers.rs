//! Variant otp-inet, DIFF-INET-4: the inet driver's send timers and the
//! replies they leave in a sender's mailbox (OTP 25.2.3 `inet_drv.c`
//! tcp_sendv / tcp_inet_output / tcp_inet_send_timeout, `prim_inet:send/3`).
//! The kernel's and the scheduler's choices are given explicitly, so each
//! test pins one consequence of the rule.

use crate::support::{force, send, wrote};
use reference::choice::{Activity, Choice};
use reference::model::Model;
use reference::observation::{Posix, Reply, SendResult, SenderStatus};
use reference::op::{Op, Setup};
use reference::options::{Opt, Timeout};
use reference::units::{Millis, SenderId};
use reference::variant::Variant;

const TIMEOUT: SendResult = SendResult::Error(Posix::Timeout);

/// `force_onto_busy`, then the queue drains below the low watermark:
/// sender 2 gets ok and only timer A is cancelled.
/// 150 queued, sender 1 the busy caller (timer A due at 5 ms), then at 2 ms
/// sender 2's force send takes the busy branch again (timer B due at 7 ms).
fn force_onto_busy(variant: Variant) -> Model {
    force_onto_busy_on(variant, true)
}

/// The same on the real clock (timers may fire once armed) or the virtual
/// one (exactly when due).
fn force_onto_busy_on(variant: Variant, real_clock: bool) -> Model {
    let setup = Setup {
        options: vec![Opt::HighWatermark(100), Opt::LowWatermark(50), Opt::SendTimeout(Timeout::After(Millis(5)))],
        senders: 3,
        ..Setup::default()
    };
    let mut m = Model::new(&setup).expect("setup").into_variant(variant).with_real_clock(real_clock);
    m.step(&send(0, 300, 1), &[wrote(300, 150)]).expect("WM-2: 150 queued");
    let p = m.step(&send(1, 10, 2), &[]).expect("WM-3: busy");
    assert_eq!(p.observation.senders[1], SenderStatus::Waiting, "WM-3: sender 1 is the busy caller");
    m.step(&Op::AdvanceTime { by: Millis(2) }, &[]).expect("no timer due");
    let p = m.step(&force(2, 5, 3), &[]).expect("SND-3/WM-6: the force send takes the busy branch");
    assert_eq!(p.observation.senders[2], SenderStatus::Waiting, "WM-6: sender 2 is the busy caller now");
    m
}

fn leftover_timer(variant: Variant) -> Model {
    let mut m = force_onto_busy(variant);
    let p = m.step(&Op::Quiesce, &[Choice::Ran(Activity::Output), wrote(165, 165)]).expect("WM-4: the queue drains");
    assert_eq!(p.observation.completed, vec![(SenderId(2), SendResult::Ok)], "WM-4: the busy caller gets ok");
    assert_eq!(p.observation.senders[1], SenderStatus::Waiting, "WM-6: the displaced caller never hears back");
    m
}

/// DIFF-INET-4: timer B outlives busy; when it fires it leaves
/// {error,timeout} in sender 2's mailbox, and sender 2's next send — a
/// direct write onto an empty queue — returns that at once; its own ok is
/// what the send after it returns.
#[test]
fn diff_inet_4_a_leftover_timer_poisons_the_last_busy_callers_next_send() {
    let mut m = leftover_timer(Variant::OtpInet);
    let p = m
        .step(&Op::AdvanceTime { by: Millis(5) }, &[Choice::Ran(Activity::SendTimeout)])
        .expect("DIFF-INET-4: timer B fires with the port not busy");
    assert!(p.observation.completed.is_empty(), "DIFF-INET-4: nobody is waiting for it");
    let p = m.step(&send(2, 29, 4), &[wrote(29, 29)]).expect("WM-2: a direct write");
    assert_eq!(p.observation.reply, Reply::Sent(Some(TIMEOUT)), "DIFF-INET-4: the stale timeout comes first");
    assert_eq!(p.why.reply, reference::rules::ids::DIFF_INET_4, "the reply is blamed on DIFF-INET-4");
    let p = m.step(&send(2, 4, 5), &[wrote(4, 4)]).expect("WM-2 again");
    assert_eq!(p.observation.reply, Reply::Sent(Some(SendResult::Ok)), "DIFF-INET-4: then the previous send's ok");
    let p = m.step(&send(0, 4, 6), &[wrote(4, 4)]).expect("another sender");
    assert_eq!(p.observation.reply, Reply::Sent(Some(SendResult::Ok)), "WM-2: other senders are unaffected");
}

/// The reference driver (TO-4): leaving busy cancels the send timer; none
/// is left to fire, and the next send is answered by its own reply.
#[test]
fn to_4_the_reference_driver_leaves_no_timer_armed() {
    let mut m = leftover_timer(Variant::Reference);
    assert!(
        m.step(&Op::AdvanceTime { by: Millis(5) }, &[Choice::Ran(Activity::SendTimeout)]).is_err(),
        "TO-4: no timer is armed after busy cleared"
    );
    let mut m = leftover_timer(Variant::Reference);
    m.step(&Op::AdvanceTime { by: Millis(5) }, &[]).expect("nothing fires");
    let p = m.step(&send(2, 29, 4), &[wrote(29, 29)]).expect("WM-2");
    assert_eq!(p.observation.reply, Reply::Sent(Some(SendResult::Ok)), "WM-2");
}

/// DIFF-INET-4: the earlier timer stays armed while the force sender is the
/// busy caller, so it may time that caller out before its own timer's due.
#[test]
fn diff_inet_4_the_earlier_timer_times_out_the_new_busy_caller() {
    let mut m = force_onto_busy(Variant::OtpInet);
    let p = m
        .step(&Op::AdvanceTime { by: Millis(3) }, &[Choice::Ran(Activity::SendTimeout)])
        .expect("DIFF-INET-4: timer A fires first, at 5 ms");
    assert_eq!(p.observation.completed, vec![(SenderId(2), TIMEOUT)], "TO-1: it answers the current busy caller");
    let p = m
        .step(&Op::AdvanceTime { by: Millis(2) }, &[Choice::Ran(Activity::SendTimeout)])
        .expect("DIFF-INET-4: timer B still fires, at 7 ms");
    assert!(p.observation.completed.is_empty(), "DIFF-INET-4: into sender 2's mailbox");
    // 165 + 1 >= 100: sender 2 is the busy caller again, but its receive
    // takes the stale timeout at once; its own reply will land in its
    // mailbox.
    let p = m.step(&send(2, 1, 4), &[]).expect("WM-3");
    assert_eq!(p.observation.reply, Reply::Sent(Some(TIMEOUT)), "DIFF-INET-4: the stale timeout");
    assert_eq!(p.observation.senders[2], SenderStatus::Idle, "DIFF-INET-4: sender 2 returned");
    let p = m.step(&Op::Quiesce, &[Choice::Ran(Activity::Output), wrote(166, 166)]).expect("WM-4");
    assert!(
        p.observation.completed.is_empty(),
        "DIFF-INET-4: the ok goes to sender 2's mailbox, not to a waiting send"
    );
    let p = m.step(&send(2, 1, 5), &[wrote(1, 1)]).expect("WM-2");
    assert_eq!(p.observation.reply, Reply::Sent(Some(SendResult::Ok)), "DIFF-INET-4: the previous send's ok");
}

/// DIFF-INET-4 on the real clock: only the blocked caller's own timer must
/// have fired once the clock passed it (its caller waits for it); an
/// earlier timer left armed by a displaced caller may still be late on a
/// starved node (regression beam-inet-42), and may fire at any later step.
#[test]
fn diff_inet_4_a_leftover_timer_may_be_late_on_the_real_clock() {
    let mut m = force_onto_busy_on(Variant::OtpInet, true);
    let p = m.step(&Op::AdvanceTime { by: Millis(3) }, &[]).expect("timer A passed, but it is not the caller's own");
    assert_eq!(p.observation.senders[2], SenderStatus::Waiting, "DIFF-INET-4: sender 2 still waits");
    assert_eq!(m.take_unquiet(), None, "DIFF-INET-4: the late timer A need not have fired yet");
    let mut late = m.clone();
    let p = late
        .step(&Op::Quiesce, &[Choice::Ran(Activity::SendTimeout)])
        .expect("DIFF-INET-4: the late timer A fires at a later step");
    assert_eq!(p.observation.completed, vec![(SenderId(2), TIMEOUT)], "TO-1: it answers the current busy caller");
    let mut quiet = m.clone();
    quiet.step(&Op::AdvanceTime { by: Millis(2) }, &[]).expect("the step itself applies");
    assert!(
        quiet.take_unquiet().is_some(),
        "TO-1: sender 2's own timer (7 ms) must have fired once the clock passed it"
    );
    let p = m
        .step(&Op::AdvanceTime { by: Millis(2) }, &[Choice::Ran(Activity::SendTimeout)])
        .expect("TO-1: the earliest timer fires");
    assert_eq!(p.observation.completed, vec![(SenderId(2), TIMEOUT)], "TO-1: sender 2 times out");
}

/// SCHED-1 for a system that does not settle (the native runtime): what
/// ran between steps is reported in the next quiescence, never before an
/// op — even on the real clock with a timer armed.
#[test]
fn sched_1_no_activity_before_the_op_without_settling() {
    let mut m = leftover_timer(Variant::OtpInet);
    assert!(
        m.step(&send(0, 4, 9), &[Choice::Ran(Activity::SendTimeout), wrote(4, 4)]).is_err(),
        "SCHED-1: a timer reported before a send of a system that does not settle"
    );
}

/// TO-1/WM-6 on the reference driver, on the virtual clock: it keeps one
/// send timer, which the force send that took the busy branch re-armed for
/// itself (due at 7 ms), so nothing is due at 5 ms, when the inet driver's
/// earlier timer would fire (DIFF-INET-4, above).
#[test]
fn to_1_the_reference_driver_keeps_one_timer_rearmed() {
    let mut m = force_onto_busy_on(Variant::Reference, false);
    m.step(&Op::AdvanceTime { by: Millis(3) }, &[]).expect("TO-1: nothing due at 5 ms");
    assert_eq!(m.take_unquiet(), None, "TO-1: nothing was left to run at 5 ms");
    let p =
        m.step(&Op::AdvanceTime { by: Millis(2) }, &[Choice::Ran(Activity::SendTimeout)]).expect("TO-1: due at 7 ms");
    assert_eq!(m.take_unquiet(), None);
    assert_eq!(p.observation.completed, vec![(SenderId(2), TIMEOUT)], "TO-1: the busy caller times out");
}

/// DIFF-INET-4: a stale reply waits in the mailbox of a sender whose next
/// send is suspended (SND-1): `port_command` has not returned, so no
/// receive has taken anything yet.
#[test]
fn diff_inet_4_a_suspended_send_takes_no_stale_reply() {
    let mut m = leftover_timer(Variant::OtpInet);
    m.step(&Op::AdvanceTime { by: Millis(5) }, &[Choice::Ran(Activity::SendTimeout)])
        .expect("DIFF-INET-4: timer B fires");
    m.step(&send(0, 300, 6), &[wrote(300, 150)]).expect("WM-2: 150 queued");
    m.step(&send(1, 10, 7), &[]).expect("WM-3: busy again");
    let p = m.step(&send(2, 5, 8), &[]).expect("SND-1");
    assert_eq!(p.observation.reply, Reply::Sent(None), "SND-1: suspended, no reply yet");
    assert_eq!(p.observation.senders[2], SenderStatus::Suspended, "SND-1");
}

/// From OTP 26 (prim_inet:send/3, OTP-18520) a send takes only the reply
/// carrying its own monitor reference: the stale {error,timeout} a
/// leftover timer left in sender 2's mailbox is never read, and its next
/// send returns its own ok. Found on OTP 27 (portcheck run --sut beam
/// --seed 1001, case 20: a send after a stale timeout returned its own
/// {error,enotconn}).
#[test]
fn from_otp_26_a_stale_reply_stays_unread() {
    let mut m = leftover_timer(Variant::OtpInet).with_otp(reference::variant::OtpRelease(27));
    m.step(&Op::AdvanceTime { by: Millis(5) }, &[Choice::Ran(Activity::SendTimeout)])
        .expect("DIFF-INET-4: timer B fires with the port not busy");
    let p = m.step(&send(2, 29, 4), &[wrote(29, 29)]).expect("WM-2: a direct write");
    assert_eq!(p.observation.reply, Reply::Sent(Some(SendResult::Ok)), "its own reply, not the stale timeout");
}

/// TO-3 on the real clock: the adapter does not report writes, so a write
/// from the queue just before send_timeout_close fired, which the queue it
/// left never showed, is seen only in what the peer reads afterwards (at
/// most the discarded queue). On the virtual clock the cut is exact.
/// Seen on OTP 25.2.3 (suite/regressions/beam-inet-7-otp25.json).
#[test]
fn to_3_a_write_just_before_the_close_timer_shows_in_the_peers_reads() {
    use reference::units::Bytes;
    let closes = |real: bool| {
        let mut m = crate::support::model(vec![
            Opt::HighWatermark(100),
            Opt::LowWatermark(50),
            Opt::SendTimeout(reference::options::Timeout::After(reference::units::Millis(5))),
            Opt::SendTimeoutClose(true),
        ])
        .into_variant(Variant::OtpInet)
        .with_real_clock(real);
        m.step(&send(0, 300, 1), &[wrote(300, 100)]).expect("WM-2: 200 queued");
        m.step(&send(1, 10, 2), &[]).expect("WM-3: busy");
        m.step(&Op::AdvanceTime { by: reference::units::Millis(10) }, &[Choice::Ran(Activity::SendTimeout)])
            .expect("TO-3: the socket closes, the queue is discarded");
        m
    };
    let got = |n: usize| [Choice::PeerGot { got: Bytes(n) }];
    let mut m = closes(true);
    let p =
        m.step(&Op::PeerRead { max: Bytes(1000) }, &got(150)).expect("TO-3: 50 of the discarded 210 had been written");
    assert!(
        matches!(p.observation.reply, Reply::Peer(reference::observation::PeerRead::Data(ref d)) if d.len() == 150)
    );
    assert!(m.step(&Op::PeerRead { max: Bytes(1000) }, &got(200)).is_err(), "ST-1: no more than the discarded queue");
    let mut m = closes(false);
    let e = m.step(&Op::PeerRead { max: Bytes(1000) }, &got(150)).expect_err("ST-1 on the virtual clock");
    assert_eq!(e.rule, reference::rules::ids::ST_1);
}

/// DIFF-INET-4: a leftover timer that fires while the last busy caller
/// waits for another reply (its send scheduled behind a held port lock,
/// MQ-1) is taken by that wait at once: the send returns {error,timeout}.
#[test]
fn diff_inet_4_a_leftover_timer_answers_the_last_busy_caller_if_it_waits() {
    let mut m = leftover_timer(Variant::OtpInet);
    m.step(&Op::ContendLock, &[]).expect("MQ-1: another scheduler holds the lock");
    let p = m.step(&send(2, 5, 4), &[]).expect("MQ-1: scheduled");
    assert_eq!(p.observation.senders[2], SenderStatus::Waiting, "MQ-1: sender 2 waits for its task");
    let p = m
        .step(&Op::AdvanceTime { by: Millis(5) }, &[Choice::Ran(Activity::SendTimeout)])
        .expect("DIFF-INET-4: timer B fires with the port not busy");
    assert_eq!(p.observation.completed, vec![(SenderId(2), TIMEOUT)], "DIFF-INET-4: the waiting caller takes it");
}

/// An `{active,once}` port with send_timeout_close, made busy by sender 1
/// (WM-3) with sender 2 suspended on it (SND-1); then its send timer fires.
fn timeout_close_while_active(release: u16, after: &[Choice]) -> (Model, reference::model::Prediction) {
    use reference::options::ActiveSetting;
    let setup = Setup {
        options: vec![
            Opt::HighWatermark(100),
            Opt::LowWatermark(50),
            Opt::SendTimeout(Timeout::After(Millis(5))),
            Opt::SendTimeoutClose(true),
        ],
        senders: 3,
        ..Setup::default()
    };
    let mut m = Model::new(&setup)
        .expect("setup")
        .into_variant(Variant::OtpInet)
        .with_otp(reference::variant::OtpRelease(release));
    m.step(&Op::SetOpts { opts: vec![Opt::Active(ActiveSetting::Once)] }, &[]).expect("RX-2");
    m.step(&send(0, 300, 1), &[wrote(300, 150)]).expect("WM-2: 150 queued");
    m.step(&send(1, 10, 2), &[]).expect("WM-3: sender 1 blocked");
    let p = m.step(&send(2, 5, 3), &[]).expect("SND-1: sender 2 suspended");
    assert_eq!(p.observation.senders[2], SenderStatus::Suspended);
    let mut choices = vec![Choice::Ran(Activity::SendTimeout), Choice::Ran(Activity::Resume(SenderId(2)))];
    choices.extend_from_slice(after);
    let p = m.step(&Op::AdvanceTime { by: Millis(5) }, &choices).expect("TO-1/TO-3: the timer fires");
    (m, p)
}

/// DIFF-INET-11: on OTP 29 the send timer's close exits an active port:
/// the owner gets `tcp_closed`, the blocked caller `{error,timeout}`, the
/// resumed sender's retry finds the port gone (`{error,einval}`,
/// DIFF-INET-10), the port leaves the table and a later send returns
/// `{error,closed}` (probe_timeout_close_active.erl on 29.1.2).
#[test]
fn diff_inet_11_a_send_timeout_close_exits_an_active_port_on_otp_29() {
    // The caller's reply is on its way (DIFF-INET-6); the retry raised.
    let (mut m, p) = timeout_close_while_active(29, &[Choice::Ran(Activity::Returned(SenderId(1)))]);
    let mut done = p.observation.completed.clone();
    done.sort_by_key(|d| d.0);
    assert_eq!(done, vec![(SenderId(1), TIMEOUT), (SenderId(2), SendResult::Error(Posix::Einval))]);
    assert_eq!(p.observation.ports, 1, "the port left the table");
    let p = m.step(&Op::Mailbox, &[]).expect("the owner's mailbox");
    assert_eq!(p.observation.reply, Reply::Mailbox(vec![reference::observation::OwnerMsg::TcpClosed]));
    let p = m.step(&send(0, 1, 4), &[]).expect("SND-6");
    assert_eq!(p.observation.reply, Reply::Sent(Some(SendResult::Error(Posix::Closed))));
}

/// TO-3 on OTP 27 (and 25): the same timer closes the socket but the port
/// stays, active or not: no message, the retry and a later send
/// `{error,enotconn}`.
#[test]
fn to_3_an_active_port_stays_after_a_send_timeout_close_on_otp_27() {
    // Both replies are the driver's, on their way (DIFF-INET-6).
    let returned = [Choice::Ran(Activity::Returned(SenderId(1))), Choice::Ran(Activity::Returned(SenderId(2)))];
    let (mut m, p) = timeout_close_while_active(27, &returned);
    let mut done = p.observation.completed.clone();
    done.sort_by_key(|d| d.0);
    assert_eq!(done, vec![(SenderId(1), TIMEOUT), (SenderId(2), SendResult::Error(Posix::Enotconn))]);
    assert_eq!(p.observation.ports, 2, "the port stays in the table");
    let p = m.step(&Op::Mailbox, &[]).expect("the owner's mailbox");
    assert_eq!(p.observation.reply, Reply::Mailbox(vec![]));
    let p = m.step(&send(0, 1, 4), &[]).expect("TO-3");
    assert_eq!(p.observation.reply, Reply::Sent(Some(SendResult::Error(Posix::Enotconn))));
}

/// DIFF-INET-4 on the virtual clock, where timers fire exactly when due:
/// timer A (5 ms), left armed when sender 2's force send took the busy
/// branch, is due at 5 ms although sender 2's own timer is due at 7 ms;
/// quiet without it is a SCHED-1 violation, and it times sender 2 out.
#[test]
fn diff_inet_4_the_earlier_timer_is_due_on_the_virtual_clock() {
    let mut quiet = force_onto_busy_on(Variant::OtpInet, false);
    quiet.step(&Op::AdvanceTime { by: Millis(3) }, &[]).expect("the step itself applies");
    assert!(quiet.take_unquiet().is_some(), "SCHED-1: timer A was due at 5 ms");
    let mut m = force_onto_busy_on(Variant::OtpInet, false);
    let p = m
        .step(&Op::AdvanceTime { by: Millis(3) }, &[Choice::Ran(Activity::SendTimeout)])
        .expect("DIFF-INET-4: timer A fires at 5 ms");
    assert_eq!(p.observation.completed, vec![(SenderId(2), TIMEOUT)], "TO-1: it answers the current busy caller");
}
