//! `portcheck corpus`: check the model against recorded cases
//! (`crate::corpus`); no system runs.

use super::exit::Exit;
use crate::corpus;
use crate::environment::Environment;
use crate::report;
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Args)]
pub struct CorpusArgs {
    /// Corpus files (`.jsonl`).
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

pub fn run(CorpusArgs { files }: CorpusArgs) -> ExitCode {
    let here = Environment::current(true);
    let mut code = ExitCode::SUCCESS;
    for path in files {
        let c = match corpus::read(&path) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("portcheck: {e}");
                return Exit::Usage.into();
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
            code = Exit::Diverged.into();
            print!("\nFAILED: {f}");
        }
    }
    code
}
