//! The compiled adapter, made once per `erl` in a process and shared by
//! every factory of that `erl`.
//!
//! Compiling `portcheck_adapter.erl` takes `erlc` 1.1–1.4 s here, and
//! asking the node its release another 0.1–0.2 s: more than a hundred
//! cases on a reused node. A test binary that makes a factory per trial
//! (the differential, the node-reuse trials: 12 and 18 factories) would
//! spend most of its time compiling the same source with the same `erlc`.
//! A process keeps one build per `erl` path: the `erl` named or found on
//! PATH when the first factory of it was made. The `ready` check of every
//! node ([`super::BeamFactory::start_case`]) still catches an `erl` that
//! was replaced during the run.
//!
//! The build's temp dir lives until the process ends: removed at exit
//! (`atexit`, which `std::process::exit` and a return from `main` both
//! run), on SIGINT/SIGTERM by [`crate::interrupt`], and after a SIGKILL by
//! the next run (`portcheck-beam-<pid>-*` of a process that is gone).

use super::{ask_runtime, compile, ADAPTER_SOURCE};
use crate::interrupt::{self, Leftover};
use crate::sut::external::Runtime;
use crate::sut::SutError;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, Once};

/// A compiled adapter and the release its `erl` reported.
#[derive(Debug)]
pub(super) struct AdapterBuild {
    /// Holds `portcheck_adapter.beam`.
    pub dir: PathBuf,
    pub runtime: Runtime,
}

/// Every build of this process, by the `erl` it was made for.
static BUILDS: Mutex<Vec<(PathBuf, Arc<AdapterBuild>)>> = Mutex::new(vec![]);
static REMOVE_AT_EXIT: Once = Once::new();

/// The build for `erl`: this process's, or a new one compiled by `erlc`.
/// The lock is held while compiling, so two trials starting at once
/// compile once.
pub(super) fn for_erl(erl: &Path, erlc: &Path) -> Result<Arc<AdapterBuild>, SutError> {
    let mut builds = BUILDS.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, b)) = builds.iter().find(|(e, _)| e == erl) {
        return Ok(b.clone());
    }
    REMOVE_AT_EXIT.call_once(|| {
        // SAFETY: registers a plain `extern "C" fn` with no arguments.
        unsafe {
            libc::atexit(remove_builds);
        }
    });
    let dir = tempfile::Builder::new()
        .prefix(&format!("portcheck-beam-{}-", std::process::id()))
        .tempdir()
        .map_err(|e| SutError(format!("beam adapter: temp dir: {e}")))?
        .keep();
    interrupt::remember(Leftover::Dir(dir.clone()));
    let built = compile_and_ask(erl, erlc, &dir);
    match built {
        Ok(runtime) => {
            let b = Arc::new(AdapterBuild { dir, runtime });
            builds.push((erl.to_path_buf(), b.clone()));
            Ok(b)
        }
        Err(e) => {
            interrupt::forget(&Leftover::Dir(dir.clone()));
            let _ = std::fs::remove_dir_all(&dir);
            Err(e)
        }
    }
}

fn compile_and_ask(erl: &Path, erlc: &Path, dir: &Path) -> Result<Runtime, SutError> {
    let src = dir.join("portcheck_adapter.erl");
    std::fs::write(&src, ADAPTER_SOURCE).map_err(|e| SutError(format!("beam adapter: write {src:?}: {e}")))?;
    compile(erlc, &src, dir)?;
    ask_runtime(erl, dir)
}

/// At exit: every build's dir. `try_lock`: a thread still holding the lock
/// (compiling) when the process exits leaves its dir to the next run.
extern "C" fn remove_builds() {
    if let Ok(builds) = BUILDS.try_lock() {
        for (_, b) in builds.iter() {
            let _ = std::fs::remove_dir_all(&b.dir);
        }
    }
}
