//! A system under test in another process, spoken to over the line protocol
//! of `harness/PROTOCOL.md` (JSON lines on the child's stdin/stdout).
//!
//! [`ExternalFactory::start`] runs the command with `sh -c`, sends the
//! `hello` line with the case's [`Setup`] and waits for `ready`; each
//! [`SystemUnderTest::apply`] writes one `op` line and reads one answer
//! line. The child's stderr is captured on a thread into a ring buffer so a
//! crash can be reported with its last lines. The child (its whole process
//! group) is killed and reaped on drop. An adapter that declares itself
//! `reusable` serves case after case in one process ([`reuse`]): after a
//! passed case the harness sends `reset` instead of ending the session.
//!
//! An op the SUT cannot perform is answered with an `unsupported` line; it
//! becomes a [`SutError`] whose text starts with [`UNSUPPORTED_PREFIX`], so an
//! executor can tell a declared capability gap from a failure with
//! [`unsupported_reason`] and skip the case with the printed reason.

pub mod child;
pub mod protocol;
pub mod reuse;
pub mod validate;

use crate::sut::{Abilities, Step, SutError, SutFactory, SystemUnderTest};
pub use child::STDERR_TAIL_LINES;
use child::{describe_status, ChildProcess};
use protocol::{excerpt, kind};
pub use protocol::{
    ChoiceKind, FromSut, Ready, Runtime, StartParams, ToSut, OLDEST_PROTOCOL_VERSION, PROTOCOL_VERSION,
};
use reference::op::{Op, Setup};
use reference::variant::Variant;
use reuse::NodePool;
use std::collections::BTreeMap;
use std::sync::mpsc::RecvTimeoutError;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// Default bound on the wait for one answer line.
pub const DEFAULT_ANSWER_TIMEOUT: Duration = Duration::from_secs(10);

/// Every [`SutError`] made from an `unsupported` answer starts with this.
pub const UNSUPPORTED_PREFIX: &str = "unsupported: ";

/// The reason of a declared capability gap, or `None` for a real failure.
pub fn unsupported_reason(e: &SutError) -> Option<&str> {
    e.0.strip_prefix(UNSUPPORTED_PREFIX)
}

// --- factory ---------------------------------------------------------------------------------

/// Starts external SUT processes: one per case, or (an adapter that says
/// `reusable`) one for case after case.
#[derive(Clone, Debug)]
pub struct ExternalFactory {
    /// Shell command (run with `sh -c`) that speaks the protocol on stdio.
    pub command: String,
    /// Name used in reports and error messages.
    pub name: String,
    /// Bound on the wait for each answer line (`AdvanceTime` adds its `by`).
    pub answer_timeout: Duration,
    /// A process per case even when the adapter could serve more
    /// (`--fresh-node`).
    pub fresh_node: bool,
    pool: Arc<NodePool>,
    /// What the adapter declared in the `ready` of its first session
    /// ([`ExternalFactory::declared`]).
    probed: Arc<OnceLock<Probe>>,
}

/// What an adapter declares about itself, asked once per factory.
#[derive(Clone, Debug)]
struct Probe {
    abilities: Abilities,
    runtime: Option<Runtime>,
}

/// The setup of the session that asks an adapter what it declares: a case
/// like any other (the process goes on to serve a case of the same start).
fn probe_setup() -> Setup {
    Setup { table_capacity: 4, ..Setup::default() }
}

impl ExternalFactory {
    pub fn new(name: impl Into<String>, command: impl Into<String>) -> Self {
        ExternalFactory {
            command: command.into(),
            name: name.into(),
            answer_timeout: DEFAULT_ANSWER_TIMEOUT,
            fresh_node: false,
            pool: Arc::default(),
            probed: Arc::default(),
        }
    }

    /// What the adapter declares (abilities, runtime), from the `ready` of
    /// one session started before the first case and ended as a passed case
    /// would be (a `reusable` adapter keeps serving). An adapter that cannot
    /// even say `ready` is sent every op: its first case fails with the
    /// reason, printed here too.
    fn declared(&self) -> &Probe {
        self.probed.get_or_init(|| {
            let start = self.start_how();
            match self.pool.start(&start, &probe_setup(), self.fresh_node) {
                Ok(mut sut) => {
                    let ready = sut.session().map(|s| s.ready().clone());
                    sut.finish(true);
                    let ready = ready.expect("a started session has its ready line");
                    Probe { abilities: ready.abilities(), runtime: ready.runtime.clone() }
                }
                Err(SutError(e)) => {
                    eprintln!("portcheck: sut {}: asking what it can do failed ({e}); it is sent every op", self.name);
                    Probe { abilities: Abilities::ALL, runtime: None }
                }
            }
        })
    }

    fn start_how(&self) -> reuse::Start<'_> {
        reuse::Start { name: &self.name, command: &self.command, answer_timeout: self.answer_timeout, per_start: true }
    }

    /// The processes kept between cases, and what they cost.
    pub fn pool(&self) -> &NodePool {
        &self.pool
    }

    pub fn with_answer_timeout(mut self, d: Duration) -> Self {
        self.answer_timeout = d;
        self
    }

    /// Like [`SutFactory::start`], keeping the concrete type.
    pub fn spawn(&self, setup: &Setup) -> Result<ExternalSut, SutError> {
        ExternalSut::spawn(&self.name, &self.command, self.answer_timeout, setup)
    }
}

impl SutFactory for ExternalFactory {
    fn name(&self) -> &str {
        &self.name
    }
    fn start(&self, setup: &Setup) -> Result<Box<dyn SystemUnderTest>, SutError> {
        Ok(Box::new(self.pool.start(&self.start_how(), setup, self.fresh_node)?))
    }
    /// What the adapter declared in its `ready` line (version 2): the
    /// generator leaves out what it cannot do, as for a built-in system.
    fn abilities(&self) -> Abilities {
        self.declared().abilities
    }
    fn runtime(&self) -> Option<Runtime> {
        self.declared().runtime.clone()
    }
}

// --- the running SUT -------------------------------------------------------------------------

/// One running external SUT: one case, or after a clean [`reset`](ExternalSut::reset)
/// the next one.
pub struct ExternalSut {
    name: String,
    child: ChildProcess,
    answer_timeout: Duration,
    next_step: usize,
    ready: Ready,
    /// Set once the session is unusable (after a protocol failure).
    dead: Option<String>,
    /// The case's setup and what was sent so far: what an answer may say
    /// ([`validate`]).
    setup: Setup,
    sent: validate::Sent,
    /// Between a clean `reset` and the next `hello`: no op may be sent.
    between_cases: bool,
}

impl ExternalSut {
    /// Runs `command`, performs the handshake with `setup`.
    pub fn spawn(name: &str, command: &str, answer_timeout: Duration, setup: &Setup) -> Result<ExternalSut, SutError> {
        let child = ChildProcess::spawn(command)
            .map_err(|e| SutError(format!("sut {name}: cannot run `sh -c {command:?}`: {e}")))?;
        let mut sut = ExternalSut {
            name: name.to_string(),
            child,
            answer_timeout,
            next_step: 0,
            ready: Ready {
                version: 0,
                sut: String::new(),
                reports: vec![],
                info: BTreeMap::new(),
                settles: false,
                real_clock: false,
                variant: Variant::Reference,
                runtime: None,
                reusable: false,
                abilities: None,
            },
            dead: None,
            setup: setup.clone(),
            sent: validate::Sent::default(),
            between_cases: false,
        };
        sut.handshake(setup)?;
        Ok(sut)
    }

    /// The adapter's pid (its process group's id).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Ends a passed case on a `reusable` adapter (PROTOCOL.md §2.3): it
    /// takes the case's world down and says whether it is back at its
    /// baseline. `Err` (dirty, or any failure) leaves the session dead: the
    /// process must not serve another case.
    pub fn reset(&mut self) -> Result<(), SutError> {
        if let Some(d) = &self.dead {
            return Err(SutError(format!("sut {}: session already failed: {d}", self.name)));
        }
        if !self.ready.reusable {
            return Err(self.fail(format!("sut {}: reset: the adapter did not declare `reusable`", self.name)));
        }
        let what = "reset";
        self.send_line(&ToSut::Reset, what)?;
        let line = self.read_line(what, self.answer_timeout)?;
        match self.parse(&line, what)? {
            FromSut::Reset { clean: true, .. } => {
                self.between_cases = true;
                Ok(())
            }
            FromSut::Reset { clean: false, reason } => Err(self.fail(format!(
                "sut {}: reset: not back at its baseline: {}",
                self.name,
                reason.as_deref().unwrap_or("(no reason given)")
            ))),
            other => Err(self.fail(format!(
                "sut {}: reset: expected a `reset` answer, got {}: {}",
                self.name,
                kind(&other),
                excerpt(&line)
            ))),
        }
    }

    /// The next case on this process, after a clean [`reset`](Self::reset):
    /// its `hello` and `ready`, as for a new process.
    pub fn next_case(&mut self, setup: &Setup) -> Result<(), SutError> {
        if !self.between_cases || self.dead.is_some() {
            return Err(SutError(format!("sut {}: next case: the last one was not reset clean", self.name)));
        }
        self.between_cases = false;
        self.next_step = 0;
        self.setup = setup.clone();
        self.sent = validate::Sent::default();
        self.handshake(setup)
    }

    /// Whether the last case was reset clean and no next one has begun.
    pub fn between_cases(&self) -> bool {
        self.between_cases && self.dead.is_none()
    }

    /// The SUT's `ready` line.
    pub fn ready(&self) -> &Ready {
        &self.ready
    }

    /// The runtime's release, when its `ready` line said.
    pub fn runtime(&self) -> Option<&Runtime> {
        self.ready.runtime.as_ref()
    }

    fn handshake(&mut self, setup: &Setup) -> Result<(), SutError> {
        let what = "handshake".to_string();
        let hello =
            ToSut::Hello { version: PROTOCOL_VERSION, start: Some(StartParams::of(setup)), setup: setup.clone() };
        self.send_line(&hello, &what)?;
        let line = self.read_line(&what, self.handshake_bound())?;
        match self.parse(&line, &what)? {
            FromSut::Ready(r) => {
                if !(OLDEST_PROTOCOL_VERSION..=PROTOCOL_VERSION).contains(&r.version) {
                    return Err(self.fail(format!(
                        "sut {}: {what}: SUT speaks protocol version {}, the harness speaks \
                         {OLDEST_PROTOCOL_VERSION} to {PROTOCOL_VERSION}",
                        self.name, r.version
                    )));
                }
                self.ready = r;
                Ok(())
            }
            FromSut::Unsupported { reason, .. } => {
                Err(self.fail(format!("{UNSUPPORTED_PREFIX}sut {} cannot take this setup: {reason}", self.name)))
            }
            FromSut::Error { message, .. } => {
                Err(self.fail(format!("sut {}: {what}: the SUT reported an error: {message}", self.name)))
            }
            other => Err(self.fail(format!(
                "sut {}: {what}: expected a `ready` line, got {}: {}",
                self.name,
                kind(&other),
                excerpt(&line)
            ))),
        }
    }

    /// The bound on the `ready` answer: a fresh process boots its runtime
    /// first (an OTP node in a chroot: 2.5-4 s at a load of 26 on 2 cores),
    /// then builds the case's world; seen to take over 10 s under two busy
    /// loops beside a run. Still a failure bound: 2.5 answer bounds (25 s
    /// by default, within issue 13's 30 s for a hang).
    fn handshake_bound(&self) -> Duration {
        self.answer_timeout * 5 / 2
    }

    /// Marks the session dead and returns the error (so later calls repeat it).
    fn fail(&mut self, msg: String) -> SutError {
        self.dead = Some(msg.clone());
        SutError(msg)
    }

    fn send_line(&mut self, msg: &ToSut, what: &str) -> Result<(), SutError> {
        let line = serde_json::to_string(msg).expect("protocol messages serialize");
        if let Err(e) = self.child.write_line(&line) {
            // Most likely the child is gone: report how it ended.
            let ended = self.child.wait_exit(Duration::from_secs(2));
            let msg = match ended {
                Some(st) => format!(
                    "sut {}: {what}: the SUT exited early ({}) — writing to it failed: {e}\nlast stderr lines:\n{}",
                    self.name,
                    describe_status(st),
                    self.child.stderr_tail(Duration::from_secs(2))
                ),
                None => format!(
                    "sut {}: {what}: writing to the SUT failed: {e}\nlast stderr lines:\n{}",
                    self.name,
                    self.child.stderr_tail(Duration::from_millis(200))
                ),
            };
            return Err(self.fail(msg));
        }
        Ok(())
    }

    fn read_line(&mut self, what: &str, bound: Duration) -> Result<String, SutError> {
        match self.child.next_line(bound) {
            Ok(Ok(line)) => Ok(line),
            Ok(Err(e)) => {
                let msg = format!("sut {}: {what}: reading the SUT's stdout failed: {e}", self.name);
                Err(self.fail(msg))
            }
            Err(RecvTimeoutError::Timeout) => {
                self.child.kill();
                let msg = format!(
                    "sut {}: {what}: no answer within {:?}; the SUT was killed\nlast stderr lines:\n{}",
                    self.name,
                    bound,
                    self.child.stderr_tail(Duration::from_secs(2))
                );
                Err(self.fail(msg))
            }
            Err(RecvTimeoutError::Disconnected) => {
                let st = self.child.wait_exit(Duration::from_secs(5));
                let status = match st {
                    Some(st) => describe_status(st),
                    None => {
                        self.child.kill();
                        "closed its stdout but did not exit within 5s; killed".to_string()
                    }
                };
                let msg = format!(
                    "sut {}: {what}: the SUT exited early ({status}) before answering\nlast stderr lines:\n{}",
                    self.name,
                    self.child.stderr_tail(Duration::from_secs(2))
                );
                Err(self.fail(msg))
            }
        }
    }

    fn parse(&mut self, line: &str, what: &str) -> Result<FromSut, SutError> {
        serde_json::from_str::<FromSut>(line).map_err(|e| {
            // Name the field: the tagged enum's own error does not.
            let e = validate::step_field_error(line).unwrap_or_else(|| e.to_string());
            let msg = format!("sut {}: {what}: malformed answer line ({e}): {}", self.name, excerpt(line));
            self.fail(msg)
        })
    }
}

impl SystemUnderTest for ExternalSut {
    fn reports_all_choices(&self) -> bool {
        [ChoiceKind::Ran, ChoiceKind::Wrote, ChoiceKind::Read, ChoiceKind::PeerGot]
            .iter()
            .all(|k| self.ready().reports.contains(k))
    }

    fn settles(&self) -> bool {
        self.ready().settles
    }

    fn otp_release(&self) -> Option<reference::variant::OtpRelease> {
        self.ready.runtime.as_ref().and_then(|r| reference::variant::OtpRelease::parse(&r.otp_release))
    }
    fn variant(&self) -> Variant {
        self.ready().variant
    }

    fn real_clock(&self) -> bool {
        self.ready().real_clock
    }

    fn apply(&mut self, op: &Op) -> Result<Step, SutError> {
        if let Some(d) = &self.dead {
            return Err(SutError(format!("sut {}: session already failed: {d}", self.name)));
        }
        if self.between_cases {
            return Err(SutError(format!("sut {}: an op between cases (after `reset`, before `hello`)", self.name)));
        }
        if matches!(op, Op::SendAt { .. }) {
            return Err(SutError(format!(
                "sut {}: `send_at` must be resolved into `send` by the executor before it reaches a SUT",
                self.name
            )));
        }
        let step = self.next_step;
        self.next_step += 1;
        if let Op::Send { len, .. } = op {
            self.sent.bytes += *len;
        }
        let what = format!("step {step} ({})", op.name());
        self.send_line(&ToSut::Op { step, op: op.clone() }, &what)?;
        let bound = match op {
            Op::AdvanceTime { by } => self.answer_timeout + Duration::from_millis(by.0),
            _ => self.answer_timeout,
        };
        let line = self.read_line(&what, bound)?;
        match self.parse(&line, &what)? {
            FromSut::Step { step: s, observation, choices, notes: _ } => {
                if s != step {
                    return Err(self.fail(format!(
                        "sut {}: {what}: answer is for step {s}: {}",
                        self.name,
                        excerpt(&line)
                    )));
                }
                if let Some(c) = choices.iter().find(|c| !self.ready.reports.contains(&ChoiceKind::of(c))) {
                    return Err(self.fail(format!(
                        "sut {}: {what}: reported choice {c:?} of a kind not declared in `ready.reports` ({:?})",
                        self.name, self.ready.reports
                    )));
                }
                if let Err(e) = validate::observation(&observation, &self.setup, self.sent) {
                    return Err(self.fail(format!(
                        "sut {}: {what}: protocol violation: {e}: {}",
                        self.name,
                        excerpt(&line)
                    )));
                }
                Ok(Step { observation, choices })
            }
            FromSut::Unsupported { step: s, reason } => {
                if s.is_some_and(|s| s != step) {
                    return Err(self.fail(format!(
                        "sut {}: {what}: answer is for step {}: {}",
                        self.name,
                        s.unwrap_or(0),
                        excerpt(&line)
                    )));
                }
                // The op was not applied; the session stays usable.
                Err(SutError(format!("{UNSUPPORTED_PREFIX}sut {} cannot apply {what}: {reason}", self.name)))
            }
            FromSut::Error { message, .. } => {
                let msg = format!(
                    "sut {}: {what}: the SUT reported an error: {message}\nlast stderr lines:\n{}",
                    self.name,
                    self.child.stderr_tail(Duration::from_millis(200))
                );
                Err(self.fail(msg))
            }
            other @ (FromSut::Ready(_) | FromSut::Reset { .. }) => Err(self.fail(format!(
                "sut {}: {what}: expected a `step` answer, got {}: {}",
                self.name,
                kind(&other),
                excerpt(&line)
            ))),
        }
    }
}

impl Drop for ExternalSut {
    fn drop(&mut self) {
        // Closing stdin (EOF) also ends the session.
        let bye = serde_json::to_string(&ToSut::Bye).expect("serializes");
        self.child.close_stdin(self.dead.is_none().then_some(bye.as_str()));
        self.child.kill();
    }
}
