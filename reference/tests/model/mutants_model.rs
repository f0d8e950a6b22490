//! The model's surface that the lockstep property uses without checking
//! it: which ops are enabled (the generator and the shrinker only emit
//! those), how a `SendAt` resolves, the accessors the executor and the
//! derivation read, and the per-rule counts the report's table prints
//! (cases in which a rule decided something, crossings). Written to kill
//! mutants `make mutants` found missed; each assertion names its rule.

use reference::choice::Choice;
use reference::model::{Divergence, Model};
use reference::observation::SenderStatus;
use reference::op::{Mark, Op, SendFlags, Setup};
use reference::options::Opt;
use reference::rules::ids;
use reference::units::{Bytes, SenderId};
use reference::variant::Variant;

fn send(s: u8, len: usize, tag: u16) -> Op {
    Op::Send { sender: SenderId(s), len: Bytes(len), tag, flags: SendFlags::default() }
}

fn send_at(mark: Mark, delta: i8) -> Op {
    Op::SendAt { sender: SenderId(0), mark, delta, tag: 1, flags: SendFlags::default() }
}

fn wrote(requested: usize, accepted: usize) -> Choice {
    Choice::Wrote { requested: Bytes(requested), accepted: Bytes(accepted) }
}

fn model(options: Vec<Opt>) -> Model {
    Model::new(&Setup { options, ..Setup::default() }).expect("valid setup")
}

#[test]
fn a_divergence_prints_its_rule_and_what() {
    assert_eq!(Divergence::new(ids::WM_3, "queue 9000 >= 8192").to_string(), "[WM-3] queue 9000 >= 8192");
}

#[test]
fn the_model_keeps_its_variant() {
    assert_eq!(model(vec![]).variant(), Variant::Reference);
    assert_eq!(model(vec![]).into_variant(Variant::OtpInet).variant(), Variant::OtpInet);
    assert_eq!(model(vec![]).into_variant(Variant::OtpSocket).variant(), Variant::OtpSocket);
}

/// MQ-1 (lock), PT-4 (close accepted), CL-1/SND-6 (close): ops that make
/// sense only in some states are enabled only there.
#[test]
fn ops_are_enabled_only_where_they_mean_something() {
    let mut m = model(vec![]);
    assert!(!m.enabled(&Op::ReleaseLock), "no lock held");
    assert!(!m.enabled(&Op::CloseAccepted), "PT-4: nothing accepted");
    assert!(m.enabled(&Op::Close) && m.enabled(&Op::ContendLock));
    m.step(&Op::ContendLock, &[]).unwrap();
    assert!(m.enabled(&Op::ReleaseLock) && !m.enabled(&Op::ContendLock));
    assert!(!m.enabled(&Op::Close), "not while another scheduler holds the lock");
    m.step(&Op::ReleaseLock, &[]).unwrap();
    assert!(m.enabled(&Op::Close));
    m.step(&Op::Accept, &[]).unwrap();
    assert!(m.enabled(&Op::CloseAccepted), "PT-4: one accepted port");
    // WM-2 then WM-3: S0 waits on the busy port; no close while it does.
    m.step(&send(0, 10_000, 1), &[wrote(10_000, 0)]).unwrap();
    assert!(m.enabled(&Op::Close));
    m.step(&send(0, 1, 2), &[]).unwrap();
    assert!(!m.enabled(&Op::Close), "a sender is not idle");
    assert!(!m.enabled(&send(0, 1, 3)) && m.enabled(&send(1, 1, 3)), "SND-5: S0 waits, S1 may send");
}

/// `SendAt` resolves to the send that brings the driver queue to
/// high_watermark + delta (WM-3's edge), or the msgq to high_msgq + delta
/// (MQ-3's), clamped to 0..=SEND_AT_MAX.
#[test]
fn send_at_resolves_relative_to_the_mark() {
    let mut m = model(vec![Opt::HighWatermark(5000), Opt::LowWatermark(100), Opt::HighMsgqWatermark(3000)]);
    let len = |m: &Model, op: Op| match m.resolve(&op) {
        Op::Send { len, .. } => len.0,
        other => panic!("resolved to {other:?}"),
    };
    assert_eq!(len(&m, send_at(Mark::High, 0)), 5000);
    m.step(&send(1, 1200, 1), &[wrote(1200, 0)]).unwrap();
    assert_eq!(m.queued(), Bytes(1200), "WM-2: nothing taken, all queued");
    assert_eq!(len(&m, send_at(Mark::High, 0)), 3800);
    assert_eq!(len(&m, send_at(Mark::High, 7)), 3807);
    assert_eq!(len(&m, send_at(Mark::High, -7)), 3793);
    assert_eq!(len(&m, send_at(Mark::HighMsgq, 3)), 3003);
    let m = model(vec![Opt::HighWatermark(10), Opt::LowWatermark(5)]);
    assert_eq!(len(&m, send_at(Mark::High, -100)), 0, "clamped at 0");
    let m = model(vec![Opt::HighWatermark(1 << 20), Opt::LowWatermark(5)]);
    assert_eq!(len(&m, send_at(Mark::High, 0)), reference::model::SEND_AT_MAX.0, "clamped at SEND_AT_MAX");
    assert_eq!(m.resolve(&send(0, 5, 9)), send(0, 5, 9), "a plain send stays as it is");
}

#[test]
fn accessors_say_what_the_model_holds() {
    let mut m = model(vec![Opt::HighWatermark(4000), Opt::LowWatermark(1000)]);
    assert_eq!(m.options().high, Bytes(4000));
    assert_eq!(m.options().low, Bytes(1000));
    assert!(m.socket_open());
    assert_eq!(m.idle_senders(), vec![SenderId(0), SenderId(1)]);
    let p = m.step(&send(0, 5000, 1), &[wrote(5000, 0)]).unwrap();
    assert_eq!(m.queued(), Bytes(5000));
    assert_eq!(p.observation.senders, vec![SenderStatus::Idle, SenderStatus::Idle]);
    m.step(&send(0, 1, 2), &[]).unwrap();
    assert_eq!(m.idle_senders(), vec![SenderId(1)], "SND-5: S0 waits");
    let mut m = model(vec![]);
    m.step(&Op::Close, &[]).unwrap();
    assert!(!m.socket_open(), "CL-1: an empty queue closes the socket at once");
}

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

/// Blame: a sender the system resumed while the port is still busy is
/// blamed on the rule that keeps it busy (the driver's WM-3, the msgq's
/// MQ-3), not on resumption in general.
#[test]
fn an_early_resume_is_blamed_on_what_keeps_the_port_busy() {
    use reference::choice::Activity;
    let mut m = model(vec![Opt::HighWatermark(4000), Opt::LowWatermark(1000)]);
    m.step(&send(0, 5000, 1), &[wrote(5000, 0)]).unwrap();
    m.step(&send(0, 1, 2), &[]).unwrap();
    m.step(&send(1, 1, 3), &[]).unwrap();
    let e = m.clone().step(&Op::Quiesce, &[Choice::Ran(Activity::Resume(SenderId(1)))]).unwrap_err();
    assert_eq!(e.rule, ids::WM_3, "{e}");

    let mut m = model(vec![Opt::HighMsgqWatermark(100), Opt::LowMsgqWatermark(50)]);
    m.step(&Op::ContendLock, &[]).unwrap();
    m.step(&send(0, 150, 1), &[]).unwrap();
    let p = m.step(&send(1, 1, 2), &[]).unwrap();
    assert_eq!(p.observation.senders[1], SenderStatus::Suspended, "SND-1 on the msgq-busy port");
    let e = m.step(&Op::Quiesce, &[Choice::Ran(Activity::Resume(SenderId(1)))]).unwrap_err();
    assert_eq!(e.rule, ids::MQ_3, "{e}");
}

/// Blame: a write the model has no place for is blamed on DS-1 while
/// delay_send is on (it should have waited for the flush), and otherwise on
/// the rule that decided last.
#[test]
fn an_unexpected_write_is_blamed_on_delay_send_when_it_is_on() {
    let mut m = model(vec![]);
    m.step(&Op::SetOpts { opts: vec![Opt::DelaySend(true)] }, &[]).unwrap();
    let e = m.clone().step(&Op::GetOpts, &[wrote(10, 10)]).unwrap_err();
    assert_eq!(e.rule, ids::DS_1, "{e}");
    let mut m = model(vec![]);
    m.step(&Op::SetOpts { opts: vec![Opt::DelaySend(false)] }, &[]).unwrap();
    let e = m.step(&Op::GetOpts, &[wrote(10, 10)]).unwrap_err();
    assert_ne!(e.rule, ids::DS_1, "{e}");
}

/// Blame in the comparison: a getopts reply that differs is blamed on the
/// option rule of the field that differs (OPT-1 watermarks, OPT-4 msgq
/// watermarks, RX-3 the active count, OPT-5 otherwise); a sender status
/// that differs names that sender and the rule behind its status.
#[test]
fn a_mismatch_names_the_field_and_its_rule() {
    use reference::model::compare;
    use reference::observation::Reply;
    use reference::options::Active;
    use reference::units::Bytes;
    let mut m = model(vec![]);
    let p = m.step(&Op::GetOpts, &[]).unwrap();
    let Reply::Opts(opts) = p.observation.reply.clone() else { panic!("getopts replies options") };
    let differs = |f: &dyn Fn(&mut reference::options::PortOptions)| {
        let mut o = opts;
        f(&mut o);
        let mut seen = p.observation.clone();
        seen.reply = Reply::Opts(o);
        compare(&p, &seen).expect("a difference").rule
    };
    assert_eq!(differs(&|o| o.high = Bytes(1)), ids::OPT_1);
    assert_eq!(differs(&|o| o.low = Bytes(1)), ids::OPT_1);
    assert_eq!(differs(&|o| o.high_msgq = Bytes(1)), ids::OPT_4);
    assert_eq!(differs(&|o| o.low_msgq = Bytes(1)), ids::OPT_4);
    assert_eq!(differs(&|o| o.active = Active::Count(3)), ids::RX_3);
    assert_eq!(differs(&|o| o.delay_send = !o.delay_send), ids::OPT_5);
    assert!(compare(&p, &p.observation).is_none());

    // S1 waits on the busy port (WM-3); a system that shows it idle is
    // wrong about S1, under WM-3.
    let mut m = model(vec![Opt::HighWatermark(4000), Opt::LowWatermark(1000)]);
    m.step(&send(0, 5000, 1), &[wrote(5000, 0)]).unwrap();
    let p = m.step(&send(1, 1, 2), &[]).unwrap();
    assert_eq!(p.observation.senders, vec![SenderStatus::Idle, SenderStatus::Waiting]);
    let mut seen = p.observation.clone();
    seen.senders[1] = SenderStatus::Idle;
    let mm = compare(&p, &seen).expect("a difference");
    assert_eq!((mm.field.to_string().as_str(), mm.rule), ("sender S1 status", ids::WM_3));
}

/// SND-3's crossing: a force send that goes through a busy port; not a
/// force send on a port that is not busy.
#[test]
fn snd3_is_crossed_by_force_on_a_busy_port_only() {
    let force = SendFlags { nosuspend: false, force: true };
    let fsend = |s: u8, len: usize, tag: u16| Op::Send { sender: SenderId(s), len: Bytes(len), tag, flags: force };
    let mut m = model(vec![Opt::HighWatermark(4000), Opt::LowWatermark(1000)]);
    m.step(&fsend(1, 10, 1), &[wrote(10, 10)]).unwrap();
    assert_eq!(m.crossings().get(&ids::SND_3), None, "not busy: nothing forced through");
    m.step(&send(0, 5000, 2), &[wrote(5000, 0)]).unwrap();
    m.step(&send(0, 1, 3), &[]).unwrap();
    let p = m.step(&fsend(1, 10, 4), &[]).unwrap();
    assert_ne!(p.observation.senders[1], SenderStatus::Suspended, "SND-3: forced through, not suspended");
    assert!(p.observation.busy_port_events.is_empty());
    assert_eq!(m.crossings().get(&ids::SND_3), Some(&1));
}

/// WM-4 in the model: the low-watermark check follows a write from the
/// queue that took bytes, on a busy port only. A write that took nothing
/// leaves busy as it was although the queue is below a raised low; a
/// write on a port that is not busy crosses nothing.
#[test]
fn wm4_follows_a_write_that_took_bytes_on_a_busy_port() {
    use reference::choice::Activity;
    let mut m = model(vec![Opt::HighWatermark(4000), Opt::LowWatermark(1000)]);
    m.step(&send(0, 5000, 1), &[wrote(5000, 0)]).unwrap();
    m.step(&send(0, 10, 2), &[]).unwrap();
    m.step(&Op::SetOpts { opts: vec![Opt::HighWatermark(20000), Opt::LowWatermark(10000)] }, &[]).unwrap();
    let p = m.clone().step(&Op::Quiesce, &[Choice::Ran(Activity::Output), wrote(5010, 0)]).unwrap();
    assert!(p.observation.busy.unwrap().driver && p.observation.completed.is_empty(), "EAGAIN: still busy");
    let p = m.step(&Op::Quiesce, &[Choice::Ran(Activity::Output), wrote(5010, 10)]).unwrap();
    assert!(!p.observation.busy.unwrap().driver, "WM-4: 5000 <= 10000 after a write that took bytes");
    assert_eq!(p.observation.completed, vec![(SenderId(0), reference::observation::SendResult::Ok)]);

    let mut m = model(vec![Opt::HighWatermark(40000), Opt::LowWatermark(20000)]);
    m.step(&send(0, 5000, 1), &[wrote(5000, 0)]).unwrap();
    let p = m.step(&Op::Quiesce, &[Choice::Ran(Activity::Output), wrote(5000, 100)]).unwrap();
    assert!(p.observation.completed.is_empty());
    assert_eq!(m.crossings().get(&ids::WM_4), None, "not busy: WM-4 not crossed");
}

/// ST-2: an output activity may write more than once (until EAGAIN), each
/// write asking for what is left; a write with nothing left is an error.
#[test]
fn an_output_activity_may_write_until_the_queue_is_empty() {
    use reference::choice::Activity;
    let mut m = model(vec![]);
    m.step(&send(0, 5000, 1), &[wrote(5000, 0)]).unwrap();
    let p =
        m.clone().step(&Op::Quiesce, &[Choice::Ran(Activity::Output), wrote(5000, 3000), wrote(2000, 2000)]).unwrap();
    assert_eq!(p.observation.queue, Bytes(0));
    let e = m.step(&Op::Quiesce, &[Choice::Ran(Activity::Output), wrote(5000, 5000), wrote(0, 0)]).unwrap_err();
    assert_eq!(e.rule, ids::ST_2, "{e}");
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

/// RX-5: an input activity may read less than what arrived, one message
/// per read, as the driver's 1460-byte buffer does.
#[test]
fn an_input_activity_reads_part_of_what_arrived() {
    use reference::choice::Activity;
    use reference::observation::{OwnerMsg, Reply};
    let mut m = model(vec![Opt::Active(reference::options::ActiveSetting::True)]);
    m.step(&Op::PeerWrite { len: Bytes(3000), tag: 7 }, &[]).unwrap();
    let read = |n| Choice::Read { got: Bytes(n) };
    m.step(&Op::Quiesce, &[Choice::Ran(Activity::Input), read(1460), read(1460), read(80)]).unwrap();
    let p = m.step(&Op::Mailbox, &[]).unwrap();
    let Reply::Mailbox(msgs) = p.observation.reply else { panic!("a mailbox") };
    let sizes: Vec<usize> = msgs.iter().map(|m| if let OwnerMsg::Tcp(d) = m { d.len() } else { 0 }).collect();
    assert_eq!(sizes, vec![1460, 1460, 80]);
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

/// DIFF-INET-3: on OTP's inet driver, gen_tcp:close with queued output
/// waits for the queue to empty, and only then may the close go on; with
/// nothing queued it closes at once.
#[test]
fn otp_close_waits_for_the_queue() {
    use reference::choice::Activity;
    let mut m = model(vec![]).into_variant(Variant::OtpInet);
    m.step(&Op::Close, &[]).unwrap();
    assert!(!m.socket_open() && !m.close_pending(), "nothing queued: closed at once");
    let mut m = model(vec![]).into_variant(Variant::OtpInet);
    m.step(&send(0, 5000, 1), &[wrote(5000, 0)]).unwrap();
    m.step(&Op::Close, &[]).unwrap();
    assert!(m.socket_open() && !m.close_pending(), "DIFF-INET-3: waiting for the queue");
    m.step(&Op::AwaitIo, &[Choice::Ran(Activity::Output), wrote(5000, 5000)]).unwrap();
    assert!(m.close_pending(), "the queue is empty: the close may go on");
}

/// DIFF-INET-3: the closer's `{empty_out_q,S}` notice counts from the close
/// on — a queue that emptied before gen_tcp:close was called is no notice —
/// and once given it stands, even after output was queued again.
#[test]
fn otp_close_notice_counts_from_the_close() {
    use reference::choice::Activity;
    let mut m = model(vec![]).into_variant(Variant::OtpInet);
    m.step(&send(0, 5000, 1), &[wrote(5000, 0)]).unwrap();
    m.step(&Op::AwaitIo, &[Choice::Ran(Activity::Output), wrote(5000, 5000)]).unwrap();
    m.step(&send(0, 3000, 2), &[wrote(3000, 0)]).unwrap();
    m.step(&Op::Close, &[]).unwrap();
    assert!(!m.close_pending(), "DIFF-INET-3: the queue that emptied before the close is no notice");
    m.step(&Op::AwaitIo, &[Choice::Ran(Activity::Output), wrote(3000, 3000)]).unwrap();
    m.step(&send(1, 100, 3), &[wrote(100, 0)]).unwrap();
    assert!(m.close_pending(), "DIFF-INET-3: the notice stands after the queue refilled");
    let closed = m.step(&Op::Quiesce, &[Choice::Ran(Activity::PendingClose)]).unwrap();
    let flushed = m.step(&Op::AwaitIo, &[Choice::Ran(Activity::Output), wrote(100, 100)]).unwrap();
    assert_eq!(
        flushed.observation.ports + 1,
        closed.observation.ports,
        "DIFF-INET-3: closed with 100 queued, the port keeps its slot until they are flushed"
    );
}

/// MQ-3's crossing is entering msgq-busy, once, however many sends then
/// add to the msgq.
#[test]
fn mq3_is_crossed_once_per_busy_period() {
    let mut m = model(vec![Opt::HighMsgqWatermark(100), Opt::LowMsgqWatermark(50)]);
    m.step(&Op::ContendLock, &[]).unwrap();
    m.step(&send(0, 150, 1), &[]).unwrap();
    assert_eq!(m.crossings().get(&ids::MQ_3), Some(&1));
    let force = SendFlags { nosuspend: false, force: true };
    m.step(&Op::Send { sender: SenderId(1), len: Bytes(10), tag: 2, flags: force }, &[]).unwrap();
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

/// MQ-5/MQ-6: a nosuspend task runs past a plain task that waits for the
/// busy driver (MQ-5 crossed), and is aborted with `false` (MQ-6).
#[test]
fn a_nosuspend_task_runs_past_a_waiting_plain_task() {
    use reference::choice::Activity;
    use reference::observation::SendResult;
    let setup =
        Setup { options: vec![Opt::HighWatermark(4000), Opt::LowWatermark(1000)], senders: 3, ..Setup::default() };
    let mut m = Model::new(&setup).unwrap();
    m.step(&send(0, 5000, 1), &[wrote(5000, 0)]).unwrap();
    m.step(&Op::ContendLock, &[]).unwrap();
    let flags = |nosuspend, force| SendFlags { nosuspend, force };
    m.step(&Op::Send { sender: SenderId(0), len: Bytes(10), tag: 2, flags: flags(false, true) }, &[]).unwrap();
    m.step(&send(1, 10, 3), &[]).unwrap();
    m.step(&Op::Send { sender: SenderId(2), len: Bytes(10), tag: 4, flags: flags(true, false) }, &[]).unwrap();
    m.step(&Op::ReleaseLock, &[]).unwrap();
    let p = m.step(&Op::Quiesce, &[Choice::Ran(Activity::Task), Choice::Ran(Activity::Task)]).unwrap();
    assert_eq!(p.observation.completed, vec![(SenderId(2), SendResult::False)], "MQ-6");
    assert_eq!(p.observation.senders, vec![SenderStatus::Waiting, SenderStatus::Waiting, SenderStatus::Idle]);
    assert_eq!(m.crossings().get(&ids::MQ_5), Some(&1), "MQ-5: S1's task waits, S2's ran past it");
}

/// MQ-4 is strict: a msgq size equal to low_msgq keeps msgq-busy, so a
/// sender suspended on it may not resume yet.
#[test]
fn mq4_keeps_msgq_busy_at_low() {
    use reference::choice::Activity;
    let setup =
        Setup { options: vec![Opt::HighMsgqWatermark(100), Opt::LowMsgqWatermark(50)], senders: 3, ..Setup::default() };
    let mut m = Model::new(&setup).unwrap();
    m.step(&Op::ContendLock, &[]).unwrap();
    m.step(&send(0, 60, 1), &[]).unwrap();
    let p = m.step(&send(1, 50, 2), &[]).unwrap();
    assert!(p.observation.busy.unwrap().msgq, "MQ-3: 110 > 100");
    let p = m.step(&send(2, 5, 3), &[]).unwrap();
    assert_eq!(p.observation.senders[2], SenderStatus::Suspended);
    m.step(&Op::ReleaseLock, &[]).unwrap();
    // After the first task the msgq holds 50 = low: still busy.
    let e = m
        .clone()
        .step(&Op::Quiesce, &[Choice::Ran(Activity::Task), wrote(60, 60), Choice::Ran(Activity::Resume(SenderId(2)))])
        .unwrap_err();
    assert_eq!(e.rule, ids::MQ_4, "{e}");
    let resume = Choice::Ran(Activity::Resume(SenderId(2)));
    let all =
        [Choice::Ran(Activity::Task), wrote(60, 60), Choice::Ran(Activity::Task), wrote(50, 50), resume, wrote(5, 5)];
    m.step(&Op::Quiesce, &all).unwrap();
}

/// A runtime that reports Output without a write is blamed on the rule that
/// last shaped the queue (here WM-2's unchecked remainder), not on the
/// output rule itself.
#[test]
fn output_without_a_write_is_blamed_on_what_shaped_the_queue() {
    use reference::choice::Activity;
    let mut m = model(vec![]);
    m.step(&send(0, 5000, 1), &[wrote(5000, 0)]).unwrap();
    let d = m.step(&Op::Quiesce, &[Choice::Ran(Activity::Output)]).expect_err("an Output that wrote nothing");
    assert_eq!(d.rule, ids::WM_2, "{d:?}");
}

/// TO-1 on a virtual clock: the send timer fires only once it is due; a
/// runtime that reports it earlier is refused.
#[test]
fn to_1_no_send_timeout_before_it_is_due() {
    use reference::choice::Activity;
    use reference::options::Timeout;
    use reference::units::Millis;
    let mut m =
        model(vec![Opt::HighWatermark(100), Opt::LowWatermark(50), Opt::SendTimeout(Timeout::After(Millis(5)))]);
    m.step(&send(0, 300, 1), &[wrote(300, 150)]).unwrap();
    m.step(&send(1, 10, 2), &[]).unwrap();
    assert!(
        m.clone().step(&Op::AdvanceTime { by: Millis(4) }, &[Choice::Ran(Activity::SendTimeout)]).is_err(),
        "TO-1: 4 ms of 5"
    );
    m.step(&Op::AdvanceTime { by: Millis(5) }, &[Choice::Ran(Activity::SendTimeout)]).expect("TO-1: due at 5 ms");
}
