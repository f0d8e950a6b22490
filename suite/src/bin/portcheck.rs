//! `portcheck`: run the conformance property against a runtime, replay a
//! failure, list the rules, probe the kernel. Each subcommand is a module
//! of `suite::cli`.

use clap::Parser;
use std::process::ExitCode;
use suite::cli::exit::Exit;
use suite::cli::{self, Cli, Cmd};

fn main() -> ExitCode {
    // SIGINT/SIGTERM remove the temp dirs and namespaces a run holds.
    harness::interrupt::on_signal_clean_up();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // --help and --version print and succeed; a usage error is status 3
        // (clap's own is 2, which here means the system under test failed).
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { Exit::Usage.into() } else { Exit::Passed.into() };
        }
    };
    match cli.cmd {
        Cmd::Run(args) => cli::run::run(args),
        Cmd::Corpus(args) => cli::corpus::run(args),
        Cmd::Diff(args) => cli::diff::run(args),
        Cmd::Replay(args) => cli::replay::run(args),
        Cmd::Rules(a) => cli::rules::run(a),
        Cmd::Kernel => cli::kernel::run(),
        Cmd::Rps(args) => cli::rps::run(args),
    }
}
