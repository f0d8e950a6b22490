//! Naming a system under test on the command line.

use harness::sut::beam::{Backend, BeamFactory};
use harness::sut::external::ExternalFactory;
use harness::sut::native::BugTable;
use harness::sut::SutFactory;
use std::path::PathBuf;

/// The environment variable naming the `erl` of beam SUTs when `--erl` is
/// not given: set once for a shell session of work on one OTP build.
pub const ERL_ENV: &str = "PORTCHECK_ERL";

/// `--erl PATH`, `--fresh-node` and `--answer-timeout` for the subcommands
/// that start beam (or external) SUTs.
#[derive(clap::Args, Clone, Debug, Default)]
pub struct ErlArg {
    /// The `erl` a beam SUT runs (an installed release, a chroot wrapper of
    /// harness/beam/otp-chroots.sh, a source build's $ERL_TOP/bin/erl), with
    /// `erlc` beside it; default: $PORTCHECK_ERL, else `erl` on PATH.
    #[arg(long, value_name = "PATH")]
    pub erl: Option<PathBuf>,
    /// Start a new node (an external SUT's process) for every case and
    /// shrink attempt, instead of reusing one after each passed case.
    #[arg(long)]
    pub fresh_node: bool,
    /// Seconds a beam or external SUT may take to answer a line before it
    /// is reported as hanging (exit status 2, not shrunk). Default 10: a
    /// hang fails within 30 s in all, shrinking included.
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub answer_timeout: Option<u64>,
}

impl ErlArg {
    /// `--answer-timeout`, if given.
    pub fn answer_timeout(&self) -> Option<std::time::Duration> {
        self.answer_timeout.map(std::time::Duration::from_secs)
    }

    /// What to repeat on a suggested command line (` --erl PATH`), empty
    /// when the `erl` came from PATH.
    pub fn shown(&self) -> String {
        self.chosen().map(|(p, _)| format!(" --erl {}", p.display())).unwrap_or_default()
    }

    /// The named `erl` and where it was named: `--erl`, else a non-empty
    /// $PORTCHECK_ERL.
    fn chosen(&self) -> Option<(PathBuf, &'static str)> {
        match &self.erl {
            Some(p) => Some((p.clone(), "--erl")),
            None => std::env::var_os(ERL_ENV).filter(|v| !v.is_empty()).map(|v| (PathBuf::from(v), ERL_ENV)),
        }
    }
}

/// `native`, `beam`, `beam-socket` or `exec:CMD`; `bug` plants a known bug
/// in the native runtime; `erl` names the `erl` of the beam SUTs (`--erl`
/// on another SUT is refused; $PORTCHECK_ERL is ignored there, since it
/// is set for a whole session).
pub fn factory(name: &str, bug: Option<&str>, erl: &ErlArg) -> Result<Box<dyn SutFactory + Sync>, String> {
    if bug.is_some() && name != "native" {
        return Err("--bug plants bugs in the native runtime only".into());
    }
    let beam = name == "beam" || name == "beam-socket";
    if erl.erl.is_some() && !beam {
        return Err(format!("--erl names the erl of a beam SUT (beam, beam-socket); --sut {name} runs none"));
    }
    if erl.answer_timeout.is_some() && name == "native" {
        return Err(
            "--answer-timeout bounds a beam or exec: SUT's answers; the native runtime runs in this process".into()
        );
    }
    match name {
        "native" => {
            let bug = bug.map(|b| b.parse().map_err(|e| format!("--bug: {e}"))).transpose()?;
            if let Some(b) = bug {
                lockstep_reachable(b)?;
            }
            Ok(Box::new(harness::sut::native::NativeFactory::new(bug)))
        }
        "beam" | "beam-socket" => {
            let backend = if name == "beam" { Backend::Inet } else { Backend::Socket };
            let chosen = erl.chosen();
            if chosen.is_none() {
                crate::capability::Capability::Erl.check()?;
            }
            let path = chosen.as_ref().map(|(p, _)| p.as_path());
            let mut f = BeamFactory::new(backend, path).map_err(|e| match &chosen {
                // The factory names the path as `--erl`; say where it came from.
                Some((_, ERL_ENV)) => format!("{ERL_ENV}: {e}"),
                _ => e.to_string(),
            })?;
            f.fresh_node = erl.fresh_node;
            if let Some(d) = erl.answer_timeout() {
                f.answer_timeout = d;
            }
            Ok(Box::new(f))
        }
        other => match other.strip_prefix("exec:") {
            Some(cmd) if !cmd.trim().is_empty() => {
                let mut f = ExternalFactory::new(other, cmd);
                f.fresh_node = erl.fresh_node;
                if let Some(d) = erl.answer_timeout() {
                    f = f.with_answer_timeout(d);
                }
                Ok(Box::new(f))
            }
            Some(_) => Err("--sut exec:CMD needs a command".into()),
            None => Err(format!("unknown --sut {other:?} (expected native, beam, beam-socket or exec:CMD)")),
        },
    }
}

/// A planted bug the lockstep run can never find would make `run --bug`
/// pass and look like a miss: refuse it, and say which test catches it.
fn lockstep_reachable(bug: harness::sut::native::PlantedBug) -> Result<(), String> {
    match bug.detection() {
        harness::sut::native::Detection::Lockstep => Ok(()),
        harness::sut::native::Detection::Outside { test, why } => Err(format!(
            "--bug {bug} breaks {} outside the lockstep run's reach ({why}); {test} catches it: \
             cargo test -p portcheck-harness --test {}",
            bug.rule(),
            std::path::Path::new(test).file_stem().and_then(|s| s.to_str()).unwrap_or(test)
        )),
    }
}
