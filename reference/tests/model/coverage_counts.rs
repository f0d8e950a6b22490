//! The per-rule counts the report's table prints: a rule counts when it
//! decides something, and its crossing only when the interesting
//! transition is reached (busy set or cleared, a timer cancelled, a sender
//! resumed), not merely approached.

use crate::support::{force, model, send, wrote};
use reference::choice::Choice;
use reference::model::Model;
use reference::observation::SenderStatus;
use reference::op::{Op, Setup};
use reference::options::Opt;
use reference::rules::ids;
use reference::units::SenderId;
use reference::variant::Variant;

/// The report's per-rule counts: a rule that decided something once
/// counts 1, a crossing reached once counts 1.
#[test]
fn rules_are_counted_as_they_decide_and_cross() {
    let mut m = model(vec![Opt::HighWatermark(4000), Opt::LowWatermark(1000)]);
    assert_eq!(m.touched().get(&ids::WM_1), Some(&1), "WM-1 decides the start");
    assert!(m.crossings().is_empty());
    m.step(&send(0, 5000, 1), &[wrote(5000, 0)]).unwrap();
    assert_eq!(m.touched().get(&ids::WM_2), Some(&1), "WM-2 decided the queue once");
    m.step(&send(0, 1, 2), &[]).unwrap();
    assert_eq!(m.crossings().get(&ids::WM_3), Some(&1), "WM-3: busy set once");
    // WM-3 decided the busy state and crossed into it: counted twice.
    assert_eq!(m.touched().get(&ids::WM_3), Some(&2));
    // SND-5 (the caller waits) is a crossing and nothing else.
    assert_eq!(m.crossings().get(&ids::SND_5), Some(&1));
    assert_eq!(m.touched().get(&ids::SND_5), Some(&1));
    let mut m = model(vec![]);
    m.step(&Op::SetOpts { opts: vec![Opt::HighMsgqWatermark(100)] }, &[]).unwrap();
    assert_eq!(m.crossings().get(&ids::OPT_4), Some(&1), "OPT-4: a msgq watermark set");
    m.step(&Op::SetOpts { opts: vec![Opt::LowMsgqWatermark(50), Opt::HighWatermark(9000)] }, &[]).unwrap();
    assert_eq!(m.crossings().get(&ids::OPT_4), Some(&2));
    assert_eq!(m.crossings().get(&ids::OPT_5), Some(&1), "OPT-5: a list of two");
}

/// The crossings of OPT-1, OPT-2 and RX-3 in the report: OPT-1 is crossed
/// when a new high_watermark drags low down (v < low) or is clamped (v < 0);
/// OPT-2 when a new low_watermark pushes high up (v > high) or is clamped;
/// RX-3 by any `{active, N}`. Defaults: low 4096, high 8192 (WM-1).
#[test]
fn option_crossings_are_exactly_the_rule_edges() {
    let crossed = |before: Vec<Opt>, set: Opt, rule| {
        let mut m = model(before);
        let was = m.crossings().get(&rule).copied().unwrap_or(0);
        m.step(&Op::SetOpts { opts: vec![set] }, &[]).unwrap();
        m.crossings().get(&rule).copied().unwrap_or(0) - was
    };
    assert_eq!(crossed(vec![], Opt::HighWatermark(4095), ids::OPT_1), 1, "high below low");
    assert_eq!(crossed(vec![], Opt::HighWatermark(4096), ids::OPT_1), 0, "high == low");
    assert_eq!(crossed(vec![], Opt::HighWatermark(5000), ids::OPT_1), 0, "high above low");
    assert_eq!(crossed(vec![], Opt::HighWatermark(-5), ids::OPT_1), 1, "negative high");
    assert_eq!(crossed(vec![Opt::LowWatermark(0)], Opt::HighWatermark(0), ids::OPT_1), 0, "0 with low 0");
    assert_eq!(crossed(vec![], Opt::LowWatermark(8193), ids::OPT_2), 1, "low above high");
    assert_eq!(crossed(vec![], Opt::LowWatermark(8192), ids::OPT_2), 0, "low == high");
    assert_eq!(crossed(vec![], Opt::LowWatermark(100), ids::OPT_2), 0, "low below high");
    assert_eq!(crossed(vec![], Opt::LowWatermark(0), ids::OPT_2), 0, "low 0");
    assert_eq!(crossed(vec![], Opt::LowWatermark(-1), ids::OPT_2), 1, "negative low");
    assert_eq!(crossed(vec![], Opt::Active(reference::options::ActiveSetting::N(5)), ids::RX_3), 1, "{{active, N}}");
    assert_eq!(crossed(vec![], Opt::DelaySend(true), ids::OPT_5), 0, "a list of one");
}

/// SND-3's crossing: a force send that goes through a busy port; not a
/// force send on a port that is not busy.
#[test]
fn snd3_is_crossed_by_force_on_a_busy_port_only() {
    let mut m = model(vec![Opt::HighWatermark(4000), Opt::LowWatermark(1000)]);
    m.step(&force(1, 10, 1), &[wrote(10, 10)]).unwrap();
    assert_eq!(m.crossings().get(&ids::SND_3), None, "not busy: nothing forced through");
    m.step(&send(0, 5000, 2), &[wrote(5000, 0)]).unwrap();
    m.step(&send(0, 1, 3), &[]).unwrap();
    let p = m.step(&force(1, 10, 4), &[]).unwrap();
    assert_ne!(p.observation.senders[1], SenderStatus::Suspended, "SND-3: forced through, not suspended");
    assert!(p.observation.busy_port_events.is_empty());
    assert_eq!(m.crossings().get(&ids::SND_3), Some(&1));
}

/// TO-4's crossing: leaving busy through the low watermark (WM-4) cancels
/// an armed send timer; a timer that fires (TO-1) is not cancelled.
#[test]
fn to4_is_crossed_when_wm4_cancels_the_send_timer() {
    use reference::choice::Activity;
    use reference::options::Timeout;
    use reference::units::Millis;
    let busy = || {
        let mut m = model(vec![
            Opt::HighWatermark(4000),
            Opt::LowWatermark(1000),
            Opt::SendTimeout(Timeout::After(Millis(50))),
        ]);
        m.step(&send(0, 5000, 1), &[wrote(5000, 0)]).unwrap();
        m.step(&send(0, 10, 2), &[]).unwrap();
        m
    };
    let mut m = busy();
    m.step(&Op::Quiesce, &[Choice::Ran(Activity::Output), wrote(5010, 5010)]).unwrap();
    assert_eq!(m.crossings().get(&ids::TO_4), Some(&1), "WM-4 cancelled the timer");
    let mut m = busy();
    m.step(&Op::AdvanceTime { by: Millis(50) }, &[Choice::Ran(Activity::SendTimeout)]).unwrap();
    assert_eq!(m.crossings().get(&ids::TO_4), None, "the timer fired: nothing cancelled");
    assert_eq!(m.crossings().get(&ids::TO_1), Some(&1));
}

fn busy_with_suspended(variant: Variant, senders: u8, suspended: &[u8]) -> Model {
    let setup = Setup { options: vec![Opt::HighWatermark(4000), Opt::LowWatermark(1000)], senders, ..Setup::default() };
    let mut m = Model::new(&setup).unwrap().into_variant(variant);
    m.step(&send(0, 5000, 1), &[wrote(5000, 0)]).unwrap();
    m.step(&send(0, 10, 2), &[]).unwrap();
    for &s in suspended {
        let p = m.step(&send(s, 5, 3), &[]).unwrap();
        assert_eq!(p.observation.senders[s as usize], SenderStatus::Suspended, "SND-1");
    }
    m
}

/// SND-4 is crossed when leaving busy resumes someone, not otherwise; on
/// OTP's inet driver the first-suspended sender retries last (DIFF-INET-1),
/// which needs two of them.
#[test]
fn resumption_order_and_its_crossings() {
    use reference::choice::Activity;
    let flush = |extra: &[Choice]| {
        let mut v = vec![Choice::Ran(Activity::Output), wrote(5010, 5010)];
        v.extend_from_slice(extra);
        v
    };
    let resume = |s: u8| Choice::Ran(Activity::Resume(SenderId(s)));
    let mut m = busy_with_suspended(Variant::Reference, 2, &[]);
    m.step(&Op::Quiesce, &flush(&[])).unwrap();
    assert_eq!(m.crossings().get(&ids::SND_4), None, "nobody to resume");
    let mut m = busy_with_suspended(Variant::Reference, 3, &[1, 2]);
    m.step(&Op::Quiesce, &flush(&[resume(1), wrote(5, 5), resume(2), wrote(5, 5)])).unwrap();
    assert_eq!(m.crossings().get(&ids::SND_4), Some(&1), "SND-4: in suspension order");

    let m = busy_with_suspended(Variant::OtpInet, 3, &[1, 2]);
    let e = m.clone().step(&Op::Quiesce, &flush(&[resume(1), wrote(5, 5), resume(2), wrote(5, 5)])).unwrap_err();
    assert_eq!(e.rule, ids::SND_4, "S1 may not retry first: {e}");
    let mut m2 = m;
    m2.step(&Op::Quiesce, &flush(&[resume(2), wrote(5, 5), resume(1), wrote(5, 5)])).unwrap();
    assert_eq!(m2.crossings().get(&ids::DIFF_INET_1), Some(&1));
    let mut m = busy_with_suspended(Variant::OtpInet, 2, &[1]);
    m.step(&Op::Quiesce, &flush(&[resume(1), wrote(5, 5)])).unwrap();
    assert_eq!(m.crossings().get(&ids::DIFF_INET_1), None, "one sender: no order to change");
}

/// MQ-3's crossing is entering msgq-busy, once, however many sends then
/// add to the msgq.
#[test]
fn mq3_is_crossed_once_per_busy_period() {
    let mut m = model(vec![Opt::HighMsgqWatermark(100), Opt::LowMsgqWatermark(50)]);
    m.step(&Op::ContendLock, &[]).unwrap();
    m.step(&send(0, 150, 1), &[]).unwrap();
    assert_eq!(m.crossings().get(&ids::MQ_3), Some(&1));
    m.step(&force(1, 10, 2), &[]).unwrap();
    assert_eq!(m.crossings().get(&ids::MQ_3), Some(&1), "still the same busy period");
}

/// MQ-5's crossing is a task that runs past a plain task waiting for busy
/// to clear; a task run in order crosses nothing.
#[test]
fn mq5_is_crossed_only_when_a_task_runs_out_of_order() {
    use reference::choice::Activity;
    let mut m = model(vec![]);
    m.step(&Op::ContendLock, &[]).unwrap();
    m.step(&send(0, 10, 1), &[]).unwrap();
    m.step(&Op::ReleaseLock, &[]).unwrap();
    let p = m.step(&Op::Quiesce, &[Choice::Ran(Activity::Task), wrote(10, 10)]).unwrap();
    assert_eq!(p.observation.completed, vec![(SenderId(0), reference::observation::SendResult::Ok)]);
    assert_eq!(m.crossings().get(&ids::MQ_5), None);
}
