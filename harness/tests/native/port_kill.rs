//! CL-5: the port under test killed by another process (`exit(Port,
//! kill)`, `Op::KillPort`) over a real loopback connection, each case run
//! in lockstep with the model: the port leaves the table at once, its
//! queue dropped unflushed (the peer reads what the kernel took, then
//! EOF; a reset over unread input, CL-3), everybody waiting on it
//! answered `{error,closed}` at once (RX-10 for a waiting recv), its owner
//! told nothing, and a later send answered as on a closed port.

use crate::support::*;
use harness::executor::{run_case, run_case_reading_the_end, CaseOutcome, TraceStep};
use harness::sut::native::{NativeFactory, PlantedBug};
use reference::choice::{Activity, Choice};
use reference::observation::{Observation, PeerRead, Posix, Reader, Reply, SendResult, SenderStatus};
use reference::op::{Op, SendFlags, Setup};
use reference::options::{ActiveSetting, Opt, Timeout};
use reference::rules::ids;
use reference::units::{Bytes, Millis, SenderId};

const CLOSED: SendResult = SendResult::Error(Posix::Closed);

const fn send(sender: u8, len: usize, tag: u16) -> Op {
    Op::Send { sender: SenderId(sender), len: Bytes(len), tag, flags: SendFlags { nosuspend: false, force: false } }
}

/// More than the kernel takes at once (the port's SO_SNDBUF is the
/// minimum, the peer's window clamped): most of it stays queued.
const BIG: usize = 100_000;

/// Three senders; busy from 64 queued bytes, not busy again at 16.
fn busy_setup(mut options: Vec<Opt>) -> Setup {
    options.extend([Opt::HighWatermark(64), Opt::LowWatermark(16)]);
    Setup { senders: 3, ..setup(options) }
}

/// S0's send leaves most of `BIG` queued, S1 blocks on its reply (WM-3),
/// S2 suspends on the busy port (SND-1).
const BUSY: [Op; 3] = [send(0, BIG, 1), send(1, 10, 2), send(2, 10, 3)];

/// `ops` on the native runtime in lockstep with the model; the peer reads
/// the port's end after the final drain where the model says it is there.
fn lockstep(setup: &Setup, ops: &[Op], bug: Option<PlantedBug>) -> CaseOutcome {
    run_case_reading_the_end(&NativeFactory::new(bug), setup, ops)
}

/// `ops` agree with the model at every step, CL-5 among the rules that
/// decided; the observation of the kill's step.
fn agrees_with_the_model(setup: &Setup, ops: &[Op]) -> (CaseOutcome, Observation) {
    let outcome = lockstep(setup, ops, None);
    assert!(outcome.passed(), "the model disagrees: {}", outcome.failure.map(|f| f.to_string()).unwrap_or_default());
    assert_eq!(outcome.skipped_ops, 0, "the model allows every op of the case");
    assert!(outcome.touched.contains_key(&ids::CL_5), "the case reaches CL-5");
    let kill = outcome.trace.iter().find(|t| t.op == Op::KillPort).expect("the kill's step");
    let observed = kill.observed.clone().expect("the kill's step was observed");
    (outcome, observed)
}

/// What the peer read in the case, its reads in order (the final drain's
/// too).
fn peer_reads(outcome: &CaseOutcome) -> Vec<PeerRead> {
    outcome
        .trace
        .iter()
        .filter_map(|t| match t.observed.as_ref().map(|o| &o.reply) {
            Some(Reply::Peer(r)) => Some(r.clone()),
            _ => None,
        })
        .collect()
}

/// Bytes the kernel took from the port's writes, in all.
fn taken(trace: &[TraceStep]) -> usize {
    trace
        .iter()
        .flat_map(|t| &t.choices)
        .map(|c| match c {
            Choice::Wrote { accepted, .. } => accepted.0,
            _ => 0,
        })
        .sum()
}

/// CL-5 on an idle port: it leaves the table in the kill's own step, with
/// nobody to answer; the peer reads EOF; a later send is `{error,closed}`.
#[test]
fn a_killed_idle_port_leaves_the_table_and_a_later_send_is_closed() {
    let (outcome, kill) = agrees_with_the_model(&setup(vec![]), &[Op::KillPort, send(0, 10, 1)]);
    assert_eq!((kill.reply, kill.ports, kill.completed), (Reply::None, 1, vec![]), "CL-5: only the listener left");
    let later = outcome.trace.iter().find(|t| t.op_index == Some(1)).and_then(|t| t.observed.clone());
    assert_eq!(later.map(|o| o.reply), Some(Reply::Sent(Some(CLOSED))), "CL-5: a send on the killed port");
    assert_eq!(peer_reads(&outcome), vec![PeerRead::Eof], "CL-5: the socket closed");
}

/// CL-5: the owner of a killed port gets no message, active or passive
/// (no `tcp_closed`, unlike an end the port reads: PC-3).
#[test]
fn the_owner_of_a_killed_port_gets_no_message() {
    for active in [ActiveSetting::True, ActiveSetting::False] {
        let mut c = start(&setup(vec![Opt::Active(active)]));
        c.apply(Op::KillPort);
        c.apply(Op::Quiesce);
        assert_eq!(c.apply(Op::Mailbox).observation.reply, Reply::Mailbox(vec![]), "CL-5 ({active:?})");
        agrees_with_the_model(&setup(vec![Opt::Active(active)]), &[Op::KillPort, Op::Quiesce]);
    }
}

/// CL-5: with output queued the queue is dropped, not flushed: the peer
/// reads exactly the bytes the kernel had taken before the kill, then
/// EOF; the driver writes nothing more.
#[test]
fn a_killed_port_drops_its_queue_and_the_peer_reads_only_what_the_kernel_took() {
    let (outcome, kill) = agrees_with_the_model(&setup(vec![]), &[send(0, BIG, 1), Op::KillPort]);
    assert_eq!((kill.queue, kill.ports), (Bytes(0), 1), "CL-5: the queue dropped, the port gone");
    let kill_at = outcome.trace.iter().position(|t| t.op == Op::KillPort).expect("the kill's step");
    let took = taken(&outcome.trace[..kill_at]);
    assert!(took > 0 && took < BIG, "the kernel took part of the send: {took}");
    assert_eq!(taken(&outcome.trace[kill_at..]), 0, "CL-5: no write after the kill");
    let reads = peer_reads(&outcome);
    let got: usize = reads.iter().map(|r| if let PeerRead::Data(d) = r { d.len() } else { 0 }).sum();
    assert_eq!(got, took, "CL-5: the peer reads what the kernel took");
    assert_eq!(reads.last(), Some(&PeerRead::Eof), "CL-5: then EOF");
}

/// CL-5 on a busy port: the caller blocked on its reply, then the sender
/// suspended on it, return `{error,closed}` in the kill's step, in that
/// order; busy ends with the port; a later send is `{error,closed}`.
#[test]
fn a_killed_busy_port_answers_its_blocked_caller_then_its_suspended_sender_closed() {
    let ops = [BUSY.as_slice(), &[Op::KillPort, send(1, 10, 4)]].concat();
    let (outcome, kill) = agrees_with_the_model(&busy_setup(vec![]), &ops);
    assert_eq!(
        kill.completed,
        vec![(SenderId(1), CLOSED), (SenderId(2), CLOSED)],
        "CL-5: the blocked caller first, then the suspended sender"
    );
    assert_eq!(kill.senders, vec![SenderStatus::Idle; 3], "CL-5: nobody waits on the killed port");
    assert_eq!((kill.busy.map(|b| b.driver), kill.ports), (Some(false), 1), "CL-5: busy ends with the port");
    let later = outcome.trace.iter().find(|t| t.op_index == Some(4)).and_then(|t| t.observed.clone());
    assert_eq!(later.map(|o| o.reply), Some(Reply::Sent(Some(CLOSED))), "CL-5: a send on the killed port");
}

/// CL-5: the busy port's send timer goes with it: time passing its
/// deadline fires nothing and answers nobody again.
#[test]
fn a_killed_busy_ports_send_timer_never_fires() {
    let setup = busy_setup(vec![Opt::SendTimeout(Timeout::After(Millis(100)))]);
    let ops = [BUSY.as_slice(), &[Op::KillPort, Op::AdvanceTime { by: Millis(200) }]].concat();
    let (outcome, kill) = agrees_with_the_model(&setup, &ops);
    assert_eq!(kill.completed, vec![(SenderId(1), CLOSED), (SenderId(2), CLOSED)], "CL-5");
    let advanced = outcome.trace.iter().find(|t| t.op_index == Some(4)).expect("the advance's step");
    assert_eq!(advanced.choices, vec![], "CL-5: no send timer (TO-1) after the kill");
    assert_eq!(advanced.observed.as_ref().map(|o| o.completed.clone()), Some(vec![]), "CL-5: nobody answered twice");
}

/// CL-5, RX-10: a recv waiting on the killed port returns
/// `{error,closed}` in the kill's step.
#[test]
fn a_recv_waiting_on_a_killed_port_returns_closed() {
    let ops = [Op::RecvWait { len: Bytes(5), timeout: None }, Op::PeerWrite { len: Bytes(3), tag: 1 }, Op::Quiesce];
    let (outcome, kill) = agrees_with_the_model(&setup(vec![]), &[ops.as_slice(), &[Op::KillPort]].concat());
    assert_eq!((kill.reader, kill.ports), (Reader::Returned(Err(Posix::Closed)), 1), "RX-10, CL-5");
    assert!(outcome.touched.contains_key(&ids::RX_10), "the case reaches RX-10");
}

/// CL-5, CL-3: input the port never read is in its socket's receive
/// queue when it is killed: the close resets the connection, and the
/// peer reads the reset.
#[test]
fn a_port_killed_with_unread_input_resets_the_peer() {
    let ops = [Op::PeerWrite { len: Bytes(10), tag: 1 }, Op::KillPort, Op::AwaitPeer, Op::PeerRead { max: Bytes(64) }];
    let (outcome, _) = agrees_with_the_model(&setup(vec![]), &ops);
    assert_eq!(peer_reads(&outcome).first(), Some(&PeerRead::Reset), "CL-3: the peer sees the reset");
    assert!(outcome.crossings.contains_key(&ids::CL_3), "the case reaches CL-3");
}

/// The peer reads and the runtime runs, alternately, long enough for a
/// kernel that held the port's first write to take more if the port still
/// flushed (AwaitIo returns once the runtime may act or the peer has
/// something; at the EOF a killed port leaves, at once).
fn after_the_kill() -> Vec<Op> {
    (0..40).flat_map(|_| [Op::PeerRead { max: Bytes(1 << 16) }, Op::AwaitIo]).collect()
}

/// CL-5: the planted `killed-port-flushes` keeps writing the queue after
/// the kill, as a close without linger would (CL-1): the runtime's next
/// write, which the model says cannot happen once the kill dropped the
/// queue, is blamed on CL-5. The correct runtime runs the same ops
/// without a write.
#[test]
fn a_killed_port_that_flushes_its_queue_is_caught_under_cl5() {
    let ops = [BUSY.as_slice(), &[Op::KillPort], &after_the_kill()].concat();
    let bug = Some(PlantedBug::KilledPortFlushes);
    let outcome = run_case(&NativeFactory::new(bug), &busy_setup(vec![]), &ops);
    let failure = outcome.failure.expect("the model catches the planted bug");
    assert_eq!(failure.rule(), Some(ids::CL_5), "{failure}");
    let failed = &outcome.trace[failure.step];
    assert!(failed.choices.contains(&Choice::Ran(Activity::Output)), "a write after the kill: {failed:?}");

    let (outcome, _) = agrees_with_the_model(&busy_setup(vec![]), &ops);
    let kill_at = outcome.trace.iter().position(|t| t.op == Op::KillPort).expect("the kill's step");
    assert_eq!(taken(&outcome.trace[kill_at..]), 0, "CL-5: the correct runtime writes nothing after the kill");
}
