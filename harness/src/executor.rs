//! The lockstep executor: applies one op sequence to a system under test and
//! to the model, compares every observation after every step, and reports
//! the first divergence with its rule, expected vs observed, and the trace.
//! Every system under test is driven by this one executor.

use crate::sut::external::{unsupported_reason, UNSUPPORTED_PREFIX};
use crate::sut::{Declared, Step, SutError, SutFactory, SystemUnderTest};
use reference::choice::Choice;
use reference::model::{compare, derive_set, DeriveOptions, Divergence, Mismatch, Model, Underived, Why};
use reference::observation::{Observation, PeerRead, Reply};
use reference::op::{Op, Setup};
use reference::rules::{ids, RuleId};
use reference::units::Bytes;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;

/// One executed step, as it appears in a trace.
#[derive(Clone, Debug, Serialize)]
pub struct TraceStep {
    pub index: usize,
    pub op: Op,
    pub choices: Vec<Choice>,
    pub observed: Option<Observation>,
    /// Which rule decided each observed value: the `why` of the prediction
    /// that agreed with the observation (`None` for a step that did not
    /// agree). Not serialized: traces stay as they were; `portcheck diff`
    /// names a difference between two runtimes by it.
    #[serde(skip)]
    pub why: Option<Why>,
    /// The index in the case's ops of the op this step ran (`None` for the
    /// end-of-case drain): ops the model skips leave no step, so two
    /// runtimes' traces of one case are aligned by it (`portcheck diff`).
    #[serde(skip)]
    pub op_index: Option<usize>,
}

/// Why a case failed.
#[derive(Clone, Debug, Serialize)]
pub enum FailureKind {
    /// The observation differs from the prediction.
    Mismatch(Mismatch),
    /// The system's own choices contradict a rule.
    Divergence(#[serde(serialize_with = "divergence_fields")] Divergence),
    /// The system under test failed (crash, I/O error, bound exceeded).
    Sut(String),
}

#[derive(Clone, Debug, Serialize)]
pub struct Failure {
    /// Index of the diverging step in `trace`.
    pub step: usize,
    pub kind: FailureKind,
}

impl From<Divergence> for FailureKind {
    fn from(d: Divergence) -> Self {
        FailureKind::Divergence(d)
    }
}

/// A divergence serializes as its two fields (`{"rule": …, "what": …}`).
fn divergence_fields<S: serde::Serializer>(d: &Divergence, s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeStruct;
    let mut st = s.serialize_struct("Divergence", 2)?;
    st.serialize_field("rule", &d.rule)?;
    st.serialize_field("what", &d.what)?;
    st.end()
}

/// How a stall's divergence starts (`Failure::is_stall`).
const STALL: &str = "stall: ";

impl Failure {
    /// A stall: the system stopped making progress the model required.
    /// Shrinking it re-runs stalling candidates, so it shortens the bound.
    pub fn is_stall(&self) -> bool {
        matches!(&self.kind, FailureKind::Divergence(d) if d.what.starts_with(STALL))
    }

    /// The rule the failure is blamed on (`None` for a system failure).
    pub fn rule(&self) -> Option<RuleId> {
        match &self.kind {
            FailureKind::Mismatch(m) => Some(m.rule),
            FailureKind::Divergence(d) => Some(d.rule),
            FailureKind::Sut(_) => None,
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            FailureKind::Mismatch(m) => write!(
                f,
                "step {}: [{}] {}: expected {}, observed {}",
                self.step, m.rule, m.field, m.expected, m.observed
            ),
            FailureKind::Divergence(d) => write!(f, "step {}: {}", self.step, d),
            FailureKind::Sut(e) => write!(f, "step {}: system under test failed: {}", self.step, e),
        }
    }
}

/// The result of running one case.
#[derive(Clone, Debug, Serialize)]
pub struct CaseOutcome {
    pub setup: Setup,
    /// What the system declared about itself (variant, clock, settling).
    pub declared: Declared,
    pub trace: Vec<TraceStep>,
    pub failure: Option<Failure>,
    /// Rules that decided something, with counts.
    pub touched: BTreeMap<RuleId, usize>,
    /// Interesting transitions reached, with counts.
    pub crossings: BTreeMap<RuleId, usize>,
    /// Ops skipped because the model says they cannot happen in that state.
    pub skipped_ops: usize,
    /// The system answered `unsupported` (PROTOCOL.md §2.2): a declared
    /// capability gap, with its reason. The case is skipped — neither passed
    /// nor failed — and its process is not reused.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unsupported: Option<String>,
}

impl CaseOutcome {
    /// No failure, and every op was performed.
    pub fn passed(&self) -> bool {
        self.failure.is_none() && self.unsupported.is_none()
    }

    /// The system could not perform an op (or the setup) of this case.
    pub fn skipped(&self) -> bool {
        self.unsupported.is_some()
    }
}

/// How many drain rounds may pass without progress before the executor
/// gives up (each round is a peer read and a quiescence; the wait inside
/// `AwaitIo` is bounded by the system under test).
const DRAIN_ROUNDS: usize = 100_000;

struct Lockstep<'a> {
    /// The model, or for a system that does not report its choices the
    /// first state of the prediction set (`sets`).
    model: Model,
    /// The prediction set (`reference::model::derive`): every state the
    /// observations so far leave possible. Empty when the system reports
    /// every choice (then `model` alone is the state).
    set: Vec<Model>,
    sut: Box<dyn SystemUnderTest + 'a>,
    trace: Vec<TraceStep>,
    /// The system runs to quiescence within each step (`SystemUnderTest::settles`).
    settles: bool,
    /// After the drain, the peer reads the port's end if the model says it
    /// is there (`run_case_reading_the_end`).
    read_end: bool,
    /// `PORTCHECK_TRACE=1`: print each op before it runs (to see where a
    /// system under test hangs).
    live: bool,
}

impl Lockstep<'_> {
    /// An op runs only where every state the observations leave possible
    /// allows it: the first state alone may not be the system's (on the
    /// socket backend a send_timeout_close timer may have fired and the
    /// socket's server closed the socket while its caller still shows
    /// waiting, DIFF-SOCK-4; a peer write then races the RST).
    fn enabled(&self, op: &Op) -> bool {
        self.model.enabled(op) && self.set.iter().all(|m| m.enabled(op))
    }

    /// Apply `op` to both; `Err` on the first divergence.
    fn step(&mut self, op: &Op) -> Result<Observation, Failure> {
        let index = self.trace.len();
        if self.live {
            eprintln!("portcheck: step {index}: {op:?}");
        }
        self.trace.push(TraceStep {
            index,
            op: op.clone(),
            choices: vec![],
            observed: None,
            why: None,
            op_index: None,
        });
        let Step { observation, choices } = self.sut.apply(op).map_err(|e| self.sut_failure(index, e))?;
        if !self.set.is_empty() {
            return self.derive(index, op, observation);
        }
        let t = &mut self.trace[index];
        t.choices = choices;
        t.observed = Some(observation.clone());
        let prediction = self.model.step(op, &t.choices).map_err(|d| Failure { step: index, kind: d.into() })?;
        if let Some(m) = compare(&prediction, &observation) {
            return Err(Failure { step: index, kind: FailureKind::Mismatch(m) });
        }
        if let Some(d) = self.model.take_unquiet() {
            return Err(Failure { step: index, kind: d.into() });
        }
        self.trace[index].why = Some(prediction.why);
        Ok(observation)
    }

    /// The system failed at step `index`. A stall where the model expects
    /// progress is a failure under the rule that requires it (issue 15), and
    /// so is a measurement the adapter made that contradicts a rule
    /// (`SutError::contradicts`); anything else is the system's own
    /// failure, with no rule.
    fn sut_failure(&self, index: usize, e: SutError) -> Failure {
        if let Some((rule, what)) = e.contradiction() {
            return Failure { step: index, kind: FailureKind::Divergence(Divergence::new(rule, what)) };
        }
        let kind = match self.model.progress_rule() {
            Some(rule) if e.is_stall() => FailureKind::Divergence(Divergence::new(
                rule,
                format!(
                    "{STALL}no progress: {} queued, {} accepted by the kernel and not yet read by the peer ({e})",
                    self.model.queued(),
                    self.model.peer_unread()
                ),
            )),
            _ => FailureKind::Sut(e.0),
        };
        Failure { step: index, kind }
    }

    /// A step of a system that does not report its choices: the kernel's
    /// and scheduler's share is derived from the observation, and the case
    /// goes on with every state that explains it (the prediction set).
    fn derive(&mut self, index: usize, op: &Op, observation: Observation) -> Result<Observation, Failure> {
        let t = &mut self.trace[index];
        t.observed = Some(observation.clone());
        let trace = std::env::var_os("PORTCHECK_DERIVE_DEBUG").is_some();
        match derive_set(&self.set, op, &observation, self.settles, DeriveOptions { trace }) {
            Ok(ds) => {
                t.choices = ds[0].choices.clone();
                t.why = Some(ds[0].prediction.why.clone());
                self.model = ds[0].model.clone();
                self.set = ds.into_iter().map(|d| d.model).collect();
                Ok(observation)
            }
            Err(Underived::Mismatch(m)) => Err(Failure { step: index, kind: FailureKind::Mismatch(m) }),
            Err(Underived::Divergence(d)) => Err(Failure { step: index, kind: d.into() }),
            Err(Underived::Budget { tried }) => Err(Failure {
                step: index,
                kind: FailureKind::Sut(format!(
                    "cannot check: no explanation of this step found within {tried} model runs \
                     (the derivation's budget; the system reports no kernel/scheduler choices)"
                )),
            }),
        }
    }

    /// The end of a case: the I/O drain (ST-1), then what the owner still
    /// holds: its mailbox is compared even when no op read it (issue 15),
    /// so a message wrongly put there (or missing) is not left unseen.
    fn drain(&mut self) -> Result<(), Failure> {
        self.drain_io()?;
        if self.read_end && self.model.peer_expects_eof() {
            // The FIN follows the last byte: wait until it is readable.
            self.step(&Op::AwaitPeer)?;
            self.step(&Op::PeerRead { max: Bytes(1) })?;
        }
        if self.model.enabled(&Op::Mailbox) {
            self.step(&Op::Mailbox)?;
        }
        Ok(())
    }

    /// ST-1 at the end of a case: release the lock, then let the peer read
    /// until every accepted byte arrived and the queue is empty, waiting on
    /// readiness (never sleeping) when no progress is possible.
    fn drain_io(&mut self) -> Result<(), Failure> {
        if self.model.enabled(&Op::ReleaseLock) {
            self.step(&Op::ReleaseLock)?;
        }
        self.step(&Op::Quiesce)?;
        let mut idle_rounds = 0;
        for _ in 0..DRAIN_ROUNDS {
            let flushing = self.model.queued() > Bytes::ZERO && self.model.socket_open();
            if !flushing && self.model.peer_unread() == Bytes::ZERO {
                if !self.model.close_pending() {
                    return Ok(());
                }
                // DIFF-INET-3: the closing process has yet to run; it
                // answers the adapter when done (an event AwaitIo waits for).
                idle_rounds += 1;
                if idle_rounds > 2 {
                    return Err(self.stuck());
                }
                self.step(&Op::AwaitIo)?;
                continue;
            }
            let got = self.step(&Op::PeerRead { max: Bytes(1 << 16) })?;
            let progressed = matches!(got.reply, Reply::Peer(PeerRead::Data(_)));
            if progressed {
                idle_rounds = 0;
                self.step(&Op::Quiesce)?;
            } else {
                // The read itself may have settled it (an RST ends the stream).
                let flushing = self.model.queued() > Bytes::ZERO && self.model.socket_open();
                if !flushing && self.model.peer_unread() == Bytes::ZERO {
                    continue;
                }
                idle_rounds += 1;
                if idle_rounds > 2 {
                    return Err(self.stuck());
                }
                // Bytes the kernel took are on their way to the peer: wait
                // for them. Otherwise the kernel holds nothing unread, so the
                // port's socket will turn writable: wait for the runtime.
                if self.model.peer_unread() > Bytes::ZERO {
                    self.step(&Op::AwaitPeer)?;
                } else {
                    // Sends that finished while it waited are progress
                    // (socket backend: their bytes may reach the peer
                    // later, under load after the next read).
                    let awaited = self.step(&Op::AwaitIo)?;
                    if !awaited.completed.is_empty() {
                        idle_rounds = 0;
                    }
                }
                self.step(&Op::Quiesce)?;
            }
        }
        Err(self.stuck())
    }

    fn stuck(&self) -> Failure {
        Failure {
            step: self.trace.len().saturating_sub(1),
            kind: FailureKind::from(Divergence::new(
                ids::ST_1,
                format!(
                    "drain made no progress: {} queued, {} accepted by the kernel but never read by the peer{}",
                    self.model.queued(),
                    self.model.peer_unread(),
                    if self.model.close_pending() {
                        ", a pending close that never completed (DIFF-INET-3)"
                    } else {
                        ""
                    }
                ),
            )),
        }
    }
}

/// Run one case: `setup`, then every enabled op of `ops`, then the drain.
pub fn run_case(factory: &dyn SutFactory, setup: &Setup, ops: &[Op]) -> CaseOutcome {
    run_case_with(factory, setup, ops, false)
}

/// `run_case`, and once the drain has read every byte the peer reads once
/// more where the model says the port's end (a FIN: CL-1, SD-1) is all
/// that is left: how many reads the drain takes depends on the kernel, so
/// a fixed case cannot place that read itself.
pub fn run_case_reading_the_end(factory: &dyn SutFactory, setup: &Setup, ops: &[Op]) -> CaseOutcome {
    run_case_with(factory, setup, ops, true)
}

fn run_case_with(factory: &dyn SutFactory, setup: &Setup, ops: &[Op], read_end: bool) -> CaseOutcome {
    let mut outcome = CaseOutcome {
        setup: setup.clone(),
        declared: Declared::default(),
        trace: vec![],
        failure: None,
        touched: BTreeMap::new(),
        crossings: BTreeMap::new(),
        skipped_ops: 0,
        unsupported: None,
    };
    let model = match Model::new(setup) {
        Ok(m) => m,
        Err(d) => {
            outcome.failure = Some(Failure { step: 0, kind: d.into() });
            return outcome;
        }
    };
    let sut = match factory.start(setup) {
        Ok(s) => s,
        Err(e) => {
            match unsupported_reason(&e) {
                Some(why) => outcome.unsupported = Some(why.to_string()),
                None => outcome.failure = Some(Failure { step: 0, kind: FailureKind::Sut(format!("start: {e}")) }),
            }
            return outcome;
        }
    };
    let declared = Declared::of(sut.as_ref());
    outcome.declared = declared;
    let live = std::env::var_os("PORTCHECK_TRACE").is_some_and(|v| v != "0");
    // The variant is the system's declaration (an external one makes it in
    // its `ready` line): the model follows it from the first step.
    let mut model = model.into_variant(declared.variant).with_real_clock(declared.real_clock);
    if let Some(release) = declared.otp {
        model = model.with_otp(release);
    }
    let set = if declared.reports_all_choices { vec![] } else { vec![model.clone()] };
    let mut ls = Lockstep { model, set, settles: declared.settles, read_end, sut, trace: vec![], live };
    let mut result = Ok(());
    for (i, op) in ops.iter().enumerate() {
        if !ls.enabled(op) {
            outcome.skipped_ops += 1;
            continue;
        }
        let op = ls.model.resolve(op);
        let stepped = ls.step(&op);
        if let Some(t) = ls.trace.last_mut() {
            t.op_index = Some(i);
        }
        if let Err(f) = stepped {
            result = Err(f);
            break;
        }
    }
    if result.is_ok() {
        result = ls.drain();
    }
    // An `unsupported` answer: the op was not performed, so the case says
    // nothing about the rules; it is skipped with the reason.
    if let Err(Failure { kind: FailureKind::Sut(e), .. }) = &result {
        if let Some(why) = e.strip_prefix(UNSUPPORTED_PREFIX) {
            outcome.unsupported = Some(why.to_string());
        }
    }
    ls.sut.finish(result.is_ok());
    outcome.failure = if outcome.unsupported.is_some() { None } else { result.err() };
    outcome.touched = ls.model.touched();
    outcome.crossings = ls.model.crossings();
    outcome.trace = ls.trace;
    outcome
}
