//! `portcheck`: run the conformance property against a runtime, replay a
//! failure, list the rules, probe the kernel. Each subcommand is a module
//! of `suite::cli`.

use clap::Parser;
use std::process::ExitCode;
use suite::cli::{self, Cli, Cmd};

fn main() -> ExitCode {
    match Cli::parse().cmd {
        Cmd::Run(args) => cli::run::run(args),
        Cmd::Corpus(args) => cli::corpus::run(args),
        Cmd::Replay(args) => cli::replay::run(args),
        Cmd::Rules => cli::rules::run(),
        Cmd::Kernel => cli::kernel::run(),
        Cmd::Rps(args) => cli::rps::run(args),
    }
}
