//! The reader of `recv_wait`: a process other than the owner blocked in
//! `gen_tcp:recv(S, Len, infinity)` on the inet driver (RX-7..RX-10), and
//! with a timeout, `gen_tcp:recv(S, Len, T)` (RX-11, below). Its
//! result must be in the observation of exactly the step in which the recv
//! could return (settling waits for the reader), and the reader idle after
//! it. The rounds of `len_then_leftover` repeat the same steps to catch a
//! result that lands a step late.

use crate::support::{factory, inet_factory, lockstep, observed_at, send, setup, Case, R};
use harness::executor::CaseOutcome;
use harness::sut::beam::Backend;
use harness::sut::external::unsupported_reason;
use harness::sut::{Step, SutFactory, SystemUnderTest};
use reference::observation::{Posix, Reader, Reply, SendResult, SenderStatus};
use reference::op::{Op, Setup, ShutdownHow};
use reference::options::{Opt, Timeout};
use reference::units::{payload, Bytes, Millis, SenderId};
use std::time::{Duration, Instant};

/// Rounds of `len_then_leftover`.
const ROUNDS: u16 = 20;

fn recv_wait(len: usize) -> Op {
    Op::RecvWait { len: Bytes(len), timeout: None }
}

fn peer_write(len: usize, tag: u16) -> Op {
    Op::PeerWrite { len: Bytes(len), tag }
}

fn expect_reader(s: &Step, want: Reader, what: &str) -> R {
    ensure!(s.observation.reader == want, "{what}: reader {:?}, expected {want:?}", s.observation.reader);
    Ok(())
}

fn expect_reply(s: &Step, want: Reply, what: &str) -> R {
    ensure!(s.observation.reply == want, "{what}: reply {:?}, expected {want:?}", s.observation.reply);
    Ok(())
}

/// RX-7, RX-8: recv_wait 5 waits through 3 bytes; the owner's recv meets
/// `ealready`; 5 more bytes return exactly 5 in that step; the reader is
/// idle in the next; the 3 left over come with the owner's recv.
pub fn len_then_leftover() -> R {
    let mut c = Case::new(Backend::Inet, setup(vec![], 1))?;
    for round in 0..ROUNDS {
        let (t1, t2) = (2 * round + 1, 2 * round + 2);
        let mut stream = payload(t1, Bytes(3));
        stream.extend(payload(t2, Bytes(5)));
        let s = c.step(recv_wait(5))?;
        expect_reply(&s, Reply::None, "recv_wait")?;
        expect_reader(&s, Reader::Waiting, "recv_wait 5 with nothing there")?;
        let s = c.step(peer_write(3, t1))?;
        expect_reader(&s, Reader::Waiting, "3 of 5 bytes arrived")?;
        let s = c.step(Op::Recv)?;
        expect_reply(&s, Reply::Recv(Err(Posix::Ealready)), "the owner's recv while the reader waits")?;
        expect_reader(&s, Reader::Waiting, "after the owner's recv")?;
        let s = c.step(peer_write(5, t2))?;
        expect_reader(&s, Reader::Returned(Ok(stream[..5].to_vec())), &format!("round {round}: 8 of 5 arrived"))?;
        let s = c.step(Op::Quiesce)?;
        expect_reader(&s, Reader::Idle, "the step after the reader returned")?;
        let s = c.step(Op::Recv)?;
        expect_reply(&s, Reply::Recv(Ok(stream[5..].to_vec())), "the leftover")?;
        expect_reader(&s, Reader::Idle, "the owner's recv")?;
        let s = c.step(Op::Recv)?;
        expect_reply(&s, Reply::Recv(Err(Posix::Timeout)), "nothing left")?;
    }
    Ok(())
}

/// RX-7: recv_wait 0 returns the first bytes to arrive, all of them.
pub fn len_zero() -> R {
    let mut c = Case::new(Backend::Inet, setup(vec![], 1))?;
    let s = c.step(recv_wait(0))?;
    expect_reader(&s, Reader::Waiting, "recv_wait 0 with nothing there")?;
    let s = c.step(peer_write(7, 1))?;
    expect_reader(&s, Reader::Returned(Ok(payload(1, Bytes(7)))), "7 bytes arrived")?;
    let s = c.step(Op::Recv)?;
    expect_reply(&s, Reply::Recv(Err(Posix::Timeout)), "nothing left")?;
    expect_reader(&s, Reader::Idle, "the step after")?;
    Ok(())
}

/// RX-7: with the bytes already there the recv returns in its own step,
/// and only what it asked for.
pub fn already_there() -> R {
    let mut c = Case::new(Backend::Inet, setup(vec![], 1))?;
    c.step(peer_write(10, 3))?;
    let s = c.step(recv_wait(4))?;
    expect_reply(&s, Reply::None, "recv_wait")?;
    expect_reader(&s, Reader::Returned(Ok(payload(3, Bytes(10))[..4].to_vec())), "recv_wait 4 of 10 there")?;
    let s = c.step(recv_wait(6))?;
    expect_reader(&s, Reader::Returned(Ok(payload(3, Bytes(10))[4..].to_vec())), "recv_wait 6 of the 6 left")?;
    let s = c.step(Op::Recv)?;
    expect_reply(&s, Reply::Recv(Err(Posix::Timeout)), "nothing left")?;
    expect_reader(&s, Reader::Idle, "the step after")?;
    Ok(())
}

/// RX-9: the peer's FIN before `len` bytes ends the recv with `closed`.
pub fn peer_fin() -> R {
    let mut c = Case::new(Backend::Inet, setup(vec![], 1))?;
    c.step(recv_wait(5))?;
    let s = c.step(peer_write(3, 1))?;
    expect_reader(&s, Reader::Waiting, "3 of 5 bytes arrived")?;
    let s = c.step(Op::PeerShutdown)?;
    expect_reader(&s, Reader::Returned(Err(Posix::Closed)), "the peer's FIN")?;
    let s = c.step(Op::Recv)?;
    println!("  the owner's recv after it: {:?}", s.observation.reply);
    expect_reader(&s, Reader::Idle, "the step after")?;
    Ok(())
}

/// RX-9, RS-1: the peer's RST ends the recv with `closed`, or with
/// `econnreset` under `show_econnreset`.
pub fn peer_reset() -> R {
    for (show, want) in [(false, Posix::Closed), (true, Posix::Econnreset)] {
        println!("  show_econnreset {show}");
        let mut c = Case::new(Backend::Inet, Setup { show_econnreset: show, ..setup(vec![], 1) })?;
        c.step(recv_wait(5))?;
        let s = c.step(peer_write(3, 1))?;
        expect_reader(&s, Reader::Waiting, "3 of 5 bytes arrived")?;
        let s = c.step(Op::PeerReset)?;
        expect_reader(&s, Reader::Returned(Err(want)), "the peer's RST")?;
        let s = c.step(Op::Quiesce)?;
        expect_reader(&s, Reader::Idle, "the step after")?;
    }
    Ok(())
}

/// RX-10: the owner's close ends the recv with `closed`, in the close's step.
pub fn owner_close() -> R {
    let mut c = Case::new(Backend::Inet, setup(vec![], 1))?;
    let s = c.step(recv_wait(5))?;
    expect_reader(&s, Reader::Waiting, "recv_wait 5")?;
    let ports = s.observation.ports;
    let s = c.step(Op::Close)?;
    expect_reply(&s, Reply::Closed(Ok(())), "close")?;
    expect_reader(&s, Reader::Returned(Err(Posix::Closed)), "the owner's close")?;
    ensure!(s.observation.ports == ports - 1, "ports {} after close, {ports} before", s.observation.ports);
    let s = c.step(Op::Quiesce)?;
    expect_reader(&s, Reader::Idle, "the step after")?;
    Ok(())
}

/// RX-10: shutdown write leaves the recv waiting (it still returns the
/// peer's bytes); shutdown read_write ends it with `closed`.
pub fn owner_shutdown() -> R {
    let mut c = Case::new(Backend::Inet, setup(vec![], 1))?;
    c.step(recv_wait(5))?;
    let s = c.step(Op::Shutdown { how: ShutdownHow::Write })?;
    expect_reply(&s, Reply::Shutdown(Ok(())), "shutdown write")?;
    expect_reader(&s, Reader::Waiting, "shutdown write")?;
    let s = c.step(peer_write(7, 1))?;
    expect_reader(&s, Reader::Returned(Ok(payload(1, Bytes(7))[..5].to_vec())), "7 of 5 after shutdown write")?;

    let mut c = Case::new(Backend::Inet, setup(vec![], 1))?;
    c.step(recv_wait(5))?;
    let s = c.step(Op::Shutdown { how: ShutdownHow::ReadWrite })?;
    expect_reply(&s, Reply::Shutdown(Ok(())), "shutdown read_write")?;
    expect_reader(&s, Reader::Returned(Err(Posix::Closed)), "shutdown read_write")?;
    let s = c.step(Op::Quiesce)?;
    expect_reader(&s, Reader::Idle, "the step after")?;
    Ok(())
}

/// A reader still waiting when the case ends is gone after `reset` (the
/// node comes back clean), and nothing of it reaches the next case.
pub fn reset_ends_the_reader() -> R {
    let mut c = Case::new(Backend::Inet, setup(vec![], 1))?;
    c.step(recv_wait(5))?;
    let s = c.step(peer_write(3, 1))?;
    expect_reader(&s, Reader::Waiting, "3 of 5 bytes arrived")?;
    c.sut().reset().map_err(|e| format!("reset with the reader waiting: {e}"))?;
    c.sut().next_case(&setup(vec![], 1)).map_err(|e| e.to_string())?;
    println!("  next case on the same node");
    let s = c.step(peer_write(5, 2))?;
    expect_reader(&s, Reader::Idle, "the next case's first step")?;
    let s = c.step(Op::Recv)?;
    expect_reply(&s, Reply::Recv(Ok(payload(2, Bytes(5)))), "the next case's bytes")?;
    let s = c.step(recv_wait(2))?;
    expect_reader(&s, Reader::Waiting, "the next case's recv_wait")?;
    let s = c.step(peer_write(2, 3))?;
    expect_reader(&s, Reader::Returned(Ok(payload(3, Bytes(2)))), "the next case's reader")?;
    c.sut().reset().map_err(|e| format!("reset after the reader returned: {e}"))?;
    Ok(())
}

/// The adapter's `ready.abilities` are what `BeamFactory` declares
/// (`recv_wait` on the inet driver only), and the socket backend answers
/// `unsupported` to a recv_wait it is never sent.
pub fn abilities(b: Backend) -> R {
    let f = factory(b)?;
    let mut c = Case::new(b, setup(vec![], 1))?;
    let declared = c.sut().ready().abilities();
    ensure!(declared == f.abilities(), "ready declares {declared:?}, the factory {:?}", f.abilities());
    ensure!(declared.recv_wait == (b == Backend::Inet), "recv_wait {}", declared.recv_wait);
    if b == Backend::Socket {
        let mut c = c;
        match c.sut().apply(&recv_wait(5)) {
            Err(e) if unsupported_reason(&e).is_some() => println!("  {e}"),
            other => return Err(format!("socket backend recv_wait: {other:?}")),
        }
    }
    Ok(())
}

// --- RX-11: the reader's gen_tcp:recv(S, Len, T) -------------------------------------------------
//
// Each trial drives the adapter op by op (what each step reports, and
// when, against the real time that passed), then runs the same ops in
// lockstep with the model (`harness::executor::run_case`), on OTP 25, 27
// and 29. The recv's timer runs on the node's real clock: it may fire in
// any step that ends T ms or more after the recv was made (the model
// allows that on a real clock), and must have fired by the end of the
// `advance_time` that makes it due by the model's clock.

/// A trial on one release (`None`: OTP 25, the `erl` on PATH).
pub type OnRelease = fn(Option<&str>) -> R;

/// What a recv returned.
type RecvResult = Result<Vec<u8>, Posix>;

fn timed(len: usize, ms: u64) -> Op {
    Op::RecvWait { len: Bytes(len), timeout: Some(Millis(ms)) }
}

fn advance(ms: u64) -> Op {
    Op::AdvanceTime { by: Millis(ms) }
}

/// After a step of a timed recv that has not got its bytes: waiting, or,
/// once `ms` of real time have passed since `made` (before its op was
/// sent), returned `{error,timeout}` already. Whether it returned.
fn waits_or_timed_out(s: &Step, made: Instant, ms: u64, what: &str) -> Result<bool, String> {
    let elapsed = made.elapsed();
    match &s.observation.reader {
        Reader::Waiting => Ok(false),
        Reader::Returned(Err(Posix::Timeout)) if elapsed >= Duration::from_millis(ms) => {
            println!("  {what}: the real timer fired already ({} ms after the recv)", elapsed.as_millis());
            Ok(true)
        }
        r => Err(format!(
            "{what}: reader {r:?} {} ms after the recv of timeout {ms} ms, expected waiting",
            elapsed.as_millis()
        )),
    }
}

/// The step of the `advance_time` that makes the recv due: it returned
/// `{error,timeout}` there unless it had already, and not before `ms` of
/// real time had passed.
fn timed_out_by_now(s: &Step, returned: bool, made: Instant, ms: u64, what: &str) -> R {
    if returned {
        return expect_reader(s, Reader::Idle, what);
    }
    expect_reader(s, Reader::Returned(Err(Posix::Timeout)), what)?;
    let elapsed = made.elapsed();
    ensure!(
        elapsed >= Duration::from_millis(ms),
        "{what}: the recv of timeout {ms} ms returned {} ms after it was made",
        elapsed.as_millis()
    );
    Ok(())
}

/// Each return of the reader in the case: the index of the op in whose
/// step it came, and what it returned.
fn reader_returns(out: &CaseOutcome) -> Vec<(Option<usize>, RecvResult)> {
    out.trace
        .iter()
        .filter_map(|t| match t.observed.as_ref().map(|o| &o.reader) {
            Some(Reader::Returned(r)) => Some((t.op_index, r.clone())),
            _ => None,
        })
        .collect()
}

/// The reader returned `want`, once each, in order, each by the step of
/// the op index given (on the real clock a timer may fire earlier).
fn returned_by(out: &CaseOutcome, want: &[(usize, RecvResult)]) -> R {
    let got = reader_returns(out);
    let brief = |v: &[(Option<usize>, RecvResult)]| -> Vec<String> {
        v.iter().map(|(i, r)| format!("op {i:?}: {}", brief_result(r))).collect()
    };
    ensure!(
        got.len() == want.len(),
        "lockstep: the reader returned {:?}, expected {} returns",
        brief(&got),
        want.len()
    );
    for ((at, r), (by, w)) in got.iter().zip(want) {
        ensure!(
            r == w && at.is_some_and(|a| a <= *by),
            "lockstep: the reader returned {:?}, expected {} by op {by}",
            brief(&got),
            brief_result(w)
        );
    }
    Ok(())
}

fn brief_result(r: &RecvResult) -> String {
    match r {
        Ok(d) => format!("Ok({} bytes)", d.len()),
        Err(e) => format!("Err({e:?})"),
    }
}

/// RX-11: `recv(S, 0, 30)` with nothing arriving waits; the
/// `advance_time 40` that makes it due by the model's clock ends with its
/// `{error,timeout}` (the adapter waits for the real timer), not before
/// 30 ms of real time; the owner's recv after finds nothing.
pub fn timeout_len_zero_times_out_once_advance_time_passes_its_deadline(rel: Option<&str>) -> R {
    let f = inet_factory(rel)?;
    let mut c = Case::on(f, setup(vec![], 1))?;
    let made = Instant::now();
    let s = c.step(timed(0, 30))?;
    expect_reply(&s, Reply::None, "recv_wait 0 within 30")?;
    let returned = waits_or_timed_out(&s, made, 30, "recv_wait 0 within 30, nothing there")?;
    let s = c.step(advance(40))?;
    timed_out_by_now(&s, returned, made, 30, "advance_time 40 past the deadline")?;
    let s = c.step(Op::Recv)?;
    expect_reply(&s, Reply::Recv(Err(Posix::Timeout)), "the owner's recv after")?;
    expect_reader(&s, Reader::Idle, "the owner's recv after")?;

    let ops = [timed(0, 30), advance(40), Op::Recv];
    let out = lockstep(f, &setup(vec![], 1), &ops)?;
    returned_by(&out, &[(1, Err(Posix::Timeout))])
}

/// RX-7, RX-11: an `advance_time` short of the deadline waits for nothing
/// and leaves the recv waiting; its bytes then complete it as without a
/// timeout.
pub fn timeout_not_due_leaves_the_reader_waiting_for_its_bytes(rel: Option<&str>) -> R {
    let f = inet_factory(rel)?;
    let mut c = Case::on(f, setup(vec![], 1))?;
    let made = Instant::now();
    let s = c.step(timed(5, 3000))?;
    let mut returned = waits_or_timed_out(&s, made, 3000, "recv_wait 5 within 3000")?;
    let t = Instant::now();
    let s = c.step(advance(1000))?;
    ensure!(t.elapsed() < Duration::from_millis(1000), "advance_time 1000 short of the deadline waited");
    returned = returned || waits_or_timed_out(&s, made, 3000, "advance_time 1000, short of the deadline")?;
    if returned {
        println!("  (the machine took 3 s: the rest is not checked op by op)");
    } else {
        let s = c.step(peer_write(7, 1))?;
        expect_reader(&s, Reader::Returned(Ok(payload(1, Bytes(7))[..5].to_vec())), "7 of 5 before the deadline")?;
        let s = c.step(Op::Recv)?;
        expect_reply(&s, Reply::Recv(Ok(payload(1, Bytes(7))[5..].to_vec())), "the 2 left over")?;
    }

    let ops = [timed(5, 3000), advance(1000), peer_write(7, 1), Op::Recv];
    let out = lockstep(f, &setup(vec![], 1), &ops)?;
    if reader_returns(&out).first().map(|(_, r)| r) == Some(&Err(Posix::Timeout)) {
        println!("  (lockstep: the machine took 3 s before the bytes came)");
        return Ok(());
    }
    returned_by(&out, &[(2, Ok(payload(1, Bytes(7))[..5].to_vec()))])?;
    ensure!(
        observed_at(&out, 3)?.reply == Reply::Recv(Ok(payload(1, Bytes(7))[5..].to_vec())),
        "lockstep: the owner's recv after: {:?}",
        observed_at(&out, 3)?.reply
    );
    Ok(())
}

/// RX-11: `recv(S, 10, 30)` over 4 bytes times out, and the 4 bytes stay
/// in the driver's buffer: the owner's next recv returns them. Twice: the
/// bytes there before the recv was made, and arriving while it waits.
pub fn timeout_leaves_the_bytes_it_gathered_for_the_owners_recv(rel: Option<&str>) -> R {
    let f = inet_factory(rel)?;
    let mut c = Case::on(f, setup(vec![], 1))?;
    c.step(peer_write(4, 1))?;
    let made = Instant::now();
    let s = c.step(timed(10, 30))?;
    let returned = waits_or_timed_out(&s, made, 30, "recv_wait 10 within 30 over 4 bytes")?;
    let s = c.step(advance(40))?;
    timed_out_by_now(&s, returned, made, 30, "advance_time 40 past the deadline")?;
    let s = c.step(Op::Recv)?;
    expect_reply(&s, Reply::Recv(Ok(payload(1, Bytes(4)))), "the owner's recv after the timeout")?;
    let s = c.step(Op::Recv)?;
    expect_reply(&s, Reply::Recv(Err(Posix::Timeout)), "nothing left")?;

    let made = Instant::now();
    let s = c.step(timed(10, 30))?;
    let mut returned = waits_or_timed_out(&s, made, 30, "recv_wait 10 within 30, nothing there")?;
    let s = c.step(peer_write(4, 2))?;
    returned = returned || waits_or_timed_out(&s, made, 30, "4 of 10 arrived")?;
    let s = c.step(advance(40))?;
    timed_out_by_now(&s, returned, made, 30, "advance_time 40 past the deadline")?;
    let s = c.step(Op::Recv)?;
    expect_reply(&s, Reply::Recv(Ok(payload(2, Bytes(4)))), "the owner's recv of the 4 gathered while it waited")?;

    let ops = [peer_write(4, 1), timed(10, 30), advance(40), Op::Recv, Op::Recv];
    let out = lockstep(f, &setup(vec![], 1), &ops)?;
    returned_by(&out, &[(2, Err(Posix::Timeout))])?;
    ensure!(
        observed_at(&out, 3)?.reply == Reply::Recv(Ok(payload(1, Bytes(4)))),
        "lockstep: the owner's recv after the timeout: {:?}",
        observed_at(&out, 3)?.reply
    );
    let ops = [timed(10, 30), peer_write(4, 2), advance(40), Op::Recv];
    let out = lockstep(f, &setup(vec![], 1), &ops)?;
    returned_by(&out, &[(2, Err(Posix::Timeout))])?;
    ensure!(
        observed_at(&out, 3)?.reply == Reply::Recv(Ok(payload(2, Bytes(4)))),
        "lockstep: the owner's recv of the 4 gathered: {:?}",
        observed_at(&out, 3)?.reply
    );
    Ok(())
}

/// RX-11: a timeout of 0 answers in the recv's own step, after one read:
/// `{error,timeout}` with nothing there; the bytes when Len of them are
/// there (exactly Len; a Len 0 recv all there is). DIFF-INET-12: a
/// `recv(S, 10, 0)` over 4 bytes times out and the driver keeps asking
/// for the 6 it missed (its `i_remain`, which the timer's timeout resets
/// and a timeout of 0 does not): the owner's `recv(S, 0, 0)` then reads
/// for those 6, answers `{error,timeout}` while they have not come, and
/// all 10 once they have. Op by op, then in lockstep.
pub fn timeout_zero_answers_at_once_after_one_read(rel: Option<&str>) -> R {
    let f = inet_factory(rel)?;
    let mut c = Case::on(f, setup(vec![], 1))?;
    let s = c.step(timed(0, 0))?;
    expect_reader(&s, Reader::Returned(Err(Posix::Timeout)), "recv_wait 0 within 0, nothing there")?;
    let s = c.step(timed(10, 0))?;
    expect_reader(&s, Reader::Returned(Err(Posix::Timeout)), "recv_wait 10 within 0, nothing there")?;
    c.step(peer_write(10, 1))?;
    let s = c.step(timed(5, 0))?;
    expect_reader(&s, Reader::Returned(Ok(payload(1, Bytes(10))[..5].to_vec())), "recv_wait 5 within 0 over 10")?;
    let s = c.step(timed(0, 0))?;
    expect_reader(&s, Reader::Returned(Ok(payload(1, Bytes(10))[5..].to_vec())), "recv_wait 0 within 0 over 5")?;
    let s = c.step(Op::Recv)?;
    expect_reply(&s, Reply::Recv(Err(Posix::Timeout)), "nothing left")?;

    // DIFF-INET-12: the owner's recv after a timeout of 0 over some of Len
    // goes on with the request it left open.
    c.step(peer_write(4, 2))?;
    let s = c.step(timed(10, 0))?;
    expect_reader(&s, Reader::Returned(Err(Posix::Timeout)), "recv_wait 10 within 0 over 4")?;
    let s = c.step(Op::Recv)?;
    expect_reply(&s, Reply::Recv(Err(Posix::Timeout)), "the owner's recv with 6 of the 10 missing")?;
    c.step(peer_write(6, 3))?;
    let mut ten = payload(2, Bytes(4));
    ten.extend(payload(3, Bytes(6)));
    let s = c.step(Op::Recv)?;
    expect_reply(&s, Reply::Recv(Ok(ten)), "the owner's recv once the 6 came: the 10 of the recv that timed out")?;
    let s = c.step(Op::Recv)?;
    expect_reply(&s, Reply::Recv(Err(Posix::Timeout)), "nothing left")?;

    let open = [peer_write(4, 2), timed(10, 0), Op::Recv, peer_write(6, 3), Op::Recv, Op::Recv];
    lockstep(f, &setup(vec![], 1), &open)?;
    let ops = [timed(0, 0), timed(10, 0), peer_write(10, 1), timed(5, 0), timed(0, 0), Op::Recv];
    let out = lockstep(f, &setup(vec![], 1), &ops)?;
    returned_by(
        &out,
        &[
            (0, Err(Posix::Timeout)),
            (1, Err(Posix::Timeout)),
            (3, Ok(payload(1, Bytes(10))[..5].to_vec())),
            (4, Ok(payload(1, Bytes(10))[5..].to_vec())),
        ],
    )
}

/// RX-11: what a timed-out recv left buffered comes first for the next
/// reader too: Len of them when there are enough (in the recv's own
/// step), and otherwise the recv reads only what they miss.
pub fn timeout_held_bytes_come_first_for_the_next_reader(rel: Option<&str>) -> R {
    let f = inet_factory(rel)?;
    let mut c = Case::on(f, setup(vec![], 1))?;
    let (three, five) = (payload(1, Bytes(3)), payload(2, Bytes(5)));
    let mut four = three[2..].to_vec();
    four.extend_from_slice(&five[..3]);
    c.step(peer_write(3, 1))?;
    let made = Instant::now();
    let s = c.step(timed(5, 30))?;
    let returned = waits_or_timed_out(&s, made, 30, "recv_wait 5 within 30 over 3")?;
    let s = c.step(advance(40))?;
    timed_out_by_now(&s, returned, made, 30, "advance_time 40 past the deadline")?;
    let s = c.step(recv_wait(2))?;
    expect_reader(&s, Reader::Returned(Ok(three[..2].to_vec())), "recv_wait 2 over the 3 held")?;
    let s = c.step(recv_wait(4))?;
    expect_reader(&s, Reader::Waiting, "recv_wait 4 over the 1 held")?;
    let s = c.step(peer_write(5, 2))?;
    expect_reader(&s, Reader::Returned(Ok(four.clone())), "5 more under recv_wait 4 over 1 held")?;
    let s = c.step(Op::Recv)?;
    expect_reply(&s, Reply::Recv(Ok(five[3..].to_vec())), "the 2 left over")?;
    let s = c.step(Op::Recv)?;
    expect_reply(&s, Reply::Recv(Err(Posix::Timeout)), "nothing left")?;

    let ops = [peer_write(3, 1), timed(5, 30), advance(40), recv_wait(2), recv_wait(4), peer_write(5, 2), Op::Recv];
    let out = lockstep(f, &setup(vec![], 1), &ops)?;
    returned_by(&out, &[(2, Err(Posix::Timeout)), (3, Ok(three[..2].to_vec())), (5, Ok(four))])?;
    ensure!(
        observed_at(&out, 6)?.reply == Reply::Recv(Ok(five[3..].to_vec())),
        "lockstep: the 2 left over: {:?}",
        observed_at(&out, 6)?.reply
    );
    Ok(())
}

/// RX-11, TO-1: the recv's timer and a send timer run each on its own: a
/// reader in `recv(S, 0, 100)` and a sender suspended on the busy port
/// with send_timeout 300; `advance_time 150` ends the recv, and the
/// sender waits on; `advance_time 200` more ends the send. In lockstep.
pub fn timeout_and_send_timeout_fire_each_on_its_own(rel: Option<&str>) -> R {
    let f = inet_factory(rel)?;
    let opts = vec![Opt::HighWatermark(20000), Opt::LowWatermark(10000), Opt::SendTimeout(Timeout::After(Millis(300)))];
    let ops = [timed(0, 100), send(0, 40000, 1), send(1, 100, 2), advance(150), advance(200)];
    let out = lockstep(f, &setup(opts, 2), &ops)?;
    returned_by(&out, &[(3, Err(Posix::Timeout))])?;
    ensure!(
        observed_at(&out, 2)?.senders.get(1) == Some(&SenderStatus::Waiting),
        "the second send did not wait on the busy port: {:?}",
        observed_at(&out, 2)?.senders
    );
    let timed_out = |i: usize| -> Result<bool, String> {
        let o = observed_at(&out, i)?;
        Ok(o.completed.contains(&(SenderId(1), SendResult::Error(Posix::Timeout)))
            || (i == 2 && o.reply == Reply::Sent(Some(SendResult::Error(Posix::Timeout)))))
    };
    let at = (2..=4).map(|i| timed_out(i).map(|t| t.then_some(i))).collect::<Result<Vec<_>, _>>()?;
    let at = at.into_iter().flatten().next();
    ensure!(at.is_some(), "TO-1: the send's {{error,timeout}} did not come by the second advance_time");
    let reader_at = reader_returns(&out)[0].0;
    println!("  the recv timed out in op {reader_at:?}'s step, the send in op {at:?}'s");
    ensure!(reader_at <= at, "the send (300 ms) timed out before the recv (100 ms)");
    Ok(())
}
