//! Real OTP as a system under test: `harness/beam/portcheck_adapter.erl`
//! (compiled with `erlc` into a temporary directory when the first factory
//! of an `erl` is made in a process, [`build`]) run on an `erl` node and
//! driven over the external protocol (`harness/PROTOCOL.md`) by
//! [`ExternalSut`].
//!
//! A node serves case after case (`external::reuse`): starting one takes
//! 0.2–0.5 s, a case's ops tens of milliseconds. After a passed case the
//! adapter takes the case's world down and checks the node is back at its
//! baseline; a failed case's node, or one that is not back, is killed and
//! the next case starts a fresh one. [`BeamFactory::fresh_node`]
//! (`--fresh-node`) starts a node per case, as before.
//!
//! Which OTP: the `erl` the factory is given (`portcheck --erl PATH`, an
//! installed release, a chroot wrapper of `harness/beam/otp-chroots.sh` or
//! a source build's `$ERL_TOP/bin/erl`), else the one on PATH; the adapter
//! is compiled by the `erlc` beside it, so the `.beam` suits the node. The
//! factory asks that node its release once ([`BeamFactory::runtime`]), and
//! every case's `ready` line must report the same one: releases differ in
//! rules the model checks, so a result is only meaningful with its release.
//!
//! The node runs with one scheduler (`+S 1`: the adapter's I/O barrier
//! relies on port tasks running in order), a port table just large enough
//! for the case (`+Q`, at least 1024, filled by the adapter with dummy ports
//! down to `table_capacity - 2` free slots) and `+spp true` when the setup
//! asks for port parallelism (gen_tcp has no per-socket option for it).

mod build;

use super::external::reuse::{self, NodePool, PooledSut};
use super::external::{ExternalSut, Runtime, DEFAULT_ANSWER_TIMEOUT};
use crate::sut::{Abilities, SutError, SutFactory, SystemUnderTest};
use reference::op::Setup;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
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

/// A misbehaviour planted in the adapter, for the harness's own tests of
/// node reuse (`plant=NAME` on the adapter's command line).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AdapterPlant {
    /// After an `open_extra` that succeeded, every `ports` is one too many:
    /// those cases diverge, so their nodes must not be reused.
    MiscountExtra,
    /// Teardown leaves the listener open: every reset is dirty, so no node
    /// is reused, and every case still passes.
    LeakListener,
}

impl AdapterPlant {
    fn arg(self) -> &'static str {
        match self {
            AdapterPlant::MiscountExtra => "plant=miscount_extra",
            AdapterPlant::LeakListener => "plant=leak_listener",
        }
    }
}

/// Starts OTP nodes running the BEAM adapter, one for case after case
/// (per node configuration), or one per case with [`BeamFactory::fresh_node`].
pub struct BeamFactory {
    pub backend: Backend,
    name: String,
    /// The `erl` every case's node is started with.
    erl: PathBuf,
    /// The compiled `portcheck_adapter.beam`, shared with the process's
    /// other factories of this `erl`, and what that `erl` said it is
    /// before the first case.
    build: Arc<build::AdapterBuild>,
    pub answer_timeout: Duration,
    /// A node per case (`--fresh-node`): what every case cost before nodes
    /// were reused, and the check that reuse changes no verdict.
    pub fresh_node: bool,
    /// A planted adapter misbehaviour (tests only).
    pub plant: Option<AdapterPlant>,
    /// The nodes kept between cases.
    pool: Arc<NodePool>,
}

impl BeamFactory {
    /// Compiles the adapter with the `erlc` beside `erl` (`None`: the `erl`
    /// on PATH) and asks a node of that `erl` which release it runs; once
    /// per `erl` in a process ([`build`]).
    pub fn new(backend: Backend, erl: Option<&Path>) -> Result<BeamFactory, SutError> {
        let (erl, erlc) = locate(erl)?;
        remove_orphaned_dirs();
        let build = build::for_erl(&erl, &erlc)?;
        Ok(BeamFactory {
            backend,
            name: format!("beam-{}", backend.arg()),
            erl,
            build,
            answer_timeout: DEFAULT_ANSWER_TIMEOUT,
            fresh_node: false,
            plant: None,
            pool: Arc::default(),
        })
    }

    /// The nodes kept between cases, and what starting and ending cases cost.
    pub fn pool(&self) -> &NodePool {
        &self.pool
    }

    /// The `erl` the nodes run.
    pub fn erl(&self) -> &Path {
        &self.erl
    }

    /// The release the nodes run.
    pub fn runtime(&self) -> &Runtime {
        &self.build.runtime
    }

    /// Where the compiled adapter lives (removed when the process ends).
    pub fn adapter_dir(&self) -> &Path {
        &self.build.dir
    }

    /// The shell command of a node for `setup`. Setups with the same
    /// command can share a node: it carries the node's configuration.
    pub fn command(&self, setup: &Setup) -> String {
        // Room for the node's own ports (stdio, port under test, listener,
        // probe) below the table the adapter leaves free.
        let q = (setup.table_capacity + 64).max(1024).next_power_of_two();
        let spp = if setup.parallelism { " +spp true" } else { "" };
        // Schedulers sleep when out of work instead of spinning first
        // (`+sbwt none`, and the dirty ones'): the node is idle between the
        // harness's requests, and the spinning was a third of the
        // differential's CPU (69.8 s to 47.6 s, measured 2026-12-07), CPU
        // the cases beside it on two cores need. What the port does is
        // unchanged; only how an idle scheduler waits.
        let plant = self.plant.map(|p| format!(" {}", p.arg())).unwrap_or_default();
        format!(
            "ERL_CRASH_DUMP_SECONDS=0 exec {} +S 1 +sbwt none +sbwtdcpu none +sbwtdio none +Q {q}{spp} -noshell -pa {} -run portcheck_adapter main {}{plant}",
            shell_quote(&self.erl),
            shell_quote(&self.build.dir),
            self.backend.arg()
        )
    }

    /// A node for one case: an idle one of the same configuration, or a
    /// new one (always with [`BeamFactory::fresh_node`]). It must report
    /// the release the factory found, as [`BeamFactory::spawn`]'s does.
    pub fn start_case(&self, setup: &Setup) -> Result<PooledSut, SutError> {
        let command = self.command(setup);
        let how =
            reuse::Start { name: &self.name, command: &command, answer_timeout: self.answer_timeout, per_start: false };
        let sut = self.pool.start(&how, setup, self.fresh_node)?;
        self.same_release(sut.runtime())?;
        Ok(sut)
    }

    /// A fresh node for one case, outside the pool (killed when dropped;
    /// the adapter's own tests drive it op by op). A node that reports
    /// another release than the factory found (the `erl` replaced during
    /// the run) fails the case: its result would be filed under the wrong
    /// release.
    pub fn spawn(&self, setup: &Setup) -> Result<ExternalSut, SutError> {
        let sut = ExternalSut::spawn(&self.name, &self.command(setup), self.answer_timeout, setup)?;
        self.same_release(sut.runtime())?;
        Ok(sut)
    }

    fn same_release(&self, reported: Option<&Runtime>) -> Result<(), SutError> {
        match reported {
            Some(r) if *r == self.build.runtime => Ok(()),
            other => Err(SutError(format!(
                "sut {}: the node of {} reports {}, but it was {} when the run started",
                self.name,
                self.erl.display(),
                other.map_or("no release".to_string(), |r| r.to_string()),
                self.build.runtime
            ))),
        }
    }
}

impl Drop for BeamFactory {
    fn drop(&mut self) {
        // The idle nodes end with their factory; the adapter's dir stays
        // for the process's other factories of this `erl` ([`build`]).
        self.pool.clear();
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
        Abilities {
            lock_contention: false,
            send_flags: inet,
            recv: inet,
            get_opts: inet,
            parallelism: inet,
            peer_end: inet,
            // OPT-8 holds on both backends (probe_kernel_defaults.erl), but
            // the socket backend reads no options back (get_opts).
            kernel_env: inet,
            // SD-*: measured on the inet driver (probe_shutdown.erl); the
            // socket backend's failed sends and reads differ (not modelled).
            shutdown: inet,
            // RX-7..RX-10: measured on the inet driver
            // (probe_recv_wait.erl); the socket backend's recv differs.
            recv_wait: inet,
            // CL-4: measured on the inet driver (probe_linger_close.erl);
            // the socket backend's close is DIFF-SOCK-5's.
            linger: inet,
            // SND-7: senders suspend on the inet driver's busy port only.
            kill: inet,
            // RX-11, DIFF-INET-12: measured on the inet driver
            // (probe_recv_timeout*.erl), as the reader is.
            recv_timeout: inet,
            // CL-5, DIFF-INET-13: measured on the inet driver
            // (probe_port_killed*.erl); the socket backend's socket is
            // not a port.
            kill_port: inet,
            // PC-6, PC-7: measured on the inet driver
            // (probe_exit_on_close*.erl); the socket backend's half-close
            // was not measured.
            exit_on_close: inet,
            // SND-8: the inet driver's blocked caller (probe_kill_suspended.erl).
            kill_caller: inet,
            // CL-6: the owner handed the port and killed, on the inet
            // driver (probe_owner_handover.erl).
            kill_owner: inet,
        }
    }
    fn start(&self, setup: &Setup) -> Result<Box<dyn SystemUnderTest>, SutError> {
        Ok(Box::new(self.start_case(setup)?))
    }
    fn runtime(&self) -> Option<Runtime> {
        Some(self.build.runtime.clone())
    }
}

/// The `erl` to run and the `erlc` beside it. Named: it must exist, and so
/// must `erlc` in its directory (an installation's `bin/`, a chroot
/// wrapper's, `$ERL_TOP/bin/`): the adapter compiled by another release's
/// `erlc` might not load. Unnamed: the `erl` on PATH.
fn locate(erl: Option<&Path>) -> Result<(PathBuf, PathBuf), SutError> {
    let erl = match erl {
        Some(p) => {
            if !p.is_file() {
                return Err(SutError(format!("--erl {}: no such file", p.display())));
            }
            std::path::absolute(p).map_err(|e| SutError(format!("--erl {}: {e}", p.display())))?
        }
        None => on_path("erl").ok_or_else(|| {
            SutError(
                "needs `erl` on PATH (apt-get install -y erlang-nox) or one named with --erl PATH (PORTCHECK_ERL)"
                    .into(),
            )
        })?,
    };
    let erlc = erl.with_file_name("erlc");
    if !erlc.is_file() {
        return Err(SutError(format!(
            "--erl {}: no erlc beside it ({} is missing); name the erl of an installation whose bin/ has both",
            erl.display(),
            erlc.display()
        )));
    }
    Ok((erl, erlc))
}

/// The first `prog` in PATH's directories.
fn on_path(prog: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|d| d.join(prog)).find(|p| p.is_file())
}

/// `p` in single quotes for `sh -c` (a `'` inside closes, escapes and reopens).
fn shell_quote(p: &Path) -> String {
    format!("'{}'", p.display().to_string().replace('\'', r"'\''"))
}

/// The adapter's answer to `main runtime`: one JSON line, the `runtime`
/// its `ready` lines will carry.
fn ask_runtime(erl: &Path, adapter_dir: &Path) -> Result<Runtime, SutError> {
    let o = Command::new(erl)
        .args(["-noshell", "-pa"])
        .arg(adapter_dir)
        .args(["-run", "portcheck_adapter", "main", "runtime"])
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| SutError(format!("beam adapter: cannot run {}: {e}", erl.display())))?;
    let out = String::from_utf8_lossy(&o.stdout);
    let line = out.lines().find(|l| l.starts_with('{'));
    match (o.status.success(), line.map(serde_json::from_str::<Runtime>)) {
        (true, Some(Ok(r))) => Ok(r),
        (_, parsed) => Err(SutError(format!(
            "beam adapter: {} did not say which release it runs ({}{}):\n{out}{}",
            erl.display(),
            o.status,
            match parsed {
                Some(Err(e)) => format!(", {e}"),
                _ => String::new(),
            },
            String::from_utf8_lossy(&o.stderr)
        ))),
    }
}

fn compile(erlc: &Path, src: &Path, out: &Path) -> Result<(), SutError> {
    let o = Command::new(erlc)
        .arg("-o")
        .arg(out)
        .arg(src)
        .output()
        .map_err(|e| SutError(format!("beam adapter: cannot run {}: {e}", erlc.display())))?;
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
