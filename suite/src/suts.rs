//! Naming a system under test on the command line.

use harness::beam::{Backend, BeamFactory};
use harness::external::ExternalFactory;
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
            Ok(Box::new(harness::native::NativeFactory::new(bug)))
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
