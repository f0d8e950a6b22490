//! Running the same cases on two runtimes: each case on both sides, a
//! difference rerun once before it counts, and each distinct difference
//! shrunk to a minimal case that still shows it.
//!
//! Why rerun: real runtimes run on real clocks and kernels, so one run can
//! differ from the other by timing alone. A difference counts only if the
//! rerun of its case on both sides shows it again; the others are reported
//! as not reproduced, never dropped.

use super::{differences, Comparison, Difference, Key};
use crate::check::{runner, SavedCase};
use crate::generate;
use crate::known::KnownDefect;
use harness::executor::{run_case, CaseOutcome};
use harness::sut::{Abilities, SutFactory};
use proptest::strategy::{Strategy, ValueTree};
use reference::rules::RuleId;
use serde::Serialize;

/// One of the two runtimes.
pub struct Side {
    /// How reports name it (`OTP 25`, `beam-socket`).
    pub label: String,
    pub factory: Box<dyn SutFactory>,
    /// Its known defects: a case that fails by showing one is noted as such.
    pub known_defects: Vec<KnownDefect>,
}

/// What to run.
#[derive(Clone, Debug)]
pub struct DiffConfig {
    pub cases: u32,
    pub seed: u64,
    pub max_ops: usize,
    /// Reruns (each on both sides) one difference's shrink may spend.
    pub shrink_limit: u32,
    /// Diff this one case instead of generated ones (`--case`): a minimal
    /// case kept to check that a known difference still shows.
    pub only: Option<SavedCase>,
}

/// A case on which a side did not conform to its own model, or failed.
#[derive(Clone, Debug, Serialize)]
pub struct SideFailure {
    pub case_index: u32,
    /// 0 for side A, 1 for side B.
    pub side: usize,
    /// The rule it diverged from (`None`: the runtime failed).
    pub rule: Option<RuleId>,
    /// A known defect of that runtime the failure shows.
    pub known_defect: Option<String>,
    pub what: String,
}

/// A case whose two runs differ, under its headline difference.
#[derive(Clone, Debug, Serialize)]
pub struct CaseDifference {
    pub case_index: u32,
    pub difference: Difference,
    /// Seen again when the case was rerun on both sides.
    pub confirmed: bool,
    pub case: SavedCase,
}

/// A difference's minimal case, with both sides' runs of it.
#[derive(Clone, Debug, Serialize)]
pub struct Minimal {
    pub key: Key,
    pub case_index: u32,
    pub original_ops: usize,
    pub reruns: u32,
    pub case: SavedCase,
    pub difference: Difference,
    pub outcomes: [CaseOutcome; 2],
}

/// The result of a diff run.
#[derive(Clone, Debug, Default, Serialize)]
pub struct DiffReport {
    pub seed: u64,
    pub cases: u32,
    pub differing: Vec<CaseDifference>,
    pub failures: Vec<SideFailure>,
    /// Per side, how many ops its model skipped where the other side ran them.
    pub skipped_ops: [usize; 2],
    pub minimal: Vec<Minimal>,
}

impl DiffReport {
    /// The distinct confirmed differences, in order of first appearance.
    pub fn confirmed_keys(&self) -> Vec<Key> {
        let mut keys: Vec<Key> = vec![];
        for d in self.differing.iter().filter(|d| d.confirmed) {
            if !keys.contains(&d.difference.key) {
                keys.push(d.difference.key);
            }
        }
        keys
    }
}

/// Both sides' runs of one case.
pub fn run_both(sides: &[Side; 2], case: &SavedCase) -> [CaseOutcome; 2] {
    sides.each_ref().map(|s| run_case(s.factory.as_ref(), &case.setup, &case.ops))
}

/// What both sides can perform: the generator emits only that, so both run
/// the same ops (for two builds of one backend, the cases `run` generates).
fn common_abilities(sides: &[Side; 2]) -> Abilities {
    let (a, b) = (sides[0].factory.abilities(), sides[1].factory.abilities());
    Abilities {
        lock_contention: a.lock_contention && b.lock_contention,
        send_flags: a.send_flags && b.send_flags,
        recv: a.recv && b.recv,
        get_opts: a.get_opts && b.get_opts,
        parallelism: a.parallelism && b.parallelism,
        peer_end: a.peer_end && b.peer_end,
        kernel_env: a.kernel_env && b.kernel_env,
        shutdown: a.shutdown && b.shutdown,
        recv_wait: a.recv_wait && b.recv_wait,
        linger: a.linger && b.linger,
        kill: a.kill && b.kill,
        recv_timeout: a.recv_timeout && b.recv_timeout,
        kill_port: a.kill_port && b.kill_port,
        exit_on_close: a.exit_on_close && b.exit_on_close,
        kill_caller: a.kill_caller && b.kill_caller,
        kill_owner: a.kill_owner && b.kill_owner,
    }
}

/// Run `cfg.cases` generated cases on both sides, rerun each differing case
/// once, then shrink each distinct confirmed difference.
pub fn diff(sides: &[Side; 2], cfg: &DiffConfig, mut progress: impl FnMut(u32, u32)) -> DiffReport {
    let mut rng = runner(cfg.seed);
    let strategy = generate::case(cfg.max_ops, common_abilities(sides));
    let mut report = DiffReport { seed: cfg.seed, ..DiffReport::default() };
    let cases = if cfg.only.is_some() { 1 } else { cfg.cases };
    for i in 0..cases {
        let case = match &cfg.only {
            Some(c) => c.clone(),
            None => {
                let (setup, ops) = strategy.new_tree(&mut rng).expect("strategy never rejects").current();
                SavedCase { setup, ops }
            }
        };
        let outs = run_both(sides, &case);
        report.cases += 1;
        for (side, out) in outs.iter().enumerate() {
            report.failures.extend(side_failure(&sides[side], side, i, out));
        }
        let cmp = differences(&outs[0], &outs[1]);
        for s in 0..2 {
            report.skipped_ops[s] += cmp.skipped[s].len();
        }
        if let Some(d) = cmp.headline() {
            let again = rerun(sides, &case);
            let confirmed = again.shows(&d.key);
            report.differing.push(CaseDifference { case_index: i, difference: d.clone(), confirmed, case });
        }
        progress(i + 1, cases);
    }
    for key in report.confirmed_keys() {
        let first = report.differing.iter().find(|d| d.confirmed && d.difference.key == key).expect("a confirmed key");
        report.minimal.push(shrink(sides, first, cfg.shrink_limit));
    }
    report
}

fn rerun(sides: &[Side; 2], case: &SavedCase) -> Comparison {
    let [a, b] = run_both(sides, case);
    differences(&a, &b)
}

fn side_failure(side: &Side, index: usize, case_index: u32, out: &CaseOutcome) -> Option<SideFailure> {
    let f = out.failure.as_ref()?;
    let what = f.to_string();
    let known_defect = match f.rule() {
        Some(_) => None,
        None => side.known_defects.iter().find(|d| d.shown_by(&what)).map(|d| d.id.clone()),
    };
    Some(SideFailure { case_index, side: index, rule: f.rule(), known_defect, what })
}

/// The ops up to and including the one at which `d` showed (the drain
/// follows any case, so a drain difference keeps every op).
fn through(ops: &[reference::op::Op], d: &Difference) -> usize {
    d.op_index.map_or(ops.len(), |i| i + 1)
}

/// Delete ops while the same difference (field kind and rule pair) still
/// shows, within `limit` reruns: first everything after the op it shows at,
/// then chunks of halving size. Each candidate runs on both sides.
pub fn shrink(sides: &[Side; 2], found: &CaseDifference, limit: u32) -> Minimal {
    let key = found.difference.key;
    let mut best = found.case.clone();
    let mut best_d = found.difference.clone();
    let mut best_outs: Option<[CaseOutcome; 2]> = None;
    let mut reruns = 0;
    let attempt = |cand: SavedCase, reruns: &mut u32| -> Option<(SavedCase, Difference, [CaseOutcome; 2])> {
        *reruns += 1;
        let outs = run_both(sides, &cand);
        let d = differences(&outs[0], &outs[1]).differences.into_iter().find(|d| d.key == key)?;
        Some((cand, d, outs))
    };
    let cut = through(&best.ops, &best_d);
    if cut < best.ops.len() && reruns < limit {
        let cand = SavedCase { setup: best.setup.clone(), ops: best.ops[..cut].to_vec() };
        if let Some((c, d, o)) = attempt(cand, &mut reruns) {
            (best, best_d, best_outs) = (c, d, Some(o));
        }
    }
    let mut chunk = best.ops.len().div_ceil(2);
    while chunk >= 1 && reruns < limit {
        let mut start = 0;
        while start < best.ops.len() && reruns < limit && best.ops.len() > 1 {
            let mut ops = best.ops.clone();
            ops.drain(start..(start + chunk).min(ops.len()));
            if ops.is_empty() {
                start += chunk;
                continue;
            }
            match attempt(SavedCase { setup: best.setup.clone(), ops }, &mut reruns) {
                Some((c, d, o)) => (best, best_d, best_outs) = (c, d, Some(o)),
                None => start += chunk,
            }
        }
        if chunk == 1 {
            break;
        }
        chunk = chunk.div_ceil(2);
    }
    // The minimal case's own runs, for its traces (one more pair when no
    // candidate was kept: the first runs were not kept).
    let outcomes = match best_outs {
        Some(o) => o,
        None => {
            reruns += 1;
            let o = run_both(sides, &best);
            if let Some(d) = differences(&o[0], &o[1]).differences.into_iter().find(|d| d.key == key) {
                best_d = d;
            }
            o
        }
    };
    Minimal {
        key,
        case_index: found.case_index,
        original_ops: found.case.ops.len(),
        reruns,
        case: best,
        difference: best_d,
        outcomes,
    }
}
