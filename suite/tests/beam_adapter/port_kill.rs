//! `kill_port`: another process kills the port under test with
//! `exit(Port, kill)`, its owner unlinked first (CL-5; how the senders
//! waiting on it end is DIFF-INET-13's), on the inet driver of OTP 25, 27
//! and 29. Each trial drives the adapter op by op (what each step reports),
//! then runs the same ops in lockstep with the model
//! (`harness::executor::run_case`). As measured with
//! harness/beam/probes/probe_port_killed.erl and probe_port_killed_caller.erl:
//! the port leaves the table at once with its queue dropped (the peer reads
//! what the kernel had, then EOF), a reader's recv returns `{error,closed}`,
//! the owner gets no message; a caller blocked on the port's reply returns
//! `{error,closed}` at once on 27 and 29 and when prim_inet's
//! INET_CLOSE_TIMEOUT runs out on 25 (5 s from when its wait began), a
//! sender suspended behind it `{error,einval}` at once. A case may end with
//! that caller still waiting (OTP 25): the node must come back clean.

use crate::support::{factory, inet_factory, lockstep, observed_at, send, setup, Case, R};
use harness::sut::beam::{Backend, BeamFactory};
use harness::sut::external::unsupported_reason;
use harness::sut::{Step, SutFactory, SystemUnderTest};
use reference::observation::{OwnerMsg, PeerRead, Posix, Reader, Reply, SendResult, SenderStatus};
use reference::op::Op;
use reference::options::{ActiveSetting, Opt};
use reference::units::{payload, Bytes, SenderId};
use std::time::{Duration, Instant};

/// A trial on one release (`None`: OTP 25, the `erl` on PATH).
pub type OnRelease = fn(Option<&str>) -> R;

/// The trials run on every release, by name.
pub const ON_EVERY_RELEASE: [(&str, OnRelease); 8] = [
    ("idle_leaves_the_table_and_later_calls_find_it_closed", idle_leaves_the_table_and_later_calls_find_it_closed),
    ("active_owner_gets_no_message", active_owner_gets_no_message),
    ("unread_input_resets_the_peer", unread_input_resets_the_peer),
    ("queued_output_is_dropped_the_peer_reads_what_the_kernel_had", queued_output_is_dropped),
    ("busy_caller_closed_and_suspended_sender_einval", busy_caller_closed_and_suspended_sender_einval),
    ("busy_caller_alone_closed", caller_alone_closed),
    ("reader_waiting_returns_closed", reader_waiting_returns_closed),
    ("busy_reader_is_never_answered", busy_reader_is_never_answered),
];

/// How long a sender may wait on a killed port on OTP 25: its
/// INET_CLOSE_TIMEOUT (5 s from when its wait began), and a margin for a
/// loaded machine.
const FALLBACK_BOUND: Duration = Duration::from_secs(12);
/// INET_CLOSE_TIMEOUT less what the clocks of the test and the node may
/// differ by: a fallback that came sooner was not the fallback.
const FALLBACK_AT_LEAST: Duration = Duration::from_millis(4000);

fn otp25(rel: Option<&str>) -> bool {
    rel.is_none()
}

fn expect_reply(s: &Step, want: Reply, what: &str) -> R {
    ensure!(s.observation.reply == want, "{what}: reply {:?}, expected {want:?}", s.observation.reply);
    Ok(())
}

fn expect_completed(s: &Step, want: &[(u8, SendResult)], what: &str) -> R {
    let want: Vec<(SenderId, SendResult)> = want.iter().map(|(i, r)| (SenderId(*i), *r)).collect();
    let mut got = s.observation.completed.clone();
    got.sort_by_key(|(id, _)| *id);
    ensure!(got == want, "{what}: completed {:?}, expected {want:?} (in any order)", s.observation.completed);
    Ok(())
}

fn expect_senders(s: &Step, want: &[SenderStatus], what: &str) -> R {
    ensure!(s.observation.senders == want, "{what}: senders {:?}, expected {want:?}", s.observation.senders);
    Ok(())
}

/// The kill's step: reply none, the queue empty, one port fewer than
/// `ports_before`.
fn killed(c: &mut Case, ports_before: usize) -> Result<Step, String> {
    let s = c.step(Op::KillPort)?;
    expect_reply(&s, Reply::None, "kill_port")?;
    ensure!(s.observation.queue == Bytes::ZERO, "kill_port: queue {} after the kill", s.observation.queue.0);
    ensure!(
        s.observation.ports + 1 == ports_before,
        "kill_port: ports {} after the kill, {ports_before} before",
        s.observation.ports
    );
    Ok(s)
}

/// What later calls meet on the killed port: a send `{error,closed}`, the
/// owner's recv `{error,closed}`, queue_size 0, and no message for the
/// owner; the port stays out of the table.
fn later_calls_find_it_closed(c: &mut Case, sender: u8, ports: usize) -> R {
    let s = c.step(send(sender, 10, 99))?;
    expect_reply(&s, Reply::Sent(Some(SendResult::Error(Posix::Closed))), "a send on the killed port")?;
    let s = c.step(Op::Recv)?;
    expect_reply(&s, Reply::Recv(Err(Posix::Closed)), "the owner's recv on the killed port")?;
    let s = c.step(Op::QueueSize)?;
    expect_reply(&s, Reply::QueueSize(Bytes::ZERO), "queue_size on the killed port")?;
    let s = c.step(Op::Mailbox)?;
    expect_reply(&s, Reply::Mailbox(vec![]), "the owner's mailbox after the kill")?;
    ensure!(s.observation.ports == ports, "ports {} after the kill's step, {ports} in it", s.observation.ports);
    Ok(())
}

/// The peer reads until EOF (waiting for bytes in flight with `await_peer`,
/// bounded): every byte it got, then EOF.
fn peer_reads_to_eof(c: &mut Case) -> Result<usize, String> {
    let before = c.peer.len();
    for _ in 0..200 {
        let steps = c.drain_peer()?;
        match &steps.last().unwrap().observation.reply {
            Reply::Peer(PeerRead::Eof) => return Ok(c.peer.len() - before),
            Reply::Peer(PeerRead::WouldBlock) => {
                c.step(Op::AwaitPeer)?;
            }
            r => return Err(format!("the peer's read after the kill: {r:?}")),
        }
    }
    Err("the peer never read EOF after the kill".into())
}

/// OTP 25: quiesce steps (not printed) until sender `id` completes, bounded
/// by [`FALLBACK_BOUND`] from `since`; its result, and when it came.
fn quiesce_until_completed(c: &mut Case, id: u8, since: Instant) -> Result<(SendResult, Duration), String> {
    let mut steps = 0usize;
    loop {
        let s = c.sut().apply(&Op::Quiesce).map_err(|e| e.to_string())?;
        steps += 1;
        if let Some((_, r)) = s.observation.completed.iter().find(|(s, _)| *s == SenderId(id)) {
            let at = since.elapsed();
            println!("  S{id} completed {r:?} after {steps} quiesce steps, {} ms", at.as_millis());
            return Ok((*r, at));
        }
        ensure!(
            s.observation.senders.get(id as usize) == Some(&SenderStatus::Waiting),
            "S{id} is {:?}, neither waiting nor completed, {} ms after the kill",
            s.observation.senders.get(id as usize),
            since.elapsed().as_millis()
        );
        if since.elapsed() > FALLBACK_BOUND {
            return Err(format!(
                "S{id} still waiting {} ms after its send ({steps} quiesce steps): no INET_CLOSE_TIMEOUT fallback",
                since.elapsed().as_millis()
            ));
        }
    }
}

/// The ops after a kill in lockstep, as the generator draws them: a send,
/// the peer reading what the kernel took. (The model enables no `recv`,
/// `set_opts` or `mailbox` on the killed port; the op-by-op trials check
/// what those answer.)
fn after_kill(tag: u16) -> [Op; 6] {
    [
        Op::QueueSize,
        send(0, 10, tag),
        Op::PeerRead { max: Bytes(16384) },
        Op::Quiesce,
        Op::PeerRead { max: Bytes(16384) },
        Op::AwaitPeer,
    ]
}

/// CL-5 on an idle passive port: out of the table in the kill's step;
/// then a send and a recv `{error,closed}`, queue 0, the peer EOF, no
/// message for the owner.
pub fn idle_leaves_the_table_and_later_calls_find_it_closed(rel: Option<&str>) -> R {
    let f = inet_factory(rel)?;
    let mut c = Case::on(f, setup(vec![], 1))?;
    let ports = c.step(Op::QueueSize)?.observation.ports;
    let s = killed(&mut c, ports)?;
    expect_completed(&s, &[], "kill_port on an idle port")?;
    later_calls_find_it_closed(&mut c, 0, ports - 1)?;
    let s = c.step(Op::SetOpts { opts: vec![Opt::HighWatermark(100)] })?;
    expect_reply(&s, Reply::SetOpts(Err(Posix::Einval)), "setopts on the killed port")?;
    // inet:getopts on the killed port answers {error,einval}: the adapter
    // cannot report options, and says so (the model never asks).
    match c.sut().apply(&Op::GetOpts) {
        Err(e) if unsupported_reason(&e).is_some() => println!("  get_opts: {e}"),
        other => return Err(format!("get_opts on the killed port: {other:?}")),
    }
    let got = peer_reads_to_eof(&mut c)?;
    ensure!(got == 0, "the peer read {got} bytes from an idle port");

    let mut ops = vec![Op::QueueSize, Op::KillPort];
    ops.extend(after_kill(1));
    let out = lockstep(f, &setup(vec![], 1), &ops)?;
    ensure!(
        observed_at(&out, 1)?.ports + 1 == observed_at(&out, 0)?.ports,
        "lockstep: ports {} after the kill, {} before",
        observed_at(&out, 1)?.ports,
        observed_at(&out, 0)?.ports
    );
    Ok(())
}

/// CL-5: an active port killed sends its owner nothing (no `tcp_closed`):
/// the bytes it delivered before are all the mailbox holds.
pub fn active_owner_gets_no_message(rel: Option<&str>) -> R {
    let f = inet_factory(rel)?;
    let active = || Op::SetOpts { opts: vec![Opt::Active(ActiveSetting::True)] };
    let mut c = Case::on(f, setup(vec![], 1))?;
    let s = c.step(active())?;
    expect_reply(&s, Reply::SetOpts(Ok(())), "setopts active true")?;
    c.step(Op::PeerWrite { len: Bytes(5), tag: 1 })?;
    let ports = c.step(Op::QueueSize)?.observation.ports;
    killed(&mut c, ports)?;
    let s = c.step(Op::Mailbox)?;
    expect_reply(&s, Reply::Mailbox(vec![OwnerMsg::Tcp(payload(1, Bytes(5)))]), "the active owner's mailbox")?;
    let s = c.step(active())?;
    expect_reply(&s, Reply::SetOpts(Err(Posix::Einval)), "setopts on the killed port")?;
    later_calls_find_it_closed(&mut c, 0, ports - 1)?;

    let mut ops = vec![active(), Op::PeerWrite { len: Bytes(5), tag: 1 }, Op::Mailbox, Op::QueueSize, Op::KillPort];
    ops.extend(after_kill(2));
    lockstep(f, &setup(vec![], 1), &ops)?;
    Ok(())
}

/// CL-5, CL-3: killed with the peer's bytes unread, the port's socket
/// closes with a RST: the peer reads a reset.
pub fn unread_input_resets_the_peer(rel: Option<&str>) -> R {
    let f = inet_factory(rel)?;
    let mut c = Case::on(f, setup(vec![], 1))?;
    c.step(Op::PeerWrite { len: Bytes(8), tag: 1 })?;
    let ports = c.step(Op::QueueSize)?.observation.ports;
    killed(&mut c, ports)?;
    let s = c.step(Op::PeerRead { max: Bytes(16384) })?;
    expect_reply(&s, Reply::Peer(PeerRead::Reset), "the peer's read after a kill over unread input")?;
    later_calls_find_it_closed(&mut c, 0, ports - 1)?;

    let mut ops = vec![Op::PeerWrite { len: Bytes(8), tag: 1 }, Op::Quiesce, Op::QueueSize, Op::KillPort];
    ops.extend(after_kill(2));
    lockstep(f, &setup(vec![], 1), &ops)?;
    Ok(())
}

/// CL-5: 300000 bytes queued below the high watermark; the kill drops the
/// queue unflushed: the peer reads a prefix of the stream (what the
/// kernel had taken), then EOF.
pub fn queued_output_is_dropped(rel: Option<&str>) -> R {
    const LEN: usize = 300_000;
    let f = inet_factory(rel)?;
    let opts = || vec![Opt::HighWatermark(1 << 22), Opt::LowWatermark(1 << 21)];
    let mut c = Case::on(f, setup(opts(), 1))?;
    let s = c.step(send(0, LEN, 1))?;
    expect_reply(&s, Reply::Sent(Some(SendResult::Ok)), "the send below the high watermark")?;
    let s = c.step(Op::QueueSize)?;
    let Reply::QueueSize(q) = s.observation.reply else { return Err(format!("queue_size: {:?}", s.observation.reply)) };
    ensure!(q > Bytes::ZERO, "nothing queued after a send of {LEN} bytes");
    let ports = s.observation.ports;
    killed(&mut c, ports)?;
    let got = peer_reads_to_eof(&mut c)?;
    println!("  {} bytes were queued at the kill; the peer read {got}, then EOF", q.0);
    ensure!(got < LEN && got + q.0 <= LEN, "the peer read {got} of {LEN} bytes with {} queued at the kill", q.0);
    ensure!(c.peer == payload(1, Bytes(LEN))[..got], "the peer's bytes are not a prefix of the stream");
    later_calls_find_it_closed(&mut c, 0, ports - 1)?;

    let mut ops = vec![send(0, LEN, 1), Op::QueueSize, Op::KillPort];
    ops.extend(after_kill(2));
    let out = lockstep(f, &setup(opts(), 1), &ops)?;
    ensure!(
        observed_at(&out, 3)?.reply == Reply::QueueSize(Bytes::ZERO),
        "lockstep: queue_size after the kill: {:?}",
        observed_at(&out, 3)?.reply
    );
    Ok(())
}

/// The high watermark at 64: S0's 40000 bytes leave the port busy, S1's
/// send blocks in the caller's slot (WM-3), S2's suspends (SND-1).
fn busy_opts() -> Vec<Opt> {
    vec![Opt::HighWatermark(64), Opt::LowWatermark(16)]
}

/// The completions of a step, in the order they came.
fn expect_completed_in_order(s: &Step, want: &[(u8, SendResult)], what: &str) -> R {
    let want: Vec<(SenderId, SendResult)> = want.iter().map(|(i, r)| (SenderId(*i), *r)).collect();
    ensure!(s.observation.completed == want, "{what}: completed {:?}, expected {want:?}", s.observation.completed);
    Ok(())
}

/// DIFF-INET-13: killed busy, a caller blocked on its reply and two
/// senders suspended behind it (S2, then S3): their retries return
/// `{error,einval}` at once, the first suspended last (DIFF-INET-1's
/// order: S3, then S2); S1 `{error,closed}` at once on 27 and 29, before
/// the retries, and on 25 once its INET_CLOSE_TIMEOUT ran out (driven to
/// by quiesce steps, bounded). The peer reads a prefix of the stream, then
/// EOF. (Measured so on every release outside the adapter too: three
/// suspended senders, then the kill, 3 of 3 runs each; through the
/// adapter 16 of 16 runs on 27 and 29.)
pub fn busy_caller_closed_and_suspended_sender_einval(rel: Option<&str>) -> R {
    let f = inet_factory(rel)?;
    let mut c = Case::on(f, setup(busy_opts(), 4))?;
    c.step(send(0, 40000, 1))?;
    let caller_since = Instant::now();
    let s = c.step(send(1, 100, 2))?;
    expect_reply(&s, Reply::Sent(None), "S1's send onto the busy port")?;
    c.step(send(2, 10, 3))?;
    let s = c.step(send(3, 10, 4))?;
    use SenderStatus::{Idle, Suspended, Waiting};
    expect_senders(&s, &[Idle, Waiting, Suspended, Suspended], "S1 blocked, S2 and S3 suspended")?;
    let ports = s.observation.ports;
    let s = killed(&mut c, ports)?;
    let einval = SendResult::Error(Posix::Einval);
    if otp25(rel) {
        expect_completed_in_order(&s, &[(3, einval), (2, einval)], "kill_port, OTP 25")?;
        expect_senders(&s, &[Idle, Waiting, Idle, Idle], "kill_port, OTP 25: S1 waits for INET_CLOSE_TIMEOUT")?;
        let got = peer_reads_to_eof(&mut c)?;
        println!("  the peer read {got} bytes, then EOF, S1 still waiting");
        let (r, at) = quiesce_until_completed(&mut c, 1, caller_since)?;
        ensure!(r == SendResult::Error(Posix::Closed), "S1 returned {r:?} on the killed port");
        ensure!(
            at >= FALLBACK_AT_LEAST,
            "S1 returned {} ms after its send: sooner than INET_CLOSE_TIMEOUT",
            at.as_millis()
        );
    } else {
        expect_completed_in_order(
            &s,
            &[(1, SendResult::Error(Posix::Closed)), (3, einval), (2, einval)],
            "kill_port, OTP 27+",
        )?;
        expect_senders(&s, &[Idle; 4], "kill_port, OTP 27+")?;
        peer_reads_to_eof(&mut c)?;
    }
    let mut stream = payload(1, Bytes(40000));
    stream.extend(payload(2, Bytes(100)));
    ensure!(c.peer.len() < stream.len(), "the peer read all {} bytes: nothing was dropped", c.peer.len());
    ensure!(c.peer == stream[..c.peer.len()], "the peer's bytes are not a prefix of the stream");
    later_calls_find_it_closed(&mut c, 2, ports - 1)?;

    let mut ops = vec![send(0, 40000, 1), send(1, 100, 2), send(2, 10, 3), send(3, 10, 4), Op::QueueSize, Op::KillPort];
    ops.extend(after_kill(5));
    lockstep(f, &setup(busy_opts(), 4), &ops)?;
    Ok(())
}

/// A reader waiting on a port killed busy is never answered: inet_drv's
/// stop (tcp_close_check) answers a waiting recv `{error,closed}` only in
/// state INET_STATE_CONNECTED, which the busy flag (INET_F_BUSY) leaves,
/// and prim_inet's recv waits for the driver's answer alone. Measured on
/// 25, 27 and 29 outside the adapter too (the reader still in
/// prim_inet:recv0 6.5 s after the kill, with and without a sender
/// suspended; answered at once on an idle port and on one with output
/// queued below the high watermark).
/// The reader stays waiting in every later step, and the node resets
/// clean with it waiting (DIFF-INET-14; the lockstep checks the model
/// says so).
pub fn busy_reader_is_never_answered(rel: Option<&str>) -> R {
    let f = inet_factory(rel)?;
    let recv_wait = || Op::RecvWait { len: Bytes(100), timeout: None };
    let mut c = Case::on(f, setup(busy_opts(), 2))?;
    let s = c.step(recv_wait())?;
    ensure!(s.observation.reader == Reader::Waiting, "recv_wait 100: reader {:?}", s.observation.reader);
    c.step(send(0, 40000, 1))?;
    let s = c.step(send(1, 100, 2))?;
    use SenderStatus::{Idle, Waiting};
    expect_senders(&s, &[Idle, Waiting], "S1 blocked on the busy port")?;
    let ports = s.observation.ports;
    let s = killed(&mut c, ports)?;
    ensure!(s.observation.reader == Reader::Waiting, "kill_port on the busy port: reader {:?}", s.observation.reader);
    for _ in 0..3 {
        let s = c.step(Op::Quiesce)?;
        ensure!(s.observation.reader == Reader::Waiting, "after the kill: reader {:?}", s.observation.reader);
    }
    peer_reads_to_eof(&mut c)?;
    let s = c.step(Op::Recv)?;
    expect_reply(&s, Reply::Recv(Err(Posix::Closed)), "the owner's recv on the killed port")?;
    ensure!(s.observation.reader == Reader::Waiting, "after the owner's recv: reader {:?}", s.observation.reader);
    c.sut().reset().map_err(|e| format!("reset with the reader waiting on the killed port: {e}"))?;
    println!("  reset clean with the reader waiting");

    let mut ops = vec![recv_wait(), send(0, 40000, 1), send(1, 100, 2), Op::QueueSize, Op::KillPort, Op::Quiesce];
    ops.extend(after_kill(3));
    lockstep(f, &setup(busy_opts(), 2), &ops)?;
    Ok(())
}

/// DIFF-INET-13: killed busy with a caller blocked on its reply and no
/// sender suspended (the generator's `busy_with_caller`; also what
/// probe_port_killed_caller.erl's "suspended only" measured: its second
/// send, onto the queue the first left, crossed the high watermark and
/// blocked as the caller, WM-3): `{error,closed}` at once on 27 and 29,
/// on 25 when its INET_CLOSE_TIMEOUT runs out.
pub fn caller_alone_closed(rel: Option<&str>) -> R {
    let f = inet_factory(rel)?;
    let mut c = Case::on(f, setup(busy_opts(), 2))?;
    let s = c.step(send(0, 40000, 1))?;
    expect_reply(&s, Reply::Sent(Some(SendResult::Ok)), "S0's send onto the empty queue")?;
    let caller_since = Instant::now();
    let s = c.step(send(1, 100, 2))?;
    use SenderStatus::{Idle, Waiting};
    expect_senders(&s, &[Idle, Waiting], "S1 blocked in the caller's slot")?;
    let ports = s.observation.ports;
    let s = killed(&mut c, ports)?;
    if otp25(rel) {
        expect_completed(&s, &[], "kill_port, OTP 25")?;
        expect_senders(&s, &[Idle, Waiting], "kill_port, OTP 25: S1 waits for INET_CLOSE_TIMEOUT")?;
        let (r, at) = quiesce_until_completed(&mut c, 1, caller_since)?;
        ensure!(r == SendResult::Error(Posix::Closed), "S1 returned {r:?} on the killed port");
        ensure!(
            at >= FALLBACK_AT_LEAST,
            "S1 returned {} ms after its send: sooner than INET_CLOSE_TIMEOUT",
            at.as_millis()
        );
    } else {
        expect_completed(&s, &[(1, SendResult::Error(Posix::Closed))], "kill_port, OTP 27+")?;
        expect_senders(&s, &[Idle, Idle], "kill_port, OTP 27+")?;
    }
    peer_reads_to_eof(&mut c)?;
    ensure!(c.peer == payload(1, Bytes(40000))[..c.peer.len()], "the peer's bytes are not a prefix of S0's");
    later_calls_find_it_closed(&mut c, 0, ports - 1)?;

    let mut ops = vec![send(0, 40000, 1), send(1, 100, 2), Op::QueueSize, Op::KillPort];
    ops.extend(after_kill(3));
    lockstep(f, &setup(busy_opts(), 2), &ops)?;
    Ok(())
}

/// CL-5, RX-10: a reader waiting in `gen_tcp:recv(S, 100, infinity)`
/// returns `{error,closed}` in the kill's step, and is idle after it.
pub fn reader_waiting_returns_closed(rel: Option<&str>) -> R {
    let f = inet_factory(rel)?;
    let recv_wait = || Op::RecvWait { len: Bytes(100), timeout: None };
    let mut c = Case::on(f, setup(vec![], 1))?;
    let s = c.step(recv_wait())?;
    ensure!(s.observation.reader == Reader::Waiting, "recv_wait 100: reader {:?}", s.observation.reader);
    let s = c.step(Op::PeerWrite { len: Bytes(3), tag: 1 })?;
    ensure!(s.observation.reader == Reader::Waiting, "3 of 100 bytes: reader {:?}", s.observation.reader);
    let ports = s.observation.ports;
    let s = killed(&mut c, ports)?;
    ensure!(
        s.observation.reader == Reader::Returned(Err(Posix::Closed)),
        "kill_port: reader {:?}, expected it returned closed",
        s.observation.reader
    );
    let s = c.step(Op::Quiesce)?;
    ensure!(s.observation.reader == Reader::Idle, "the step after the kill: reader {:?}", s.observation.reader);
    let s = c.step(recv_wait())?;
    ensure!(
        s.observation.reader == Reader::Returned(Err(Posix::Closed)),
        "a recv_wait on the killed port: reader {:?}",
        s.observation.reader
    );
    later_calls_find_it_closed(&mut c, 0, ports - 1)?;

    let mut ops = vec![recv_wait(), Op::QueueSize, Op::KillPort, Op::Quiesce];
    ops.extend(after_kill(2));
    let out = lockstep(f, &setup(vec![], 1), &ops)?;
    ensure!(
        observed_at(&out, 2)?.reader == Reader::Returned(Err(Posix::Closed)),
        "lockstep: the kill's step: reader {:?}",
        observed_at(&out, 2)?.reader
    );
    Ok(())
}

/// The node is clean after a case with a kill, also when it ends with a
/// sender still waiting on the killed port (OTP 25: before its
/// INET_CLOSE_TIMEOUT ran out) and a reader returned: `reset` answers
/// clean, and the next case on the same node works as on a fresh one
/// (its port counted as before, nothing of the last case in its
/// observations). Then the same through the executor's node pool: a
/// lockstep case with the kill, and a next one on the node it reused.
pub fn node_clean_after_a_kill(rel: Option<&str>) -> R {
    // A pool of its own: the dirty resets counted below are this trial's.
    let erl = rel.map(suite::capability::otp_chroot_erl);
    let own = BeamFactory::new(Backend::Inet, erl.as_deref()).map_err(|e| e.to_string())?;
    let f = &own;
    let mut c = Case::on(f, setup(busy_opts(), 3))?;
    let ports = c.step(Op::QueueSize)?.observation.ports;
    c.step(send(0, 40000, 1))?;
    c.step(send(1, 100, 2))?;
    c.step(send(2, 100, 3))?;
    let s = killed(&mut c, ports)?;
    println!("  the case ends with senders {:?}", s.observation.senders);
    let t = Instant::now();
    c.sut().reset().map_err(|e| format!("reset after a case with a kill: {e}"))?;
    println!("  reset clean in {} ms", t.elapsed().as_millis());
    for round in 0..2 {
        c.sut().next_case(&setup(busy_opts(), 3)).map_err(|e| e.to_string())?;
        println!("  next case (round {round}) on the same node");
        let s = c.step(Op::QueueSize)?;
        ensure!(
            s.observation.ports == ports,
            "the next case starts with ports {}, {ports} before",
            s.observation.ports
        );
        expect_senders(&s, &[SenderStatus::Idle; 3], "the next case's first step")?;
        expect_completed(&s, &[], "the next case's first step")?;
        let s = c.step(send(0, 10, 5))?;
        expect_reply(&s, Reply::Sent(Some(SendResult::Ok)), "the next case's send")?;
        let s = c.step(Op::Mailbox)?;
        expect_reply(&s, Reply::Mailbox(vec![]), "the next case's mailbox")?;
        // A quick case every round: the waiting sender of the first
        // case, if it was not gone, would show by now on OTP 25.
        let s = killed(&mut c, ports)?;
        println!("  killed again: senders {:?}", s.observation.senders);
        c.sut().reset().map_err(|e| format!("reset after round {round}: {e}"))?;
    }

    // Through the executor's node pool: a lockstep case that ends with the
    // kill (OTP 25: S1 still waiting), whose reset must be clean, and a
    // next case, on the node it left when this thread's pool reuses it.
    let dirty = f.pool().stats().dirty;
    let ops = [send(0, 40000, 1), send(1, 100, 2), Op::KillPort];
    let out = lockstep(f, &setup(busy_opts(), 2), &ops)?;
    println!("  the lockstep case ends with senders {:?}", observed_at(&out, 2)?.senders);
    let ops = [send(0, 100, 1), Op::PeerRead { max: Bytes(16384) }, Op::QueueSize];
    let out = lockstep(f, &setup(busy_opts(), 2), &ops)?;
    ensure!(observed_at(&out, 2)?.completed.is_empty(), "the next case saw {:?}", observed_at(&out, 2)?.completed);
    let stats = f.pool().stats();
    ensure!(stats.dirty == dirty, "{} dirty reset(s) in the pool: {stats:?}", stats.dirty - dirty);
    println!("  pool: {stats:?}");
    Ok(())
}

/// The socket backend's socket is not a port: it declares no
/// `kill_port` and answers one it is sent `unsupported`, with a reason,
/// and the session goes on.
pub fn socket_backend_unsupported() -> R {
    let f = factory(Backend::Socket)?;
    ensure!(!f.abilities().kill_port, "the socket backend's factory declares kill_port");
    let mut c = Case::new(Backend::Socket, setup(vec![], 1))?;
    ensure!(!c.sut().ready().abilities().kill_port, "the socket backend's ready declares kill_port");
    match c.sut().apply(&Op::KillPort) {
        Err(e) if unsupported_reason(&e).is_some() => println!("  {e}"),
        other => return Err(format!("socket backend kill_port: {other:?}")),
    }
    let s = c.step(send(0, 10, 1))?;
    expect_reply(&s, Reply::Sent(Some(SendResult::Ok)), "a send after the unsupported kill_port")?;
    Ok(())
}
