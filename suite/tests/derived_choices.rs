//! The derivation (`reference::model::derive`), which real OTP needs
//! because it does not say what each write took or which activity ran, is
//! exercised here without `erl`: the native runtime is observed through a
//! narrower window, with its choices hidden, so the executor must derive
//! them from the observations alone, as it does for OTP.
//!
//! - Hidden choices: a correct runtime is explained on every case (the
//!   prediction set is never empty), and a planted bug is still caught
//!   under the rule it breaks: deriving loosens nothing.
//! - Hidden choices, settling within each step (the runtime runs to
//!   quiescence before answering, a sender's own completed send comes back
//!   in its reply, timers declared on the real clock), as OTP's adapter
//!   behaves: the same.

use harness::sut::native::{NativeFactory, PlantedBug};
use harness::sut::{Abilities, Step, SutError, SutFactory, SystemUnderTest};
use reference::observation::{Reader, Reply};
use reference::op::{Op, Setup};
use reference::rules::{ids, RuleId};
use suite::check::{check, CheckConfig, CheckReport};

/// The native runtime with its choices hidden; `settle`: it also runs to
/// quiescence within every op, and declares real-clock timers.
struct Hidden {
    bug: Option<PlantedBug>,
    settle: bool,
    name: String,
}

impl Hidden {
    fn new(bug: Option<PlantedBug>, settle: bool) -> Self {
        let name =
            format!("{}, choices hidden{}", NativeFactory::new(bug).name(), if settle { ", settling" } else { "" });
        Hidden { bug, settle, name }
    }
}

struct HiddenSut {
    inner: Box<dyn SystemUnderTest>,
    settle: bool,
}

impl SutFactory for Hidden {
    fn name(&self) -> &str {
        &self.name
    }

    fn abilities(&self) -> Abilities {
        Abilities::ALL
    }

    fn start(&self, setup: &Setup) -> Result<Box<dyn SystemUnderTest>, SutError> {
        Ok(Box::new(HiddenSut { inner: NativeFactory::new(self.bug).start(setup)?, settle: self.settle }))
    }
}

impl SystemUnderTest for HiddenSut {
    fn apply(&mut self, op: &Op) -> Result<Step, SutError> {
        let mut s = self.inner.apply(op)?;
        if self.settle && !matches!(op, Op::Quiesce | Op::AwaitIo | Op::AdvanceTime { .. }) {
            let q = self.inner.apply(&Op::Quiesce)?.observation;
            let o = &mut s.observation;
            o.completed.extend(q.completed);
            o.busy_port_events.extend(q.busy_port_events);
            // A sender's own send that finished within the step is its reply.
            if let (Op::Send { sender, .. }, Reply::Sent(None)) = (op, &o.reply) {
                if let Some(i) = o.completed.iter().position(|c| c.0 == *sender) {
                    let (_, r) = o.completed.remove(i);
                    o.reply = Reply::Sent(Some(r));
                }
            }
            (o.senders, o.queue, o.busy, o.msgq, o.ports) = (q.senders, q.queue, q.busy, q.msgq, q.ports);
            // The reader's recv returned in the op or in the quiescence
            // (RX-7): once, in this step.
            if !matches!(o.reader, Reader::Returned(_)) {
                o.reader = q.reader;
            }
        }
        s.choices.clear();
        Ok(s)
    }

    fn reports_all_choices(&self) -> bool {
        false
    }

    fn settles(&self) -> bool {
        self.settle
    }

    fn real_clock(&self) -> bool {
        self.settle
    }
}

fn run(bug: Option<PlantedBug>, settle: bool, cases: u32) -> CheckReport {
    let cfg = CheckConfig { max_shrink_iters: 300, ..CheckConfig::new(24304, cases) };
    check(&Hidden::new(bug, settle), &cfg, |_, _| {})
}

fn explained(settle: bool) {
    let r = run(None, settle, 150);
    if let Some(cx) = &r.counterexample {
        panic!(
            "the derivation failed to explain the native runtime ({}):\n{}",
            r.sut,
            suite::trace::lines(&cx.outcome)
        );
    }
    assert_eq!(r.passed, 150);
}

fn caught(bug: PlantedBug, settle: bool, rule: RuleId) {
    let r = run(Some(bug), settle, 400);
    let cx = r.counterexample.unwrap_or_else(|| panic!("{}: planted bug not found", r.sut));
    assert_eq!(cx.rule(), Some(rule), "{}:\n{}", r.sut, suite::trace::lines(&cx.outcome));
}

#[test]
fn hidden_choices_are_derived() {
    explained(false);
}

#[test]
fn hidden_choices_of_a_settling_runtime_are_derived() {
    explained(true);
}

#[test]
fn deriving_still_catches_high_gt_under_wm3() {
    caught(PlantedBug::HighGtInsteadOfGe, false, ids::WM_3);
}

#[test]
fn deriving_for_a_settling_runtime_still_catches_msgq_busy_ge_under_mq3() {
    caught(PlantedBug::MsgqBusyAtGe, true, ids::MQ_3);
}
