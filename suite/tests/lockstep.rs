//! The lockstep property: generated cases against the native runtime, every
//! observation predicted by the model. The gate's seed is fixed (the same
//! tree gives the same verdict); `PORTCHECK_SEED=random` or a number opts
//! into other cases, `PROPTEST_CASES` raises the case count. Committed
//! regressions (suite/regressions/native-*.json) replay too; a new failure is
//! saved under suite/regressions/new/ for review.

use harness::sut::native::NativeFactory;
use suite::check::{check, replay, CheckConfig};
use suite::{coverage, saved, trace};

/// Default case count: keeps `make test` well under two minutes warm.
const DEFAULT_CASES: u32 = 150;

/// The gate's seed (the one `make mutants` uses).
const GATE_SEED: u64 = 4247;

#[test]
fn native_runtime_agrees_with_the_model() {
    let factory = NativeFactory::new(None);
    let mut cfg = CheckConfig::gate(DEFAULT_CASES, GATE_SEED).unwrap_or_else(|e| panic!("{e}"));
    println!("lockstep: seed {} ({} cases); replay with PORTCHECK_SEED={}", cfg.seed, cfg.cases, cfg.seed);
    let mut report = check(&factory, &cfg, |_, _| {});
    // Coverage as a gate (issue 15): more cases of the same seed until
    // every rule is crossed FLOOR times, as `portcheck run --until-covered`.
    let cap = cfg.cases * 8;
    while report.counterexample.is_none()
        && !coverage::below(&report.tally, coverage::FLOOR).is_empty()
        && cfg.cases < cap
    {
        cfg.cases = (cfg.cases * 2).min(cap);
        println!("{}; again with {} cases", coverage::summary(&report.tally, coverage::FLOOR), cfg.cases);
        report = check(&factory, &cfg, |_, _| {});
    }
    if let Some(cx) = &report.counterexample {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("regressions/new");
        let path = dir.join(format!("native-{}.json", cx.seed));
        let env = suite::environment::Environment::current(false);
        let _ = std::fs::create_dir_all(&dir);
        let _ = saved::write(&path, &saved::SavedTrace::new("native", cx, env));
        panic!(
            "seed {}: rule {:?} violated; minimal case saved to {} (review it, then move it up as a regression)\n{}",
            cx.seed,
            cx.rule(),
            path.display(),
            trace::lines(&cx.outcome)
        );
    }
    println!("{}", suite::report::table(&suite::report::filter(&report.tally, &[])));
    assert_eq!(report.passed, report.cases);
    let low = coverage::below(&report.tally, coverage::FLOOR);
    assert!(
        low.is_empty(),
        "seed {}, {} cases: {}",
        cfg.seed,
        cfg.cases,
        coverage::summary(&report.tally, coverage::FLOOR)
    );
}

#[test]
fn committed_regressions_replay_green() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("regressions");
    let factory = NativeFactory::new(None);
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).expect("suite/regressions exists") {
        let path = entry.unwrap().path();
        // native-*.json; beam-*.json are replayed by tests/differential.rs.
        let native = path.file_name().and_then(|f| f.to_str()).is_some_and(|f| f.starts_with("native-"));
        if native && path.extension().is_some_and(|e| e == "json") {
            let t = saved::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let out = replay(&factory, &suite::check::SavedCase { setup: t.setup, ops: t.ops });
            assert!(out.passed(), "regression {} fails again:\n{}", path.display(), trace::lines(&out));
            n += 1;
        }
    }
    println!("{n} regressions replayed");
}
