//! What the model's tests share: an op, a choice or a model in one call.

use reference::choice::{Activity, Choice};
use reference::model::{derive_set, Derivation, DeriveOptions, Model, Underived};
use reference::observation::{Observation, Reply, SenderStatus};
use reference::op::{Op, SendFlags, Setup};
use reference::options::Opt;
use reference::units::{Bytes, SenderId};

/// Sender `s` sends `len` bytes of the payload tagged `tag`.
pub fn send(s: u8, len: usize, tag: u16) -> Op {
    Op::Send { sender: SenderId(s), len: Bytes(len), tag, flags: SendFlags::default() }
}

/// The same with `force` (SND-3).
pub fn force(s: u8, len: usize, tag: u16) -> Op {
    Op::Send { sender: SenderId(s), len: Bytes(len), tag, flags: SendFlags { nosuspend: false, force: true } }
}

/// The kernel took `accepted` bytes of a write of `requested`.
pub fn wrote(requested: usize, accepted: usize) -> Choice {
    Choice::Wrote { requested: Bytes(requested), accepted: Bytes(accepted) }
}

/// The scheduler ran `a`.
pub fn ran(a: Activity) -> Choice {
    Choice::Ran(a)
}

/// The reference rules' model of a port with two senders, set up with `options`.
pub fn model(options: Vec<Opt>) -> Model {
    Model::new(&Setup { options, ..Setup::default() }).expect("valid setup")
}

/// The prediction set after `op` showed `observed`, for a system that
/// settles within each step (real OTP through its adapter).
pub fn derive(set: &[Model], op: &Op, observed: &Observation) -> Result<Vec<Derivation>, Underived> {
    derive_set(set, op, observed, true, DeriveOptions::default())
}

/// An observation of a step with nothing completed and nothing busy: the
/// reply, the senders' states and the queue, with the two ports of a case.
pub fn observed(reply: Reply, senders: &[SenderStatus], queue: usize) -> Observation {
    Observation {
        reply,
        senders: senders.to_vec(),
        completed: vec![],
        busy_port_events: vec![],
        queue: Bytes(queue),
        busy: None,
        msgq: None,
        ports: 2,
        reader: Default::default(),
    }
}
