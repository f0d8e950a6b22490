//! The differential property: random cases against real OTP 25 `gen_tcp`,
//! on both backends, every observation predicted by the model. Real OTP does
//! not report its kernel and scheduler choices; the executor derives them
//! from what it shows (`reference::model::derive`) and follows the variant
//! the adapter declares (`DIFF-*` rules). Prints its seed; `PORTCHECK_SEED`
//! replays it, `PORTCHECK_BEAM_CASES` sets the case count. Committed
//! regressions (`suite/regressions/beam-*.json`) replay first. Without
//! `erl` each trial prints `SKIP <id>: <reason>`.

use harness::sut::beam::{Backend, BeamFactory};
use suite::capability::{trial, Capability};
use suite::check::{check, replay, CheckConfig, SavedCase};
use suite::{saved, trace};

/// Cases per backend in `make test`: each case starts an OTP node and waits
/// on real sockets (about 0.3 s a case here), so fewer than the native run.
const DEFAULT_CASES: u32 = 60;

fn main() {
    let args = libtest_mimic::Arguments::from_args();
    let mut tests = vec![];
    for b in [Backend::Inet, Backend::Socket] {
        let id: &'static str = Box::leak(format!("differential/otp-{}", b.arg()).into_boxed_str());
        tests.push(trial(id, &[Capability::Erl], move || differential(b)));
    }
    libtest_mimic::run(&args, tests).exit();
}

fn differential(b: Backend) -> Result<(), String> {
    let factory = BeamFactory::new(b).map_err(|e| e.to_string())?;
    let name = format!("beam-{}", b.arg());
    replay_regressions(&factory, &name)?;
    let mut cfg = CheckConfig::from_env(DEFAULT_CASES);
    if let Some(n) = std::env::var("PORTCHECK_BEAM_CASES").ok().and_then(|v| v.parse().ok()) {
        cfg.cases = n;
    }
    println!("differential {name}: seed {} ({} cases); replay with PORTCHECK_SEED={}", cfg.seed, cfg.cases, cfg.seed);
    let report = check(&factory, &cfg, |_, _| {});
    if let Some(cx) = &report.counterexample {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("regressions/{name}-{}.json", cx.seed));
        let env = suite::environment::Environment::current(true);
        let _ = saved::write(
            &path,
            &saved::SavedTrace::new(if b == Backend::Inet { "beam" } else { "beam-socket" }, cx, env),
        );
        return Err(format!(
            "{name}, seed {}: rule {:?}; minimal case saved to {} (commit it as a regression once explained)\n{}",
            cx.seed,
            cx.rule(),
            path.display(),
            trace::lines(&cx.outcome)
        ));
    }
    println!("{}", suite::report::table(&suite::report::filter(&report.tally, &[])));
    if report.passed != report.cases {
        return Err(format!("{} of {} cases passed", report.passed, report.cases));
    }
    Ok(())
}

/// Replay `suite/regressions/<name>-*.json` against this backend.
fn replay_regressions(factory: &BeamFactory, name: &str) -> Result<(), String> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("regressions");
    let prefix = format!("{name}-");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))? {
        let path = entry.map_err(|e| e.to_string())?.path();
        let file = path.file_name().and_then(|f| f.to_str()).unwrap_or_default();
        // `beam-` would also match `beam-socket-…`: the name after the
        // prefix must start with the seed.
        let rest = file.strip_prefix(&prefix).unwrap_or_default();
        if !file.ends_with(".json") || !rest.starts_with(|c: char| c.is_ascii_digit()) {
            continue;
        }
        let t = saved::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let out = replay(factory, &SavedCase { setup: t.setup, ops: t.ops });
        if !out.passed() {
            return Err(format!("regression {} fails again:\n{}", path.display(), trace::lines(&out)));
        }
        n += 1;
    }
    println!("{name}: {n} regressions replayed");
    Ok(())
}
