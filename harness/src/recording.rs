//! A case a system under test ran, kept as data, and played back.
//!
//! Why: the differential check needs real OTP, a node per case and real
//! timers; what it establishes — "the model predicts every observation real
//! `gen_tcp` made" — is a property of the observations, not of the run. A
//! `Recording` keeps a passing case (setup, the system's declaration, and per
//! step the op, the observation and any choices reported), and `Playback` is
//! a system under test that answers each op with the recorded observation.
//! The one executor then checks the model against it exactly as it checks a
//! live system: a corpus of recorded OTP cases re-checks the model in
//! milliseconds, without `erl`, under `cargo mutants`, on any machine.
//!
//! Playback never invents an answer: an op the recording does not have at
//! that step (the model drove the case somewhere else) is a `SutError`
//! naming both, and a case that ends before the recording does is reported
//! by `Recording::check`.

use crate::executor::{run_case, CaseOutcome};
use crate::sut::{Declared, Step, SutError, SutFactory, SystemUnderTest};
use reference::choice::Choice;
use reference::observation::Observation;
use reference::op::{Op, Setup};
use serde::{Deserialize, Serialize};
use std::rc::Rc;

/// One step of a recorded case.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedStep {
    pub op: Op,
    pub observed: Observation,
    /// The choices the system reported (none for real OTP: the executor
    /// derives them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub choices: Vec<Choice>,
}

/// A case as a system ran it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recording {
    /// The system's name (`beam`, `beam-socket`, `native`, `exec:…`).
    pub sut: String,
    pub declared: Declared,
    pub setup: Setup,
    /// The generated ops, as the executor was given them (it skips those the
    /// model says cannot happen, and adds the end-of-case drain).
    pub ops: Vec<Op>,
    /// Every step the executor ran, drain included.
    pub steps: Vec<RecordedStep>,
}

impl Recording {
    /// The recording of a passing case; `None` for a failed one (its last
    /// step has no agreed observation, and a corpus keeps only what the
    /// model was shown to predict when it was recorded).
    pub fn of(sut: &str, ops: &[Op], outcome: &CaseOutcome) -> Option<Recording> {
        if !outcome.passed() {
            return None;
        }
        Self::of_run(sut, ops, outcome)
    }

    /// What a system observed in a run that failed, up to and including
    /// the step that diverged (its observation as the system made it):
    /// kept with a saved failure so the model can be re-checked against
    /// exactly that run without the system. A failure that does not replay
    /// on the system (a timing of a loaded machine) is then still there to
    /// explain, and a model change can be tested against it. `None` when a
    /// step has no observation (the system failed before answering it).
    pub fn of_failure(sut: &str, ops: &[Op], outcome: &CaseOutcome) -> Option<Recording> {
        Self::of_run(sut, ops, outcome)
    }

    /// Every step of a run with its observation; `None` when one has none.
    fn of_run(sut: &str, ops: &[Op], outcome: &CaseOutcome) -> Option<Recording> {
        let steps = outcome
            .trace
            .iter()
            .map(|t| Some(RecordedStep { op: t.op.clone(), observed: t.observed.clone()?, choices: t.choices.clone() }))
            .collect::<Option<Vec<_>>>()?;
        Some(Recording {
            sut: sut.to_string(),
            declared: outcome.declared,
            setup: outcome.setup.clone(),
            ops: ops.to_vec(),
            steps,
        })
    }

    /// Run the case through the executor against its own playback: the
    /// model must predict every recorded observation, and the executor must
    /// ask for exactly the recorded ops, no more and no fewer.
    pub fn check(&self) -> CaseOutcome {
        let factory = Playback { recording: Rc::new(self.clone()) };
        let mut out = run_case(&factory, &self.setup, &self.ops);
        if out.passed() && out.trace.len() != self.steps.len() {
            out.failure = Some(crate::executor::Failure {
                step: out.trace.len().saturating_sub(1),
                kind: crate::executor::FailureKind::Sut(format!(
                    "the case ended after {} steps but the recording has {}: the model drove it elsewhere \
                     (next recorded op: {:?})",
                    out.trace.len(),
                    self.steps.len(),
                    self.steps.get(out.trace.len()).map(|s| &s.op)
                )),
            });
        }
        out
    }
}

/// A system under test that answers with a recording.
pub struct Playback {
    pub recording: Rc<Recording>,
}

impl SutFactory for Playback {
    fn name(&self) -> &str {
        &self.recording.sut
    }

    fn start(&self, setup: &Setup) -> Result<Box<dyn SystemUnderTest>, SutError> {
        if *setup != self.recording.setup {
            return Err(SutError(format!(
                "playback of a {} recording started with another setup: {setup:?}",
                self.recording.sut
            )));
        }
        Ok(Box::new(PlaybackSut { recording: Rc::clone(&self.recording), next: 0 }))
    }
}

struct PlaybackSut {
    recording: Rc<Recording>,
    next: usize,
}

impl SystemUnderTest for PlaybackSut {
    fn apply(&mut self, op: &Op) -> Result<Step, SutError> {
        let index = self.next;
        let recorded = self.recording.steps.get(index).ok_or_else(|| {
            SutError(format!("the executor asks for {op:?} at step {index}, past the recording's end"))
        })?;
        if recorded.op != *op {
            return Err(SutError(format!(
                "the executor asks for {op:?} at step {index}, where the recording has {:?}: the model drove \
                 the case elsewhere",
                recorded.op
            )));
        }
        self.next += 1;
        Ok(Step { observation: recorded.observed.clone(), choices: recorded.choices.clone() })
    }

    fn reports_all_choices(&self) -> bool {
        self.recording.declared.reports_all_choices
    }

    fn settles(&self) -> bool {
        self.recording.declared.settles
    }

    fn real_clock(&self) -> bool {
        self.recording.declared.real_clock
    }

    fn variant(&self) -> reference::variant::Variant {
        self.recording.declared.variant
    }

    /// The release the case was recorded on: its DIFF rules judge it again.
    fn otp_release(&self) -> Option<reference::variant::OtpRelease> {
        self.recording.declared.otp
    }
}
