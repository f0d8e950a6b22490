//! SCHED-1's other half: a system that reports running an activity the
//! rules do not allow at that point has diverged, under the rule that says
//! when the activity may run. Generated cases from a correct runtime never
//! report one, so each case here feeds the model one by hand.

use crate::support::send;
use reference::choice::{Activity, Choice};
use reference::model::{Divergence, Model};
use reference::op::{Op, Setup};
use reference::options::Opt;
use reference::rules::{ids, RuleId};
use reference::units::{Bytes, SenderId};
use reference::variant::Variant;

fn port(options: Vec<Opt>, variant: Variant) -> Model {
    let setup = Setup { options, senders: 1, ..Setup::default() };
    Model::new(&setup).expect("setup").into_variant(variant)
}

fn refused(m: &mut Model, a: Activity) -> Divergence {
    match m.step(&Op::Quiesce, &[Choice::Ran(a)]) {
        Ok(p) => panic!("{a:?} accepted where it cannot run: {p:?}"),
        Err(d) => d,
    }
}

fn assert_rule(d: &Divergence, rule: RuleId) {
    assert_eq!(d.rule, rule, "{d}");
}

/// WM-4: output runs only with bytes queued on an open socket.
#[test]
fn output_with_nothing_queued() {
    let mut m = port(vec![], Variant::Reference);
    assert_rule(&refused(&mut m, Activity::Output), ids::WM_4);
}

/// DS-2: while the delay_send flush is armed, the queue waits for it, not
/// for writability.
#[test]
fn output_before_the_delay_send_flush() {
    let mut m = port(vec![Opt::DelaySend(true)], Variant::Reference);
    m.step(&send(0, 10, 1), &[]).expect("DS-1: queued without a write");
    assert_rule(&refused(&mut m, Activity::Output), ids::WM_4);
}

/// DIFF-SOCK-3: a send timer expires only for a send that is pending.
#[test]
fn expiry_without_a_pending_send() {
    let mut m = port(vec![], Variant::OtpSocket);
    assert_rule(&refused(&mut m, Activity::Expire(SenderId(0))), ids::DIFF_SOCK_3);
}

/// DIFF-SOCK-1: a caller returns only from a send that finished.
#[test]
fn return_without_a_finished_send() {
    let mut m = port(vec![], Variant::OtpSocket);
    assert_rule(&refused(&mut m, Activity::Returned(SenderId(0))), ids::DIFF_SOCK_1);
}

/// OPT-2/RX-5 on the inet driver: `low_watermark` is a mark of the send
/// queue, not of input, so 10 bytes below it are delivered at once; only
/// the socket backend turns it into SO_RCVLOWAT (DIFF-SOCK-8).
#[test]
fn input_below_low_watermark_is_read_on_the_inet_driver() {
    use reference::observation::{OwnerMsg, Reply};
    use reference::options::ActiveSetting;
    let mut m = port(vec![Opt::LowWatermark(30)], Variant::Reference);
    m.step(&Op::SetOpts { opts: vec![Opt::Active(ActiveSetting::True)] }, &[]).expect("OPT-5");
    m.step(&Op::PeerWrite { len: Bytes(10), tag: 9 }, &[]).expect("RX-6");
    m.step(&Op::Quiesce, &[Choice::Ran(Activity::Input), Choice::Read { got: Bytes(10) }])
        .expect("RX-5: readable with 10 < 30 bytes");
    let p = m.step(&Op::Mailbox, &[]).expect("RX-5");
    assert!(
        matches!(&p.observation.reply, Reply::Mailbox(v) if matches!(v.as_slice(), [OwnerMsg::Tcp(d)] if d.len() == 10)),
        "{:?}",
        p.observation.reply
    );
}
