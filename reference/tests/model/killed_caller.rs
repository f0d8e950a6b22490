//! The caller blocked on a busy port's reply, killed (SND-8), as measured
//! on OTP 25.2.3, 27.3.4.1 and 29.1.2 (harness/beam/probes/
//! probe_kill_suspended.erl, `kill caller`): its bytes reach the peer, the
//! suspended senders send ok, and nobody gets its reply.

use crate::support::{force, send, wrote};
use reference::choice::{Activity, Choice};
use reference::model::Model;
use reference::observation::{SendResult, SenderStatus};
use reference::op::{Op, Setup};
use reference::options::{Opt, Timeout};
use reference::rules::ids;
use reference::units::{Bytes, Millis, SenderId};
use reference::variant::{OtpRelease, Variant};

fn setup(extra: Vec<Opt>) -> Setup {
    let mut options = vec![Opt::HighWatermark(64), Opt::LowWatermark(16)];
    options.extend(extra);
    Setup { senders: 3, options, ..Setup::default() }
}

/// S0's 1000 bytes leave 100 queued; its second send makes the port busy
/// (S0 the blocked caller, WM-3); S1 suspends (SND-1).
fn busy_with_caller_and_suspended(m: &mut Model) {
    m.step(&send(0, 1000, 1), &[wrote(1000, 900)]).expect("WM-2");
    m.step(&send(0, 10, 2), &[]).expect("WM-3: S0 blocked");
    m.step(&send(1, 10, 3), &[]).expect("SND-1: S1 suspended");
}

const KILL_S0: Op = Op::KillCaller { sender: SenderId(0) };

/// SND-8: the killed caller's 10 bytes stay queued and the port busy; a
/// fresh, idle process takes id 0. When the queue drains to the low
/// watermark (WM-4) busy clears, S1 resumes and sends, and only S1's
/// send completes: the reply busy's end sends reaches nobody.
#[test]
fn a_killed_blocked_caller_leaves_its_bytes_queued_and_its_reply_to_nobody() {
    let mut m = Model::new(&setup(vec![])).expect("setup");
    busy_with_caller_and_suspended(&mut m);
    let p = m.step(&KILL_S0, &[]).expect("SND-8");
    assert_eq!(p.observation.senders, vec![SenderStatus::Idle, SenderStatus::Suspended, SenderStatus::Idle]);
    assert_eq!(p.observation.queue, Bytes(110), "the caller's bytes stay queued");
    assert!(p.observation.completed.is_empty(), "the killed caller returns nothing");
    assert_eq!(p.why.senders[0], ids::SND_8);
    assert!(!m.enabled(&KILL_S0), "the fresh process is idle: no caller to kill");
    let out =
        [Choice::Ran(Activity::Output), wrote(110, 110), Choice::Ran(Activity::Resume(SenderId(1))), wrote(10, 10)];
    let p = m.step(&Op::Quiesce, &out).expect("WM-4, SND-4");
    assert_eq!(p.observation.completed, vec![(SenderId(1), SendResult::Ok)], "no reply for the dead caller");
    assert_eq!(p.observation.queue, Bytes::ZERO);
}

/// SND-8 with TO-1: the dead caller's send timer still fires and ends
/// busy (the suspended sender resumes), its `{error,timeout}` to nobody.
#[test]
fn a_killed_callers_send_timer_still_ends_busy() {
    let mut m = Model::new(&setup(vec![Opt::SendTimeout(Timeout::After(Millis(50)))])).expect("setup");
    busy_with_caller_and_suspended(&mut m);
    m.step(&KILL_S0, &[]).expect("SND-8");
    let fired = [Choice::Ran(Activity::SendTimeout), Choice::Ran(Activity::Resume(SenderId(1)))];
    let p = m.step(&Op::AdvanceTime { by: Millis(50) }, &fired).expect("TO-1 at the dead caller's deadline");
    assert!(p.observation.completed.is_empty(), "S1's retry is queued behind 110 bytes, busy again");
    assert_eq!(p.observation.senders[0], SenderStatus::Idle, "the fresh process got no timeout");
}

/// Only the driver's blocked caller is killed so: not a suspended or an
/// idle sender, not a caller a forced send displaced from the slot
/// (WM-6: it waits for nothing the driver holds), not on the socket
/// backend, where no caller blocks on a busy port.
#[test]
fn only_the_blocked_caller_in_the_drivers_slot_may_be_killed_so() {
    let mut m = Model::new(&setup(vec![])).expect("setup");
    busy_with_caller_and_suspended(&mut m);
    assert!(m.enabled(&KILL_S0));
    assert!(!m.enabled(&Op::KillCaller { sender: SenderId(1) }), "suspended: SND-7's kill");
    assert!(!m.enabled(&Op::KillCaller { sender: SenderId(2) }), "idle");
    m.step(&force(2, 10, 4), &[]).expect("SND-3, WM-6: S2 takes the slot");
    assert!(!m.enabled(&KILL_S0), "displaced from the slot");
    assert!(m.enabled(&Op::KillCaller { sender: SenderId(2) }));
    let socket = Model::new(&setup(vec![])).expect("setup").into_variant(Variant::OtpSocket);
    assert!(!socket.enabled(&KILL_S0));
}

/// On OTP 27 and newer busy's end sends the caller's reply, which its
/// process takes later (DIFF-INET-6): a killed caller has none on its way,
/// so no `Returned` of it can explain a completion.
#[test]
fn from_otp_27_a_killed_caller_has_no_reply_on_its_way() {
    let mut m = Model::new(&setup(vec![])).expect("setup").into_variant(Variant::OtpInet).with_otp(OtpRelease(27));
    busy_with_caller_and_suspended(&mut m);
    m.step(&KILL_S0, &[]).expect("SND-8");
    let drained = [
        Choice::Ran(Activity::Output),
        wrote(110, 110),
        Choice::Ran(Activity::Resume(SenderId(1))),
        wrote(10, 10),
        Choice::Ran(Activity::Returned(SenderId(1))),
    ];
    let returned = [&drained[..], &[Choice::Ran(Activity::Returned(SenderId(0)))][..]].concat();
    assert!(m.clone().step(&Op::Quiesce, &returned).is_err(), "nothing on its way to the dead caller");
    let p = m.step(&Op::Quiesce, &drained).expect("WM-4, SND-4, S1 takes its retry's reply");
    assert_eq!(p.observation.completed, vec![(SenderId(1), SendResult::Ok)]);
}
