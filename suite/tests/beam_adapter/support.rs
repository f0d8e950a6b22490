//! What every BEAM trial uses: one compiled adapter per backend, `Case`
//! (one case, printing each step), and payload checks.

use harness::executor::{run_case, CaseOutcome};
use harness::sut::beam::{Backend, BeamFactory};
use harness::sut::external::reuse::PooledSut;
use harness::sut::external::ExternalSut;
use harness::sut::{Step, SutFactory, SystemUnderTest};
use reference::observation::{Observation, PeerRead, Reply, SendResult, SenderStatus};
use reference::op::{Op, SendFlags, Setup};
use reference::options::Opt;
use reference::units::{payload, Bytes, SenderId};
use std::time::Instant;
use suite::capability::{otp_chroot_erl, Capability};

pub type R = Result<(), String>;

/// A plain send (no flags) of `len` bytes of payload `tag`.
pub fn send(sender: u8, len: usize, tag: u16) -> Op {
    Op::Send { sender: SenderId(sender), len: Bytes(len), tag, flags: SendFlags::default() }
}

/// One compiled adapter per backend for the whole run.
pub fn cell(b: Backend) -> &'static std::sync::OnceLock<Result<BeamFactory, String>> {
    use std::sync::OnceLock;
    static INET: OnceLock<Result<BeamFactory, String>> = OnceLock::new();
    static SOCKET: OnceLock<Result<BeamFactory, String>> = OnceLock::new();
    match b {
        Backend::Inet => &INET,
        Backend::Socket => &SOCKET,
    }
}

pub fn factory(b: Backend) -> Result<&'static BeamFactory, String> {
    cell(b).get_or_init(|| BeamFactory::new(b, None).map_err(|e| e.to_string())).as_ref().map_err(|e| e.clone())
}

/// The releases a trial may name: OTP 25 (`None`: the `erl` on PATH), and
/// 27 and 29 from their chroots (`harness/beam/otp-chroots.sh`).
pub const RELEASES: [Option<&str>; 3] = [None, Some("27"), Some("29")];

/// What a trial on `rel` needs: `erl` on PATH, or root and the chroot.
pub fn release_caps(rel: Option<&'static str>) -> &'static [Capability] {
    match rel {
        None => &[Capability::Erl],
        Some(r) => Box::leak(Box::new([Capability::Root, Capability::OtpChroot(r)])),
    }
}

/// The name of `rel` in trial ids and messages.
pub fn release_name(rel: Option<&str>) -> String {
    format!("otp{}", rel.unwrap_or("25"))
}

/// The inet driver's compiled adapters of the other releases, one per
/// release for the whole run (`factory` serves OTP 25).
pub fn release_cells() -> &'static [(&'static str, std::sync::OnceLock<Result<BeamFactory, String>>)] {
    use std::sync::OnceLock;
    static CELLS: [(&str, OnceLock<Result<BeamFactory, String>>); 2] =
        [("27", OnceLock::new()), ("29", OnceLock::new())];
    &CELLS
}

/// The inet driver's adapter on release `rel` (`None`: the `erl` on PATH).
pub fn inet_factory(rel: Option<&str>) -> Result<&'static BeamFactory, String> {
    let Some(r) = rel else { return factory(Backend::Inet) };
    let (_, cell) = release_cells().iter().find(|(n, _)| *n == r).ok_or(format!("no release {r} here"))?;
    cell.get_or_init(|| BeamFactory::new(Backend::Inet, Some(&otp_chroot_erl(r))).map_err(|e| e.to_string()))
        .as_ref()
        .map_err(|e| e.clone())
}

/// One case against one BEAM backend, printing each step. Its node comes
/// from the factory's pool, as a generated case's does: when the case is
/// dropped the node waits in [`ENDED`] for the trial's verdict
/// ([`end_nodes`]), and goes back to the pool only if the trial passed and
/// the adapter's reset finds the node as it was (else it is killed).
pub struct Case {
    node: Option<PooledSut>,
    steps: usize,
    /// Every byte the peer read, in order.
    pub peer: Vec<u8>,
}

impl Case {
    pub fn new(b: Backend, setup: Setup) -> Result<Case, String> {
        Case::on(factory(b)?, setup)
    }

    /// One case on the adapter of `f` (a release's, say).
    pub fn on(f: &BeamFactory, setup: Setup) -> Result<Case, String> {
        let node = f.start_case(&setup).map_err(|e| e.to_string())?;
        let mut c = Case { node: Some(node), steps: 0, peer: vec![] };
        println!("[{}] ready: {:?}", f.name(), c.sut().ready().info);
        Ok(c)
    }

    /// The node's adapter, driven op by op.
    pub fn sut(&mut self) -> &mut ExternalSut {
        self.node.as_mut().and_then(PooledSut::session_mut).expect("a case's node runs until the case is dropped")
    }

    pub fn step(&mut self, op: Op) -> Result<Step, String> {
        let t = Instant::now();
        let s = self.sut().apply(&op).map_err(|e| e.to_string())?;
        let o = &s.observation;
        if let Reply::Peer(PeerRead::Data(d)) = &o.reply {
            self.peer.extend_from_slice(d);
        }
        let reply = match &o.reply {
            Reply::Peer(PeerRead::Data(d)) => format!("peer data {} bytes", d.len()),
            Reply::Mailbox(m) => format!("mailbox {} msgs", m.len()),
            r => format!("{r:?}"),
        };
        let reader = if o.reader.is_idle() { String::new() } else { format!(" reader {:?}", o.reader) };
        println!(
            "  {:>2} {:<44} -> {reply}; senders {:?} completed {:?} busy_port {:?} queue {} ports {}{reader} ({} ms)",
            self.steps,
            format!("{op:?}").chars().take(44).collect::<String>(),
            o.senders,
            o.completed,
            o.busy_port_events,
            o.queue.0,
            o.ports,
            t.elapsed().as_millis()
        );
        self.steps += 1;
        Ok(s)
    }

    /// Reads until the peer would block (every read is its own step).
    pub fn drain_peer(&mut self) -> Result<Vec<Step>, String> {
        let mut out = vec![];
        for _ in 0..1000 {
            let s = self.step(Op::PeerRead { max: Bytes(65536) })?;
            let stop = matches!(s.observation.reply, Reply::Peer(PeerRead::WouldBlock | PeerRead::Eof));
            out.push(s);
            if stop {
                return Ok(out);
            }
        }
        Err("peer never ran dry".into())
    }

    /// Reads until every sender is idle and the queue is empty; collects completions.
    pub fn drain_all(&mut self) -> Result<Vec<(SenderId, SendResult)>, String> {
        let mut done = vec![];
        for _ in 0..200 {
            let steps = self.drain_peer()?;
            for s in &steps {
                done.extend(s.observation.completed.iter().cloned());
            }
            let last = &steps.last().unwrap().observation;
            if last.queue.0 == 0 && last.senders.iter().all(|s| *s == SenderStatus::Idle) {
                return Ok(done);
            }
            // Bytes the kernel took are still in flight (zero-window
            // probes, delayed ACKs): wait for the peer, the outside world.
            let s = self.step(Op::AwaitPeer)?;
            done.extend(s.observation.completed.iter().cloned());
        }
        Err("never drained".into())
    }
}

impl Drop for Case {
    fn drop(&mut self) {
        if let Some(node) = self.node.take() {
            ENDED.with(|e| e.borrow_mut().push(node));
        }
    }
}

thread_local! {
    /// The nodes of the cases this thread's trial has dropped.
    static ENDED: std::cell::RefCell<Vec<PooledSut>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Ends the nodes of the trial's cases with its verdict: a failed (or
/// panicked) trial's nodes are killed, as a failed case's are.
pub fn end_nodes(passed: bool) {
    for mut node in ENDED.with(|e| std::mem::take(&mut *e.borrow_mut())) {
        node.finish(passed);
    }
}

pub fn setup(options: Vec<Opt>, senders: u8) -> Setup {
    Setup { options, senders, ..Setup::default() }
}

pub fn expect_payloads(peer: &[u8], sends: &[(u16, usize)]) -> R {
    let mut want = vec![];
    for &(tag, len) in sends {
        want.extend(payload(tag, Bytes(len)));
    }
    ensure!(peer.len() == want.len(), "peer got {} bytes, expected {}", peer.len(), want.len());
    if let Some(i) = (0..want.len()).find(|&i| peer[i] != want[i]) {
        return Err(format!("peer stream differs at byte {i}"));
    }
    Ok(())
}

/// `ops` in lockstep with the model on `f`: every step agrees, and the
/// model enabled every op.
pub fn lockstep(f: &BeamFactory, setup: &Setup, ops: &[Op]) -> Result<CaseOutcome, String> {
    let out = run_case(f, setup, ops);
    if let Some(why) = &out.unsupported {
        return Err(format!("lockstep: unsupported: {why}"));
    }
    ensure!(out.passed(), "lockstep: the model and {} disagree:\n{}", f.name(), suite::trace::lines(&out));
    ensure!(
        out.skipped_ops == 0,
        "lockstep: {} op(s) not enabled by the model:\n{}",
        out.skipped_ops,
        suite::trace::lines(&out)
    );
    println!("  lockstep with the model: {} steps agree", out.trace.len());
    Ok(out)
}

/// The observation of the step of the case's `i`-th op.
pub fn observed_at(out: &CaseOutcome, i: usize) -> Result<&Observation, String> {
    let t = out.trace.iter().find(|t| t.op_index == Some(i)).ok_or(format!("no step for op {i}"))?;
    t.observed.as_ref().ok_or(format!("op {i} ({:?}) was not observed", t.op))
}
