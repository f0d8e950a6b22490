//! Running the lockstep property: generate cases from a printed seed, run
//! each through the executor, shrink the first failure to a minimal case
//! that fails under the same rule, and tally results per rule.

use crate::generate;
use crate::known::KnownDefect;
use crate::tally::{tally, RuleTally};
use crate::workers::{Flow, Workers};
use harness::executor::{run_case, CaseOutcome};
use harness::sut::SutFactory;
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use reference::op::{Op, Setup};
use reference::rules::RuleId;
use serde::{Deserialize, Serialize};
use std::cell::RefCell;
use std::collections::{BTreeMap, VecDeque};
use std::num::NonZeroUsize;

/// What to run.
#[derive(Clone, Debug)]
pub struct CheckConfig {
    pub cases: u32,
    pub seed: u64,
    pub max_ops: usize,
    /// Upper bound on shrink attempts.
    pub max_shrink_iters: u32,
    /// Keep every passing case as a `Recording` (`portcheck run --record`).
    pub record: bool,
    /// Known defects of the system under test (already narrowed to it and
    /// its release): a case that fails by showing one is skipped, not
    /// failed, and the run goes on (`crate::known::KnownDefect`).
    pub known_defects: Vec<KnownDefect>,
    /// How cases are drawn (`portcheck run --generation`).
    pub generation: generate::Generation,
}

impl CheckConfig {
    /// Cases from `PROPTEST_CASES` (default `default_cases`), seed from
    /// `PORTCHECK_SEED` (default: fresh random).
    pub fn from_env(default_cases: u32) -> CheckConfig {
        let cases = std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(default_cases);
        let seed = std::env::var("PORTCHECK_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or_else(fresh_seed);
        CheckConfig::new(seed, cases)
    }

    /// `cases` cases of `seed` with `portcheck run`'s defaults: 40 ops at
    /// most, 2000 shrink attempts, swarm generation, nothing recorded, no
    /// known defects. Callers change a field with struct update syntax.
    pub fn new(seed: u64, cases: u32) -> CheckConfig {
        CheckConfig {
            cases,
            seed,
            max_ops: 40,
            max_shrink_iters: 2000,
            record: false,
            known_defects: vec![],
            generation: generate::Generation::Swarm,
        }
    }
}

impl CheckConfig {
    /// The gate's configuration (`make test`): a fixed seed, so the same tree
    /// gives the same verdict. `PORTCHECK_SEED=random` opts into a fresh
    /// seed, a number into that seed; `PROPTEST_CASES` sets the case count.
    pub fn gate(default_cases: u32, default_seed: u64) -> Result<CheckConfig, String> {
        let seed = match std::env::var("PORTCHECK_SEED") {
            Err(_) => default_seed,
            Ok(v) if v == "random" => fresh_seed(),
            Ok(v) => v.parse().map_err(|_| format!("PORTCHECK_SEED={v:?}: expected a number or `random`"))?,
        };
        Ok(CheckConfig { seed, ..CheckConfig::from_env(default_cases) })
    }
}

/// A random seed from the OS.
pub fn fresh_seed() -> u64 {
    let mut b = [0u8; 8];
    if let Ok(mut f) = std::fs::File::open("/dev/urandom") {
        use std::io::Read;
        let _ = f.read_exact(&mut b);
    }
    u64::from_le_bytes(b)
}

/// A case by value: what `portcheck replay` reads and what regressions keep.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct SavedCase {
    pub setup: Setup,
    pub ops: Vec<Op>,
}

/// A failure after shrinking.
#[derive(Clone, Debug, Serialize)]
pub struct Counterexample {
    pub seed: u64,
    /// 0-based index of the generated case that failed first.
    pub case_index: u32,
    pub original_ops: usize,
    pub shrunk: SavedCase,
    pub outcome: CaseOutcome,
    pub shrink_runs: u32,
}

impl Counterexample {
    pub fn rule(&self) -> Option<RuleId> {
        self.outcome.failure.as_ref().and_then(|f| f.rule())
    }
}

/// A case that failed by showing a known defect of the system under test.
#[derive(Clone, Debug, Serialize)]
pub struct DefectMet {
    pub case_index: u32,
    pub id: String,
    /// The failure as the executor reported it (the adapter's evidence).
    pub failure: String,
}

/// A case the system could not perform (its `unsupported` answer).
#[derive(Clone, Debug, Serialize)]
pub struct Unsupported {
    pub case_index: u32,
    pub reason: String,
}

/// The result of a check run.
#[derive(Clone, Debug, Serialize)]
pub struct CheckReport {
    pub sut: String,
    /// The runtime's release (real OTP), beside the system's name: the
    /// same cases can pass on one release and fail on another.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub runtime: Option<harness::sut::Runtime>,
    pub seed: u64,
    pub cases: u32,
    pub passed: u32,
    pub tally: BTreeMap<RuleId, RuleTally>,
    pub counterexample: Option<Counterexample>,
    /// Cases that met a known defect of the system under test: neither
    /// passed nor failed.
    pub defects_met: Vec<DefectMet>,
    /// Cases the system answered `unsupported` for (PROTOCOL.md §2.2): a
    /// declared capability gap, skipped with its reason, never passed.
    pub unsupported: Vec<Unsupported>,
    /// The passing cases as run, when `CheckConfig::record` is set.
    #[serde(skip)]
    pub recordings: Vec<harness::recording::Recording>,
}

/// The proptest runner `check` draws its cases from: the same seed gives
/// the same cases (the benches replay a run's cases with it).
pub fn runner(seed: u64) -> TestRunner {
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    TestRunner::new_with_rng(Config::default(), TestRng::from_seed(RngAlgorithm::ChaCha, &bytes))
}

/// Run `cfg.cases` cases; stop at the first failure and shrink it.
/// `progress` is called after every case with (done, total).
pub fn check(factory: &dyn SutFactory, cfg: &CheckConfig, progress: impl FnMut(u32, u32)) -> CheckReport {
    check_on(Workers::Inline(factory), cfg, progress)
}

/// [`check`] with `jobs` cases running at once (`portcheck run --jobs`),
/// each worker on its own nodes. The cases, the order they are settled in
/// and the first failure are the serial run's (`crate::workers`); the wall
/// time differs, and the load each case runs beside. Shrinking runs one
/// candidate at a time.
pub fn check_parallel(
    factory: &(dyn SutFactory + Sync),
    jobs: NonZeroUsize,
    cfg: &CheckConfig,
    progress: impl FnMut(u32, u32),
) -> CheckReport {
    check_on(Workers::new(factory, jobs), cfg, progress)
}

fn check_on(workers: Workers<'_>, cfg: &CheckConfig, mut progress: impl FnMut(u32, u32)) -> CheckReport {
    let factory = workers.factory();
    let mut runner = runner(cfg.seed);
    let strategy = generate::case_by(cfg.generation, cfg.max_ops, factory.abilities());
    let mut report = CheckReport {
        sut: factory.name().to_string(),
        runtime: factory.runtime(),
        seed: cfg.seed,
        cases: 0,
        passed: 0,
        tally: BTreeMap::new(),
        counterexample: None,
        defects_met: vec![],
        unsupported: vec![],
        recordings: vec![],
    };
    // The variant the system declared (a system that never started declares none).
    let mut variant = None;
    // The drawn cases not settled yet, oldest first: settled in the order
    // drawn, each keeps its value tree for shrinking.
    let drawn = RefCell::new(VecDeque::new());
    let mut failed = None;
    let mut left = cfg.cases;
    let next = || {
        left = left.checked_sub(1)?;
        let tree = strategy.new_tree(&mut runner).expect("strategy never rejects");
        let (setup, ops) = tree.current();
        drawn.borrow_mut().push_back((tree, setup.clone(), ops.clone()));
        Some((setup, ops))
    };
    let settle = |i: u32, out: CaseOutcome| {
        let (tree, setup, ops) = drawn.borrow_mut().pop_front().expect("a case is settled after it is drawn");
        if variant.is_none() && !out.trace.is_empty() {
            variant = Some(out.declared.variant);
        }
        report.cases += 1;
        if let Some(reason) = &out.unsupported {
            progress(i + 1, cfg.cases);
            report.unsupported.push(Unsupported { case_index: i, reason: reason.clone() });
            return Flow::Go;
        }
        tally(&mut report.tally, &out);
        progress(i + 1, cfg.cases);
        if out.passed() {
            report.passed += 1;
            if cfg.record {
                report.recordings.extend(harness::recording::Recording::of(factory.name(), &ops, &out));
            }
            return Flow::Go;
        }
        if let Some(met) = known_defect(&cfg.known_defects, i, &out) {
            report.defects_met.push(met);
            return Flow::Go;
        }
        failed = Some((i, tree, SavedCase { setup, ops }, out));
        Flow::Stop
    };
    workers.run(next, settle);
    if let Some((i, mut tree, case, out)) = failed {
        let original_ops = case.ops.len();
        let (shrunk, outcome, shrink_runs) = shrink(factory, &mut tree, case, out, cfg);
        report.counterexample =
            Some(Counterexample { seed: cfg.seed, case_index: i, original_ops, shrunk, outcome, shrink_runs });
    }
    if let Some(v) = variant {
        crate::tally::mark_inapplicable(&mut report.tally, v);
    }
    report
}

/// A failure of the system under test (no rule blamed) that shows one of
/// `defects`.
fn known_defect(defects: &[KnownDefect], case_index: u32, out: &CaseOutcome) -> Option<DefectMet> {
    let failure = out.failure.as_ref().filter(|f| f.rule().is_none())?.to_string();
    let d = defects.iter().find(|d| d.shown_by(&failure))?;
    Some(DefectMet { case_index, id: d.id.clone(), failure })
}

/// The wait bound of a shrink candidate when the failure is a stall: a
/// failure bound (loopback progress takes milliseconds), not a schedule.
const STALL_SHRINK_BOUND: std::time::Duration = std::time::Duration::from_millis(500);
/// How long shrinking a stall may take in all (issue 15: a stalled run,
/// shrinking included, ends within a minute).
const STALL_SHRINK_BUDGET: std::time::Duration = std::time::Duration::from_secs(30);

/// proptest's simplify/complicate walk, keeping a candidate only if it
/// fails under the same rule (so shrinking cannot slide to another bug).
fn shrink<T>(
    factory: &dyn SutFactory,
    tree: &mut T,
    mut best: SavedCase,
    mut best_out: CaseOutcome,
    cfg: &CheckConfig,
) -> (SavedCase, CaseOutcome, u32)
where
    T: ValueTree<Value = (Setup, Vec<Op>)>,
{
    let want = best_out.failure.as_ref().and_then(|f| f.rule());
    let mut runs = 0;
    // A stall: each candidate that stalls too waits out the bound, so
    // candidates run with a short one, and shrinking stops at a time budget.
    let stall = best_out.failure.as_ref().is_some_and(|f| f.is_stall());
    let short = if stall { factory.with_stall_bound(STALL_SHRINK_BOUND) } else { None };
    let factory = short.as_deref().unwrap_or(factory);
    let started = std::time::Instant::now();
    // A failure of the system under test (crash, hang, protocol violation)
    // is reported as found, with its trace: it names no rule to keep while
    // shrinking, and each attempt at a hang would wait the full answer bound
    // (issue 13: a hanging system fails within 30 s in total).
    if want.is_none() || cfg.max_shrink_iters == 0 || !tree.simplify() {
        return (best, best_out, runs);
    }
    while runs < cfg.max_shrink_iters && !(stall && started.elapsed() > STALL_SHRINK_BUDGET) {
        runs += 1;
        let (setup, ops) = tree.current();
        let out = run_case(factory, &setup, &ops);
        let same = out.failure.as_ref().is_some_and(|f| f.rule() == want);
        if same {
            best = SavedCase { setup, ops };
            best_out = out;
            if !tree.simplify() {
                break;
            }
        } else if !tree.complicate() {
            break;
        }
    }
    // proptest shrinks what the generator drew (steps, recipes, the swarm
    // mask, each op's fields), not the op list it maps to: an op the
    // failure does not need can survive it (a zero-byte send in front of
    // the failing one). A last pass removes single ops while the failure
    // holds, within what is left of the budget.
    let mut i = 0;
    while i < best.ops.len() && runs < cfg.max_shrink_iters && !(stall && started.elapsed() > STALL_SHRINK_BUDGET) {
        runs += 1;
        let mut ops = best.ops.clone();
        ops.remove(i);
        let out = run_case(factory, &best.setup, &ops);
        if out.failure.as_ref().is_some_and(|f| f.rule() == want) {
            best = SavedCase { setup: best.setup, ops };
            best_out = out;
        } else {
            i += 1;
        }
    }
    (best, best_out, runs)
}

/// Re-run a saved case.
pub fn replay(factory: &dyn SutFactory, case: &SavedCase) -> CaseOutcome {
    run_case(factory, &case.setup, &case.ops)
}
