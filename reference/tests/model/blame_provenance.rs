//! Blame by provenance (issue 15): a difference is blamed on the rule that
//! decided the expected value in the step — the rule that set an option's
//! value, the rule that decided a setopts' reply, the rule that decided the
//! op a queue size follows from, the rule that put (or kept out) a mailbox
//! message, the table rule behind an accept's refusal.

use crate::support::{model, send, wrote};
use reference::choice::{Activity, Choice};
use reference::model::{compare, Model, Prediction};
use reference::observation::{AcceptOutcome, OwnerMsg, Posix, Reply};
use reference::op::{Op, SendFlags, Setup};
use reference::options::{Active, ActiveSetting, Opt, PortOptions};
use reference::rules::{ids, RuleId};
use reference::units::{Bytes, SenderId};

/// The rule `compare` blames when the system's reply differs from the
/// prediction's by `change`.
fn blamed_reply(p: &Prediction, change: impl FnOnce(&mut Reply)) -> RuleId {
    let mut seen = p.observation.clone();
    change(&mut seen.reply);
    compare(p, &seen).expect("a difference").rule
}

fn opts_differ(p: &Prediction, f: impl FnOnce(&mut PortOptions)) -> RuleId {
    blamed_reply(p, |r| {
        let Reply::Opts(o) = r else { panic!("getopts replies options") };
        f(o)
    })
}

fn setopts(m: &mut Model, opts: Vec<Opt>) -> Prediction {
    m.step(&Op::SetOpts { opts }, &[]).expect("setopts")
}

/// OPT-1, OPT-2: a getopts difference is blamed on the option that set
/// the value, the watermark the other one adjusted included.
#[test]
fn a_getopts_difference_is_blamed_on_the_rule_that_set_the_value() {
    let mut m = model(vec![]);
    setopts(&mut m, vec![Opt::HighWatermark(100)]);
    let p = m.step(&Op::GetOpts, &[]).unwrap();
    assert_eq!(opts_differ(&p, |o| o.high = Bytes(99)), ids::OPT_1, "high set by {{high_watermark,100}}");
    assert_eq!(opts_differ(&p, |o| o.low = Bytes(4096)), ids::OPT_1, "OPT-1 lowered low to 100");
    assert_eq!(opts_differ(&p, |o| o.high_msgq = Bytes(1)), ids::MQ_7, "still the default");
    setopts(&mut m, vec![Opt::LowWatermark(500)]);
    let p = m.step(&Op::GetOpts, &[]).unwrap();
    assert_eq!(opts_differ(&p, |o| o.high = Bytes(100)), ids::OPT_2, "OPT-2 raised high to 500");
    assert_eq!(opts_differ(&p, |o| o.low = Bytes(100)), ids::OPT_2);
    setopts(&mut m, vec![Opt::DelaySend(true), Opt::DelaySend(false)]);
    let p = m.step(&Op::GetOpts, &[]).unwrap();
    assert_eq!(opts_differ(&p, |o| o.delay_send = !o.delay_send), ids::OPT_5, "two values: back to front");
}

/// A value the setup set is blamed on that option's rule: a runtime that
/// applies the connect options wrongly shows up under it.
#[test]
fn a_setup_option_applied_wrongly_is_blamed_on_its_rule() {
    let mut m = model(vec![Opt::HighMsgqWatermark(10), Opt::SendTimeout(reference::options::Timeout::Infinity)]);
    let p = m.step(&Op::GetOpts, &[]).unwrap();
    assert_eq!(opts_differ(&p, |o| o.high_msgq = Bytes(8192)), ids::OPT_4);
    assert_eq!(opts_differ(&p, |o| o.low_msgq = Bytes(4096)), ids::OPT_4, "OPT-4 lowered low_msgq to 10");
    assert_eq!(opts_differ(&p, |o| o.high = Bytes(1)), ids::WM_1);
}

/// RX-2, RX-4: the active mode input changed is blamed on the rule that
/// changed it; a refused list's unapplied options on the refusing rule.
#[test]
fn an_active_mode_input_changed_is_blamed_on_the_input_rule() {
    let read_one = [Choice::Ran(Activity::Input), Choice::Read { got: Bytes(1) }];
    for (mode, rule) in [(ActiveSetting::Once, ids::RX_2), (ActiveSetting::N(1), ids::RX_4)] {
        let mut m = model(vec![]);
        setopts(&mut m, vec![Opt::Active(mode)]);
        m.step(&Op::PeerWrite { len: Bytes(1), tag: 1 }, &[]).unwrap();
        m.step(&Op::Quiesce, &read_one).unwrap();
        let p = m.step(&Op::GetOpts, &[]).unwrap();
        assert_eq!(opts_differ(&p, |o| o.active = Active::Always), rule, "{mode:?}");
    }
    let mut m = model(vec![]);
    let p = setopts(&mut m, vec![Opt::HighWatermark(10), Opt::LowMsgqWatermark(0)]);
    assert_eq!(p.observation.reply, Reply::SetOpts(Err(Posix::Einval)));
    let p = m.step(&Op::GetOpts, &[]).unwrap();
    assert_eq!(opts_differ(&p, |o| o.high = Bytes(10)), ids::OPT_3, "OPT-3 kept high from being set");
}

/// A setopts reply that differs is blamed on the rule that decided it:
/// the one that could refuse the list (OPT-3, RX-3), else its option's.
#[test]
fn a_setopts_reply_difference_is_blamed_on_the_rule_that_decided_it() {
    let refused = |r: &mut Reply| *r = Reply::SetOpts(Err(Posix::Einval));
    for (opts, rule) in [
        (vec![Opt::HighMsgqWatermark(5)], ids::OPT_3),
        (vec![Opt::Active(ActiveSetting::N(3))], ids::RX_3),
        (vec![Opt::HighWatermark(-1)], ids::OPT_1),
        (vec![Opt::LowWatermark(7)], ids::OPT_2),
    ] {
        let p = setopts(&mut model(vec![]), opts.clone());
        assert_eq!(blamed_reply(&p, refused), rule, "{opts:?}");
    }
    let p = setopts(&mut model(vec![]), vec![Opt::LowMsgqWatermark(-1)]);
    assert_eq!(blamed_reply(&p, |r| *r = Reply::SetOpts(Ok(()))), ids::OPT_3);
}

/// A send that must leave the queue as it was (SND-2: a nosuspend send to
/// a busy port queues nothing) is blamed under its own rule when the
/// system's queue grew, not under WM-3 that last changed it.
#[test]
fn a_queue_difference_after_a_send_that_left_it_is_blamed_on_the_send() {
    let mut m = model(vec![Opt::HighWatermark(4000), Opt::LowWatermark(1000)]);
    m.step(&send(0, 5000, 1), &[wrote(5000, 0)]).unwrap();
    m.step(&send(0, 1, 2), &[]).unwrap();
    let nosuspend = SendFlags { nosuspend: true, force: false };
    let p = m.step(&Op::Send { sender: SenderId(1), len: Bytes(10), tag: 3, flags: nosuspend }, &[]).unwrap();
    assert_eq!(p.observation.reply, Reply::Sent(Some(reference::observation::SendResult::False)));
    let mut seen = p.observation.clone();
    seen.queue += Bytes(10);
    assert_eq!(compare(&p, &seen).expect("a difference").rule, ids::SND_2);
}

/// An accept refused with system_limit where the table had room is the
/// table's size (PT-1); options that differ are OPT-6's.
#[test]
fn an_accept_difference_is_blamed_on_the_table_or_inheritance() {
    let mut m = Model::new(&Setup { table_capacity: 4, ..Setup::default() }).unwrap();
    let p = m.step(&Op::Accept, &[]).unwrap();
    let limit = |r: &mut Reply| *r = Reply::Accept(AcceptOutcome::Failed { error: Posix::SystemLimit, peer_eof: true });
    assert_eq!(blamed_reply(&p, limit), ids::PT_1);
    let other = |r: &mut Reply| {
        *r = Reply::Accept(AcceptOutcome::Accepted(PortOptions { delay_send: true, ..PortOptions::default() }))
    };
    assert_eq!(blamed_reply(&p, other), ids::OPT_6);
}

/// A port opened by connect refused where the table had room is the
/// table's size (PT-1) too, not PT-3, which says what a full table does.
#[test]
fn an_open_refused_with_room_is_blamed_on_the_table_size() {
    let mut m = Model::new(&Setup { table_capacity: 3, ..Setup::default() }).unwrap();
    let p = m.step(&Op::OpenExtra, &[]).unwrap();
    assert_eq!(blamed_reply(&p, |r| *r = Reply::Opened(Err(Posix::SystemLimit))), ids::PT_1);
}

/// A mailbox difference is blamed on the rule that put the missing
/// message (RX-4's tcp_passive) or that decided the mode an unexpected one
/// came in (RX-2: once goes passive without tcp_passive).
#[test]
fn a_mailbox_difference_is_blamed_on_the_rule_that_put_the_message() {
    let read_one = [Choice::Ran(Activity::Input), Choice::Read { got: Bytes(1) }];
    let mut m = model(vec![]);
    setopts(&mut m, vec![Opt::Active(ActiveSetting::N(1))]);
    m.step(&Op::PeerWrite { len: Bytes(1), tag: 1 }, &[]).unwrap();
    m.step(&Op::Quiesce, &read_one).unwrap();
    let p = m.step(&Op::Mailbox, &[]).unwrap();
    let Reply::Mailbox(msgs) = p.observation.reply.clone() else { panic!("a mailbox") };
    assert_eq!(msgs.last(), Some(&OwnerMsg::TcpPassive));
    assert_eq!(blamed_reply(&p, |r| *r = Reply::Mailbox(msgs[..1].to_vec())), ids::RX_4);
    assert_eq!(blamed_reply(&p, |r| *r = Reply::Mailbox(vec![])), ids::RX_5);

    let mut m = model(vec![]);
    setopts(&mut m, vec![Opt::Active(ActiveSetting::Once)]);
    m.step(&Op::PeerWrite { len: Bytes(1), tag: 1 }, &[]).unwrap();
    m.step(&Op::Quiesce, &read_one).unwrap();
    let p = m.step(&Op::Mailbox, &[]).unwrap();
    let Reply::Mailbox(mut msgs) = p.observation.reply.clone() else { panic!("a mailbox") };
    msgs.push(OwnerMsg::TcpPassive);
    assert_eq!(blamed_reply(&p, |r| *r = Reply::Mailbox(msgs)), ids::RX_2);
}

/// OPT-5: where the list's order decided a value (a high and a low
/// watermark that adjust each other), a getopts difference is blamed on
/// the order, not on the arithmetic of the option applied last: a runtime
/// that applies the list front to back gets high and low 40 where back to
/// front gives 10 (the planted bug setup-front-to-back). A value the order
/// did not decide keeps its own rule.
#[test]
fn a_value_the_order_decided_is_blamed_on_opt5() {
    let mut m = model(vec![]);
    setopts(
        &mut m,
        vec![Opt::HighWatermark(10), Opt::LowWatermark(40), Opt::SendTimeout(reference::options::Timeout::Infinity)],
    );
    let p = m.step(&Op::GetOpts, &[]).expect("getopts");
    assert_eq!(opts_differ(&p, |o| o.high = Bytes(40)), ids::OPT_5);
    assert_eq!(opts_differ(&p, |o| o.low = Bytes(40)), ids::OPT_5);
    let mut m = model(vec![]);
    setopts(&mut m, vec![Opt::HighWatermark(100), Opt::LowWatermark(40)]);
    let p = m.step(&Op::GetOpts, &[]).expect("getopts");
    assert_eq!(opts_differ(&p, |o| o.high = Bytes(101)), ids::OPT_1, "no conflict: the option's own rule");
}

/// OPT-5: a field named twice in one list was decided by the order (back
/// to front) even where both values agree, so its difference is OPT-5's.
#[test]
fn a_field_named_twice_is_blamed_on_opt5() {
    let mut m = model(vec![]);
    setopts(&mut m, vec![Opt::DelaySend(true), Opt::DelaySend(true)]);
    let p = m.step(&Op::GetOpts, &[]).expect("getopts");
    assert_eq!(opts_differ(&p, |o| o.delay_send = false), ids::OPT_5);
}

/// OPT-3: a refused list keeps the options applied before the invalid one
/// (those listed after it, OPT-5), each decided by its own rule; the one
/// it refused kept its value by OPT-3.
#[test]
fn options_a_refused_list_applied_keep_their_own_rule() {
    let mut m = model(vec![]);
    let p = setopts(&mut m, vec![Opt::LowMsgqWatermark(0), Opt::DelaySend(true)]);
    assert_eq!(p.observation.reply, Reply::SetOpts(Err(Posix::Einval)), "OPT-3: 0 is einval");
    let p = m.step(&Op::GetOpts, &[]).expect("getopts");
    assert!(matches!(p.observation.reply, Reply::Opts(o) if o.delay_send), "OPT-3: applied before the refusal");
    assert_eq!(opts_differ(&p, |o| o.delay_send = false), ids::DS_1, "set by {{delay_send,true}}");
    assert_eq!(opts_differ(&p, |o| o.low_msgq = Bytes(1)), ids::OPT_3, "kept by the refusal");
}

/// WM-4: a completion that differs is blamed on the rule that completed
/// the expected send (the busy caller's ok once the queue drained).
#[test]
fn a_completion_difference_is_blamed_on_the_rule_that_completed_the_send() {
    let mut m = model(vec![Opt::HighWatermark(4000), Opt::LowWatermark(1000)]);
    m.step(&send(0, 5000, 1), &[wrote(5000, 0)]).expect("WM-2: 5000 queued");
    m.step(&send(0, 10, 2), &[]).expect("WM-3: busy, sender 0 waits");
    let p = m.step(&Op::Quiesce, &[Choice::Ran(Activity::Output), wrote(5010, 5010)]).expect("WM-4: drained");
    let ok = reference::observation::SendResult::Ok;
    assert_eq!(p.observation.completed, vec![(SenderId(0), ok)], "WM-4: the busy caller's ok");
    let mut seen = p.observation.clone();
    seen.completed = vec![(SenderId(0), reference::observation::SendResult::Error(Posix::Timeout))];
    assert_eq!(compare(&p, &seen).expect("a difference").rule, ids::WM_4);
}

/// PC-3: a tcp_closed the model did not expect is blamed on the peer's end
/// as the port reports it, not on the active mode it arrived in.
#[test]
fn an_unexpected_tcp_closed_is_blamed_on_the_peers_end() {
    let mut m = model(vec![]);
    setopts(&mut m, vec![Opt::Active(ActiveSetting::True)]);
    let p = m.step(&Op::Mailbox, &[]).expect("an empty mailbox");
    assert_eq!(p.observation.reply, Reply::Mailbox(vec![]));
    assert_eq!(blamed_reply(&p, |r| *r = Reply::Mailbox(vec![OwnerMsg::TcpClosed])), ids::PC_3);
}

/// WM-2: a queue that differs after an op that is not a send is blamed on
/// the rule that last shaped the queue (the direct write that left 60),
/// not on the rule behind the op's reply.
#[test]
fn a_queue_difference_after_another_op_is_blamed_on_what_shaped_the_queue() {
    let mut m = model(vec![]);
    m.step(&send(0, 100, 1), &[wrote(100, 40)]).expect("WM-2: 60 queued");
    let p = m.step(&Op::GetOpts, &[]).expect("getopts");
    assert_eq!(p.observation.queue, Bytes(60));
    let mut seen = p.observation.clone();
    seen.queue = Bytes(61);
    assert_eq!(compare(&p, &seen).expect("a difference").rule, ids::WM_2);
}
