//! Sender processes. A process is idle, waiting for the reply of a send it
//! made (SND-5, MQ-5), or suspended on a busy port (SND-1) with the send it
//! will retry when resumed (SND-4). Resumed processes go to the run queue and
//! run, in the order they were suspended, when the scheduler gets to them.

use crate::reply::SenderStatus;
use crate::units::{Bytes, SenderId};
use std::collections::VecDeque;

/// Flags of `erlang:port_command/3` as gen_tcp users reach them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SendFlags {
    /// `nosuspend`: answer `false` rather than suspend on a busy port (SND-2).
    pub nosuspend: bool,
    /// `force`: go through a busy port (SND-3).
    pub force: bool,
}

/// A `port_command` a process is making (or will retry).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Command {
    pub len: Bytes,
    pub tag: u16,
    pub flags: SendFlags,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Idle,
    /// Blocked in `receive {inet_reply, ..}` (or the reply of a scheduled op).
    Waiting,
    /// Suspended inside `port_command`; retries `Command` when resumed.
    Suspended(Command),
}

/// Every sender process of the runtime, and the scheduler's run queue of
/// resumed ones.
#[derive(Debug)]
pub struct Processes {
    procs: Vec<State>,
    run_queue: VecDeque<SenderId>,
}

impl Processes {
    pub fn new(n: u8) -> Self {
        Processes { procs: vec![State::Idle; n as usize], run_queue: VecDeque::new() }
    }

    pub fn len(&self) -> usize {
        self.procs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.procs.is_empty()
    }

    pub fn exists(&self, s: SenderId) -> bool {
        (s.0 as usize) < self.procs.len()
    }

    pub fn status(&self, s: SenderId) -> SenderStatus {
        match self.procs[s.0 as usize] {
            State::Idle => SenderStatus::Idle,
            State::Waiting => SenderStatus::Waiting,
            State::Suspended(_) => SenderStatus::Suspended,
        }
    }

    pub fn statuses(&self) -> Vec<SenderStatus> {
        (0..self.procs.len()).map(|i| self.status(SenderId(i as u8))).collect()
    }

    pub fn set_idle(&mut self, s: SenderId) {
        self.procs[s.0 as usize] = State::Idle;
    }

    pub fn set_waiting(&mut self, s: SenderId) {
        self.procs[s.0 as usize] = State::Waiting;
    }

    pub fn suspend(&mut self, s: SenderId, cmd: Command) {
        self.procs[s.0 as usize] = State::Suspended(cmd);
    }

    /// Make resumed processes runnable, in the order given (SND-4).
    pub fn make_runnable(&mut self, resumed: impl IntoIterator<Item = SenderId>) {
        self.run_queue.extend(resumed);
    }

    /// The process that runs next, without taking it.
    pub fn peek_runnable(&self) -> Option<SenderId> {
        self.run_queue.iter().copied().find(|s| matches!(self.procs[s.0 as usize], State::Suspended(_)))
    }

    /// Take the resumed processes that have not retried yet (still
    /// suspended in their `port_command`), in the order they would have
    /// run; the run queue is left empty. Entries of processes no longer
    /// suspended (killed, SND-7) are dropped, and a process is listed once.
    pub fn take_resumed(&mut self) -> Vec<SenderId> {
        let mut resumed: Vec<SenderId> = Vec::new();
        for s in std::mem::take(&mut self.run_queue) {
            if matches!(self.procs[s.0 as usize], State::Suspended(_)) && !resumed.contains(&s) {
                resumed.push(s);
            }
        }
        resumed
    }

    /// The next resumed process and the command it retries. A process stays
    /// `Suspended` until it actually runs.
    pub fn next_runnable(&mut self) -> Option<(SenderId, Command)> {
        while let Some(s) = self.run_queue.pop_front() {
            if let State::Suspended(cmd) = self.procs[s.0 as usize] {
                return Some((s, cmd));
            }
        }
        None
    }
}

/// The port's list of processes suspended on it, oldest first
/// (`erts_port_resume_procs` resumes them all, in this order).
#[derive(Debug, Default)]
pub struct SuspendList(VecDeque<SenderId>);

impl SuspendList {
    pub fn push(&mut self, s: SenderId) {
        self.0.push_back(s);
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// A process that died leaves the list (SND-7).
    pub fn remove(&mut self, s: SenderId) {
        self.0.retain(|&x| x != s);
    }

    /// Take every suspended process, oldest first.
    pub fn drain(&mut self) -> Vec<SenderId> {
        self.0.drain(..).collect()
    }
}
