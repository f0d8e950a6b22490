//! The one interface every system under test implements. The executor
//! (`crate::executor`) drives any `SystemUnderTest` the same way.
//!
//! - [`native`]: the adapter of the native runtime (`portcheck-native`).
//! - [`external`]: a system in another process, over `harness/PROTOCOL.md`.
//! - [`beam`]: real OTP, through the external protocol.

pub mod beam;
pub mod external;
pub mod native;

use reference::choice::Choice;
use reference::observation::Observation;
use reference::op::{Op, Setup};
use reference::rules::RuleId;
use reference::variant::{OtpRelease, Variant};
use std::fmt;

pub use external::Runtime;

/// What a system under test reports after one op: what it observed, and the
/// kernel's and scheduler's choices it made on the way (in order).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    pub observation: Observation,
    pub choices: Vec<Choice>,
}

/// A failure of the system under test itself (not a divergence from the
/// model): an I/O error in the harness, a crashed adapter, a bound exceeded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SutError(pub String);

impl fmt::Display for SutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for SutError {}

/// How a stall's message starts (`SutError::stalled`).
const STALLED: &str = "stalled: ";

impl SutError {
    /// The system made no progress within the failure bound of a wait the
    /// harness made for it (an `AwaitIo` or `AwaitPeer` that timed out).
    /// Not a crash: the executor blames it on the rule that required the
    /// progress (issue 15), when the model expected any.
    pub fn stalled(what: impl fmt::Display) -> SutError {
        SutError(format!("{STALLED}{what}"))
    }

    pub fn is_stall(&self) -> bool {
        self.0.starts_with(STALLED)
    }

    /// The harness measured, beside the system's own report, something
    /// that contradicts `rule` (issue 15: what reached the socket is
    /// measured, not taken from the runtime's claim). Not a failure of the
    /// system's machinery: the executor blames `rule`.
    pub fn contradicts(rule: RuleId, what: impl fmt::Display) -> SutError {
        SutError(format!("{CONTRADICTS}{rule}: {what}"))
    }

    /// The rule a [`SutError::contradicts`] names, and what contradicts it.
    pub fn contradiction(&self) -> Option<(RuleId, &str)> {
        let (id, what) = self.0.strip_prefix(CONTRADICTS)?.split_once(": ")?;
        let rule = reference::rules::catalogue().into_iter().map(|r| r.id).find(|r| r.0 == id)?;
        Some((rule, what))
    }
}

/// How a contradiction's message starts (`SutError::contradicts`).
const CONTRADICTS: &str = "contradicts ";

impl From<std::io::Error> for SutError {
    fn from(e: std::io::Error) -> Self {
        SutError(format!("I/O error: {e}"))
    }
}

/// What a system under test declares about itself (the trait's
/// `reports_all_choices`, `settles`, `real_clock`, `variant`), as data: the
/// executor keeps it with every case so a recording plays back under the
/// same terms.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Declared {
    pub variant: Variant,
    pub reports_all_choices: bool,
    pub settles: bool,
    pub real_clock: bool,
    /// The OTP release the system runs, when it said (its DIFF rules
    /// differ by release: `reference::variant::OtpRelease::rule_set`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub otp: Option<OtpRelease>,
}

impl Declared {
    pub fn of(sut: &dyn SystemUnderTest) -> Declared {
        Declared {
            variant: sut.variant(),
            reports_all_choices: sut.reports_all_choices(),
            settles: sut.settles(),
            real_clock: sut.real_clock(),
            otp: sut.otp_release(),
        }
    }
}

/// A running system under test, set up for one case.
pub trait SystemUnderTest {
    /// Apply one op and report what happened. Must return only once the op's
    /// effects are complete (no background progress after it returns).
    fn apply(&mut self, op: &Op) -> Result<Step, SutError>;

    /// Does this system report every kind of choice (writes, reads, the
    /// scheduler's activities, the peer's reads)? The model takes them as
    /// inputs; without them a choice-level divergence cannot be blamed on a
    /// rule, and the executor says the case could not be checked instead.
    fn reports_all_choices(&self) -> bool {
        true
    }

    /// Does the system run itself to quiescence before answering each op
    /// (real OTP through its adapter)? Then the model follows every op
    /// with a quiescence in the same step.
    fn settles(&self) -> bool {
        false
    }

    /// Do the system's timers run on the real clock (`advance_time` cannot
    /// move it)? Then a timer may fire in any step once armed.
    fn real_clock(&self) -> bool {
        false
    }

    /// The declared variant of the rules the system follows
    /// (`reference::variant`).
    /// The OTP release the system runs (from its `ready` line's runtime),
    /// which picks the release's DIFF rules.
    fn otp_release(&self) -> Option<OtpRelease> {
        None
    }

    fn variant(&self) -> Variant {
        Variant::Reference
    }

    /// The case is over: `passed` says whether it passed. A system whose
    /// process serves several cases (`external::reuse`) may keep that
    /// process for the next case only after a passed one; the executor
    /// calls this once, after the last step, and drops the system after it.
    fn finish(&mut self, _passed: bool) {}
}

/// What a system can be asked to do. The generator does not emit what a
/// system cannot perform faithfully (it would answer `unsupported`); the
/// rules only those ops reach are then reported as not reached. An external
/// system declares them in its `ready` line (PROTOCOL.md §2.2, version 2);
/// a field it leaves out is an ability it has.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Abilities {
    /// `contend_lock`/`release_lock`: holding the port lock from another
    /// scheduler on demand (MQ-1).
    pub lock_contention: bool,
    /// `port_command/3` flags (`nosuspend`, `force`) on a send.
    pub send_flags: bool,
    /// `gen_tcp:recv(S, 0, 0)` answers at once in every state (not so on
    /// OTP's socket backend after active -> passive: DIFF-SOCK-7).
    pub recv: bool,
    /// getopts of every option the model knows (accept reports them too,
    /// OPT-6): the socket backend has no watermarks to read back.
    pub get_opts: bool,
    /// `{parallelism, true}` in the setup (MQ-2): a port option.
    pub parallelism: bool,
    /// `peer_shutdown`/`peer_reset` and `setup.show_econnreset` (PC-*,
    /// RS-1). Added after version 2 was out: an adapter that does not
    /// declare it does not have it.
    #[serde(default)]
    pub peer_end: bool,
    /// `setup.kernel_env`: the node's default options for connect and
    /// listen (OPT-8). Added after `peer_end`: absent means not had.
    #[serde(default)]
    pub kernel_env: bool,
    /// `shutdown`: `gen_tcp:shutdown/2` on the port under test (SD-*).
    /// Added after `kernel_env`: absent means not had.
    #[serde(default)]
    pub shutdown: bool,
    /// `recv_wait`: a reader process blocked in `gen_tcp:recv(S, Len,
    /// infinity)`, reported in `observation.reader` (RX-7..RX-10). Added
    /// after `shutdown`: absent means not had.
    #[serde(default)]
    pub recv_wait: bool,
    /// `setup.linger_zero`: `{linger, {true, 0}}` at connect, a close that
    /// aborts (CL-4). Added after `recv_wait`: absent means not had.
    #[serde(default)]
    pub linger: bool,
    /// `kill`: a sender suspended on the busy port killed, a fresh process
    /// in its place (SND-7). Added after `linger`: absent means not had.
    #[serde(default)]
    pub kill: bool,
    /// `recv_wait` with a `timeout`: `gen_tcp:recv(S, Len, T)`, its timer
    /// and what it leaves buffered (RX-11, DIFF-INET-12). Added after
    /// `kill`: absent means not had (such an adapter's reader would wait
    /// on, ignoring the field), and its timed recvs go without one.
    #[serde(default)]
    pub recv_timeout: bool,
    /// `kill_port`: the port under test killed by another process (CL-5).
    /// Added after `recv_timeout`: absent means not had.
    #[serde(default)]
    pub kill_port: bool,
    /// `setup.exit_on_close` false: `{exit_on_close, false}` at connect,
    /// the peer's FIN half-closes the port (PC-6, PC-7). Added after
    /// `kill_port`: absent means not had.
    #[serde(default)]
    pub exit_on_close: bool,
    /// `kill_caller`: the caller blocked on the busy port's reply killed,
    /// a fresh process in its place (SND-8). Added after `exit_on_close`:
    /// absent means not had.
    #[serde(default)]
    pub kill_caller: bool,
    /// `kill_owner`: the owner of the port under test dies (CL-6). Added
    /// after `kill_caller`: absent means not had.
    #[serde(default)]
    pub kill_owner: bool,
}

impl Default for Abilities {
    fn default() -> Self {
        Abilities::ALL
    }
}

impl Abilities {
    pub const ALL: Abilities = Abilities {
        lock_contention: true,
        send_flags: true,
        recv: true,
        get_opts: true,
        parallelism: true,
        peer_end: true,
        kernel_env: true,
        shutdown: true,
        recv_wait: true,
        linger: true,
        kill: true,
        recv_timeout: true,
        kill_port: true,
        exit_on_close: true,
        kill_caller: true,
        kill_owner: true,
    };

    /// What the op becomes on this system: lock contention turns into a
    /// quiescence, send flags are dropped.
    pub fn adapt(self, op: Op) -> Op {
        match op {
            Op::ContendLock | Op::ReleaseLock if !self.lock_contention => Op::Quiesce,
            Op::Send { sender, len, tag, .. } if !self.send_flags => {
                Op::Send { sender, len, tag, flags: Default::default() }
            }
            Op::SendAt { sender, mark, delta, tag, .. } if !self.send_flags => {
                Op::SendAt { sender, mark, delta, tag, flags: Default::default() }
            }
            Op::Recv if !self.recv => Op::Quiesce,
            Op::GetOpts | Op::Accept | Op::CloseAccepted if !self.get_opts => Op::Quiesce,
            Op::PeerShutdown | Op::PeerReset if !self.peer_end => Op::Quiesce,
            Op::Shutdown { .. } if !self.shutdown => Op::Quiesce,
            Op::RecvWait { .. } if !self.recv_wait => Op::Quiesce,
            Op::RecvWait { len, timeout: Some(_) } if !self.recv_timeout => Op::RecvWait { len, timeout: None },
            Op::Kill { .. } if !self.kill => Op::Quiesce,
            Op::KillPort if !self.kill_port => Op::Quiesce,
            Op::KillCaller { .. } if !self.kill_caller => Op::Quiesce,
            Op::KillOwner if !self.kill_owner => Op::Quiesce,
            other => other,
        }
    }

    /// What the setup becomes on this system (unchanged for one that can do
    /// everything, so seeds replay).
    pub fn adapt_setup(self, setup: Setup) -> Setup {
        Setup {
            parallelism: setup.parallelism && self.parallelism,
            show_econnreset: setup.show_econnreset && self.peer_end,
            linger_zero: setup.linger_zero && self.linger,
            // Without the ability the case runs with the default.
            exit_on_close: setup.exit_on_close || !self.exit_on_close,
            kernel_env: if self.kernel_env { setup.kernel_env } else { Default::default() },
            ..setup
        }
    }

    /// The ops left out, for reports.
    pub fn missing(self) -> Vec<&'static str> {
        let mut v = vec![];
        if !self.lock_contention {
            v.push("contend_lock/release_lock (MQ-1 lock contention)");
        }
        if !self.send_flags {
            v.push("send flags nosuspend/force (SND-2, SND-3, MQ-6)");
        }
        if !self.recv {
            v.push("recv (RX-1, RX-6; DIFF-SOCK-7)");
        }
        if !self.get_opts {
            v.push("getopts and accept (OPT-1..5 read back, OPT-6, PT-2)");
        }
        if !self.parallelism {
            v.push("port parallelism (MQ-2)");
        }
        if !self.peer_end {
            v.push("the peer's FIN and RST, show_econnreset (PC-*, RS-1)");
        }
        if !self.kernel_env {
            v.push("the kernel environment's default options (OPT-8)");
        }
        if !self.shutdown {
            v.push("gen_tcp:shutdown/2 on the port under test (SD-*)");
        }
        if !self.recv_wait {
            v.push("a reader blocked in recv with a length (RX-7..RX-10)");
        }
        if !self.linger {
            v.push("{linger, {true, 0}} at connect (CL-4)");
        }
        if !self.kill {
            v.push("a suspended sender killed (SND-7)");
        }
        if !self.recv_timeout {
            v.push("recv with a timeout (RX-11, DIFF-INET-12)");
        }
        if !self.kill_port {
            v.push("the port killed (CL-5)");
        }
        if !self.exit_on_close {
            v.push("{exit_on_close, false} at connect (PC-6, PC-7)");
        }
        if !self.kill_caller {
            v.push("the blocked caller killed (SND-8)");
        }
        if !self.kill_owner {
            v.push("the port's owner killed (CL-6)");
        }
        v
    }
}

/// Creates a fresh system under test for each case (and each shrink attempt).
pub trait SutFactory {
    fn name(&self) -> &str;

    /// What the generator may ask of this system.
    fn abilities(&self) -> Abilities {
        Abilities::ALL
    }

    fn start(&self, setup: &Setup) -> Result<Box<dyn SystemUnderTest>, SutError>;

    /// The release of the runtime the cases run on, when the factory knows
    /// it before the first case (real OTP: reports and saved traces name
    /// it, since releases differ in rules).
    fn runtime(&self) -> Option<Runtime> {
        None
    }

    /// The same system with waits for progress bounded by `bound`, when it
    /// can shorten them: shrinking a stall re-runs candidates that stall
    /// too, each waiting out the bound (issue 15).
    fn with_stall_bound(&self, _bound: std::time::Duration) -> Option<Box<dyn SutFactory>> {
        None
    }
}
