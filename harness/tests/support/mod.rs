//! Shared helpers for the native runtime's tests: start a case, apply ops,
//! drain the peer without sleeping (readiness waits only).
#![allow(dead_code)]

use harness::sut::native::{NativeFactory, PlantedBug};
use harness::sut::{Step, SutFactory, SystemUnderTest};
use reference::choice::{Activity, Choice};
use reference::observation::{PeerRead, Reply};
use reference::op::{Op, SendFlags, Setup};
use reference::options::Opt;
use reference::units::{Bytes, SenderId};
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::mpsc;
use std::time::Duration;

pub struct Case {
    pub sut: Box<dyn SystemUnderTest>,
}

pub fn setup(options: Vec<Opt>) -> Setup {
    Setup { options, ..Setup::default() }
}

pub fn start(setup: &Setup) -> Case {
    start_with(setup, None)
}

pub fn start_with(setup: &Setup, bug: Option<PlantedBug>) -> Case {
    Case { sut: NativeFactory::new(bug).start(setup).expect("native runtime starts") }
}

impl Case {
    pub fn apply(&mut self, op: Op) -> Step {
        self.sut.apply(&op).unwrap_or_else(|e| panic!("{op:?} failed: {e}"))
    }

    pub fn send(&mut self, sender: u8, len: usize, tag: u16) -> Step {
        self.send_flags(sender, len, tag, SendFlags::default())
    }

    pub fn send_flags(&mut self, sender: u8, len: usize, tag: u16, flags: SendFlags) -> Step {
        self.apply(Op::Send { sender: SenderId(sender), len: Bytes(len), tag, flags })
    }

    /// Read everything the peer can get right now.
    pub fn peer_read_all(&mut self) -> Vec<u8> {
        let mut out = vec![];
        loop {
            match self.apply(Op::PeerRead { max: Bytes(65536) }).observation.reply {
                Reply::Peer(PeerRead::Data(d)) => out.extend(d),
                _ => return out,
            }
        }
    }

    /// Let the peer read and the runtime write until the driver queue is
    /// empty; returns everything the peer got and every step on the way.
    pub fn drain(&mut self) -> (Vec<u8>, Vec<Step>) {
        let mut got = vec![];
        let mut steps = vec![];
        for _ in 0..10_000 {
            got.extend(self.peer_read_all());
            let q = self.apply(Op::Quiesce);
            let queued = q.observation.queue;
            steps.push(q);
            if queued == Bytes(0) {
                got.extend(self.peer_read_all());
                return (got, steps);
            }
            // The kernel may not have reported writability yet: wait for it.
            got.extend(self.peer_read_all());
            let s = self.apply(Op::AwaitIo);
            steps.push(s);
        }
        panic!("drain did not finish");
    }
}

pub fn ran(step: &Step, a: Activity) -> bool {
    step.choices.contains(&Choice::Ran(a))
}

pub fn writes(step: &Step) -> Vec<(usize, usize)> {
    step.choices
        .iter()
        .filter_map(|c| match c {
            Choice::Wrote { requested, accepted } => Some((requested.0, accepted.0)),
            _ => None,
        })
        .collect()
}

/// Failure bound of a scenario run on its own thread: a hang fails the test
/// instead of the test run timing out. Not a timing assertion.
pub const BOUND: Duration = Duration::from_secs(15);

/// Run `f` on its own thread; its result, or a failure once `BOUND` passes.
pub fn bounded<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(BOUND).unwrap_or_else(|e| panic!("{what}: no result within the failure bound {BOUND:?} ({e})"))
}

/// Loopback, any free port.
pub fn loopback() -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, 0))
}
