//! Naming a system under test on the command line.

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
        other => Err(format!("unknown --sut {other:?} (expected native, beam, beam-socket or exec:CMD)")),
    }
}
