//! Naming a system under test on the command line.

use harness::sut::beam::{Backend, BeamFactory};
use harness::sut::external::ExternalFactory;
use harness::sut::native::BugTable;
use harness::sut::SutFactory;

/// `native`, `beam`, `beam-socket` or `exec:CMD`; `bug` plants a known bug
/// in the native runtime.
pub fn factory(name: &str, bug: Option<&str>) -> Result<Box<dyn SutFactory>, String> {
    if bug.is_some() && name != "native" {
        return Err("--bug plants bugs in the native runtime only".into());
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
            crate::capability::Capability::Erl.check()?;
            let backend = if name == "beam" { Backend::Inet } else { Backend::Socket };
            Ok(Box::new(BeamFactory::new(backend).map_err(|e| e.to_string())?))
        }
        other => match other.strip_prefix("exec:") {
            Some(cmd) if !cmd.trim().is_empty() => Ok(Box::new(ExternalFactory::new(other, cmd))),
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
