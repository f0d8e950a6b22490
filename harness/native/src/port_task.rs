//! The port-task queue ("msgq"): sends that could not execute immediately
//! (MQ-1) are scheduled here, counted in the msgq size, and executed in FIFO
//! order by the scheduler. While the driver queue is busy, plain tasks wait in
//! the busy-wait queue (MQ-5); nosuspend tasks run and are aborted (MQ-6);
//! forced tasks run.

use crate::bugs::{Faults, PlantedBug};
use crate::process::Command;
use crate::units::{Bytes, SenderId};
use std::collections::VecDeque;

/// A scheduled `port_command`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Task {
    pub sender: SenderId,
    pub cmd: Command,
}

impl Task {
    /// Whether the task may run while the driver queue is busy: forced tasks
    /// go through (SND-3), nosuspend tasks run only to be aborted (MQ-6).
    fn runs_on_busy_driver(&self) -> bool {
        self.cmd.flags.force || self.cmd.flags.nosuspend
    }

    /// MQ-6: a nosuspend (unforced) task that finds the driver busy is aborted.
    pub fn aborts_on_busy_driver(&self) -> bool {
        self.cmd.flags.nosuspend && !self.cmd.flags.force
    }
}

/// The msgq limits in force.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MsgqLimits {
    pub high: Bytes,
    pub low: Bytes,
}

#[derive(Debug, Default)]
pub struct TaskQueue {
    tasks: VecDeque<Task>,
    /// Bytes of command data in scheduled tasks (MQ-3).
    size: Bytes,
    /// ERTS_PTS_FLG_BUSY_PORT_Q.
    busy: bool,
}

impl TaskQueue {
    pub fn is_empty(&self) -> bool {
        self.tasks.is_empty()
    }

    pub fn size(&self) -> Bytes {
        self.size
    }

    pub fn is_busy(&self) -> bool {
        self.busy
    }

    /// Schedule a task; MQ-3: msgq-busy when the size goes above high_msgq.
    pub fn schedule(&mut self, task: Task, limits: MsgqLimits, faults: Faults) {
        self.size += task.cmd.len;
        self.tasks.push_back(task);
        let over =
            if faults.has(PlantedBug::MsgqBusyAtGe) { self.size >= limits.high } else { self.size > limits.high };
        if over {
            self.busy = true;
        }
    }

    /// The first task that may run now, given the driver's busy state.
    pub fn next_runnable(&self, driver_busy: bool) -> Option<usize> {
        self.tasks.iter().position(|t| !driver_busy || t.runs_on_busy_driver())
    }

    pub fn take(&mut self, ix: usize) -> Task {
        self.tasks.remove(ix).expect("task index in range")
    }

    /// A task was executed or aborted: its bytes leave the msgq; MQ-4: below
    /// low_msgq (strict) msgq-busy is cleared. Returns whether it was.
    pub fn done(&mut self, task: &Task, limits: MsgqLimits) -> bool {
        self.size -= task.cmd.len;
        if self.busy && self.size < limits.low {
            self.busy = false;
            return true;
        }
        false
    }

    /// The port is gone: every task is aborted.
    pub fn abort_all(&mut self) -> Vec<Task> {
        self.size = Bytes::ZERO;
        self.busy = false;
        self.tasks.drain(..).collect()
    }
}
