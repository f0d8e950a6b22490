//! The `portcheck` command: its arguments, and one module per subcommand
//! that `bin/portcheck.rs` dispatches to.

use clap::{Parser, Subcommand};

pub mod corpus;
pub mod diff;
pub mod exit;
pub mod kernel;
pub mod replay;
pub mod rps;
pub mod rules;
pub mod run;
pub mod sut_arg;

#[derive(Parser)]
#[command(
    name = "portcheck",
    about = "Property-based conformance checks for Erlang-style ports over real sockets",
    after_help = exit::HELP
)]
pub struct Cli {
    #[command(subcommand)]
    pub cmd: Cmd,
}

#[derive(Subcommand)]
pub enum Cmd {
    /// Run random cases in lockstep with the model and print a per-rule table.
    Run(run::RunArgs),
    /// Check the model against recorded cases (`run --record`): the
    /// executor plays each back; no system runs.
    Corpus(corpus::CorpusArgs),
    /// The same cases on two runtimes (two --erl builds, or two backends):
    /// where they behave differently, by the rule each side's model names.
    Diff(diff::DiffArgs),
    /// Replay a failure from its seed or from a saved trace file.
    Replay(replay::ReplayArgs),
    /// List the rule catalogue with citations.
    Rules(rules::RulesArgs),
    /// Print the kernel fingerprint and the kernel-behaviour results.
    Kernel,
    /// Steer a device's receive packet processing (RPS) to a CPU list:
    /// dry run unless --write.
    Rps(rps::RpsArgs),
}
