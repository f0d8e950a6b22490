//! The port-task queue (MQ-*): sends that could not run immediately are
//! scheduled; their bytes make the msgq size that drives msgq-busy.

use super::senders::Sender;
use super::{Choices, Divergence, Model, PendingSend};
use crate::observation::SendResult;
use crate::rules::ids;
use crate::units::Bytes;
use std::collections::VecDeque;

/// The port's task queue and msgq-busy state (MQ-*).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(super) struct TaskQueue {
    pub(super) queue: VecDeque<PendingSend>,
    /// The msgq size: the bytes of the scheduled sends (MQ-3).
    pub(super) size: Bytes,
    /// msgq-busy (MQ-3, MQ-4).
    pub(super) busy: bool,
    /// Another scheduler holds the port lock (MQ-1).
    pub(super) lock_held: bool,
}

impl Model {
    /// MQ-1/MQ-3: schedule; msgq-busy when the size exceeds high (strict).
    pub(super) fn schedule(&mut self, p: PendingSend) {
        // A msgq standing exactly at high_msgq_watermark is not busy (MQ-3's
        // strict >): that, not the scheduling (MQ-1), kept this sender from
        // suspending.
        let at_high = self.state.tasks.size > Bytes::ZERO && self.state.tasks.size == self.state.opts.high_msgq;
        self.state.tasks.queue.push_back(p);
        self.state.tasks.size += p.len;
        self.why.msgq = ids::MQ_3;
        if self.state.tasks.size > self.state.opts.high_msgq {
            if !self.state.tasks.busy {
                self.cross(ids::MQ_3);
            }
            self.state.tasks.busy = true;
        }
        self.why.busy_msgq = ids::MQ_3;
        let rule = if at_high { ids::MQ_3 } else { ids::MQ_1 };
        self.set_sender(p.sender, Sender::Waiting, rule);
        self.decide(ids::MQ_1);
    }

    /// The first task that may run: with the driver busy, plain sends wait
    /// (MQ-5) while nosuspend (MQ-6) and force sends run.
    pub(super) fn runnable_task(&self) -> Option<usize> {
        if self.state.tasks.lock_held {
            return None;
        }
        let busy = self.driver().busy;
        self.state.tasks.queue.iter().position(|t| !busy || t.flags.nosuspend || t.flags.force)
    }

    pub(super) fn run_task(&mut self, c: &mut Choices) -> Result<(), Divergence> {
        let i = self.runnable_task().expect("checked by activity_enabled");
        let t = self.state.tasks.queue.remove(i).expect("index from runnable_task");
        if i > 0 {
            self.cross(ids::MQ_5); // a plain task ahead of it waits for busy to clear
        } else {
            self.decide(ids::MQ_5);
        }
        let result = if self.driver().busy && t.flags.nosuspend && !t.flags.force {
            self.decide(ids::MQ_6);
            self.cross(ids::MQ_6);
            Some(SendResult::False)
        } else {
            self.driver_output(t, c)?
        };
        if let Some(r) = result {
            let rule = self.last_rule;
            self.deliver(t.sender, r, rule);
        }
        // MQ-4: after execution, strictly below low clears msgq-busy.
        self.state.tasks.size -= t.len;
        self.why.msgq = ids::MQ_4;
        if self.state.tasks.busy && self.state.tasks.size < self.state.opts.low_msgq {
            self.state.tasks.busy = false;
            self.cross(ids::MQ_4);
            self.why.busy_msgq = ids::MQ_4;
            if !self.driver().busy {
                self.resume_all(ids::MQ_4);
            }
        } else if self.state.tasks.busy {
            self.why.busy_msgq = ids::MQ_4;
        }
        Ok(())
    }
}
