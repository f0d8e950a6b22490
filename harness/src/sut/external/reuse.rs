//! One adapter process for case after case (PROTOCOL.md §2.3): starting an
//! OTP node costs 0.2–0.5 s, a case's ops tens of milliseconds.
//!
//! A process goes back to the pool only when its case passed *and* its
//! adapter, asked to `reset`, says it took the case's world down and is
//! back at the baseline it had before the case's `hello`. A case that
//! failed (a divergence, a failure of the system, a bound exceeded) never
//! has its process reused: it is killed, since whatever made the case fail
//! may have left something behind that the next case would see. So is a
//! process whose reset was dirty or failed, and one whose adapter did not
//! declare `reusable`. The next case then starts a fresh process, so the
//! verdicts are those of a process per case (`--fresh-node`).
//!
//! Processes are kept per *command* (for the BEAM adapter the command
//! carries the node's configuration, `+Q` and `+spp`) and per *thread*: a
//! process is started with `PR_SET_PDEATHSIG` (`child`), which kills it when
//! the thread that started it ends, so only that thread may reuse it (one
//! started by a thread that ended is dead, and is never handed out).
//! At most [`MAX_IDLE`] are kept; the pool kills them when dropped.

use super::{ExternalSut, Runtime};
use crate::sut::{Step, SutError, SystemUnderTest};
use reference::op::{Op, Setup};
use reference::variant::{OtpRelease, Variant};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::{self, ThreadId};
use std::time::{Duration, Instant};

/// Idle processes kept at most (the BEAM adapter needs two configurations,
/// with and without `+spp`; more threads or commands evict the oldest).
pub const MAX_IDLE: usize = 4;

/// How to start a process, when none is idle.
pub struct Start<'a> {
    pub name: &'a str,
    pub command: &'a str,
    pub answer_timeout: Duration,
    /// Keep processes per `hello.start` too (PROTOCOL.md §2.3): an `exec:`
    /// command is the same for every case, but its runtime was started for
    /// one table capacity and parallelism. (The BEAM factory's command
    /// carries its node's configuration already.)
    pub per_start: bool,
}

impl Start<'_> {
    /// What a process is kept under: a case reuses only a process of the
    /// same key.
    fn key(&self, setup: &Setup) -> String {
        if self.per_start {
            let s = super::StartParams::of(setup);
            format!("{}\n{}", self.command, serde_json::to_string(&s).expect("serializes"))
        } else {
            self.command.to_string()
        }
    }
}

/// How a case's process ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NodeEnd {
    /// Reset clean: back in the pool.
    Kept,
    /// The reset said the process is not back at its baseline (or failed):
    /// killed.
    Dirty(String),
    /// The case failed: killed without a reset.
    Failed,
    /// A process per case was asked for (`--fresh-node`): killed.
    FreshNode,
    /// The adapter did not declare `reusable`: killed.
    NotReusable,
    /// Dropped without the executor saying how the case ended: killed.
    Abandoned,
}

/// One case's use of a process, when the pool keeps a history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeUse {
    /// The process's pid.
    pub pid: u32,
    /// Whether it had served an earlier case.
    pub reused: bool,
    /// `None` while the case runs.
    pub end: Option<NodeEnd>,
}

/// What the pool did, and what it cost (for the `differential` bench).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PoolStats {
    /// Processes started.
    pub spawned: u32,
    /// Cases started on a process that had served an earlier one.
    pub reused: u32,
    /// Reused processes whose `hello` failed: killed, and the case started
    /// on a fresh process instead.
    pub rehello_failed: u32,
    /// Resets answered clean.
    pub clean: u32,
    /// Resets answered dirty, or failed.
    pub dirty: u32,
    /// Processes killed because their case failed.
    pub after_failure: u32,
    /// Time spent getting a case ready to run: starting a process (or
    /// taking an idle one) and its `hello`/`ready`.
    pub start: Duration,
    /// Time spent ending cases: the `reset` exchange, or killing the process.
    pub teardown: Duration,
}

#[derive(Default)]
struct Inner {
    idle: Vec<Idle>,
    stats: PoolStats,
    /// `Some` when the pool keeps a history ([`NodePool::keep_history`]).
    history: Option<Vec<NodeUse>>,
}

struct Idle {
    command: String,
    thread: ThreadId,
    sut: ExternalSut,
}

/// The idle processes of one factory.
#[derive(Default)]
pub struct NodePool {
    inner: Mutex<Inner>,
}

impl std::fmt::Debug for NodePool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let g = self.lock();
        f.debug_struct("NodePool").field("idle", &g.idle.len()).field("stats", &g.stats).finish()
    }
}

impl NodePool {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// What the pool did so far.
    pub fn stats(&self) -> PoolStats {
        self.lock().stats.clone()
    }

    /// Record every case's process from now on ([`NodePool::history`]):
    /// for tests, which check that a failed case's process served no other.
    pub fn keep_history(&self) {
        self.lock().history.get_or_insert_with(Vec::new);
    }

    /// The cases' processes, in the order the cases started.
    pub fn history(&self) -> Vec<NodeUse> {
        self.lock().history.clone().unwrap_or_default()
    }

    /// Kills every idle process.
    pub fn clear(&self) {
        let idle = std::mem::take(&mut self.lock().idle);
        drop(idle);
    }

    /// A process for one case: an idle one of the same command on this
    /// thread (unless `fresh`), else a new one.
    pub fn start(self: &Arc<Self>, how: &Start<'_>, setup: &Setup, fresh: bool) -> Result<PooledSut, SutError> {
        let t0 = Instant::now();
        let result = self.get(how, setup, fresh);
        let mut g = self.lock();
        g.stats.start += t0.elapsed();
        let (sut, reused) = result?;
        let use_index = g.history.as_mut().map(|h| {
            h.push(NodeUse { pid: sut.pid(), reused, end: None });
            h.len() - 1
        });
        drop(g);
        Ok(PooledSut { sut: Some(sut), command: how.key(setup), pool: self.clone(), fresh, use_index })
    }

    fn get(&self, how: &Start<'_>, setup: &Setup, fresh: bool) -> Result<(ExternalSut, bool), SutError> {
        if !fresh {
            if let Some(mut sut) = self.take(&how.key(setup)) {
                match sut.next_case(setup) {
                    Ok(()) => {
                        self.lock().stats.reused += 1;
                        return Ok((sut, true));
                    }
                    // Whatever went wrong on the old process, the case runs
                    // on a fresh one, as it would with `--fresh-node`.
                    Err(_) => {
                        drop(sut);
                        self.lock().stats.rehello_failed += 1;
                    }
                }
            }
        }
        let sut = ExternalSut::spawn(how.name, how.command, how.answer_timeout, setup);
        self.lock().stats.spawned += 1;
        Ok((sut?, false))
    }

    fn take(&self, command: &str) -> Option<ExternalSut> {
        let me = thread::current().id();
        let mut g = self.lock();
        let i = g.idle.iter().position(|i| i.command == command && i.thread == me)?;
        Some(g.idle.remove(i).sut)
    }

    fn put(&self, command: String, sut: ExternalSut) {
        let evicted = {
            let mut g = self.lock();
            g.idle.push(Idle { command, thread: thread::current().id(), sut });
            let over = g.idle.len().saturating_sub(MAX_IDLE);
            g.idle.drain(..over).collect::<Vec<_>>()
        };
        // Killed outside the lock.
        drop(evicted);
    }

    fn ended(&self, use_index: Option<usize>, end: NodeEnd, took: Duration) {
        let mut g = self.lock();
        g.stats.teardown += took;
        match &end {
            NodeEnd::Kept => g.stats.clean += 1,
            NodeEnd::Dirty(_) => g.stats.dirty += 1,
            NodeEnd::Failed => g.stats.after_failure += 1,
            NodeEnd::FreshNode | NodeEnd::NotReusable | NodeEnd::Abandoned => {}
        }
        if let (Some(i), Some(h)) = (use_index, g.history.as_mut()) {
            h[i].end = Some(end);
        }
    }
}

/// A case's process, handed back to the pool after a passed case
/// ([`SystemUnderTest::finish`]) and killed otherwise.
pub struct PooledSut {
    /// `None` once the case ended.
    sut: Option<ExternalSut>,
    command: String,
    pool: Arc<NodePool>,
    fresh: bool,
    use_index: Option<usize>,
}

impl PooledSut {
    /// The running process, until the case ended.
    pub fn session(&self) -> Option<&ExternalSut> {
        self.sut.as_ref()
    }

    /// The running process, to drive op by op (the adapter's own tests),
    /// until the case ended.
    pub fn session_mut(&mut self) -> Option<&mut ExternalSut> {
        self.sut.as_mut()
    }

    fn sut(&self) -> &ExternalSut {
        self.sut.as_ref().expect("the case is running")
    }

    /// The runtime's release, when its `ready` line said.
    pub fn runtime(&self) -> Option<&Runtime> {
        self.sut().runtime()
    }
}

impl SystemUnderTest for PooledSut {
    fn apply(&mut self, op: &Op) -> Result<Step, SutError> {
        match self.sut.as_mut() {
            Some(s) => s.apply(op),
            None => Err(SutError("an op after the case ended".into())),
        }
    }
    fn reports_all_choices(&self) -> bool {
        self.sut().reports_all_choices()
    }
    fn settles(&self) -> bool {
        self.sut().settles()
    }
    fn real_clock(&self) -> bool {
        self.sut().real_clock()
    }
    fn otp_release(&self) -> Option<OtpRelease> {
        self.sut().otp_release()
    }
    fn variant(&self) -> Variant {
        self.sut().variant()
    }

    fn finish(&mut self, passed: bool) {
        let Some(mut sut) = self.sut.take() else { return };
        let t0 = Instant::now();
        let end = if !passed {
            NodeEnd::Failed
        } else if self.fresh {
            NodeEnd::FreshNode
        } else if !sut.ready().reusable {
            NodeEnd::NotReusable
        } else {
            // A driver that reset the node itself (the adapter's own tests)
            // hands it over between cases, already clean.
            let reset = if sut.between_cases() { Ok(()) } else { sut.reset() };
            match reset {
                Ok(()) => NodeEnd::Kept,
                Err(SutError(why)) => NodeEnd::Dirty(why),
            }
        };
        if end == NodeEnd::Kept {
            self.pool.put(std::mem::take(&mut self.command), sut);
        } else {
            drop(sut);
        }
        self.pool.ended(self.use_index, end, t0.elapsed());
    }
}

impl Drop for PooledSut {
    fn drop(&mut self) {
        if let Some(sut) = self.sut.take() {
            drop(sut);
            self.pool.ended(self.use_index, NodeEnd::Abandoned, Duration::ZERO);
        }
    }
}
