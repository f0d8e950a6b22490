//! One step: the op, with what a settling system runs before and after it,
//! and the prediction made of the result.

use super::choices::{Choices, Pick};
use super::schedule::activity_rule;
use super::{Backend, Divergence, Life, Model, Prediction};
use crate::choice::Choice;
use crate::observation::{Busy, Observation, Reply};
use crate::op::Op;
use crate::rules::ids;
use crate::units::Bytes;
use crate::variant::Variant;

impl Model {
    /// DIFF-INET-2: the blocked caller's reply is seen once the resumed
    /// senders' retries have run: after them in the step's completions.
    /// Between steps (a send timer that fired before the op, its resumed
    /// senders all retried), that is before the op's own completions
    /// (swarm seed 1614 on OTP 25: S0's {error,timeout}, then S1's
    /// {error,einval} from the kill that followed).
    fn release_deferred(&mut self) {
        if self.step.deferred.is_empty() {
            return;
        }
        if !self.step.completed.is_empty() {
            self.cross(ids::DIFF_INET_2);
            self.why.completed_order = Some(ids::DIFF_INET_2);
        }
        let d = std::mem::take(&mut self.step.deferred);
        self.step.completed.extend(d);
    }

    /// Apply one op with the system's choices; predict the observation.
    pub fn step(&mut self, op: &Op, choices: &[Choice]) -> Result<Prediction, Divergence> {
        self.step_on(op, &mut Choices::new(choices), false)
    }

    /// Apply one op reading choices from `c`. `settle`: the system under
    /// test ran itself to quiescence before answering (real OTP, through
    /// its adapter), so the op is followed by a quiescence in the same step.
    pub(super) fn step_on(&mut self, op: &Op, c: &mut Choices, settle: bool) -> Result<Prediction, Divergence> {
        self.step.applied = None;
        self.step.between_steps = false;
        self.step.completed.clear();
        self.why.completed_order = None;
        self.step.busy_port_events.clear();
        self.step.reader_returned = None;
        let queue_before = self.observed_queue();
        if settle && self.config.real_clock {
            // A real runtime on a real kernel keeps going between steps:
            // an armed send timer may fire, and an ACK that arrived after
            // the last answer may let the driver write, before the op
            // reaches the port.
            self.step.between_steps = true;
            while self.before_op_enabled().next().is_some() {
                self.step.before_op = true;
                let a = c.next_activity()?;
                self.step.before_op = false;
                match a {
                    None => break,
                    Some(a) if self.before_op_enabled().any(|b| b == a) => self.run_activity(a, c)?,
                    Some(other) => {
                        return Err(Divergence::new(activity_rule(other), format!("{other:?} ran before the op")))
                    }
                }
            }
            self.step.between_steps = false;
            if self.state.senders.resumable.is_empty() {
                self.release_deferred();
            }
        }
        let (reply, reply_rule) = self.apply(op, c)?;
        if settle {
            // Only a settling step quiesces after the op, where the
            // derivation merges on it.
            self.step.applied = Some(reply.clone());
        }
        if settle && !matches!(op, Op::Quiesce | Op::AwaitIo | Op::AdvanceTime { .. }) {
            self.decide(ids::SCHED_1);
            self.quiesce(c)?;
        }
        self.release_deferred();
        let mut reply = reply;
        let mut reply_rule = reply_rule;
        if let (true, Op::Send { sender, .. }, Reply::Sent(None)) = (settle, op, &reply) {
            // A system that settles within the step reports its own send's
            // result in the reply when it finished before the step ended.
            if let Some(i) = self.step.completed.iter().position(|c| c.0 == *sender) {
                let (_, r, rule) = self.step.completed.remove(i);
                reply = Reply::Sent(Some(r));
                reply_rule = rule;
            }
        }
        match c.leftover() {
            None => {}
            Some(Pick::Made(extra)) => {
                return Err(Divergence::new(
                    self.unexpected_rule(extra),
                    format!("the system made a choice the model has no place for: {extra:?}"),
                ))
            }
            Some(Pick::Quiet) => return Err(Divergence::new(ids::SCHED_1, "quiet where nothing could run")),
        }
        self.why.reply = reply_rule;
        self.step.applied = None;
        let mut p = self.predict(reply);
        if matches!(op, Op::Send { .. }) && p.observation.queue == queue_before {
            // The send left the queue as it was: a system whose queue
            // changed broke the rule that decided the send (SND-1 suspend,
            // SND-2 drop, TO-2, WM-5...), not the one that last shaped it.
            p.why.queue = reply_rule;
        }
        Ok(p)
    }

    /// DIFF-INET-3: on OTP a port closed with output queued stays in
    /// ERTS's port table while its driver flushes, and port_info still
    /// reports the queue.
    pub(super) fn observed_queue(&self) -> Bytes {
        match &self.state.backend {
            Backend::Driver(_) if self.state.life == Life::Closed && self.config.variant != Variant::OtpInet => {
                Bytes::ZERO
            }
            Backend::Driver(d) => d.queue,
            Backend::Socket(_) => Bytes::ZERO,
        }
    }

    fn predict(&self, reply: Reply) -> Prediction {
        let senders = self.state.senders.list.iter().map(|s| s.status()).collect();
        let mut why = self.why.clone();
        why.completed = self.step.completed.iter().map(|c| c.2).collect();
        Prediction {
            observation: Observation {
                reply,
                senders,
                completed: self.step.completed.iter().map(|&(s, r, _)| (s, r)).collect(),
                busy_port_events: self.step.busy_port_events.clone(),
                queue: self.observed_queue(),
                busy: Some(Busy { driver: self.driver().busy, msgq: self.state.tasks.busy }),
                msgq: Some(self.state.tasks.size),
                ports: self.state.table.ports,
                reader: self.reader_status(),
            },
            why,
        }
    }
}
