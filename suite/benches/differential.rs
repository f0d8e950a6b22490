//! Differential: real-OTP cases per second, and where a case's time goes —
//! start-up (a node started, or an idle one taken, and the case's
//! `hello`/`ready`), ops (every step and the drain, the model's derivation
//! included) and teardown (the `reset` exchange, or killing the node) —
//! per backend, with nodes reused (`external::reuse`), with reused nodes
//! and two cases at once (`--jobs 2`, `suite::workers`: each worker on its
//! own nodes), and with a node per case (`--fresh-node`), on the same cases
//! (the gate's: its seeds, drawn uniformly). Figures only: nothing here
//! asserts on time. The verdicts of the ways are compared and the count of
//! cases that differ from the first printed (`suite/tests/node_reuse.rs`
//! and `suite/tests/parallel_cases.rs` are the tests of that). With two
//! jobs, start-up, ops and teardown are summed over both workers, so they
//! add up to about twice the wall time.
//!
//! `cargo bench -p portcheck --bench differential`; `PORTCHECK_ERL=PATH`
//! for another release (`/opt/portcheck-otp/27/bin/erl`),
//! `PORTCHECK_BENCH_CASES` for the number of cases per backend (default 60).

use harness::sut::beam::{Backend, BeamFactory};
use harness::sut::SutFactory;
use proptest::strategy::{Strategy, ValueTree};
use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use suite::environment::machine;
use suite::generate::Generation;
use suite::workers::{Flow, Workers};

/// The ways cases run, each on a factory of its own: (label, a node per
/// case, jobs).
const WAYS: [(&str, bool, usize); 3] = [("reused", false, 1), ("reused -j2", false, 2), ("--fresh-node", true, 1)];

/// The gate's seeds (`suite/tests/differential.rs`), one per backend.
fn seed(b: Backend) -> u64 {
    match b {
        Backend::Inet => 101,
        Backend::Socket => 202,
    }
}

struct Run {
    cases: usize,
    passed: usize,
    wall: Duration,
    start: Duration,
    teardown: Duration,
    spawned: u32,
    reused: u32,
    dirty: u32,
    verdicts: Vec<Option<String>>,
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    if !args.is_empty() && !args.iter().any(|a| "differential".contains(a.as_str())) {
        return;
    }
    let erl = std::env::var_os("PORTCHECK_ERL").filter(|v| !v.is_empty()).map(PathBuf::from);
    if erl.is_none() && suite::capability::which("erl").is_none() {
        println!("SKIP differential bench: needs `erl` on PATH (or PORTCHECK_ERL)");
        return;
    }
    let cases: usize = std::env::var("PORTCHECK_BENCH_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(60);
    println!("== differential: real-OTP cases per second, node reuse vs --fresh-node ==");
    println!("{}", machine());
    println!(
        "{:<12} {:<12} {:>6} {:>7} {:>8} {:>9} {:>8} {:>9} {:>8} {:>8} {:>6}  verdicts",
        "backend",
        "nodes",
        "cases",
        "passed",
        "cases/s",
        "start ms",
        "ops ms",
        "teardn ms",
        "started",
        "reused",
        "dirty"
    );
    for b in [Backend::Inet, Backend::Socket] {
        let mut runs: Vec<Run> = vec![];
        for (label, fresh, jobs) in WAYS {
            let mut f = match BeamFactory::new(b, erl.as_deref()) {
                Ok(f) => f,
                Err(e) => {
                    println!("SKIP differential bench: {e}");
                    return;
                }
            };
            f.fresh_node = fresh;
            f.pool().keep_history();
            let jobs = NonZeroUsize::new(jobs).expect("jobs > 0");
            let run = run(&f, b, cases, jobs);
            let per = |d: Duration| d.as_secs_f64() * 1000.0 / run.cases as f64;
            // Worker time: wall time times the workers, less start-up and teardown.
            let ops = (run.wall * jobs.get() as u32).saturating_sub(run.start + run.teardown);
            let same = match runs.first() {
                Some(first) => {
                    let differ = first.verdicts.iter().zip(&run.verdicts).filter(|(a, b)| a != b).count();
                    format!("{differ} differ from the first")
                }
                None => format!("on {}", f.runtime()),
            };
            println!(
                "{:<12} {:<12} {:>6} {:>7} {:>8.1} {:>9.1} {:>8.1} {:>9.1} {:>8} {:>8} {:>6}  {same}",
                format!("beam-{}", b.arg()),
                label,
                run.cases,
                run.passed,
                run.cases as f64 / run.wall.as_secs_f64(),
                per(run.start),
                per(ops),
                per(run.teardown),
                run.spawned,
                run.reused,
                run.dirty,
            );
            // Why a node was not reused: the first dirty reset's reason.
            let dirty = f.pool().history().into_iter().find_map(|u| match u.end {
                Some(harness::sut::external::reuse::NodeEnd::Dirty(why)) => Some(why),
                _ => None,
            });
            if let Some(why) = dirty {
                println!("  first dirty reset: {}", why.lines().next().unwrap_or_default());
            }
            runs.push(run);
        }
    }
}

/// The first `n` cases of the backend's seed, each run to its verdict (no
/// shrinking: a failing case is counted and the next one runs).
fn run(f: &BeamFactory, b: Backend, n: usize, jobs: NonZeroUsize) -> Run {
    let strategy = suite::generate::case_by(Generation::Uniform, 40, f.abilities());
    let mut runner = suite::check::runner(seed(b));
    let mut verdicts = vec![];
    let mut left = n;
    let t = Instant::now();
    Workers::new(f, jobs).run(
        || {
            left = left.checked_sub(1)?;
            Some(strategy.new_tree(&mut runner).expect("strategy never rejects").current())
        },
        |_, out| {
            verdicts.push(out.failure.as_ref().map(|x| format!("step {} {:?}", x.step, x.rule())));
            Flow::Go
        },
    );
    let wall = t.elapsed();
    let s = f.pool().stats();
    Run {
        cases: n,
        passed: verdicts.iter().filter(|v| v.is_none()).count(),
        wall,
        start: s.start,
        teardown: s.teardown,
        spawned: s.spawned,
        reused: s.reused,
        dirty: s.dirty,
        verdicts,
    }
}
