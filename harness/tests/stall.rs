//! A system that stops making progress (issue 15): a wait for it that times
//! out is a failure under the rule that required the progress, not a
//! system failure without a rule.

use harness::executor::run_case;
use harness::sut::{Step, SutError, SutFactory, SystemUnderTest};
use reference::choice::Choice;
use reference::observation::{Busy, Observation, PeerRead, Reply, SendResult, SenderStatus};
use reference::op::{Op, SendFlags, Setup};
use reference::rules::ids;
use reference::units::{Bytes, SenderId};

/// A runtime whose kernel took a send's 10 bytes but whose peer never sees
/// them: every read finds nothing, and every wait for the peer times out.
struct LostBytes;

fn seen(reply: Reply) -> Observation {
    Observation {
        reply,
        senders: vec![SenderStatus::Idle; 2],
        completed: vec![],
        busy_port_events: vec![],
        queue: Bytes::ZERO,
        busy: Some(Busy { driver: false, msgq: false }),
        msgq: Some(Bytes::ZERO),
        ports: 2,
        reader: Default::default(),
    }
}

impl SystemUnderTest for LostBytes {
    fn apply(&mut self, op: &Op) -> Result<Step, SutError> {
        let (reply, choices) = match op {
            Op::Send { .. } => {
                (Reply::Sent(Some(SendResult::Ok)), vec![Choice::Wrote { requested: Bytes(10), accepted: Bytes(10) }])
            }
            Op::PeerRead { .. } => (Reply::Peer(PeerRead::WouldBlock), vec![Choice::PeerGot { got: Bytes::ZERO }]),
            Op::AwaitPeer | Op::AwaitIo => return Err(SutError::stalled("the peer saw nothing arrive within 10ms")),
            _ => (Reply::None, vec![]),
        };
        Ok(Step { observation: seen(reply), choices })
    }
}

struct LostBytesFactory;

impl SutFactory for LostBytesFactory {
    fn name(&self) -> &str {
        "lost-bytes"
    }

    fn start(&self, _: &Setup) -> Result<Box<dyn SystemUnderTest>, SutError> {
        Ok(Box::new(LostBytes))
    }
}

/// ST-1: bytes the kernel accepted must reach the peer; the drain's wait
/// for them timed out, so the case fails under ST-1, as a stall.
#[test]
fn a_stalled_peer_fails_under_st1() {
    let send = Op::Send { sender: SenderId(0), len: Bytes(10), tag: 1, flags: SendFlags::default() };
    let out = run_case(&LostBytesFactory, &Setup::default(), &[send]);
    let f = out.failure.expect("the bytes never arrive");
    assert_eq!(f.rule(), Some(ids::ST_1), "{f}");
    assert!(f.is_stall(), "{f}");
    assert!(f.to_string().contains("10B accepted by the kernel"), "{f}");
}

/// A system failure that is not a stall keeps no rule.
#[test]
fn a_crash_during_a_wait_is_not_a_stall() {
    struct Crashes;
    impl SystemUnderTest for Crashes {
        fn apply(&mut self, op: &Op) -> Result<Step, SutError> {
            match op {
                Op::AwaitPeer => Err(SutError("crashed".into())),
                _ => LostBytes.apply(op),
            }
        }
    }
    struct F;
    impl SutFactory for F {
        fn name(&self) -> &str {
            "crashes"
        }
        fn start(&self, _: &Setup) -> Result<Box<dyn SystemUnderTest>, SutError> {
            Ok(Box::new(Crashes))
        }
    }
    let send = Op::Send { sender: SenderId(0), len: Bytes(10), tag: 1, flags: SendFlags::default() };
    let f = run_case(&F, &Setup::default(), &[send]).failure.expect("it crashes");
    assert_eq!(f.rule(), None, "{f}");
}

/// The end of every case compares the owner's mailbox (issue 15): a
/// message the system put there wrongly is seen although no op read it.
#[test]
fn a_wrong_message_left_in_the_mailbox_fails_the_case() {
    use reference::observation::OwnerMsg;
    struct Chatty;
    impl SystemUnderTest for Chatty {
        fn apply(&mut self, op: &Op) -> Result<Step, SutError> {
            match op {
                Op::Mailbox => {
                    Ok(Step { observation: seen(Reply::Mailbox(vec![OwnerMsg::TcpPassive])), choices: vec![] })
                }
                _ => Ok(Step { observation: seen(Reply::None), choices: vec![] }),
            }
        }
    }
    struct F;
    impl SutFactory for F {
        fn name(&self) -> &str {
            "chatty"
        }
        fn start(&self, _: &Setup) -> Result<Box<dyn SystemUnderTest>, SutError> {
            Ok(Box::new(Chatty))
        }
    }
    let out = run_case(&F, &Setup::default(), &[Op::Quiesce]);
    let f = out.failure.expect("an unexpected tcp_passive");
    assert!(matches!(out.trace[f.step].op, Op::Mailbox), "{f}");
    // The socket is passive by default: OPT-7 decided the mode it came in.
    assert_eq!(f.rule(), Some(ids::OPT_7), "{f}");
}

/// A measurement the adapter made beside the system's report that
/// contradicts a rule (`SutError::contradicts`: the kernel counts fewer
/// bytes taken than the runtime reported, ST-2) fails the case under that
/// rule, at that step; it is neither a stall nor a ruleless system failure.
#[test]
fn a_measured_contradiction_fails_under_its_rule() {
    struct Misreports;
    impl SystemUnderTest for Misreports {
        fn apply(&mut self, op: &Op) -> Result<Step, SutError> {
            match op {
                Op::Send { .. } => Err(SutError::contradicts(ids::ST_2, "reported 10 taken, the kernel counts 4")),
                _ => LostBytes.apply(op),
            }
        }
    }
    struct F;
    impl SutFactory for F {
        fn name(&self) -> &str {
            "misreports"
        }
        fn start(&self, _: &Setup) -> Result<Box<dyn SystemUnderTest>, SutError> {
            Ok(Box::new(Misreports))
        }
    }
    let send = Op::Send { sender: SenderId(0), len: Bytes(10), tag: 1, flags: SendFlags::default() };
    let f = run_case(&F, &Setup::default(), &[Op::Quiesce, send]).failure.expect("contradicted");
    assert_eq!(f.rule(), Some(ids::ST_2), "{f}");
    assert_eq!(f.step, 1, "{f}");
    assert!(!f.is_stall(), "{f}");
    assert!(f.to_string().contains("the kernel counts 4"), "{f}");
    // Only a catalogued rule is read back: anything else stays a system failure.
    assert_eq!(SutError("contradicts XX-9: made up".into()).contradiction(), None);
}
