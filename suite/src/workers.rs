//! Where a run's cases execute: one after another on the calling thread, or
//! on several worker threads at once (`portcheck run --jobs N`, issue 18).
//!
//! Real OTP cases spend most of their time waiting on an `erl` node and on
//! sockets, so two cases at once on a 2-core machine nearly double the rate.
//! What must not change is the verdict: cases are drawn on the calling
//! thread in seed order, exactly as a serial run draws them, and their
//! outcomes are handed back in that order, so whoever settles them sees the
//! serial run's sequence. A worker may have started cases past the first
//! failure by then; their outcomes are dropped unseen (the serial run would
//! never have run them).
//!
//! Each worker thread keeps its own nodes: the node pool hands a process
//! only to the thread that started it (`harness::sut::external::reuse`), so
//! no two cases share a node, and a worker's nodes end with it.

use harness::executor::{run_case, CaseOutcome};
use harness::sut::SutFactory;
use reference::op::{Op, Setup};
use std::collections::BTreeMap;
use std::num::NonZeroUsize;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Mutex};

/// What the settling side tells the runner after each case.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flow {
    /// Hand me the next case.
    Go,
    /// Done (a failure to shrink): run nothing more.
    Stop,
}

/// The threads cases run on.
#[derive(Clone, Copy)]
pub enum Workers<'a> {
    /// On the calling thread, one after another (a factory that is not
    /// `Sync` runs only so).
    Inline(&'a dyn SutFactory),
    /// On `jobs` worker threads at once.
    Threads(&'a (dyn SutFactory + Sync), NonZeroUsize),
}

/// Cases queued per worker: one running, one waiting, so a worker never
/// idles while the calling thread draws the next case.
const QUEUED_PER_WORKER: usize = 2;

impl<'a> Workers<'a> {
    /// `jobs` threads, or the calling thread when `jobs` is 1.
    pub fn new(factory: &'a (dyn SutFactory + Sync), jobs: NonZeroUsize) -> Workers<'a> {
        if jobs.get() == 1 {
            Workers::Inline(factory)
        } else {
            Workers::Threads(factory, jobs)
        }
    }

    /// The factory every case runs on (shrinking runs on it too, on the
    /// calling thread).
    pub fn factory(&self) -> &'a dyn SutFactory {
        match *self {
            Workers::Inline(f) => f,
            Workers::Threads(f, _) => f,
        }
    }

    /// Runs the cases `next` draws (numbered from 0 in the order drawn) and
    /// hands each outcome to `settle` in that order, until `next` has no
    /// more or `settle` says stop. A panic in a worker is raised again here
    /// once the other workers stopped.
    pub fn run(
        self,
        mut next: impl FnMut() -> Option<(Setup, Vec<Op>)>,
        mut settle: impl FnMut(u32, CaseOutcome) -> Flow,
    ) {
        match self {
            Workers::Inline(factory) => {
                let mut i = 0;
                while let Some((setup, ops)) = next() {
                    if settle(i, run_case(factory, &setup, &ops)) == Flow::Stop {
                        return;
                    }
                    i += 1;
                }
            }
            Workers::Threads(factory, jobs) => in_threads(factory, jobs.get(), next, settle),
        }
    }
}

type Outcome = std::thread::Result<CaseOutcome>;

fn in_threads(
    factory: &(dyn SutFactory + Sync),
    jobs: usize,
    mut next: impl FnMut() -> Option<(Setup, Vec<Op>)>,
    mut settle: impl FnMut(u32, CaseOutcome) -> Flow,
) {
    let stop = AtomicBool::new(false);
    let (work_tx, work_rx) = mpsc::channel::<(u32, Setup, Vec<Op>)>();
    let work_rx = Mutex::new(work_rx);
    let (done_tx, done_rx) = mpsc::channel::<(u32, Outcome)>();
    let mut panicked = None;
    std::thread::scope(|s| {
        for _ in 0..jobs {
            let done_tx = done_tx.clone();
            let (work_rx, stop) = (&work_rx, &stop);
            s.spawn(move || loop {
                let job = work_rx.lock().unwrap_or_else(|e| e.into_inner()).recv();
                let Ok((i, setup, ops)) = job else { return };
                if stop.load(Ordering::Relaxed) {
                    return;
                }
                let out = panic::catch_unwind(AssertUnwindSafe(|| run_case(factory, &setup, &ops)));
                if done_tx.send((i, out)).is_err() {
                    return;
                }
            });
        }
        drop(done_tx);
        let (mut drawn, mut settled, mut exhausted) = (0u32, 0u32, false);
        let mut ready: BTreeMap<u32, CaseOutcome> = BTreeMap::new();
        'run: loop {
            while !exhausted && ((drawn - settled) as usize) < jobs * QUEUED_PER_WORKER {
                match next() {
                    Some((setup, ops)) => {
                        work_tx.send((drawn, setup, ops)).expect("workers wait while the run goes on");
                        drawn += 1;
                    }
                    None => exhausted = true,
                }
            }
            if settled == drawn {
                break;
            }
            let Ok((i, out)) = done_rx.recv() else { break };
            match out {
                Ok(out) => ready.insert(i, out),
                Err(p) => {
                    panicked = Some(p);
                    break;
                }
            };
            while let Some(out) = ready.remove(&settled) {
                settled += 1;
                if settle(settled - 1, out) == Flow::Stop {
                    break 'run;
                }
            }
        }
        // Queued cases are dropped unrun; running ones end on their own
        // (their outcome has nowhere to go), then the workers return.
        stop.store(true, Ordering::Relaxed);
        drop(work_tx);
        drop(done_rx);
    });
    if let Some(p) = panicked {
        panic::resume_unwind(p);
    }
}
