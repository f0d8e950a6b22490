//! `portcheck replay`: a failure again, from its seed or from a saved trace.

use super::exit::Exit;
use super::sut_arg::{self, ErlArg};
use crate::check::{check, replay, CheckConfig, SavedCase};
use crate::environment::Environment;
use crate::generate::Generation;
use crate::{saved, trace};
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Args)]
pub struct ReplayArgs {
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
    /// How the run being replayed drew its cases (`run --generation`;
    /// the same default: uniform for beam and beam-socket, else swarm).
    #[arg(long, value_enum)]
    generation: Option<Generation>,
    /// With --trace: re-check the model against what the system observed
    /// in the failing run (kept in the trace), without running the system:
    /// a failure that does not replay on the system stays there to explain,
    /// and a model change can be tried on it.
    #[arg(long, requires = "trace")]
    observed: bool,
    #[command(flatten)]
    erl: ErlArg,
}

pub fn run(ReplayArgs { sut, seed, cases, trace: file, bug, generation, observed, erl }: ReplayArgs) -> ExitCode {
    if let (true, Some(path)) = (observed, &file) {
        return recheck_observed(path);
    }
    let factory = match sut_arg::factory(&sut, bug.as_deref(), &erl) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("portcheck: {e}");
            return Exit::Usage.into();
        }
    };
    let outcome = if let Some(path) = file {
        let saved = match saved::read(&path) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("portcheck: {}: {e}", path.display());
                return Exit::Usage.into();
            }
        };
        let here = Environment::with_runtime(factory.runtime().as_ref());
        for d in saved.environment.differences(&here) {
            println!("note: environment differs: {d}");
        }
        if let Some(r) = saved.rule {
            println!("saved failure was under rule {r}");
        }
        replay(factory.as_ref(), &SavedCase { setup: saved.setup, ops: saved.ops })
    } else {
        let Some(seed) = seed else {
            eprintln!("portcheck: replay needs --seed or --trace");
            return Exit::Usage.into();
        };
        let generation = generation.unwrap_or(Generation::default_for(&sut));
        let cfg = CheckConfig { cases, seed, generation, ..CheckConfig::from_env(cases) };
        let r = check(factory.as_ref(), &cfg, |_, _| {});
        match r.counterexample {
            Some(cx) => cx.outcome,
            None if r.unsupported.is_empty() => {
                println!("seed {seed}: all {} cases passed", r.cases);
                return ExitCode::SUCCESS;
            }
            None => {
                for u in &r.unsupported {
                    println!("SKIP case {}: unsupported: {}", u.case_index, u.reason);
                }
                println!("seed {seed}: {} of {} cases passed, {} skipped", r.passed, r.cases, r.unsupported.len());
                return ExitCode::SUCCESS;
            }
        }
    };
    print!("{}", trace::lines(&outcome));
    if let Some(why) = &outcome.unsupported {
        // Neither passed nor failed: the system cannot perform the case.
        println!("SKIP: the system under test answered unsupported: {why}");
        return Exit::Usage.into();
    }
    if outcome.passed() {
        println!("replay passed");
        ExitCode::SUCCESS
    } else {
        Exit::of_failure(outcome.failure.as_ref().and_then(|f| f.rule())).into()
    }
}

/// `replay --trace FILE --observed`: the model against the observations the
/// trace kept, through the one executor (`harness::recording::Playback`).
fn recheck_observed(path: &std::path::Path) -> ExitCode {
    let saved = match saved::read(path) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("portcheck: {}: {e}", path.display());
            return Exit::Usage.into();
        }
    };
    let Some(recording) = saved.observed else {
        eprintln!(
            "portcheck: {}: the trace keeps no observations (saved before they were kept, or the system failed \
             before answering a step): replay it on the system with --sut",
            path.display()
        );
        return Exit::Usage.into();
    };
    println!(
        "the model against the {} steps {} observed{}",
        recording.steps.len(),
        saved.sut,
        saved.environment.otp_release.as_deref().map(|r| format!(" on OTP {r}")).unwrap_or_default()
    );
    if let Some(r) = saved.rule {
        println!("saved failure was under rule {r}");
    }
    let outcome = recording.check();
    print!("{}", trace::lines(&outcome));
    // The run ended at its failure: a model that predicts that step too
    // goes on to an op the run never made, past the recording's end.
    let past_the_end = outcome.failure.as_ref().is_some_and(|f| f.step >= recording.steps.len());
    if outcome.passed() || past_the_end {
        println!("the model now predicts every observation of the run ({} steps)", recording.steps.len());
        ExitCode::SUCCESS
    } else {
        Exit::of_failure(outcome.failure.as_ref().and_then(|f| f.rule())).into()
    }
}
