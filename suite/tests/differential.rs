//! The differential property: cases against real OTP `gen_tcp`, on both
//! backends and on every release present: the `erl` on PATH (Debian
//! bookworm's OTP 25 here) and OTP 27 and 29 where `harness/beam/otp-chroots.sh`
//! installed them. Every observation is predicted by the model. Real OTP
//! does not report its kernel and scheduler choices; the executor derives
//! them from what it shows (`reference::model::derive`) and follows the
//! variant and release the adapter declares (`DIFF-*` rules, per release).
//! A release that is missing prints `SKIP <id>: <reason>` with the command
//! that installs it.
//!
//! This is the gate, so it is derandomized: the generated cases come from a
//! fixed seed per backend (the seeds the recorded corpus in `suite/corpus/`
//! was made from), after the committed regressions and the known
//! divergences (`suite/regressions/known.json`, see `suite::known`).
//! `PORTCHECK_SEED=random` (or a number) opts into other cases and
//! `PORTCHECK_BEAM_CASES` sets their count; exploring is `make explore`.
//! A new failure is saved under `suite/regressions/new/` for review, which
//! nothing replays until someone moves it up.

use harness::sut::beam::{Backend, BeamFactory};
use reference::rules::{ids, RuleId};
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use suite::capability::{trial, Capability};
use suite::check::{check_parallel, replay, CheckConfig, CheckReport, SavedCase};
use suite::generate::Generation;
use suite::known::{self, Verdict};
use suite::{saved, trace};

/// Cases per backend and release in `make test`: a case waits on an OTP
/// node and real sockets (about 50 ms a case on a reused node here, two at
/// once), so fewer than the native run.
const DEFAULT_CASES: u32 = 120;
/// Cases run at once (`portcheck run --jobs`): each worker on nodes of its
/// own; the verdict is the serial run's (`suite::workers`).
const GATE_JOBS: NonZeroUsize = NonZeroUsize::new(2).expect("2 > 0");
/// The gate draws most of its cases uniformly: swarm cases (the default
/// generator since issue 15) reach states whose real-OTP behaviour is not
/// all modelled yet (swarm exploration on the inet driver found two on
/// 2026-12-07, since modelled: seed 1607 on OTP 27, DIFF-INET-8's order;
/// seed 1614 on OTP 25, DIFF-INET-2 between steps), which exploration
/// (`make explore`) is where to find. The swarm trial below runs one seed
/// whose cases pass.
const GATE_GENERATION: Generation = Generation::Uniform;

/// Swarm cases per release on the inet driver, beside the uniform ones.
/// Uniform cases do not reach the error paths issue 16 modelled from the
/// peers' suites (each needs several ops in order: a caller blocked
/// behind a busy port and then killed, SND-8; suspended writers killed,
/// SND-7; the owner's death over an idle port, CL-6; a shutdown over
/// queued output, SD-2; a suspended sender's retry into a dead port,
/// DIFF-INET-10); swarm's recipes build them. Fixed seed, so the same
/// cases every run: a seed whose checked cases pass on OTP 25, 27 and 29 and
/// cross each of those rules (README, "The gate").
const SWARM_CASES: u32 = 100;
const SWARM_SEED: u64 = 1615;
/// What the swarm trial is there for: each is crossed at least once by
/// its cases on every release (checked when they are the default ones).
const SWARM_CROSSES: [RuleId; 5] = [ids::SND_7, ids::SND_8, ids::CL_6, ids::SD_2, ids::DIFF_INET_10];

/// The gate's seeds: those the corpus (`make corpus`) was recorded with.
fn gate_seed(b: Backend) -> u64 {
    match b {
        Backend::Inet => 101,
        Backend::Socket => 202,
    }
}

/// Where a release's `erl` is: the one on PATH, or a chroot's.
#[derive(Clone, Copy)]
enum Release {
    OnPath,
    Chroot(&'static str),
}

impl Release {
    fn erl(self) -> Option<PathBuf> {
        match self {
            Release::OnPath => None,
            Release::Chroot(rel) => Some(suite::capability::otp_chroot_erl(rel)),
        }
    }

    /// `otp` (the release on PATH, named as before) or `otp27`.
    fn tag(self) -> String {
        match self {
            Release::OnPath => "otp".into(),
            Release::Chroot(rel) => format!("otp{rel}"),
        }
    }

    fn needs(self) -> &'static [Capability] {
        match self {
            Release::OnPath => &[Capability::Erl],
            Release::Chroot(rel) => Box::leak(Box::new([Capability::Root, Capability::OtpChroot(rel)])),
        }
    }

    fn factory(self, b: Backend) -> Result<BeamFactory, String> {
        BeamFactory::new(b, self.erl().as_deref()).map_err(|e| e.to_string())
    }
}

/// Writes `out`, a replay of the saved case `t` that failed unexpectedly,
/// as a trace with its observations under the test's temp dir; returns a
/// line naming it (or why it could not be written).
fn keep_observed(key: &str, t: &saved::SavedTrace, out: &harness::executor::CaseOutcome) -> String {
    let mut kept = t.clone();
    kept.rule = out.failure.as_ref().and_then(|f| f.rule());
    kept.failure = out.failure.as_ref().map(|f| f.to_string());
    kept.observed = harness::recording::Recording::of_failure(&t.sut, &t.ops, out);
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("differential-failures");
    let path = dir.join(key.replace('/', "-"));
    match std::fs::create_dir_all(&dir).and_then(|()| saved::write(&path, &kept)) {
        Ok(()) => format!(
            "\nthis run's observations: {} (portcheck replay --trace {} --observed)",
            path.display(),
            path.display()
        ),
        Err(e) => format!("\n(could not keep this run's observations: {e})"),
    }
}

fn main() {
    // SIGINT/SIGTERM remove the temp dirs and namespaces a trial holds.
    harness::interrupt::on_signal_clean_up();
    let mut args = libtest_mimic::Arguments::from_args();
    // One trial at a time: the gate's cases see no load but their own, and
    // the under-load trials exactly their two busy threads.
    args.test_threads.get_or_insert(1);
    let mut tests = vec![];
    for r in [Release::OnPath, Release::Chroot("27"), Release::Chroot("29")] {
        for b in [Backend::Inet, Backend::Socket] {
            let id: &'static str = Box::leak(format!("differential/{}-{}", r.tag(), b.arg()).into_boxed_str());
            tests.push(trial(id, r.needs(), move || differential(r, b)));
            let id: &'static str =
                Box::leak(format!("differential/{}-{}/under-load", r.tag(), b.arg()).into_boxed_str());
            tests.push(trial(id, r.needs(), move || under_load(r, b)));
        }
        let id: &'static str = Box::leak(format!("differential/{}-inet/swarm", r.tag()).into_boxed_str());
        tests.push(trial(id, r.needs(), move || swarm(r)));
    }
    libtest_mimic::run(&args, tests).exit();
}

fn regressions() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("regressions")
}

fn differential(r: Release, b: Backend) -> Result<(), String> {
    let factory = r.factory(b)?;
    let name = format!("beam-{}", b.arg());
    println!("differential {name} on {}", factory.runtime());
    replay_regressions(&factory, &name)?;
    let mut cfg = CheckConfig::gate(DEFAULT_CASES, gate_seed(b))?;
    cfg.generation = GATE_GENERATION;
    gate_cases(&factory, b, cfg, Unchecked::None).map(drop)
}

/// How many cases a trial may leave unchecked: those the system answered
/// `unsupported` for (printed, never counted as passed). A swarm case can
/// draw an op the real clock has made impossible by the time it comes
/// (a kill for a sender suspended on a busy port that the port, leaving
/// busy between two steps, has already resumed: the adapter says so);
/// measured at 0–2 of 100 cases per release at seeds 1604–1620. Uniform
/// cases never met one.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Unchecked {
    None,
    TenthAtMost,
}

/// Swarm cases on the inet driver (`SWARM_SEED`).
fn swarm(r: Release) -> Result<(), String> {
    let b = Backend::Inet;
    let factory = r.factory(b)?;
    println!("differential beam-{} on {}, swarm cases", b.arg(), factory.runtime());
    let mut cfg = CheckConfig::gate(SWARM_CASES, SWARM_SEED)?;
    cfg.generation = Generation::Swarm;
    let default_cases = (cfg.seed, cfg.cases) == (SWARM_SEED, SWARM_CASES);
    let report = gate_cases(&factory, b, cfg, Unchecked::TenthAtMost)?;
    let missed: Vec<_> =
        SWARM_CROSSES.iter().filter(|r| report.tally.get(r).is_none_or(|t| t.crossings == 0)).collect();
    if default_cases && !missed.is_empty() {
        return Err(format!("the swarm cases (seed {SWARM_SEED}) no longer cross {missed:?}: pick a seed that does"));
    }
    Ok(())
}

/// Runs `cfg`'s cases two at once, with the known defects of the release:
/// a failure is shrunk, saved under `suite/regressions/new/` and fails the
/// trial; else the per-rule table is printed.
fn gate_cases(
    factory: &BeamFactory,
    b: Backend,
    mut cfg: CheckConfig,
    unchecked: Unchecked,
) -> Result<CheckReport, String> {
    let name = format!("beam-{}", b.arg());
    cfg.known_defects = defects(factory)?;
    if let Some(n) = std::env::var("PORTCHECK_BEAM_CASES").ok().and_then(|v| v.parse().ok()) {
        cfg.cases = n;
    }
    println!(
        "differential {name}: seed {} ({} cases, {}); replay with PORTCHECK_SEED={}",
        cfg.seed,
        cfg.cases,
        cfg.generation.arg(),
        cfg.seed
    );
    let report = check_parallel(factory, GATE_JOBS, &cfg, |_, _| {});
    print_defects(&report);
    for u in &report.unsupported {
        println!("UNSUPPORTED {} case {}, not checked: {}", report.sut, u.case_index, u.reason);
    }
    if let Some(cx) = &report.counterexample {
        let dir = regressions().join("new");
        let path = dir.join(format!("{name}-{}.json", cx.seed));
        let env = suite::environment::Environment::with_runtime(Some(factory.runtime()));
        let saved = std::fs::create_dir_all(&dir)
            .and_then(|_| saved::write(&path, &saved::SavedTrace::new(sut_name(b), cx, env)))
            .map(|_| format!("minimal case saved to {} for review", path.display()))
            .unwrap_or_else(|e| format!("could not save the minimal case to {}: {e}", path.display()));
        return Err(format!("{name}, seed {}: rule {:?}; {saved}\n{}", cx.seed, cx.rule(), trace::lines(&cx.outcome)));
    }
    println!("{}", suite::report::table(&suite::report::filter(&report.tally, &[])));
    let allowed = match unchecked {
        Unchecked::None => 0,
        Unchecked::TenthAtMost => report.cases as usize / 10,
    };
    let checked = report.cases as usize - report.unsupported.len().min(allowed);
    if report.passed as usize + report.defects_met.len() != checked {
        return Err(format!(
            "{} of {} cases passed ({} unsupported, {allowed} may be)",
            report.passed,
            report.cases,
            report.unsupported.len()
        ));
    }
    Ok(report)
}

/// The known defects of this backend on the installed OTP release
/// (`harness/beam/known-defects.json`).
fn defects(factory: &BeamFactory) -> Result<Vec<known::KnownDefect>, String> {
    use harness::sut::SutFactory;
    let release = &factory.runtime().otp_release;
    known::defects_for(&known::beam_defects_file(), factory.name(), Some(release))
}

/// A case that met a known defect of OTP is skipped, said so, and never
/// counted as passed.
fn print_defects(report: &suite::check::CheckReport) {
    for m in &report.defects_met {
        println!("SKIP {} case {}: known defect {}: {}", report.sut, m.case_index, m.id, m.failure);
    }
}

/// Cases per backend run again with CPU load beside them.
const UNDER_LOAD_CASES: u32 = 10;

/// The first gate cases again, with two CPU-bound threads beside them (the
/// machine kind has 2 cores): a timing the model does not allow shows up
/// here before it shows up in a user's CI. Same seed, so the same cases,
/// and two at once as in the gate; only the timing differs.
fn under_load(r: Release, b: Backend) -> Result<(), String> {
    let factory = r.factory(b)?;
    let mut cfg = CheckConfig::gate(UNDER_LOAD_CASES, gate_seed(b))?;
    cfg.generation = GATE_GENERATION;
    cfg.cases = cfg.cases.min(UNDER_LOAD_CASES);
    cfg.known_defects = defects(&factory)?;
    let load = CpuLoad::start(2);
    println!(
        "differential beam-{} on {} under load ({} busy threads): seed {} ({} cases)",
        b.arg(),
        factory.runtime(),
        load.threads(),
        cfg.seed,
        cfg.cases
    );
    let report = check_parallel(&factory, GATE_JOBS, &cfg, |_, _| {});
    drop(load);
    print_defects(&report);
    match &report.counterexample {
        Some(cx) => Err(format!(
            "beam-{} under load, seed {}: rule {:?} (these cases pass without load: a timing the model does not allow)\n{}",
            b.arg(),
            cx.seed,
            cx.rule(),
            trace::lines(&cx.outcome)
        )),
        None if report.passed as usize + report.defects_met.len() != report.cases as usize => Err(format!("{} of {} cases passed", report.passed, report.cases)),
        None => Ok(()),
    }
}

/// CPU-bound threads that spin until dropped. Threads, not processes, so an
/// interrupted test leaves nothing running.
struct CpuLoad {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl CpuLoad {
    fn start(n: usize) -> CpuLoad {
        use std::sync::atomic::{AtomicBool, Ordering};
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        let threads = (0..n)
            .map(|_| {
                let stop = stop.clone();
                std::thread::spawn(move || {
                    let mut x = 0u64;
                    while !stop.load(Ordering::Relaxed) {
                        x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
                    }
                })
            })
            .collect();
        CpuLoad { stop, threads }
    }

    fn threads(&self) -> usize {
        self.threads.len()
    }
}

impl Drop for CpuLoad {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

fn sut_name(b: Backend) -> &'static str {
    match b {
        Backend::Inet => "beam",
        Backend::Socket => "beam-socket",
    }
}

/// Replay `suite/regressions/<name>-*.json` and `unexplained/<name>-*.json`
/// against this backend, each judged by its entry in `known.json` (none:
/// it must pass).
fn replay_regressions(factory: &BeamFactory, name: &str) -> Result<(), String> {
    let dir = regressions();
    let known = known::load(&dir.join("known.json"))?;
    let prefix = format!("{name}-");
    let mut cases = vec![];
    for sub in ["", "unexplained"] {
        let d = dir.join(sub);
        for entry in std::fs::read_dir(&d).map_err(|e| format!("{}: {e}", d.display()))? {
            let path = entry.map_err(|e| e.to_string())?.path();
            let file = path.file_name().and_then(|f| f.to_str()).unwrap_or_default().to_string();
            // `beam-` would also match `beam-socket-…`: the name after the
            // prefix must start with the seed.
            let rest = file.strip_prefix(&prefix).unwrap_or_default();
            if file.ends_with(".json") && rest.starts_with(|c: char| c.is_ascii_digit()) {
                let key = if sub.is_empty() { file } else { format!("{sub}/{file}") };
                cases.push((key, path));
            }
        }
    }
    cases.sort();
    let mut errors = vec![];
    let (mut passed, mut declared, mut other_release) = (0, 0, 0);
    for (key, path) in &cases {
        let entry = known.get(key);
        if key.starts_with("unexplained/") && entry.is_none() {
            errors.push(format!("{key}: an unexplained case needs an entry in known.json (rule, step, found, reason)"));
            continue;
        }
        let t = saved::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        // A case is replayed on the release it was found on (a trace that
        // names none was found on OTP 25): other releases have their own
        // rules and their own known divergences.
        let found_on = t.environment.otp_release.as_deref().unwrap_or("25");
        if found_on != factory.runtime().otp_release {
            other_release += 1;
            continue;
        }
        let (setup, ops) = (t.setup.clone(), t.ops.clone());
        let out = replay(factory, &SavedCase { setup, ops });
        let failure = out.failure.as_ref().map(|f| (f.step, f.rule()));
        match known::judge(entry, failure) {
            Verdict::Passed => passed += 1,
            Verdict::AsDeclared => {
                let k = entry.expect("only a listed case fails as declared");
                println!(
                    "KNOWN {key}: fails under {} as declared ({:?}, seen at step {}): {}",
                    k.rule, k.kind, k.step, k.reason
                );
                declared += 1;
            }
            Verdict::Unexpected(why) => {
                // What this run observed, kept for `portcheck replay --trace
                // F --observed` (the model alone, no node): a timing the
                // model does not allow is explained from it, not rerun.
                let kept = keep_observed(key, &t, &out);
                errors.push(format!("{key} {why}:\n{}{kept}", trace::lines(&out)));
            }
        }
    }
    for key in known.keys().filter(|k| k.contains(&prefix) && !cases.iter().any(|(c, _)| c == *k)) {
        errors.push(format!("known.json lists {key}, which does not exist"));
    }
    println!(
        "{name}: {} cases replayed: {passed} passed, {declared} failed as declared ({other_release} found on other releases not replayed here)",
        cases.len() - other_release
    );
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors.join("\n"))
    }
}
