//! Which rule a refused choice or a mismatch is blamed on: the most
//! specific one that explains it, so that a report points at the rule
//! that was broken.

use crate::support::{model, send, wrote};
use reference::choice::Choice;
use reference::model::Divergence;
use reference::observation::SenderStatus;
use reference::op::Op;
use reference::options::Opt;
use reference::rules::ids;
use reference::units::SenderId;

#[test]
fn a_divergence_prints_its_rule_and_what() {
    assert_eq!(Divergence::new(ids::WM_3, "queue 9000 >= 8192").to_string(), "[WM-3] queue 9000 >= 8192");
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
/// rule that set the differing value — here, with no options set, the
/// defaults' rules (WM-1 watermarks, MQ-7 msgq watermarks, OPT-7 the rest;
/// `blame_provenance.rs` has the values setopts and input set); a sender
/// status that differs names that sender and the rule behind its status.
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
    assert_eq!(differs(&|o| o.high = Bytes(1)), ids::WM_1);
    assert_eq!(differs(&|o| o.low = Bytes(1)), ids::WM_1);
    assert_eq!(differs(&|o| o.high_msgq = Bytes(1)), ids::MQ_7);
    assert_eq!(differs(&|o| o.low_msgq = Bytes(1)), ids::MQ_7);
    assert_eq!(differs(&|o| o.active = Active::Count(3)), ids::OPT_7);
    assert_eq!(differs(&|o| o.delay_send = !o.delay_send), ids::OPT_7);
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
