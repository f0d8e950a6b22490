//! Deriving the kernel's and the scheduler's share from what a system shows.
//!
//! Real OTP does not say how many bytes each write took or in which order
//! its port tasks ran. What it shows — the reply, the senders, the queue
//! size, the bytes the peer read — is enough to decide which of those
//! choices it made: the model is run on every candidate choice list (a
//! depth-first search over [`Need`]s, extending an open list), and the
//! *prediction set* is every resulting state whose prediction equals the
//! observation exactly. Nothing is loosened: each candidate is judged by
//! the same rules and the same comparison as a reported choice list, and an
//! observation no candidate explains is a failure blamed on a rule.
//!
//! Candidates are kept small by what can matter (see [`Model::candidates`]):
//! a write takes everything, or lands the queue on a value the observation
//! or a threshold makes decisive; a write that takes nothing is tried only
//! where it changes something; the runtime may go quiet only when nothing
//! mandatory is left (SCHED-1). States reached along different paths are
//! merged: models whose `PortState` and `Step` are equal are one future,
//! whichever rules decided their past.

use super::{compare, Choices, Divergence, Field, Mismatch, Model, Need, Pick, PortState, Prediction, Step};
use crate::choice::{Activity, Choice};
use crate::observation::{Observation, PeerRead, Reply};
use crate::units::Bytes;
use std::collections::HashSet;

/// The inet driver's default input buffer (`INET_DEF_BUFFER`, inet_drv.c;
/// gen_tcp's `buffer` option, never set by the cases), which the native
/// runtime's `INPUT_BUFFER` follows: one read returns at most this much.
const DRIVER_BUFFER: Bytes = Bytes(1460);

/// How a derivation runs.
#[derive(Clone, Copy, Debug, Default)]
pub struct DeriveOptions {
    /// Print every candidate and what became of it to stderr (the caller
    /// reads `PORTCHECK_DERIVE_DEBUG`).
    pub trace: bool,
}

/// Model runs one step's derivation may spend, per state in the set.
/// OTP 27 swarm seed 1601 case 7 (suite/regressions/observed/): a step
/// with two send timers firing, two senders resumed and their replies on
/// their way took between 20,000 and 50,000 runs to explain; 20,000 had
/// reported it as a system failure. A step no candidate explains mostly
/// ends long before the budget (an altered observation of that step:
/// 0.17 s); one with more candidates than the budget spends it all (the
/// model test built for that, thirteen suspended senders: ~0.7 s).
pub const DERIVE_BUDGET: usize = 100_000;

/// One way the system's step is explained: the model after it, the choices
/// it stands for, and the (matching) prediction.
#[derive(Clone, Debug)]
pub struct Derivation {
    pub model: Model,
    pub choices: Vec<Choice>,
    pub prediction: Prediction,
}

/// No candidate explained the observation.
#[derive(Clone, Debug)]
pub enum Underived {
    /// What the candidate that agreed on the most observables predicted
    /// (fields in `compare`'s order; among equals, the most natural one:
    /// the kernel taking everything, activities in the model's order).
    Mismatch(Mismatch),
    /// Every candidate contradicted a rule before predicting anything.
    Divergence(Divergence),
    /// The search ran out of budget before finding an explanation.
    Budget { tried: usize },
}

/// How many states a prediction set keeps (the most natural first).
pub const MAX_SET: usize = 64;

/// The prediction set after a step: every state of `set` derived forward
/// through `op` to `observed`, merged by state and capped at [`MAX_SET`].
pub fn derive_set(
    set: &[Model],
    op: &crate::op::Op,
    observed: &Observation,
    settle: bool,
    options: DeriveOptions,
) -> Result<Vec<Derivation>, Underived> {
    let mut out: Vec<Derivation> = vec![];
    let mut keys = HashSet::new();
    let mut first_err = None;
    for m in set {
        match m.derive(op, observed, settle, options) {
            Ok(ds) => {
                for d in ds {
                    if out.len() < MAX_SET && keys.insert(d.model.future()) {
                        out.push(d);
                    }
                }
            }
            Err(e) => {
                first_err.get_or_insert(e);
            }
        }
    }
    if out.is_empty() {
        Err(first_err.unwrap_or(Underived::Budget { tried: 0 }))
    } else {
        Ok(out)
    }
}

/// Did `m` agree on more observables than `best` (`compare`'s order)?
fn further(m: &Mismatch, best: &Option<Mismatch>) -> bool {
    best.as_ref().is_none_or(|b| m.field.stage() > b.field.stage())
}

impl Model {
    /// Every way (up to the budget) this step could have gone to produce
    /// `observed`, merged by resulting state.
    pub fn derive(
        &self,
        op: &crate::op::Op,
        observed: &Observation,
        settle: bool,
        options: DeriveOptions,
    ) -> Result<Vec<Derivation>, Underived> {
        let mut stack: Vec<Vec<Pick>> = vec![vec![]];
        let mut seen_needs: HashSet<(Need, PortState, Step)> = HashSet::new();
        let mut seen_ends: HashSet<(PortState, Step)> = HashSet::new();
        let mut found = vec![];
        let mut first_mismatch: Option<Mismatch> = None;
        let mut first_divergence: Option<Divergence> = None;
        let mut tried = 0;
        let own_send = match op {
            crate::op::Op::Send { sender, .. } if settle => Some(*sender),
            _ => None,
        };
        while let Some(prefix) = stack.pop() {
            if tried == DERIVE_BUDGET {
                return if found.is_empty() { Err(Underived::Budget { tried }) } else { Ok(found) };
            }
            tried += 1;
            let mut m = self.clone();
            let mut c = Choices::open(&prefix);
            match m.step_on(op, &mut c, settle) {
                Ok(prediction) => {
                    if let Some(d) = m.unquiet.take() {
                        if options.trace {
                            eprintln!("derive: {prefix:?} -> unquiet {d}");
                        }
                        first_divergence.get_or_insert(d);
                        continue;
                    }
                    match compare(&prediction, observed) {
                        None => {
                            if seen_ends.insert(m.future()) {
                                let choices = prefix
                                    .iter()
                                    .filter_map(|p| match p {
                                        Pick::Made(c) => Some(*c),
                                        Pick::Quiet => None,
                                    })
                                    .collect();
                                found.push(Derivation { model: m, choices, prediction });
                            }
                        }
                        Some(mm) => {
                            if options.trace {
                                eprintln!("derive: {prefix:?} -> {mm:?}");
                            }
                            // Keep the candidate that agreed on the most fields.
                            if further(&mm, &first_mismatch) {
                                first_mismatch = Some(mm);
                            }
                        }
                    }
                }
                Err(d) => {
                    match c.need() {
                        None => {
                            if options.trace {
                                eprintln!("derive: {prefix:?} -> {d}");
                            }
                            first_divergence.get_or_insert(d);
                        }
                        Some(need) => {
                            if !m.consistent_so_far(observed, own_send) {
                                // Remembered like a mismatch, so that a step no
                                // candidate explains names what went wrong.
                                let mm = Mismatch {
                                    rule: m.step.completed.last().map_or(crate::rules::ids::SCHED_1, |c| c.2),
                                    field: Field::Completed { so_far: true },
                                    expected: format!(
                                        "{:?} ({:?} busy_port events)",
                                        m.step.completed.iter().map(|&(s, r, _)| (s, r)).collect::<Vec<_>>(),
                                        m.step.busy_port_events
                                    ),
                                    observed: format!(
                                        "{:?} ({:?} busy_port events)",
                                        observed.completed, observed.busy_port_events
                                    ),
                                };
                                if options.trace {
                                    eprintln!("derive: {prefix:?} -> pruned: completed so far {}", mm.expected);
                                }
                                if further(&mm, &first_mismatch) {
                                    first_mismatch = Some(mm);
                                }
                                continue;
                            }
                            let (state, step) = m.future();
                            if !seen_needs.insert((need, state, step)) {
                                continue;
                            }
                            let cands = m.candidates(need, observed, op);
                            if options.trace {
                                eprintln!("derive: {prefix:?} needs {need:?}: {cands:?} (busy {} deadline {:?} queue {} open {})", m.driver().busy, m.driver().send_deadline, m.driver().queue, m.state.socket_open);
                            }
                            // Pushed in reverse so the preferred candidate runs first.
                            for pick in cands.into_iter().rev() {
                                let mut next = prefix.clone();
                                next.push(pick);
                                stack.push(next);
                            }
                        }
                    }
                }
            }
        }
        if !found.is_empty() {
            return Ok(found);
        }
        Err(match (first_mismatch, first_divergence) {
            (Some(m), _) => Underived::Mismatch(m),
            (None, Some(d)) => Underived::Divergence(d),
            (None, None) => Underived::Budget { tried },
        })
    }

    /// Partial results of a step that can still end in `observed`: sends
    /// completed and busy_port events so far are a prefix of the observed.
    /// (`own`: the op's sender, whose completion a settled step reports in
    /// the reply instead.)
    fn consistent_so_far(&self, observed: &Observation, own: Option<crate::units::SenderId>) -> bool {
        let mut done: Vec<_> = self.step.completed.iter().map(|&(s, r, _)| (s, r)).collect();
        if let Some(i) = own.and_then(|o| done.iter().position(|c| c.0 == o)) {
            done.remove(i);
        }
        observed.completed.starts_with(&done) && observed.busy_port_events.starts_with(&self.step.busy_port_events)
    }

    /// The choices worth trying where the model needs one, preferred first.
    fn candidates(&self, need: Need, observed: &Observation, op: &crate::op::Op) -> Vec<Pick> {
        match need {
            Need::PeerGot => {
                let got = match &observed.reply {
                    Reply::Peer(PeerRead::Data(d)) => d.len(),
                    _ => 0,
                };
                vec![Pick::Made(Choice::PeerGot { got: Bytes(got) })]
            }
            // A read takes what has arrived: everything the peer wrote, or
            // (a passive recv, whose result shows it) only the part that had
            // reached the port's receive queue — the rest is still on its
            // way through loopback.
            Need::Read => {
                let mut v = vec![self.input_pending()];
                // One read fills at most the driver's buffer: with more
                // pending, an active port makes several messages of it,
                // each counted by {active,N} (RX-4).
                if self.input_pending() > DRIVER_BUFFER {
                    v.push(DRIVER_BUFFER);
                }
                if let Reply::Recv(Ok(d)) = &observed.reply {
                    if d.len() < self.input_pending().0 {
                        v.insert(0, Bytes(d.len()));
                    }
                }
                // RX-7: the reader's reads take no more than its recv
                // misses; with Len 0, what its result shows.
                if let Some(want) = self.reader_wants().or_else(|| self.owed_wants()) {
                    v.retain(|&b| b <= want);
                    v.insert(0, want);
                    if let crate::observation::Reader::Returned(Ok(d)) = &observed.reader {
                        if Bytes(d.len()) < want {
                            v.insert(0, Bytes(d.len()));
                        }
                    }
                    v.dedup();
                }
                v.into_iter().map(|got| Pick::Made(Choice::Read { got })).collect()
            }
            Need::Activity if self.step.before_op => std::iter::once(Pick::Quiet)
                .chain(self.before_op_enabled().map(|a| Pick::Made(Choice::Ran(a))))
                .collect(),
            Need::Activity => {
                let mut v = vec![];
                if self.mandatory_activity().is_none() {
                    v.push(Pick::Quiet);
                }
                let mut acts = vec![Activity::SendTimeout, Activity::RecvTimeout, Activity::DelayFlush];
                acts.extend(self.state.senders.resumable.front().map(|&s| Activity::Resume(s)));
                acts.extend(self.sock_expirable().into_iter().map(Activity::Expire));
                acts.extend(self.sock_returnable().into_iter().map(Activity::Returned));
                acts.extend(self.driver_replying().into_iter().map(Activity::Returned));
                acts.extend(self.state.senders.orphaned.iter().map(|&s| Activity::CloseFallback(s)));
                acts.extend([
                    Activity::Task,
                    Activity::Input,
                    Activity::Output,
                    Activity::PendingClose,
                    Activity::ServerExit,
                ]);
                v.extend(acts.into_iter().filter(|&a| self.activity_enabled(a)).map(|a| Pick::Made(Choice::Ran(a))));
                v
            }
            Need::Write { requested, .. } if self.on_socket() => self
                .sock_write_candidates(requested, observed)
                .into_iter()
                .map(|t| Pick::Made(Choice::Wrote { requested, accepted: t }))
                .collect(),
            Need::Write { requested, may_refuse } => {
                // Queue after the write = requested - took (a direct write
                // starts from an empty queue, a queue write asks for all of
                // it, ST-2). Where it may land: empty (everything taken),
                // the observed queue, at low (WM-4's <=), or where pending
                // sends' enqueues would turn it into the observed queue.
                let q = requested.0 as i64;
                let seen = observed.queue.0 as i64;
                let mut lands: Vec<i64> = vec![0, seen, self.state.opts.low.0 as i64];
                if self.driver().busy && self.state.life == super::Life::Closed {
                    // A closed port's queue is not seen (it left the table,
                    // CL-2) while it flushes under a blocked caller: just
                    // above low keeps it busy (WM-4), the peer's reads
                    // show the rest.
                    lands.push(self.state.opts.low.0 as i64 + 1);
                }
                let pending: Vec<i64> = self
                    .state
                    .senders
                    .list
                    .iter()
                    .filter_map(|s| match s {
                        super::senders::Sender::Suspended(p) => Some(p.len),
                        _ => None,
                    })
                    .chain(self.state.tasks.queue.iter().map(|t| t.len))
                    .map(|l| l.0 as i64)
                    .take(8)
                    .collect();
                // Any of them may be enqueued after this write, in the
                // step: every subset's sum (at most 2^8).
                for mask in 1u32..(1 << pending.len()) {
                    let sum: i64 = (0..pending.len()).filter(|i| mask & (1 << i) != 0).map(|i| pending[i]).sum();
                    lands.push(seen - sum);
                }
                // A write between steps (before the op) is followed by the
                // op's own send, which enqueues onto what it left (regression
                // beam-inet-1001-case944-otp27: 3,968 of 4,846 bytes written
                // after an ACK, then a 4,097-byte send stayed below high).
                if let (true, crate::op::Op::Send { len, .. }) = (self.step.between_steps, op) {
                    lands.push(seen - len.0 as i64);
                }
                if may_refuse {
                    lands.push(q);
                }
                let mut takes: Vec<i64> = vec![];
                for took in lands.into_iter().map(|left| q - left) {
                    if (0..=q).contains(&took) && (took > 0 || may_refuse) && !takes.contains(&took) {
                        takes.push(took);
                    }
                }
                takes
                    .into_iter()
                    .map(|t| Pick::Made(Choice::Wrote { requested, accepted: Bytes(t as usize) }))
                    .collect()
            }
        }
    }

    /// What decides everything after this point (not the rule
    /// bookkeeping): two paths reaching the same are the same future.
    fn future(&self) -> (PortState, Step) {
        (self.state.clone(), self.step.clone())
    }
}
