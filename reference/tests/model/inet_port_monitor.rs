//! Variant otp-inet on OTP 27 and newer, DIFF-INET-8: a send waiting for
//! its reply ends with `{error,closed}` once the port is gone, since
//! `prim_inet:send` monitors the port (OTP 26, OTP-18520); on OTP 25 it
//! waits on (5 s before it looks at the port). Measured on OTP 27.3.4.1
//! and 29.1.2: suite/regressions/beam-inet-2-otp27.json.

use crate::support::{force, ran, send, wrote};
use reference::choice::Activity;
use reference::model::{Model, Prediction};
use reference::observation::{Posix, Reply, SendResult, SenderStatus};
use reference::op::{Op, Setup};
use reference::options::Opt;
use reference::units::SenderId;
use reference::variant::{OtpRelease, Variant};

/// high_watermark 0, 1280 bytes queued, gen_tcp:close pending on them
/// (DIFF-INET-3); S1's send makes the port busy and waits (WM-3); S0's
/// forced send takes the blocked-caller slot (WM-6), S1 is displaced.
fn displaced_caller_on_a_closing_port(release: u16) -> Model {
    let options = vec![Opt::HighWatermark(0)];
    let mut m = Model::new(&Setup { options, ..Setup::default() })
        .expect("setup")
        .into_variant(Variant::OtpInet)
        .with_otp(OtpRelease(release));
    m.step(&send(0, 8192, 1), &[wrote(8192, 6912)]).expect("WM-2: 1280 queued");
    assert_eq!(m.step(&Op::Close, &[]).expect("close").observation.reply, Reply::Closed(Ok(())), "DIFF-INET-3");
    m.step(&send(1, 0, 2), &[]).expect("WM-3: busy, S1 waits");
    m.step(&force(0, 0, 3), &[]).expect("WM-6: S0 takes the caller slot");
    m
}

fn flushed(m: &mut Model, choices: &[reference::choice::Choice]) -> Prediction {
    m.step(&Op::Quiesce, choices).expect("the queue flushes, the close goes through")
}

/// OTP 27: S0's ok (DIFF-INET-6), then the close goes through and the
/// displaced S1 gets {error,closed}.
#[test]
fn diff_inet_8_a_displaced_caller_gets_closed_when_the_port_goes() {
    let mut m = displaced_caller_on_a_closing_port(27);
    let p = flushed(
        &mut m,
        &[ran(Activity::Output), wrote(1280, 1280), ran(Activity::Returned(SenderId(0))), ran(Activity::PendingClose)],
    );
    assert_eq!(
        p.observation.completed,
        vec![(SenderId(0), SendResult::Ok), (SenderId(1), SendResult::Error(Posix::Closed))],
        "DIFF-INET-6, then DIFF-INET-8"
    );
    assert_eq!(p.observation.senders, vec![SenderStatus::Idle, SenderStatus::Idle]);
}

/// The close may go through before S0 has taken its ok: the ok was sent
/// before the port went, so S0 still gets it, not {error,closed}.
#[test]
fn diff_inet_8_a_reply_sent_before_the_port_went_is_taken() {
    let mut m = displaced_caller_on_a_closing_port(29);
    let p = flushed(
        &mut m,
        &[ran(Activity::Output), wrote(1280, 1280), ran(Activity::PendingClose), ran(Activity::Returned(SenderId(0)))],
    );
    assert_eq!(
        p.observation.completed,
        vec![(SenderId(1), SendResult::Error(Posix::Closed)), (SenderId(0), SendResult::Ok)],
        "DIFF-INET-8, then DIFF-INET-6"
    );
}

/// OTP 25: the displaced caller waits on (WM-6, DIFF-INET-3).
#[test]
fn wm_6_on_otp_25_the_displaced_caller_waits_on() {
    let mut m = displaced_caller_on_a_closing_port(25);
    let p = m
        .step(&Op::Quiesce, &[ran(Activity::Output), wrote(1280, 1280), ran(Activity::PendingClose)])
        .expect("flushed and closed");
    assert!(!p.observation.completed.iter().any(|c| c.0 == SenderId(1)), "{:?}", p.observation.completed);
    assert_eq!(p.observation.senders[1], SenderStatus::Waiting, "WM-6: no reply, no monitor yet");
}
