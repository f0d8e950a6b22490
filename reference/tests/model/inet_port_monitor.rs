//! Variant otp-inet on OTP 27 and newer, DIFF-INET-8: a send waiting for
//! its reply ends with `{error,closed}` once the port is gone, since
//! `prim_inet:send` monitors the port (OTP 26, OTP-18520); on OTP 25 it
//! waits on (5 s before it looks at the port). Measured on OTP 27.3.4.1
//! and 29.1.2: suite/regressions/beam-inet-2-otp27.json. And DIFF-INET-9:
//! the driver answers only the latest send that reached it.

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
        &[
            ran(Activity::Output),
            wrote(1280, 1280),
            ran(Activity::Returned(SenderId(0))),
            ran(Activity::PendingClose),
            ran(Activity::Returned(SenderId(1))),
        ],
    );
    assert_eq!(
        p.observation.completed,
        vec![(SenderId(0), SendResult::Ok), (SenderId(1), SendResult::Error(Posix::Closed))],
        "DIFF-INET-6, then DIFF-INET-8"
    );
    assert_eq!(p.observation.senders, vec![SenderStatus::Idle, SenderStatus::Idle]);
}

/// The close may go through before S0 has taken its ok: the ok was sent
/// before the port went, so S0 still gets it, not {error,closed}; S1's
/// 'DOWN' may be taken before it.
#[test]
fn diff_inet_8_a_reply_sent_before_the_port_went_is_taken() {
    let mut m = displaced_caller_on_a_closing_port(29);
    let p = flushed(
        &mut m,
        &[
            ran(Activity::Output),
            wrote(1280, 1280),
            ran(Activity::PendingClose),
            ran(Activity::Returned(SenderId(1))),
            ran(Activity::Returned(SenderId(0))),
        ],
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

/// A port made busy by S1's send (WM-3, S1 the blocked caller), a write
/// that leaves the queue between the marks (still busy), then S0's forced
/// send that does not cross high_watermark: answered ok at once.
fn force_answered_while_blocked(release: u16) -> Model {
    let options = vec![Opt::HighWatermark(200), Opt::LowWatermark(50)];
    let mut m = Model::new(&Setup { options, ..Setup::default() })
        .expect("setup")
        .into_variant(Variant::OtpInet)
        .with_otp(OtpRelease(release));
    m.step(&send(0, 300, 1), &[wrote(300, 150)]).expect("WM-2: 150 queued");
    m.step(&send(1, 60, 2), &[]).expect("WM-3: 210 >= 200, S1 waits");
    m.step(&Op::Quiesce, &[ran(Activity::Output), wrote(210, 100)]).expect("WM-4: 110 left, above low: busy");
    let p = m.step(&force(0, 10, 3), &[]).expect("SND-3: a force send onto the busy port");
    assert_eq!(p.observation.reply, Reply::Sent(Some(SendResult::Ok)), "WM-3: 120 < 200, answered at once");
    m
}

/// DIFF-INET-9 (OTP 27 and newer): busy clears, the reply goes to S0's
/// already answered send and is dropped; S1 waits on.
#[test]
fn diff_inet_9_a_send_answered_at_once_takes_the_blocked_callers_reply() {
    let m = force_answered_while_blocked(29);
    let mut replied = m.clone();
    let with_reply = [ran(Activity::Output), wrote(120, 120), ran(Activity::Returned(SenderId(1)))];
    assert!(replied.step(&Op::Quiesce, &with_reply).is_err(), "DIFF-INET-9: no reply is on its way to S1");
    let mut m = m;
    let p = m.step(&Op::Quiesce, &[ran(Activity::Output), wrote(120, 120)]).expect("WM-4: flushed");
    assert!(p.observation.completed.is_empty(), "no reply to anyone: {:?}", p.observation.completed);
    assert_eq!(p.observation.senders[1], SenderStatus::Waiting, "DIFF-INET-9: S1 waits on");
    // Until the port goes (DIFF-INET-8): its 'DOWN' wakes it.
    m.step(&Op::Close, &[]).expect("close, nothing queued");
    let p = m.step(&Op::Quiesce, &[ran(Activity::Returned(SenderId(1)))]).expect("DIFF-INET-8");
    assert_eq!(p.observation.completed, vec![(SenderId(1), SendResult::Error(Posix::Closed))], "DIFF-INET-8");
}

/// OTP 25 keeps the busy caller's slot: S1 gets its ok when busy clears.
#[test]
fn wm_4_on_otp_25_the_blocked_caller_keeps_its_reply() {
    let mut m = force_answered_while_blocked(25);
    let p = m.step(&Op::Quiesce, &[ran(Activity::Output), wrote(120, 120)]).expect("WM-4: flushed");
    assert_eq!(p.observation.completed, vec![(SenderId(1), SendResult::Ok)], "WM-4, DIFF-INET-2");
}

fn three_senders() -> Setup {
    Setup { options: vec![Opt::HighWatermark(100), Opt::LowWatermark(50)], senders: 3, ..Setup::default() }
}

/// 150 bytes queued, gen_tcp:close waiting for them (DIFF-INET-3), sender 0
/// blocked on the busy port (WM-3), senders 1 and 2 suspended (SND-1).
fn closing_with_a_caller_and_two_suspended(m: Model) -> Model {
    let mut m = m.into_variant(Variant::OtpInet);
    m.step(&send(0, 300, 1), &[wrote(300, 150)]).expect("WM-2: 150 queued");
    m.step(&Op::Close, &[]).expect("DIFF-INET-3: the close waits for the queue");
    m.step(&send(0, 10, 2), &[]).expect("WM-3: busy, sender 0 the caller");
    m.step(&send(1, 200, 3), &[]).expect("SND-1: sender 1 suspends");
    m.step(&send(2, 30, 4), &[]).expect("SND-1: sender 2 suspends");
    m
}

/// DIFF-INET-8 with output queued again after the closer's `{empty_out_q}`
/// (DIFF-INET-3): the port the closer closes still has bytes to flush and
/// keeps its table slot, but a sender blocked on it gets {error,closed} at
/// the close (its port monitor fires), and its bytes are still delivered.
/// Found on OTP 27 and 29 (portcheck run --sut beam --seed 1002, case 969:
/// S0 {error,closed} in the step of the close, and the peer then read S0's
/// 21 bytes).
#[test]
fn diff_inet_8_a_caller_blocked_on_a_port_closed_with_output_queued_gets_closed_at_the_close() {
    let mut m =
        closing_with_a_caller_and_two_suspended(Model::new(&three_senders()).expect("setup").with_otp(OtpRelease(27)));
    let p = m
        .step(
            &Op::Quiesce,
            &[
                ran(Activity::Output),
                wrote(160, 160),
                ran(Activity::Returned(SenderId(0))),
                ran(Activity::Resume(SenderId(2))),
                wrote(30, 10),
                ran(Activity::Resume(SenderId(1))),
                ran(Activity::PendingClose),
                ran(Activity::Returned(SenderId(1))),
                ran(Activity::Returned(SenderId(2))),
            ],
        )
        .expect("WM-4; DIFF-INET-1: S2 retries first (WM-2, 20 queued), S1 then makes the port busy (WM-3); the close");
    assert_eq!(
        p.observation.completed,
        vec![
            (SenderId(0), SendResult::Ok),
            (SenderId(1), SendResult::Error(Posix::Closed)),
            (SenderId(2), SendResult::Ok)
        ],
        "DIFF-INET-8 at the close"
    );
    assert_eq!(p.observation.queue, reference::units::Bytes(220), "CL-1: the bytes stay queued, to be flushed");
    assert_eq!(p.observation.ports, 2, "DIFF-INET-3: the slot is held until the flush ends");
}

/// The same close on OTP 25: the blocked caller is not answered at the
/// close; on a real clock its INET_CLOSE_TIMEOUT may run out at any later
/// step (prim_inet:send_recv_reply/2), and it returns {error,closed}
/// while the port still flushes (seen on OTP 25.2.3: portcheck run --sut
/// beam --seed 1002, case 969). On a virtual clock nothing answers it.
#[test]
fn diff_inet_3_on_otp_25_a_caller_blocked_on_a_closed_port_gets_closed_after_its_close_timeout() {
    let closed_with_caller = |real: bool| {
        let mut m =
            closing_with_a_caller_and_two_suspended(Model::new(&three_senders()).expect("setup").with_real_clock(real));
        let p = m
            .step(
                &Op::Quiesce,
                &[
                    ran(Activity::Output),
                    wrote(160, 160),
                    ran(Activity::Resume(SenderId(2))),
                    wrote(30, 10),
                    ran(Activity::Resume(SenderId(1))),
                    ran(Activity::PendingClose),
                ],
            )
            .expect("WM-4; DIFF-INET-1: S2 retries first, S1 then makes the port busy (WM-3); the close");
        assert_eq!(
            p.observation.completed,
            vec![(SenderId(2), SendResult::Ok), (SenderId(0), SendResult::Ok)],
            "DIFF-INET-2: the caller's ok after the retries; DIFF-INET-3: sender 1 is not answered at the close"
        );
        assert_eq!(p.observation.senders[1], SenderStatus::Waiting);
        m
    };
    let mut m = closed_with_caller(true);
    let p = m.step(&Op::Quiesce, &[ran(Activity::CloseFallback(SenderId(1)))]).expect("DIFF-INET-3: the fallback");
    assert_eq!(p.observation.completed, vec![(SenderId(1), SendResult::Error(Posix::Closed))], "DIFF-INET-3");
    assert_eq!(p.observation.ports, 2, "DIFF-INET-3: the port still flushes");
    let mut m = closed_with_caller(false);
    assert!(
        m.step(&Op::Quiesce, &[ran(Activity::CloseFallback(SenderId(1)))]).is_err(),
        "DIFF-INET-3: no fallback without a real clock"
    );
}

/// Two sends waiting when the port closes on OTP 27 and newer (swarm
/// seed 1607 on OTP 27): S1 blocked on a busy port, S0's forced send took
/// its slot (WM-6), S2's forced empty send took the reply (DIFF-INET-9),
/// the queue emptied; at the close each of S0 and S1 returns
/// {error,closed} on its own 'DOWN', in either order.
#[test]
fn diff_inet_8_waiting_senders_return_closed_in_either_order() {
    let waiting = || {
        let options = vec![Opt::HighWatermark(64), Opt::LowWatermark(16)];
        let mut m = Model::new(&Setup { senders: 3, options, ..Setup::default() })
            .expect("setup")
            .into_variant(Variant::OtpInet)
            .with_otp(OtpRelease(27))
            .with_real_clock(true);
        m.step(&send(0, 12000, 1), &[wrote(12000, 6912)]).expect("WM-2: 5088 queued");
        m.step(&send(1, 100, 2), &[]).expect("WM-3: busy, S1 waits");
        m.step(&force(0, 100, 3), &[]).expect("WM-6: S0 takes the caller slot");
        m.step(&force(2, 0, 4), &[]).expect("DIFF-INET-9: S2 takes the reply");
        let p = m
            .step(&Op::Quiesce, &[ran(Activity::Output), wrote(5288, 5288), ran(Activity::Returned(SenderId(2)))])
            .expect("the queue empties, S2 answered ok");
        assert_eq!(p.observation.completed, vec![(SenderId(2), SendResult::Ok)]);
        assert_eq!(&p.observation.senders[..2], &[SenderStatus::Waiting, SenderStatus::Waiting]);
        m
    };
    let closed = SendResult::Error(Posix::Closed);
    for order in [[0u8, 1], [1, 0]] {
        let mut m = waiting();
        let choices: Vec<_> = order.iter().map(|&s| ran(Activity::Returned(SenderId(s)))).collect();
        m.step(&Op::Close, &[]).expect("the close goes through: nothing queued");
        let p = m.step(&Op::Quiesce, &choices).expect("DIFF-INET-8");
        let want: Vec<_> = order.iter().map(|&s| (SenderId(s), closed)).collect();
        assert_eq!(p.observation.completed, want, "each on its own 'DOWN'");
    }
}
