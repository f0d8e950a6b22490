//! Reading the system under test's choices in order, with errors that name
//! the rule under which the model expected something else.

use super::Divergence;
use crate::choice::{Activity, Choice};
use crate::rules::RuleId;
use crate::units::Bytes;

pub struct Choices<'a> {
    list: &'a [Choice],
    pos: usize,
}

impl<'a> Choices<'a> {
    pub fn new(list: &'a [Choice]) -> Self {
        Choices { list, pos: 0 }
    }

    pub fn peek(&self) -> Option<Choice> {
        self.list.get(self.pos).copied()
    }

    pub fn next_activity(&mut self) -> Option<Activity> {
        match self.peek() {
            Some(Choice::Ran(a)) => {
                self.pos += 1;
                Some(a)
            }
            _ => None,
        }
    }

    /// The write the model expects here (under `rule`).
    pub fn write(&mut self, rule: RuleId, requested: Bytes) -> Result<Bytes, Divergence> {
        match self.peek() {
            Some(Choice::Wrote { requested: r, accepted }) => {
                self.pos += 1;
                if r != requested {
                    return Err(Divergence::new(
                        crate::rules::ids::ST_2,
                        format!("write asked for {r}, the queue (and {rule}) says {requested}"),
                    ));
                }
                if accepted > r {
                    return Err(Divergence::new(
                        crate::rules::ids::ST_2,
                        format!("kernel reportedly took {accepted} of {r}"),
                    ));
                }
                Ok(accepted)
            }
            other => Err(Divergence::new(rule, format!("expected a write of {requested} here, the system reported {other:?}"))),
        }
    }

    /// Another write follows (a runtime may keep writing until EAGAIN).
    pub fn more_writes(&self) -> bool {
        matches!(self.peek(), Some(Choice::Wrote { .. }))
    }

    pub fn read(&mut self, rule: RuleId) -> Result<Bytes, Divergence> {
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
        match self.peek() {
            Some(Choice::PeerGot { got }) => {
                self.pos += 1;
                Ok(got)
            }
            other => Err(Divergence::new(rule, format!("expected the peer's read count, got {other:?}"))),
        }
    }
}
