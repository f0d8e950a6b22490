//! Comparing a prediction with what the system observed, field by field,
//! in an order that blames the most specific rule first.

use super::{OptField, Prediction, Why};
use crate::observation::{AcceptOutcome, Observation, OwnerMsg, Posix, Reply};
use crate::rules::{ids, RuleId};
use crate::units::SenderId;
use serde::Serialize;
use std::fmt;

/// The first observable on which the system and the model disagree.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Mismatch {
    pub rule: RuleId,
    pub field: Field,
    pub expected: String,
    pub observed: String,
}

/// An observable, in the order `compare` checks them (the derived `Ord`).
/// Reports print it and traces serialize it as its `Display` text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Field {
    Reply,
    /// The reader process's recv (RX-7..RX-10): waiting, or what it
    /// returned in the step.
    Reader,
    /// The sends completed in the step; `so_far`: a derivation candidate
    /// cut short, whose completions already disagree.
    Completed {
        so_far: bool,
    },
    /// One sender's status (the first that differs).
    Sender(SenderId),
    BusyDriver,
    BusyMsgq,
    Msgq,
    Queue,
    BusyPortEvents,
    Ports,
}

impl Field {
    /// How far `compare` got before this field: its place in the order,
    /// whichever sender or stage of the completions it names.
    pub fn stage(self) -> u8 {
        match self {
            Field::Reply => 0,
            Field::Reader => 1,
            Field::Completed { .. } => 2,
            Field::Sender(_) => 3,
            Field::BusyDriver => 4,
            Field::BusyMsgq => 5,
            Field::Msgq => 6,
            Field::Queue => 7,
            Field::BusyPortEvents => 8,
            Field::Ports => 9,
        }
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Field::Reply => f.write_str("reply"),
            Field::Reader => f.write_str("reader"),
            Field::Completed { so_far: false } => f.write_str("completed"),
            Field::Completed { so_far: true } => f.write_str("completed (so far)"),
            Field::Sender(s) => write!(f, "sender S{} status", s.0),
            Field::BusyDriver => f.write_str("busy (driver queue)"),
            Field::BusyMsgq => f.write_str("busy (msgq)"),
            Field::Msgq => f.write_str("msgq size"),
            Field::Queue => f.write_str("queue size"),
            Field::BusyPortEvents => f.write_str("busy_port events"),
            Field::Ports => f.write_str("ports in table"),
        }
    }
}

impl Serialize for Field {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

fn mismatch(rule: RuleId, field: Field, e: impl fmt::Debug, o: impl fmt::Debug) -> Option<Mismatch> {
    Some(Mismatch { rule, field, expected: format!("{e:?}"), observed: format!("{o:?}") })
}

/// The rule a differing accept reply is blamed on: a port refused where
/// the model had room is the table's size (PT-1); a port created where the
/// table was full, or a refusal that differs, is PT-2's (the op's rule);
/// options that differ are what the accepted port inherits (OPT-6).
fn accept_rule(e: &AcceptOutcome, o: &AcceptOutcome, op_rule: RuleId) -> RuleId {
    match (e, o) {
        (AcceptOutcome::Accepted(_), AcceptOutcome::Failed { error: Posix::SystemLimit, .. }) => ids::PT_1,
        (AcceptOutcome::Accepted(_), AcceptOutcome::Accepted(_)) => ids::OPT_6,
        _ => op_rule,
    }
}

/// The rule a differing mailbox is blamed on: the rule that put the first
/// expected message that is missing or different (RX-5 data, RX-4
/// tcp_passive), or, for a message the model did not expect, the rule
/// that decided the active mode it arrived under (RX-2: once goes passive
/// without tcp_passive; RX-4, RX-6 ...); tcp_closed and tcp_error are the
/// peer's end's (PC-3, RS-1).
fn mailbox_rule(e: &[OwnerMsg], o: &[OwnerMsg], w: &Why) -> RuleId {
    let i = e.iter().zip(o).take_while(|(a, b)| a == b).count();
    if matches!(e.get(i), Some(OwnerMsg::TcpError(_))) || matches!(o.get(i), Some(OwnerMsg::TcpError(_))) {
        // How a RST is reported (RS-1).
        return ids::RS_1;
    }
    match e.get(i) {
        Some(OwnerMsg::Tcp(_)) => ids::RX_5,
        Some(OwnerMsg::TcpPassive) => ids::RX_4,
        // The peer's end, as the port reports it (DIFF-INET-7 also sends
        // tcp_closed, from a socket send_timeout_close closed).
        Some(OwnerMsg::TcpClosed) => ids::PC_3,
        Some(OwnerMsg::TcpError(_)) => ids::RS_1,
        // (An unexpected tcp_error was RS-1's above.)
        None => match o.get(i) {
            Some(OwnerMsg::TcpClosed) => ids::PC_3,
            _ => w.opts.rule(OptField::Active),
        },
    }
}

pub fn compare(p: &Prediction, o: &Observation) -> Option<Mismatch> {
    let e = &p.observation;
    let w = &p.why;
    if e.reply != o.reply {
        let rule = match (&e.reply, &o.reply) {
            (Reply::Opts(a), Reply::Opts(b)) => w.opts.blame(a, b).map_or(w.reply, |(_, r)| r),
            (Reply::Accept(a), Reply::Accept(b)) => accept_rule(a, b, w.reply),
            // As for accept: a port refused where the model had room (the
            // ports in the table agreed so far) is the table's size.
            (Reply::Opened(Ok(())), Reply::Opened(Err(Posix::SystemLimit))) => ids::PT_1,
            (Reply::Mailbox(a), Reply::Mailbox(b)) => mailbox_rule(a, b, w),
            _ => w.reply,
        };
        return mismatch(rule, Field::Reply, &e.reply, &o.reply);
    }
    if e.reader != o.reader {
        return mismatch(w.reader, Field::Reader, &e.reader, &o.reader);
    }
    if e.completed != o.completed {
        let i = e.completed.iter().zip(&o.completed).take_while(|(a, b)| a == b).count();
        let rule = match (e.completed.get(i), o.completed.get(i)) {
            // A send the model completes nowhere in the step: the rule
            // that decided that sender's state (SND-8: a dead caller's
            // reply reaching its id) rather than the one completing the
            // send expected at this place.
            (_, Some((s, _))) if !e.completed.iter().any(|(x, _)| x == s) => {
                w.senders.get(s.0 as usize).copied().unwrap_or(ids::SND_4)
            }
            (Some(_), _) => w.completed[i],
            (None, Some((s, _))) => w.senders.get(s.0 as usize).copied().unwrap_or(ids::SND_4),
            (None, None) => ids::SND_4,
        };
        return mismatch(rule, Field::Completed { so_far: false }, &e.completed, &o.completed);
    }
    if e.senders != o.senders {
        let i = e.senders.iter().zip(&o.senders).position(|(a, b)| a != b).unwrap_or(0);
        let rule = w.senders.get(i).copied().unwrap_or(ids::SND_1);
        return mismatch(rule, Field::Sender(SenderId(i as u8)), &e.senders, &o.senders);
    }
    if let (Some(eb), Some(ob)) = (e.busy, o.busy) {
        if eb.driver != ob.driver {
            return mismatch(w.busy_driver, Field::BusyDriver, eb.driver, ob.driver);
        }
        if eb.msgq != ob.msgq {
            return mismatch(w.busy_msgq, Field::BusyMsgq, eb.msgq, ob.msgq);
        }
    }
    if let (Some(eq), Some(oq)) = (e.msgq, o.msgq) {
        if eq != oq {
            return mismatch(w.msgq, Field::Msgq, eq, oq);
        }
    }
    if e.queue != o.queue {
        return mismatch(w.queue, Field::Queue, e.queue, o.queue);
    }
    if e.busy_port_events != o.busy_port_events {
        return mismatch(ids::SND_1, Field::BusyPortEvents, &e.busy_port_events, &o.busy_port_events);
    }
    if e.ports != o.ports {
        return mismatch(w.ports, Field::Ports, e.ports, o.ports);
    }
    None
}
