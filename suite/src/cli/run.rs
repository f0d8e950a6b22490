//! `portcheck run`: random cases in lockstep with the model, a per-rule
//! table, the shrunk failure saved as a trace, reports on request.

use super::exit::Exit;
use super::sut_arg::{self, ErlArg};
use crate::check::{check_parallel, CheckConfig, CheckReport, Counterexample};
use crate::environment::Environment;
use crate::generate::Generation;
use crate::{corpus, coverage, known, report, saved, trace};
use clap::{Args, ValueEnum};
use std::io::IsTerminal;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Args)]
pub struct RunArgs {
    /// native | beam | beam-socket | exec:'CMD'
    #[arg(long, default_value = "native")]
    sut: String,
    #[arg(long, default_value_t = 200)]
    cases: u32,
    /// Seed (printed on every run; the same seed replays the same cases).
    #[arg(long)]
    seed: Option<u64>,
    /// Only show these rules in the table (e.g. `WM-*,TO-2`). Failures
    /// under other rules still fail the run.
    #[arg(long, value_delimiter = ',')]
    rules: Vec<String>,
    /// Write a report: `--report md PATH` (also json, junit).
    #[arg(long, num_args = 2, value_names = ["FORMAT", "PATH"])]
    report: Vec<String>,
    /// Where to save a failing case (default: portcheck-failure-<seed>.json).
    #[arg(long)]
    save: Option<PathBuf>,
    /// Plant a known bug in the native runtime (for demonstrating detection).
    #[arg(long)]
    bug: Option<String>,
    /// At most this many shrink attempts (0: report the case as found).
    #[arg(long, default_value_t = 2000)]
    shrink_limit: u32,
    /// Longest op sequence generated per case.
    #[arg(long, default_value_t = 40)]
    max_ops: usize,
    /// Keep every passing case, with what the system observed, as a
    /// corpus file (JSON lines) that `portcheck corpus` re-checks
    /// without the system.
    #[arg(long)]
    record: Option<PathBuf>,
    /// How cases are drawn: swarm (op-kind subsets and multi-op recipes)
    /// or uniform. Default: uniform for beam and beam-socket (swarm cases
    /// reach OTP states not modelled yet, so the default run is a gate that
    /// is green on unchanged OTP), swarm otherwise. `replay --seed` needs
    /// the same.
    #[arg(long, value_enum)]
    generation: Option<Generation>,
    /// Cases run at once, each worker on its own nodes (real OTP cases
    /// mostly wait, so 2 on 2 cores nearly doubles the rate). The cases
    /// and the verdict are those of `--jobs 1`; the load each case sees is
    /// not.
    #[arg(long, default_value = "1")]
    jobs: NonZeroUsize,
    /// Draw more cases (doubling --cases, up to 16 times it) until every
    /// rule that applies to the system was crossed N times (a rule without
    /// a transition: reached in N cases). A run always prints the rules
    /// below 5, or below N.
    #[arg(long, value_name = "N")]
    until_covered: Option<u32>,
    #[command(flatten)]
    erl: ErlArg,
}

/// How far `--until-covered` may grow the case count: this many times
/// `--cases`.
const UNTIL_COVERED_CAP: u32 = 16;

#[derive(Clone, Copy, ValueEnum)]
enum ReportFormat {
    Md,
    Json,
    Junit,
}

pub fn run(args: RunArgs) -> ExitCode {
    let RunArgs {
        sut,
        cases,
        seed,
        rules,
        report: rep,
        save,
        bug,
        shrink_limit,
        max_ops,
        record,
        generation,
        jobs,
        until_covered,
        erl,
    } = args;
    let factory = match sut_arg::factory(&sut, bug.as_deref(), &erl) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("portcheck: {e}");
            return Exit::Usage.into();
        }
    };
    let mut cfg = CheckConfig::from_env(cases);
    cfg.cases = cases;
    cfg.max_shrink_iters = shrink_limit;
    cfg.max_ops = max_ops;
    cfg.generation = generation.unwrap_or(Generation::default_for(&sut));
    cfg.record = record.is_some();
    if let Some(s) = seed {
        cfg.seed = s;
    }
    let runtime = factory.runtime();
    let env = Environment::with_runtime(runtime.as_ref());
    if sut.starts_with("beam") {
        match known::defects_for(&known::beam_defects_file(), factory.name(), env.otp_release.as_deref()) {
            Ok(d) => cfg.known_defects = d,
            Err(e) => {
                eprintln!("portcheck: known defects: {e}");
                return Exit::Usage.into();
            }
        }
    }
    // The header names the release: the same seed can pass on one OTP
    // release and fail on another.
    let on = runtime.as_ref().map(|r| format!(" on {r}")).unwrap_or_default();
    let erl_arg = if runtime.is_some() { erl.shown() } else { String::new() };
    let jobs_arg = if jobs.get() > 1 { format!(" --jobs {jobs}") } else { String::new() };
    let gen_arg = generation_arg(&sut, cfg.generation);
    println!("portcheck run --sut {sut}{erl_arg} --cases {} --seed {}{gen_arg}{jobs_arg}{on}", cfg.cases, cfg.seed);
    let mut result = check_parallel(factory.as_ref(), jobs, &cfg, progress_printer(cfg.cases));
    if let Some(floor) = until_covered {
        // More cases of the same seed (its first cases are the ones already
        // run, so the run replays as one), until covered or at the cap.
        let cap = cfg.cases.saturating_mul(UNTIL_COVERED_CAP);
        while result.counterexample.is_none() && !coverage::below(&result.tally, floor).is_empty() && cfg.cases < cap {
            cfg.cases = cfg.cases.saturating_mul(2).min(cap);
            println!(
                "{}; again with {} cases (--until-covered {floor})",
                coverage::summary(&result.tally, floor),
                cfg.cases
            );
            result = check_parallel(factory.as_ref(), jobs, &cfg, progress_printer(cfg.cases));
        }
    }
    let shown = report::filter(&result.tally, &rules);
    println!("\n{}", report::table(&shown));
    println!("{}", coverage::summary(&result.tally, until_covered.unwrap_or(coverage::FLOOR)));
    for m in &result.defects_met {
        println!(
            "SKIP case {}: known defect {} of {} on OTP {}, not of the rules:\n  {}",
            m.case_index,
            m.id,
            factory.name(),
            env.otp_release.as_deref().unwrap_or("?"),
            m.failure.lines().next().unwrap_or_default()
        );
    }
    for u in &result.unsupported {
        println!("SKIP case {}: unsupported by {}: {}", u.case_index, factory.name(), u.reason);
    }
    let mut skipped = String::new();
    if !result.defects_met.is_empty() {
        skipped += &format!(", {} skipped (known defects of the system under test)", result.defects_met.len());
    }
    if !result.unsupported.is_empty() {
        skipped += &format!(", {} skipped (unsupported by the system under test)", result.unsupported.len());
    }
    println!("{} of {} cases passed{skipped} (seed {})", result.passed, result.cases, result.seed);
    let mut code = ExitCode::SUCCESS;
    if let Some(path) = &record {
        if let Err(e) = write_corpus(path, &sut, &result, &env) {
            eprintln!("portcheck: --record {}: {e}", path.display());
            code = Exit::Usage.into();
        }
    }
    if let Some(cx) = &result.counterexample {
        code = Exit::of_failure(cx.rule()).into();
        print_failure(cx, &sut, &format!("{erl_arg}{gen_arg}"), bug.as_deref(), save, &env);
    }
    for pair in rep.chunks(2) {
        let fmt = match ReportFormat::from_str(&pair[0], true) {
            Ok(f) => f,
            Err(e) => {
                eprintln!("portcheck: --report: {e}");
                return Exit::Usage.into();
            }
        };
        let text = match fmt {
            ReportFormat::Md => report::markdown(&result, &shown, &env),
            ReportFormat::Json => serde_json::to_string_pretty(&result).expect("report serializes"),
            ReportFormat::Junit => report::junit(&result, &shown),
        };
        if let Err(e) = std::fs::write(&pair[1], text) {
            eprintln!("portcheck: writing {}: {e}", pair[1]);
            return Exit::Usage.into();
        }
        println!("report: {}", pair[1]);
    }
    code
}

/// `--record`: the passing cases as a corpus file.
fn write_corpus(path: &Path, sut: &str, result: &CheckReport, env: &Environment) -> std::io::Result<()> {
    let header = corpus::CorpusHeader {
        format: corpus::FORMAT_VERSION,
        sut: sut.to_string(),
        seed: result.seed,
        environment: env.clone(),
    };
    corpus::write(path, &header, &result.recordings)?;
    println!("recorded {} passing cases: {}", result.recordings.len(), path.display());
    Ok(())
}

/// The shrunk failure: its trace, where it was saved, how to replay it.
/// `erl_arg` is what the replay commands need besides the SUT: ` --erl
/// PATH` (none for the `erl` on PATH) and ` --generation NAME` when the run
/// did not draw its cases the SUT's default way.
fn print_failure(
    cx: &Counterexample,
    sut: &str,
    erl_arg: &str,
    bug: Option<&str>,
    save: Option<PathBuf>,
    env: &Environment,
) {
    match cx.rule() {
        Some(rule) => println!(
            "\nFAILED under rule {rule} (case {} of seed {}, shrunk from {} to {} ops in {} runs):\n",
            cx.case_index,
            cx.seed,
            cx.original_ops,
            cx.shrunk.ops.len(),
            cx.shrink_runs
        ),
        // Exit status 2, no rule blamed, not shrunk (check::shrink).
        None => println!(
            "\nTHE SYSTEM UNDER TEST FAILED (case {} of seed {}, {} ops, not shrunk); no rule is blamed:\n",
            cx.case_index, cx.seed, cx.original_ops
        ),
    }
    print!("{}", trace::lines(&cx.outcome));
    let path = save.unwrap_or_else(|| PathBuf::from(format!("portcheck-failure-{}.json", cx.seed)));
    let trace_file = saved::SavedTrace::new(sut, cx, env.clone());
    match saved::write(&path, &trace_file) {
        Ok(()) => println!("\nsaved trace: {}", path.display()),
        Err(e) => eprintln!("portcheck: could not save the trace: {e}"),
    }
    let bugarg = bug.map(|b| format!(" --bug {b}")).unwrap_or_default();
    println!("replay: portcheck replay --sut {sut}{erl_arg}{bugarg} --trace {}", path.display());
    println!("        portcheck replay --sut {sut}{erl_arg}{bugarg} --seed {} --cases {}", cx.seed, cx.case_index + 1);
    if trace_file.observed.is_some() {
        println!(
            "        portcheck replay --trace {} --observed   # the model against this run, no system",
            path.display()
        );
    }
}

/// ` --generation NAME` when `g` is not `sut`'s default, else nothing: what
/// a command line repeating this run must add.
fn generation_arg(sut: &str, g: Generation) -> String {
    if g == Generation::default_for(sut) {
        String::new()
    } else {
        format!(" --generation {}", g.arg())
    }
}

/// Progress on stderr: a bar on a terminal, a line every tenth otherwise.
pub(super) fn progress_printer(total: u32) -> impl FnMut(u32, u32) {
    let tty = std::io::stderr().is_terminal();
    let step = (total / 10).max(1);
    move |done, total| {
        if tty {
            let w = 30;
            let filled = (done as usize * w) / total.max(1) as usize;
            eprint!("\r[{}{}] {done}/{total}", "#".repeat(filled), " ".repeat(w - filled));
            if done == total {
                eprintln!();
            }
        } else if done % step == 0 || done == total {
            eprintln!("progress: {done}/{total} cases");
        }
    }
}
