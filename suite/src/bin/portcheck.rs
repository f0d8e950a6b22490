//! `portcheck`: run the conformance property against a runtime, replay a
//! failure, list the rules, probe the kernel.

use clap::{Parser, Subcommand, ValueEnum};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use suite::check::{check, replay, CheckConfig, SavedCase};
use suite::environment::Environment;
use suite::{corpus, report, saved, suts, trace};

#[derive(Parser)]
#[command(name = "portcheck", about = "Property-based conformance checks for Erlang-style ports over real sockets")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Clone, Copy, ValueEnum)]
enum ReportFormat {
    Md,
    Json,
    Junit,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run random cases in lockstep with the model and print a per-rule table.
    Run {
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
    },
    /// Check the model against recorded cases (`run --record`): the
    /// executor plays each back; no system runs.
    Corpus {
        /// Corpus files (`.jsonl`).
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Replay a failure from its seed or from a saved trace file.
    Replay {
        #[arg(long, default_value = "native")]
        sut: String,
        #[arg(long, conflicts_with = "trace")]
        seed: Option<u64>,
        #[arg(long, default_value_t = 200)]
        cases: u32,
        #[arg(long)]
        trace: Option<PathBuf>,
        #[arg(long)]
        bug: Option<String>,
    },
    /// List the rule catalogue with citations.
    Rules,
    /// Print the kernel fingerprint and the kernel-behaviour results.
    Kernel,
    /// Steer a device's receive packet processing (RPS) to a CPU list:
    /// dry run unless --write.
    Rps {
        /// Network device, e.g. eth0.
        #[arg(long)]
        dev: String,
        /// CPU list in the kernel's format, e.g. `0-3,8`.
        #[arg(long)]
        cpus: String,
        /// sysfs root (a fake tree for testing).
        #[arg(long, default_value = "/sys")]
        sysfs_root: PathBuf,
        /// Actually write every queues/rx-*/rps_cpus (default: report only).
        #[arg(long)]
        write: bool,
    },
}

fn progress_printer(total: u32) -> impl FnMut(u32, u32) {
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

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.cmd {
        Cmd::Rules => {
            for r in reference::rules::catalogue() {
                println!("{:<12} {:?}  {}\n             cite: {}", r.id, r.area, r.statement, r.citation);
            }
            ExitCode::SUCCESS
        }
        Cmd::Kernel => suite::kernel_cmd::run(),
        Cmd::Rps { dev, cpus, sysfs_root, write } => {
            use harness::kernel::rps::{CpuSet, Mode, Sysfs};
            let set = match CpuSet::parse_list(&cpus) {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("portcheck rps: --cpus {cpus:?}: {e}");
                    return ExitCode::from(2);
                }
            };
            let mode = if write { Mode::Write } else { Mode::DryRun };
            match Sysfs::new(&sysfs_root).apply(&dev, &set, mode) {
                Ok(report) => {
                    println!("{}", report.summary());
                    if !write {
                        println!("dry run: nothing written (pass --write to apply)");
                    }
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("portcheck rps: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Cmd::Run { sut, cases, seed, rules, report: rep, save, bug, shrink_limit, max_ops, record } => {
            let factory = match suts::factory(&sut, bug.as_deref()) {
                Ok(f) => f,
                Err(e) => {
                    eprintln!("portcheck: {e}");
                    return ExitCode::from(2);
                }
            };
            let mut cfg = CheckConfig::from_env(cases);
            cfg.cases = cases;
            cfg.max_shrink_iters = shrink_limit;
            cfg.max_ops = max_ops;
            cfg.record = record.is_some();
            if let Some(s) = seed {
                cfg.seed = s;
            }
            println!("portcheck run --sut {sut} --cases {} --seed {}", cfg.cases, cfg.seed);
            let result = check(factory.as_ref(), &cfg, progress_printer(cfg.cases));
            let shown = report::filter(&result.tally, &rules);
            println!("\n{}", report::table(&shown));
            println!("{} of {} cases passed (seed {})", result.passed, result.cases, result.seed);
            let env = Environment::current(sut.starts_with("beam"));
            let mut code = ExitCode::SUCCESS;
            if let Some(path) = &record {
                let header = corpus::CorpusHeader {
                    format: corpus::FORMAT_VERSION,
                    sut: sut.clone(),
                    seed: result.seed,
                    environment: env.clone(),
                };
                match corpus::write(path, &header, &result.recordings) {
                    Ok(()) => println!("recorded {} passing cases: {}", result.recordings.len(), path.display()),
                    Err(e) => {
                        eprintln!("portcheck: --record {}: {e}", path.display());
                        code = ExitCode::from(2);
                    }
                }
            }
            if let Some(cx) = &result.counterexample {
                code = ExitCode::FAILURE;
                println!(
                    "\nFAILED under rule {} (case {} of seed {}, shrunk from {} to {} ops in {} runs):\n",
                    cx.rule().map(|r| r.to_string()).unwrap_or_else(|| "none (system failure)".into()),
                    cx.case_index,
                    cx.seed,
                    cx.original_ops,
                    cx.shrunk.ops.len(),
                    cx.shrink_runs
                );
                print!("{}", trace::lines(&cx.outcome));
                let path = save.unwrap_or_else(|| PathBuf::from(format!("portcheck-failure-{}.json", cx.seed)));
                match saved::write(&path, &saved::SavedTrace::new(&sut, cx, env.clone())) {
                    Ok(()) => println!("\nsaved trace: {}", path.display()),
                    Err(e) => eprintln!("portcheck: could not save the trace: {e}"),
                }
                let bugarg = bug.as_ref().map(|b| format!(" --bug {b}")).unwrap_or_default();
                println!("replay: portcheck replay --sut {sut}{bugarg} --trace {}", path.display());
                println!(
                    "        portcheck replay --sut {sut}{bugarg} --seed {} --cases {}",
                    cx.seed,
                    cx.case_index + 1
                );
            }
            for pair in rep.chunks(2) {
                let fmt = match ReportFormat::from_str(&pair[0], true) {
                    Ok(f) => f,
                    Err(e) => {
                        eprintln!("portcheck: --report: {e}");
                        return ExitCode::from(2);
                    }
                };
                let text = match fmt {
                    ReportFormat::Md => report::markdown(&result, &shown, &env),
                    ReportFormat::Json => serde_json::to_string_pretty(&result).expect("report serializes"),
                    ReportFormat::Junit => report::junit(&result, &shown),
                };
                if let Err(e) = std::fs::write(&pair[1], text) {
                    eprintln!("portcheck: writing {}: {e}", pair[1]);
                    return ExitCode::from(2);
                }
                println!("report: {}", pair[1]);
            }
            code
        }
        Cmd::Corpus { files } => {
            let here = Environment::current(true);
            let mut code = ExitCode::SUCCESS;
            for path in files {
                let c = match corpus::read(&path) {
                    Ok(c) => c,
                    Err(e) => {
                        eprintln!("portcheck: {e}");
                        return ExitCode::from(2);
                    }
                };
                println!(
                    "{}: {} cases recorded from {} (seed {})",
                    path.display(),
                    c.recordings.len(),
                    c.header.sut,
                    c.header.seed
                );
                for d in c.header.environment.differences(&here) {
                    println!("note: recorded in another environment: {d} (the observations are the recorded ones)");
                }
                let r = corpus::check(&c);
                println!("\n{}", report::table(&r.tally));
                println!("{} of {} recorded cases predicted by the model", r.passed, r.cases);
                if let Some(f) = r.first_failure() {
                    code = ExitCode::FAILURE;
                    print!("\nFAILED: {f}");
                }
            }
            code
        }
        Cmd::Replay { sut, seed, cases, trace: file, bug } => {
            let factory = match suts::factory(&sut, bug.as_deref()) {
                Ok(f) => f,
                Err(e) => {
                    eprintln!("portcheck: {e}");
                    return ExitCode::from(2);
                }
            };
            let outcome = if let Some(path) = file {
                let saved = match saved::read(&path) {
                    Ok(s) => s,
                    Err(e) => {
                        eprintln!("portcheck: {}: {e}", path.display());
                        return ExitCode::from(2);
                    }
                };
                let here = Environment::current(saved.environment.otp_release.is_some());
                for d in saved.environment.differences(&here) {
                    println!("note: environment differs: {d}");
                }
                if let Some(r) = &saved.rule {
                    println!("saved failure was under rule {r}");
                }
                replay(factory.as_ref(), &SavedCase { setup: saved.setup, ops: saved.ops })
            } else {
                let Some(seed) = seed else {
                    eprintln!("portcheck: replay needs --seed or --trace");
                    return ExitCode::from(2);
                };
                let cfg = CheckConfig { cases, seed, ..CheckConfig::from_env(cases) };
                let r = check(factory.as_ref(), &cfg, |_, _| {});
                match r.counterexample {
                    Some(cx) => cx.outcome,
                    None => {
                        println!("seed {seed}: all {} cases passed", r.cases);
                        return ExitCode::SUCCESS;
                    }
                }
            };
            print!("{}", trace::lines(&outcome));
            if outcome.passed() {
                println!("replay passed");
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
    }
}
