//! Where two runtimes that ran the same case behaved differently, named by
//! the rules that decided it.
//!
//! Why: a reviewer of a runtime change (a new OTP release, the other
//! backend) wants to read which rule moved, not a byte-level diff of two
//! traces. Each side runs in lockstep with its own model, so each observed
//! value already carries the rule its model says decided it (the agreeing
//! prediction's `why`, kept in `TraceStep::why`). Where the observations of
//! one step differ, the model's own comparison (`reference::model::compare`)
//! finds the first differing field, once with each side's prediction: the
//! rule it blames on each side is that side's reason for its value.
//!
//! Only steps both sides ran are compared: the executor skips ops its model
//! says cannot happen, and each side's model may skip different ones; those
//! are listed, not compared. `run` runs the cases, reruns and shrinks.

pub mod run;

use harness::executor::{CaseOutcome, TraceStep};
use reference::model::{compare, Field, Prediction};
use reference::observation::Observation;
use reference::rules::RuleId;
use serde::Serialize;

/// What identifies a difference across cases: the kind of field and the
/// rule each side's model says decided it (side A's first).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Key {
    pub field: &'static str,
    pub rules: [RuleId; 2],
}

impl Key {
    /// A rule moved (the two sides' models name different rules), rather
    /// than one rule deciding differently on different kernel or scheduler
    /// choices.
    pub fn moved(&self) -> bool {
        self.rules[0] != self.rules[1]
    }
}

/// One step at which the two sides observed different values.
#[derive(Clone, Debug, Serialize)]
pub struct Difference {
    pub key: Key,
    /// The field as `compare` names it (which sender, for a sender status).
    pub field: Field,
    /// The op's index in the case's ops; `None` for a step of the drain.
    pub op_index: Option<usize>,
    /// The step's index in each side's trace.
    pub steps: [usize; 2],
    /// Each side's observed value of the field.
    pub values: [String; 2],
}

/// The comparison of one case's two runs.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Comparison {
    /// The first difference of each key, in step order.
    pub differences: Vec<Difference>,
    /// Per side, the ops (by index) it skipped where the other ran them.
    pub skipped: [Vec<usize>; 2],
}

impl Comparison {
    /// The difference a case is reported under: the first at which a rule
    /// moved, else the first (once the two states differ, later steps are
    /// mostly its consequences, but a moved rule is what a reviewer reads).
    pub fn headline(&self) -> Option<&Difference> {
        self.differences.iter().find(|d| d.key.moved()).or(self.differences.first())
    }

    pub fn shows(&self, key: &Key) -> bool {
        self.differences.iter().any(|d| d.key == *key)
    }
}

/// The kind of a field, whichever sender it names.
fn field_kind(f: Field) -> &'static str {
    match f {
        Field::Reply => "reply",
        Field::Reader => "reader",
        Field::Completed { .. } => "completed order",
        Field::Sender(_) => "sender status",
        Field::BusyDriver => "busy (driver queue)",
        Field::BusyMsgq => "busy (msgq)",
        Field::Msgq => "msgq size",
        Field::Queue => "queue size",
        Field::BusyPortEvents => "busy_port events",
        Field::Ports => "ports in table",
    }
}

/// The steps of the two traces that ran the same op, by op index. The
/// end-of-case drains are compared as a whole ([`drain_difference`]).
fn aligned<'a>(a: &'a [TraceStep], b: &'a [TraceStep]) -> Vec<(&'a TraceStep, &'a TraceStep)> {
    a.iter().filter_map(|x| Some((x, b.iter().find(|y| y.op_index.is_some() && y.op_index == x.op_index)?))).collect()
}

/// What a side's end-of-case drain showed in all: the sends that completed,
/// in order, and the bytes the peer read. How many drain steps it took and
/// in which of them a send completed or a byte arrived is the kernel's and
/// the scheduler's timing (the executor keeps reading and quiescing until
/// nothing moves), not something either runtime decided: comparing the
/// drains step by step named timing as a difference (measured under load:
/// a reply order shown one drain step later on one side read as WM-3 vs WM-4).
struct Drain<'a> {
    completed: Vec<(reference::units::SenderId, reference::observation::SendResult)>,
    data: Vec<u8>,
    first: Option<&'a TraceStep>,
    /// The rule that decided the completions' order, or what the first one returned.
    order_rule: Option<RuleId>,
    data_rule: Option<RuleId>,
}

fn drain(t: &[TraceStep]) -> Option<Drain<'_>> {
    let mut d = Drain { completed: vec![], data: vec![], first: None, order_rule: None, data_rule: None };
    for s in t.iter().filter(|s| s.op_index.is_none()) {
        let (Some(o), Some(w)) = (&s.observed, &s.why) else {
            return None; // a drain step its model did not agree with: that side's own failure
        };
        d.first.get_or_insert(s);
        if !o.completed.is_empty() {
            d.order_rule = d.order_rule.or(w.completed_order).or(w.completed.first().copied());
        }
        if let reference::observation::Reply::Peer(reference::observation::PeerRead::Data(bytes)) = &o.reply {
            d.data.extend_from_slice(bytes);
            d.data_rule.get_or_insert(w.reply);
        }
        d.completed.extend(o.completed.iter().cloned());
    }
    Some(d)
}

/// The two drains' difference, if their totals differ: the completions
/// first (their order, or which), then the peer's bytes.
fn drain_difference(a: &[TraceStep], b: &[TraceStep]) -> Option<Difference> {
    let (x, y) = (drain(a)?, drain(b)?);
    let steps = [x.first?.index, y.first?.index];
    let fallback = reference::rules::ids::SCHED_1;
    if x.completed != y.completed {
        let mut sx = x.completed.clone();
        let mut sy = y.completed.clone();
        sx.sort_by_key(|(s, _)| *s);
        sy.sort_by_key(|(s, _)| *s);
        let field = if sx == sy { "completed order" } else { "completed" };
        return Some(Difference {
            key: Key { field, rules: [x.order_rule.unwrap_or(fallback), y.order_rule.unwrap_or(fallback)] },
            field: Field::Completed { so_far: false },
            op_index: None,
            steps,
            values: [format!("{:?}", x.completed), format!("{:?}", y.completed)],
        });
    }
    if x.data != y.data {
        let st1 = reference::rules::ids::ST_1;
        return Some(Difference {
            key: Key { field: "peer's bytes", rules: [x.data_rule.unwrap_or(st1), y.data_rule.unwrap_or(st1)] },
            field: Field::Reply,
            op_index: None,
            steps,
            values: [format!("{} bytes", x.data.len()), format!("{} bytes", y.data.len())],
        });
    }
    None
}

/// Ops `other` ran that `me` skipped (not those after the step at which
/// `me` stopped on a failure: it did not skip them).
fn skipped(me: &CaseOutcome, other: &CaseOutcome) -> Vec<usize> {
    let stop = match &me.failure {
        None => usize::MAX,
        Some(_) if me.trace.is_empty() => 0,
        Some(f) => me.trace.get(f.step).and_then(|t| t.op_index).unwrap_or(usize::MAX),
    };
    let ran: std::collections::BTreeSet<_> = me.trace.iter().filter_map(|s| s.op_index).collect();
    other.trace.iter().filter_map(|s| s.op_index).filter(|i| *i < stop && !ran.contains(i)).collect()
}

/// The same sends completed with the same results, in another order: then
/// the rule that decided the order names the difference, not the rule of
/// the first result that differs by position.
fn reordered(x: &Observation, y: &Observation) -> bool {
    let sorted = |o: &Observation| {
        let mut c = o.completed.clone();
        c.sort_by_key(|(s, _)| *s);
        c
    };
    x.completed != y.completed && sorted(x) == sorted(y)
}

/// Compare the two sides' runs of one case (side A first).
pub fn differences(a: &CaseOutcome, b: &CaseOutcome) -> Comparison {
    let mut out = Comparison { differences: vec![], skipped: [skipped(a, b), skipped(b, a)] };
    for (x, y) in aligned(&a.trace, &b.trace) {
        let (Some(ox), Some(oy), Some(wx), Some(wy)) = (&x.observed, &y.observed, &x.why, &y.why) else {
            continue; // a step a side's model did not agree with: that side's own failure
        };
        if ox == oy {
            continue;
        }
        let px = Prediction { observation: ox.clone(), why: wx.clone() };
        let py = Prediction { observation: oy.clone(), why: wy.clone() };
        let (Some(mx), Some(my)) = (compare(&px, oy), compare(&py, ox)) else {
            continue; // equal in every field compare reads
        };
        let rules = match reordered(ox, oy) {
            true => [wx.completed_order.unwrap_or(mx.rule), wy.completed_order.unwrap_or(my.rule)],
            false => [mx.rule, my.rule],
        };
        let key = Key { field: field_kind(mx.field), rules };
        if out.differences.iter().any(|d| d.key == key) {
            continue;
        }
        out.differences.push(Difference {
            key,
            field: mx.field,
            op_index: x.op_index,
            steps: [x.index, y.index],
            values: [mx.expected, mx.observed],
        });
    }
    if let Some(d) = drain_difference(&a.trace, &b.trace) {
        if !out.differences.iter().any(|e| e.key == d.key) {
            out.differences.push(d);
        }
    }
    out
}
