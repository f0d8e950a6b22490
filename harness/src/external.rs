//! A system under test in another process, spoken to over the line protocol
//! of `harness/PROTOCOL.md` (JSON lines on the child's stdin/stdout).
//!
//! One child process per case: [`ExternalFactory::start`] runs the command
//! with `sh -c`, sends the `hello` line with the case's [`Setup`] and waits
//! for `ready`; each [`SystemUnderTest::apply`] writes one `op` line and reads
//! one answer line. The child's stderr is captured on a thread into a ring
//! buffer so a crash can be reported with its last lines. The child (its
//! whole process group) is killed and reaped on drop.
//!
//! An op the SUT cannot perform is answered with an `unsupported` line; it
//! becomes a [`SutError`] whose text starts with [`UNSUPPORTED_PREFIX`], so an
//! executor can tell a declared capability gap from a failure with
//! [`unsupported_reason`] and skip the case with the printed reason.

use crate::sut::{Step, SutError, SutFactory, SystemUnderTest};
use reference::choice::Choice;
use reference::observation::Observation;
use reference::op::{Op, Setup};
use reference::variant::Variant;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::process::CommandExt;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// The protocol version this harness speaks (`version` in `hello`/`ready`).
pub const PROTOCOL_VERSION: u32 = 1;

/// Default bound on the wait for one answer line.
pub const DEFAULT_ANSWER_TIMEOUT: Duration = Duration::from_secs(10);

/// How many stderr lines are kept for error reports.
pub const STDERR_TAIL_LINES: usize = 20;

/// Every [`SutError`] made from an `unsupported` answer starts with this.
pub const UNSUPPORTED_PREFIX: &str = "unsupported: ";

/// The reason of a declared capability gap, or `None` for a real failure.
pub fn unsupported_reason(e: &SutError) -> Option<&str> {
    e.0.strip_prefix(UNSUPPORTED_PREFIX)
}

// --- the protocol's messages -------------------------------------------------------------

/// A line the harness writes to the SUT.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ToSut {
    /// First line of a session: the protocol version and the case's setup.
    Hello { version: u32, setup: Setup },
    /// One op; `step` is its 0-based index in the case.
    Op { step: usize, op: Op },
    /// End of the case (optional: EOF on stdin means the same).
    Bye,
}

/// A kind of [`Choice`], as listed in `ready.reports`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChoiceKind {
    Ran,
    Wrote,
    Read,
    PeerGot,
}

impl ChoiceKind {
    pub fn of(c: &Choice) -> ChoiceKind {
        match c {
            Choice::Ran(_) => ChoiceKind::Ran,
            Choice::Wrote { .. } => ChoiceKind::Wrote,
            Choice::Read { .. } => ChoiceKind::Read,
            Choice::PeerGot { .. } => ChoiceKind::PeerGot,
        }
    }
}

/// What the SUT said in its `ready` line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ready {
    pub version: u32,
    /// The SUT's own name for itself (e.g. `beam-inet`).
    pub sut: String,
    /// The choice kinds the SUT reports completely; every other kind it
    /// never reports (the executor must derive those).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reports: Vec<ChoiceKind>,
    /// Free-form facts for reports (runtime version, effective buffer sizes…).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub info: BTreeMap<String, String>,
    /// Every step ends with the runtime run to quiescence (PROTOCOL.md §4).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub settles: bool,
    /// The runtime's timers run on the real clock (§4).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub real_clock: bool,
    /// The declared variant of the rules the runtime follows (§6).
    #[serde(default, skip_serializing_if = "is_reference")]
    pub variant: Variant,
}

fn is_reference(v: &Variant) -> bool {
    *v == Variant::Reference
}

/// A line the SUT writes to the harness.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FromSut {
    /// Answer to `hello`.
    Ready(Ready),
    /// Answer to one `op`.
    Step {
        step: usize,
        observation: Observation,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        choices: Vec<Choice>,
        /// Free-form remarks (ignored by the harness, kept for debugging).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        notes: Vec<String>,
    },
    /// The SUT cannot perform this op (or this setup, when `step` is absent).
    /// A declared capability gap, not a failure; the op was not applied.
    Unsupported {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        step: Option<usize>,
        reason: String,
    },
    /// The SUT failed (its own bug or environment). The session is over.
    Error {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        step: Option<usize>,
        message: String,
    },
}

// --- factory ---------------------------------------------------------------------------------

/// Starts one external SUT process per case.
#[derive(Clone, Debug)]
pub struct ExternalFactory {
    /// Shell command (run with `sh -c`) that speaks the protocol on stdio.
    pub command: String,
    /// Name used in reports and error messages.
    pub name: String,
    /// Bound on the wait for each answer line (`AdvanceTime` adds its `by`).
    pub answer_timeout: Duration,
}

impl ExternalFactory {
    pub fn new(name: impl Into<String>, command: impl Into<String>) -> Self {
        ExternalFactory { command: command.into(), name: name.into(), answer_timeout: DEFAULT_ANSWER_TIMEOUT }
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
        Ok(Box::new(self.spawn(setup)?))
    }
}

// --- stderr ring buffer ----------------------------------------------------------------------

#[derive(Default)]
struct StderrTail {
    lines: VecDeque<String>,
    dropped: usize,
    done: bool,
}

#[derive(Clone, Default)]
struct StderrRing(Arc<(Mutex<StderrTail>, Condvar)>);

impl StderrRing {
    fn spawn_reader(&self, stderr: impl Read + Send + 'static) {
        let ring = self.clone();
        thread::spawn(move || {
            let mut r = BufReader::new(stderr);
            let mut buf = Vec::new();
            loop {
                buf.clear();
                match r.read_until(b'\n', &mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        let line = String::from_utf8_lossy(&buf).trim_end_matches(['\n', '\r']).to_string();
                        let (m, _) = &*ring.0;
                        let mut t = m.lock().unwrap();
                        t.lines.push_back(line);
                        if t.lines.len() > STDERR_TAIL_LINES {
                            t.lines.pop_front();
                            t.dropped += 1;
                        }
                    }
                }
            }
            let (m, cv) = &*ring.0;
            m.lock().unwrap().done = true;
            cv.notify_all();
        });
    }

    /// The last lines, after waiting (bounded) for the writer to close stderr.
    fn tail(&self, wait: Duration) -> String {
        let (m, cv) = &*self.0;
        let deadline = Instant::now() + wait;
        let mut t = m.lock().unwrap();
        while !t.done {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            t = cv.wait_timeout(t, deadline - now).unwrap().0;
        }
        if t.lines.is_empty() {
            return "(stderr empty)".into();
        }
        let mut s = String::new();
        if t.dropped > 0 {
            s.push_str(&format!("… {} earlier lines dropped …\n", t.dropped));
        }
        for l in &t.lines {
            s.push_str("  | ");
            s.push_str(l);
            s.push('\n');
        }
        s
    }
}

// --- the running SUT -------------------------------------------------------------------------

/// One running external SUT (one case).
pub struct ExternalSut {
    name: String,
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<std::io::Result<String>>,
    stderr: StderrRing,
    answer_timeout: Duration,
    next_step: usize,
    ready: Ready,
    /// Set once the session is unusable (after a protocol failure).
    dead: Option<String>,
}

impl ExternalSut {
    /// Runs `command`, performs the handshake with `setup`.
    pub fn spawn(name: &str, command: &str, answer_timeout: Duration, setup: &Setup) -> Result<ExternalSut, SutError> {
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg(command)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // Own process group, so the whole tree can be killed at once.
            .process_group(0);
        let mut child =
            cmd.spawn().map_err(|e| SutError(format!("sut {name}: cannot run `sh -c {command:?}`: {e}")))?;
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().expect("piped stdout");
        let stderr_ring = StderrRing::default();
        stderr_ring.spawn_reader(child.stderr.take().expect("piped stderr"));
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            let mut r = BufReader::new(stdout);
            loop {
                let mut buf = Vec::new();
                match r.read_until(b'\n', &mut buf) {
                    Ok(0) => break,
                    Ok(_) => {
                        let line = String::from_utf8_lossy(&buf).trim_end_matches(['\n', '\r']).to_string();
                        if tx.send(Ok(line)).is_err() {
                            break;
                        }
                    }
                    Err(e) => {
                        let _ = tx.send(Err(e));
                        break;
                    }
                }
            }
        });
        let mut sut = ExternalSut {
            name: name.to_string(),
            child,
            stdin,
            lines: rx,
            stderr: stderr_ring,
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
            },
            dead: None,
        };
        sut.handshake(setup)?;
        Ok(sut)
    }

    /// The SUT's `ready` line.
    pub fn ready(&self) -> &Ready {
        &self.ready
    }

    fn handshake(&mut self, setup: &Setup) -> Result<(), SutError> {
        let what = "handshake".to_string();
        self.send_line(&ToSut::Hello { version: PROTOCOL_VERSION, setup: setup.clone() }, &what)?;
        let line = self.read_line(&what, self.answer_timeout)?;
        match self.parse(&line, &what)? {
            FromSut::Ready(r) => {
                if r.version != PROTOCOL_VERSION {
                    return Err(self.fail(format!(
                        "{what}: SUT speaks protocol version {}, the harness speaks {PROTOCOL_VERSION}",
                        r.version
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

    /// Marks the session dead and returns the error (so later calls repeat it).
    fn fail(&mut self, msg: String) -> SutError {
        self.dead = Some(msg.clone());
        SutError(msg)
    }

    fn send_line(&mut self, msg: &ToSut, what: &str) -> Result<(), SutError> {
        let mut line = serde_json::to_string(msg).expect("protocol messages serialize");
        line.push('\n');
        let res = match self.stdin.as_mut() {
            Some(w) => w.write_all(line.as_bytes()).and_then(|()| w.flush()),
            None => Err(std::io::Error::new(std::io::ErrorKind::BrokenPipe, "stdin closed")),
        };
        if let Err(e) = res {
            // Most likely the child is gone: report how it ended.
            let ended = self.wait_exit(Duration::from_secs(2));
            let msg = match ended {
                Some(st) => format!(
                    "sut {}: {what}: the SUT exited early ({}) — writing to it failed: {e}\nlast stderr lines:\n{}",
                    self.name,
                    describe_status(st),
                    self.stderr.tail(Duration::from_secs(2))
                ),
                None => format!(
                    "sut {}: {what}: writing to the SUT failed: {e}\nlast stderr lines:\n{}",
                    self.name,
                    self.stderr.tail(Duration::from_millis(200))
                ),
            };
            return Err(self.fail(msg));
        }
        Ok(())
    }

    fn read_line(&mut self, what: &str, bound: Duration) -> Result<String, SutError> {
        match self.lines.recv_timeout(bound) {
            Ok(Ok(line)) => Ok(line),
            Ok(Err(e)) => {
                let msg = format!("sut {}: {what}: reading the SUT's stdout failed: {e}", self.name);
                Err(self.fail(msg))
            }
            Err(RecvTimeoutError::Timeout) => {
                self.kill();
                let msg = format!(
                    "sut {}: {what}: no answer within {:?}; the SUT was killed\nlast stderr lines:\n{}",
                    self.name,
                    bound,
                    self.stderr.tail(Duration::from_secs(2))
                );
                Err(self.fail(msg))
            }
            Err(RecvTimeoutError::Disconnected) => {
                let st = self.wait_exit(Duration::from_secs(5));
                let status = match st {
                    Some(st) => describe_status(st),
                    None => {
                        self.kill();
                        "closed its stdout but did not exit within 5s; killed".to_string()
                    }
                };
                let msg = format!(
                    "sut {}: {what}: the SUT exited early ({status}) before answering\nlast stderr lines:\n{}",
                    self.name,
                    self.stderr.tail(Duration::from_secs(2))
                );
                Err(self.fail(msg))
            }
        }
    }

    fn parse(&mut self, line: &str, what: &str) -> Result<FromSut, SutError> {
        serde_json::from_str::<FromSut>(line).map_err(|e| {
            let msg = format!("sut {}: {what}: malformed answer line ({e}): {}", self.name, excerpt(line));
            self.fail(msg)
        })
    }

    /// Bounded wait for the child to exit on its own: poll(2) on a pidfd,
    /// which becomes readable when the process exits.
    fn wait_exit(&mut self, bound: Duration) -> Option<ExitStatus> {
        if let Ok(Some(st)) = self.child.try_wait() {
            return Some(st);
        }
        let pid = self.child.id() as libc::pid_t;
        // SAFETY: pidfd_open has no memory-safety preconditions.
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) } as libc::c_int;
        if fd >= 0 {
            let mut pfd = libc::pollfd { fd, events: libc::POLLIN, revents: 0 };
            let ms = bound.as_millis().min(i32::MAX as u128) as libc::c_int;
            // SAFETY: one valid pollfd; fd is ours and closed right after.
            unsafe {
                libc::poll(&mut pfd, 1, ms);
                libc::close(fd);
            }
        }
        self.child.try_wait().ok().flatten()
    }

    fn kill(&mut self) {
        let pid = self.child.id() as libc::pid_t;
        // SAFETY: plain syscalls on a process group we created.
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
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
        if matches!(op, Op::SendAt { .. }) {
            return Err(SutError(format!(
                "sut {}: `send_at` must be resolved into `send` by the executor before it reaches a SUT",
                self.name
            )));
        }
        let step = self.next_step;
        self.next_step += 1;
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
                    self.stderr.tail(Duration::from_millis(200))
                );
                Err(self.fail(msg))
            }
            other @ FromSut::Ready(_) => Err(self.fail(format!(
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
        if self.dead.is_none() {
            if let Some(mut w) = self.stdin.take() {
                let mut line = serde_json::to_string(&ToSut::Bye).expect("serializes");
                line.push('\n');
                let _ = w.write_all(line.as_bytes());
                // Dropping `w` closes stdin: EOF also ends the session.
            }
        }
        self.stdin = None;
        self.kill();
    }
}

fn kind(m: &FromSut) -> &'static str {
    match m {
        FromSut::Ready(_) => "`ready`",
        FromSut::Step { .. } => "`step`",
        FromSut::Unsupported { .. } => "`unsupported`",
        FromSut::Error { .. } => "`error`",
    }
}

fn excerpt(line: &str) -> String {
    const MAX: usize = 400;
    if line.len() <= MAX {
        format!("`{line}`")
    } else {
        let mut end = MAX;
        while !line.is_char_boundary(end) {
            end -= 1;
        }
        format!("`{}…` ({} bytes)", &line[..end], line.len())
    }
}

fn describe_status(st: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (st.code(), st.signal()) {
        (Some(c), _) => format!("exit status {c}"),
        (None, Some(s)) => format!("killed by signal {s}"),
        _ => format!("{st}"),
    }
}

#[cfg(test)]
mod tests {
    //! The JSON examples in PROTOCOL.md are checked here: every line of a
    //! fenced block whose info string is `json <Type>` must parse as that
    //! type and re-serialize to exactly the same text. `cargo test -p
    //! portcheck-harness protocol_examples -- --nocapture` also prints the
    //! canonical forms of a representative value of each type.
    use super::*;
    use reference::choice::Activity;
    use reference::observation::*;
    use reference::op::SendFlags;
    use reference::options::{ActiveSetting, Opt, PortOptions, Timeout};
    use reference::units::{Bytes, Millis, SenderId};
    use serde::de::DeserializeOwned;

    fn check<T: DeserializeOwned + Serialize>(line: &str) -> Result<(), String> {
        let v: T = serde_json::from_str(line).map_err(|e| format!("{e}"))?;
        let back = serde_json::to_string(&v).unwrap();
        if back != line {
            return Err(format!("re-serializes as {back}"));
        }
        Ok(())
    }

    fn check_line(ty: &str, line: &str) -> Result<(), String> {
        match ty {
            "ToSut" => check::<ToSut>(line),
            "FromSut" => check::<FromSut>(line),
            "Setup" => check::<Setup>(line),
            "Op" => check::<Op>(line),
            "Opt" => check::<Opt>(line),
            "Observation" => check::<Observation>(line),
            "Reply" => check::<Reply>(line),
            "Choice" => check::<Choice>(line),
            "PortOptions" => check::<PortOptions>(line),
            "SendResult" => check::<SendResult>(line),
            "SenderStatus" => check::<SenderStatus>(line),
            "OwnerMsg" => check::<OwnerMsg>(line),
            other => Err(format!("unknown type `{other}` in PROTOCOL.md")),
        }
    }

    #[test]
    fn protocol_examples_round_trip() {
        let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/PROTOCOL.md")).unwrap();
        let mut ty: Option<String> = None;
        let mut checked = 0;
        let mut errors = vec![];
        for (n, line) in doc.lines().enumerate() {
            if let Some(info) = line.strip_prefix("```") {
                ty = match (ty.is_some(), info.split_whitespace().collect::<Vec<_>>().as_slice()) {
                    (false, ["json", t]) => Some(t.to_string()),
                    (false, _) => Some(String::new()), // another block: not checked
                    (true, _) => None,
                };
                continue;
            }
            match &ty {
                Some(t) if !t.is_empty() && !line.trim().is_empty() => {
                    checked += 1;
                    if let Err(e) = check_line(t, line) {
                        errors.push(format!("PROTOCOL.md:{}: {t}: {e}\n    {line}", n + 1));
                    }
                }
                _ => {}
            }
        }
        assert!(errors.is_empty(), "{}", errors.join("\n"));
        assert!(checked >= 40, "only {checked} example lines checked");
    }

    /// Prints the canonical JSON of representative values (to write the doc).
    #[test]
    fn protocol_examples_print() {
        let p = |s: String| println!("{s}");
        let j = |v: &dyn erased::Ser| v.json();
        let setup = Setup {
            options: vec![Opt::HighWatermark(20000), Opt::LowWatermark(10000)],
            parallelism: false,
            senders: 3,
            table_capacity: 8,
            listener_options: vec![],
        };
        p(j(&ToSut::Hello { version: 1, setup: setup.clone() }));
        p(j(&ToSut::Op {
            step: 0,
            op: Op::Send { sender: SenderId(0), len: Bytes(5000), tag: 1, flags: SendFlags::default() },
        }));
        p(j(&ToSut::Bye));
        let opts = [
            Opt::HighWatermark(20000),
            Opt::LowWatermark(-5),
            Opt::HighMsgqWatermark(8192),
            Opt::LowMsgqWatermark(4096),
            Opt::DelaySend(true),
            Opt::SendTimeout(Timeout::Infinity),
            Opt::SendTimeout(Timeout::After(Millis(200))),
            Opt::SendTimeoutClose(true),
            Opt::Active(ActiveSetting::False),
            Opt::Active(ActiveSetting::True),
            Opt::Active(ActiveSetting::Once),
            Opt::Active(ActiveSetting::N(3)),
        ];
        for o in &opts {
            p(j(o));
        }
        let ops = [
            Op::Send { sender: SenderId(1), len: Bytes(1), tag: 7, flags: SendFlags { nosuspend: true, force: false } },
            Op::PeerRead { max: Bytes(65536) },
            Op::PeerWrite { len: Bytes(10), tag: 3 },
            Op::Recv,
            Op::Mailbox,
            Op::Quiesce,
            Op::AwaitIo,
            Op::AwaitPeer,
            Op::AdvanceTime { by: Millis(200) },
            Op::SetOpts { opts: vec![Opt::SendTimeout(Timeout::After(Millis(200)))] },
            Op::GetOpts,
            Op::QueueSize,
            Op::ContendLock,
            Op::ReleaseLock,
            Op::Accept,
            Op::CloseAccepted,
            Op::OpenExtra,
            Op::Close,
        ];
        for o in &ops {
            p(j(o));
        }
        let replies = vec![
            Reply::None,
            Reply::Sent(None),
            Reply::Sent(Some(SendResult::Ok)),
            Reply::Sent(Some(SendResult::False)),
            Reply::Sent(Some(SendResult::Error(Posix::Timeout))),
            Reply::Peer(PeerRead::Data(vec![131, 132])),
            Reply::Peer(PeerRead::WouldBlock),
            Reply::Peer(PeerRead::Eof),
            Reply::Recv(Ok(vec![1, 2])),
            Reply::Recv(Err(Posix::Timeout)),
            Reply::Mailbox(vec![OwnerMsg::Tcp(vec![1]), OwnerMsg::TcpPassive]),
            Reply::SetOpts(Ok(())),
            Reply::SetOpts(Err(Posix::Einval)),
            Reply::Opts(PortOptions::default()),
            Reply::QueueSize(Bytes(5000)),
            Reply::Accept(AcceptOutcome::Accepted(PortOptions::default())),
            Reply::Accept(AcceptOutcome::Failed { error: Posix::SystemLimit, peer_eof: true }),
            Reply::Opened(Ok(())),
            Reply::Opened(Err(Posix::SystemLimit)),
            Reply::Closed(Ok(())),
        ];
        for r in &replies {
            p(j(r));
        }
        let obs = Observation {
            reply: Reply::Sent(None),
            senders: vec![SenderStatus::Idle, SenderStatus::Waiting, SenderStatus::Suspended],
            completed: vec![(SenderId(2), SendResult::Ok)],
            busy_port_events: vec![SenderId(2)],
            queue: Bytes(20000),
            busy: None,
            msgq: None,
            ports: 2,
        };
        p(j(&obs));
        p(j(&Observation { busy: Some(Busy { driver: true, msgq: false }), msgq: Some(Bytes(0)), ..obs.clone() }));
        for c in [
            Choice::Ran(Activity::DelayFlush),
            Choice::Ran(Activity::Output),
            Choice::Ran(Activity::Resume(SenderId(1))),
            Choice::Ran(Activity::SendTimeout),
            Choice::Wrote { requested: Bytes(5000), accepted: Bytes(4608) },
            Choice::Read { got: Bytes(10) },
            Choice::PeerGot { got: Bytes(0) },
        ] {
            p(j(&c));
        }
        let mut info = BTreeMap::new();
        info.insert("otp_release".to_string(), "25".to_string());
        p(j(&FromSut::Ready(Ready {
            version: 1,
            sut: "beam-inet".into(),
            reports: vec![ChoiceKind::PeerGot],
            info,
            settles: true,
            real_clock: true,
            variant: Variant::OtpInet,
        })));
        p(j(&FromSut::Step {
            step: 0,
            observation: obs,
            choices: vec![Choice::PeerGot { got: Bytes(2) }],
            notes: vec![],
        }));
        p(j(&FromSut::Unsupported { step: Some(5), reason: "no lock contention on the BEAM".into() }));
        p(j(&FromSut::Error { step: Some(5), message: "peer socket vanished".into() }));
        p(j(&FromSut::Error { step: None, message: "bad hello".into() }));
    }

    mod erased {
        pub trait Ser {
            fn json(&self) -> String;
        }
        impl<T: serde::Serialize> Ser for T {
            fn json(&self) -> String {
                serde_json::to_string(self).unwrap()
            }
        }
    }
}
