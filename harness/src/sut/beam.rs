//! Real OTP as a system under test: `harness/beam/portcheck_adapter.erl`
//! (compiled with `erlc` into a temporary directory when the factory is
//! made) run on a fresh `erl` node per case and driven over the external
//! protocol (`harness/PROTOCOL.md`) by [`ExternalSut`].
//!
//! The node runs with one scheduler (`+S 1`: the adapter's I/O barrier
//! relies on port tasks running in order), a port table just large enough
//! for the case (`+Q`, at least 1024, filled by the adapter with dummy ports
//! down to `table_capacity - 2` free slots) and `+spp true` when the setup
//! asks for port parallelism (gen_tcp has no per-socket option for it).

use super::external::{ExternalSut, DEFAULT_ANSWER_TIMEOUT};
use crate::interrupt::{self, Leftover};
use crate::sut::{Abilities, SutError, SutFactory, SystemUnderTest};
use reference::op::Setup;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// The adapter's source, embedded so the factory works from any directory.
pub const ADAPTER_SOURCE: &str = include_str!("../../beam/portcheck_adapter.erl");

/// Which gen_tcp implementation the port under test uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// The default inet driver (`inet_drv.c`): driver queue, watermarks, busy port.
    Inet,
    /// `{inet_backend, socket}` (`gen_tcp_socket` over the socket NIF): no
    /// driver queue, no busy port, no port-table slot.
    Socket,
}

impl Backend {
    pub fn arg(self) -> &'static str {
        match self {
            Backend::Inet => "inet",
            Backend::Socket => "socket",
        }
    }
}

/// Starts one OTP node per case running the BEAM adapter.
pub struct BeamFactory {
    pub backend: Backend,
    name: String,
    /// Holds the compiled `portcheck_adapter.beam`.
    dir: tempfile::TempDir,
    pub answer_timeout: Duration,
}

impl BeamFactory {
    /// Compiles the adapter with `erlc`.
    pub fn new(backend: Backend) -> Result<BeamFactory, SutError> {
        remove_orphaned_dirs();
        let dir = tempfile::Builder::new()
            .prefix(&format!("portcheck-beam-{}-", std::process::id()))
            .tempdir()
            .map_err(|e| SutError(format!("beam adapter: temp dir: {e}")))?;
        interrupt::remember(Leftover::Dir(dir.path().to_path_buf()));
        let src = dir.path().join("portcheck_adapter.erl");
        std::fs::write(&src, ADAPTER_SOURCE).map_err(|e| SutError(format!("beam adapter: write {src:?}: {e}")))?;
        compile(&src, dir.path())?;
        Ok(BeamFactory {
            backend,
            name: format!("beam-{}", backend.arg()),
            dir,
            answer_timeout: DEFAULT_ANSWER_TIMEOUT,
        })
    }

    /// Where the compiled adapter lives (removed when the factory is dropped).
    pub fn adapter_dir(&self) -> &Path {
        self.dir.path()
    }

    /// The shell command for one case.
    pub fn command(&self, setup: &Setup) -> String {
        // Room for the node's own ports (stdio, port under test, listener,
        // probe) below the table the adapter leaves free.
        let q = (setup.table_capacity + 64).max(1024).next_power_of_two();
        let spp = if setup.parallelism { " +spp true" } else { "" };
        format!(
            "ERL_CRASH_DUMP_SECONDS=0 exec erl +S 1 +Q {q}{spp} -noshell -pa '{}' -run portcheck_adapter main {}",
            self.dir.path().display(),
            self.backend.arg()
        )
    }

    /// Like [`SutFactory::start`], keeping the concrete type.
    pub fn spawn(&self, setup: &Setup) -> Result<ExternalSut, SutError> {
        ExternalSut::spawn(&self.name, &self.command(setup), self.answer_timeout, setup)
    }
}

impl Drop for BeamFactory {
    fn drop(&mut self) {
        interrupt::forget(&Leftover::Dir(self.dir.path().to_path_buf()));
    }
}

/// Removes the adapter dirs of earlier processes that ended without
/// removing them (a SIGKILL): `portcheck-beam-<pid>-*` in the temp dir,
/// with no process `<pid>` alive. Anyone else's dirs are never touched.
fn remove_orphaned_dirs() {
    let tmp = std::env::temp_dir();
    let Ok(entries) = std::fs::read_dir(&tmp) else { return };
    for name in entries.flatten().filter_map(|e| e.file_name().into_string().ok()) {
        let pid = name.strip_prefix("portcheck-beam-").and_then(|r| r.split_once('-')).map(|(p, _)| p);
        if let Some(pid) = pid.filter(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit())) {
            if !Path::new(&format!("/proc/{pid}")).exists() {
                let _ = std::fs::remove_dir_all(tmp.join(&name));
            }
        }
    }
}

impl SutFactory for BeamFactory {
    fn name(&self) -> &str {
        &self.name
    }
    /// The BEAM cannot hold a port's lock from outside the port. The socket
    /// backend's socket is not a port, so `port_command/3` flags and port
    /// parallelism do not apply; its getopts has no watermarks (the adapter
    /// reads them back for getopts and accept); and its recv(S, 0, 0) can
    /// wait for data after active -> passive (DIFF-SOCK-7).
    fn abilities(&self) -> Abilities {
        let inet = self.backend == Backend::Inet;
        Abilities { lock_contention: false, send_flags: inet, recv: inet, get_opts: inet, parallelism: inet }
    }
    fn start(&self, setup: &Setup) -> Result<Box<dyn SystemUnderTest>, SutError> {
        Ok(Box::new(self.spawn(setup)?))
    }
}

fn compile(src: &Path, out: &Path) -> Result<(), SutError> {
    let o = Command::new("erlc")
        .arg("-o")
        .arg(out)
        .arg(src)
        .output()
        .map_err(|e| SutError(format!("beam adapter: cannot run erlc: {e}")))?;
    if !o.status.success() {
        return Err(SutError(format!(
            "beam adapter: erlc {} failed ({}):\n{}{}",
            src.display(),
            o.status,
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )));
    }
    Ok(())
}
