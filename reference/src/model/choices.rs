//! Reading the system under test's choices in order, with errors that name
//! the rule under which the model expected something else.
//!
//! A system that reports its choices gives a closed list. For one that does
//! not (real OTP cannot say what each write took), the derivation
//! (`derive.rs`) runs the model on an *open* list: where the list ends and
//! the model needs a choice, it stops with a [`Need`] saying which kind, and
//! the derivation extends the list with every candidate and runs again.

use super::Divergence;
use crate::choice::{Activity, Choice};
use crate::rules::{ids, RuleId};
use crate::units::Bytes;

/// One entry of a choice list: a choice, or (derivation only) the decision
/// that the scheduler ran nothing more: the runtime went quiet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pick {
    Made(Choice),
    Quiet,
}

/// What the model needed when an open list ran out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Need {
    /// The scheduler's next activity, or quiet.
    Activity,
    /// What the kernel took of a write of `requested` bytes. `may_refuse`:
    /// a write that takes nothing (EAGAIN) changes something here (a direct
    /// write or a flush); for an output activity it would be a no-op.
    Write { requested: Bytes, may_refuse: bool },
    /// How many bytes a read on the port's socket returned.
    Read,
    /// How many bytes the peer's read returned.
    PeerGot,
}

/// The list read from, borrowed: a step reads its choices once, in order,
/// and the model steps millions of times (no copy per step).
#[derive(Clone, Copy)]
enum List<'a> {
    /// A system's complete report.
    Closed(&'a [Choice]),
    /// A derivation's prefix.
    Open(&'a [Pick]),
}

pub struct Choices<'a> {
    list: List<'a>,
    pos: usize,
    need: Option<Need>,
}

impl<'a> Choices<'a> {
    /// The complete list a system reported.
    pub fn new(list: &'a [Choice]) -> Self {
        Choices { list: List::Closed(list), pos: 0, need: None }
    }

    /// A prefix the derivation is extending.
    pub fn open(list: &'a [Pick]) -> Self {
        Choices { list: List::Open(list), pos: 0, need: None }
    }

    fn get(&self, i: usize) -> Option<Pick> {
        match self.list {
            List::Closed(l) => l.get(i).map(|&c| Pick::Made(c)),
            List::Open(l) => l.get(i).copied(),
        }
    }

    /// What the model needed when the open list ran out (then the step
    /// returned an error that means nothing else).
    pub fn need(&self) -> Option<Need> {
        self.need
    }

    fn at_open_end(&self) -> bool {
        matches!(self.list, List::Open(l) if self.pos == l.len())
    }

    fn needs(&mut self, n: Need) -> Divergence {
        self.need = Some(n);
        Divergence::new(ids::SCHED_1, format!("derivation: the model needs {n:?} here"))
    }

    pub fn peek(&self) -> Option<Choice> {
        match self.get(self.pos) {
            Some(Pick::Made(c)) => Some(c),
            _ => None,
        }
    }

    /// The next activity; `Ok(None)`: the runtime went quiet.
    pub fn next_activity(&mut self) -> Result<Option<Activity>, Divergence> {
        if self.at_open_end() {
            return Err(self.needs(Need::Activity));
        }
        match self.get(self.pos) {
            Some(Pick::Made(Choice::Ran(a))) => {
                self.pos += 1;
                Ok(Some(a))
            }
            Some(Pick::Quiet) => {
                self.pos += 1;
                Ok(None)
            }
            _ => Ok(None),
        }
    }

    /// The write the model expects here (under `rule`).
    pub fn write(&mut self, rule: RuleId, requested: Bytes, may_refuse: bool) -> Result<Bytes, Divergence> {
        if self.at_open_end() {
            return Err(self.needs(Need::Write { requested, may_refuse }));
        }
        match self.peek() {
            Some(Choice::Wrote { requested: r, accepted }) => {
                self.pos += 1;
                if r != requested {
                    return Err(Divergence::new(
                        ids::ST_2,
                        format!("write asked for {r}, the queue (and {rule}) says {requested}"),
                    ));
                }
                if accepted > r {
                    return Err(Divergence::new(ids::ST_2, format!("kernel reportedly took {accepted} of {r}")));
                }
                Ok(accepted)
            }
            other => Err(Divergence::new(
                rule,
                format!("expected a write of {requested} here, the system reported {other:?}"),
            )),
        }
    }

    /// A write is due here: reported, or (open list) still to be derived.
    pub fn has_write(&self) -> bool {
        self.at_open_end() || self.more_writes()
    }

    /// Another write follows (a runtime may keep writing until EAGAIN). A
    /// derivation writes once per activity: the sum of several writes in a
    /// row is one write of the same total to the model.
    pub fn more_writes(&self) -> bool {
        matches!(self.peek(), Some(Choice::Wrote { .. }))
    }

    /// The activity's writes go on: a reported write follows. Never in a
    /// derivation, which writes once per activity: a write next in its
    /// prefix was derived for what comes after the activity (the op's own
    /// write, when the activity ran before the op).
    pub fn another_write(&self) -> bool {
        matches!(self.list, List::Closed(_)) && self.more_writes()
    }

    pub fn read(&mut self, rule: RuleId) -> Result<Bytes, Divergence> {
        if self.at_open_end() {
            return Err(self.needs(Need::Read));
        }
        match self.peek() {
            Some(Choice::Read { got }) => {
                self.pos += 1;
                Ok(got)
            }
            other => Err(Divergence::new(rule, format!("expected a read here, the system reported {other:?}"))),
        }
    }

    pub fn more_reads(&self) -> bool {
        matches!(self.peek(), Some(Choice::Read { .. }))
    }

    pub fn peer_got(&mut self, rule: RuleId) -> Result<Bytes, Divergence> {
        if self.at_open_end() {
            return Err(self.needs(Need::PeerGot));
        }
        match self.peek() {
            Some(Choice::PeerGot { got }) => {
                self.pos += 1;
                Ok(got)
            }
            other => Err(Divergence::new(rule, format!("expected the peer's read count, got {other:?}"))),
        }
    }

    /// Entries not consumed (a closed list must be used up).
    pub fn leftover(&self) -> Option<Pick> {
        self.get(self.pos)
    }
}
