//! Comparing a prediction with what the system observed, field by field,
//! in an order that blames the most specific rule first.

use super::Prediction;
use crate::observation::{Observation, Reply};
use crate::options::PortOptions;
use crate::rules::{ids, RuleId};
use serde::Serialize;

/// The first observable on which the system and the model disagree.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Mismatch {
    pub rule: RuleId,
    pub field: String,
    pub expected: String,
    pub observed: String,
}

fn mismatch(rule: RuleId, field: &str, e: impl std::fmt::Debug, o: impl std::fmt::Debug) -> Option<Mismatch> {
    Some(Mismatch { rule, field: field.into(), expected: format!("{e:?}"), observed: format!("{o:?}") })
}

/// Which option rule a difference between two option sets falls under.
fn options_rule(e: &PortOptions, o: &PortOptions) -> RuleId {
    if e.high != o.high || e.low != o.low {
        ids::OPT_1
    } else if e.high_msgq != o.high_msgq || e.low_msgq != o.low_msgq {
        ids::OPT_4
    } else if e.active != o.active {
        ids::RX_3
    } else {
        ids::OPT_5
    }
}

pub fn compare(p: &Prediction, o: &Observation) -> Option<Mismatch> {
    let e = &p.observation;
    let w = &p.why;
    if e.reply != o.reply {
        let rule = match (&e.reply, &o.reply) {
            (Reply::Opts(a), Reply::Opts(b)) => options_rule(a, b),
            (Reply::Accept(_), Reply::Accept(_)) => w.reply,
            _ => w.reply,
        };
        return mismatch(rule, "reply", &e.reply, &o.reply);
    }
    if e.completed != o.completed {
        let i = e.completed.iter().zip(&o.completed).take_while(|(a, b)| a == b).count();
        let rule = match (e.completed.get(i), o.completed.get(i)) {
            (Some(_), _) => w.completed[i],
            (None, Some((s, _))) => w.senders.get(s.0 as usize).copied().unwrap_or(ids::SND_4),
            (None, None) => ids::SND_4,
        };
        return mismatch(rule, "completed", &e.completed, &o.completed);
    }
    if e.senders != o.senders {
        let i = e.senders.iter().zip(&o.senders).position(|(a, b)| a != b).unwrap_or(0);
        let rule = w.senders.get(i).copied().unwrap_or(ids::SND_1);
        return mismatch(rule, &format!("sender S{i} status"), &e.senders, &o.senders);
    }
    if let (Some(eb), Some(ob)) = (e.busy, o.busy) {
        if eb.driver != ob.driver {
            return mismatch(w.busy_driver, "busy (driver queue)", eb.driver, ob.driver);
        }
        if eb.msgq != ob.msgq {
            return mismatch(w.busy_msgq, "busy (msgq)", eb.msgq, ob.msgq);
        }
    }
    if let (Some(eq), Some(oq)) = (e.msgq, o.msgq) {
        if eq != oq {
            return mismatch(w.msgq, "msgq size", eq, oq);
        }
    }
    if e.queue != o.queue {
        return mismatch(w.queue, "queue size", e.queue, o.queue);
    }
    if e.busy_port_events != o.busy_port_events {
        return mismatch(ids::SND_1, "busy_port events", &e.busy_port_events, &o.busy_port_events);
    }
    if e.ports != o.ports {
        return mismatch(w.ports, "ports in table", e.ports, o.ports);
    }
    None
}
