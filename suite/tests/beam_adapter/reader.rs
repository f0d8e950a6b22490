//! The reader of `recv_wait`: a process other than the owner blocked in
//! `gen_tcp:recv(S, Len, infinity)` on the inet driver (RX-7..RX-10). Its
//! result must be in the observation of exactly the step in which the recv
//! could return (settling waits for the reader), and the reader idle after
//! it. The rounds of `len_then_leftover` repeat the same steps to catch a
//! result that lands a step late.

use crate::support::{factory, setup, Case, R};
use harness::sut::beam::Backend;
use harness::sut::external::unsupported_reason;
use harness::sut::{Step, SutFactory, SystemUnderTest};
use reference::observation::{Posix, Reader, Reply};
use reference::op::{Op, Setup, ShutdownHow};
use reference::units::{payload, Bytes};

/// Rounds of `len_then_leftover`.
const ROUNDS: u16 = 20;

fn recv_wait(len: usize) -> Op {
    Op::RecvWait { len: Bytes(len) }
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
    c.sut.reset().map_err(|e| format!("reset with the reader waiting: {e}"))?;
    c.sut.next_case(&setup(vec![], 1)).map_err(|e| e.to_string())?;
    println!("  next case on the same node");
    let s = c.step(peer_write(5, 2))?;
    expect_reader(&s, Reader::Idle, "the next case's first step")?;
    let s = c.step(Op::Recv)?;
    expect_reply(&s, Reply::Recv(Ok(payload(2, Bytes(5)))), "the next case's bytes")?;
    let s = c.step(recv_wait(2))?;
    expect_reader(&s, Reader::Waiting, "the next case's recv_wait")?;
    let s = c.step(peer_write(2, 3))?;
    expect_reader(&s, Reader::Returned(Ok(payload(3, Bytes(2)))), "the next case's reader")?;
    c.sut.reset().map_err(|e| format!("reset after the reader returned: {e}"))?;
    Ok(())
}

/// The adapter's `ready.abilities` are what `BeamFactory` declares
/// (`recv_wait` on the inet driver only), and the socket backend answers
/// `unsupported` to a recv_wait it is never sent.
pub fn abilities(b: Backend) -> R {
    let f = factory(b)?;
    let c = Case::new(b, setup(vec![], 1))?;
    let declared = c.sut.ready().abilities();
    ensure!(declared == f.abilities(), "ready declares {declared:?}, the factory {:?}", f.abilities());
    ensure!(declared.recv_wait == (b == Backend::Inet), "recv_wait {}", declared.recv_wait);
    if b == Backend::Socket {
        let mut c = c;
        match c.sut.apply(&recv_wait(5)) {
            Err(e) if unsupported_reason(&e).is_some() => println!("  {e}"),
            other => return Err(format!("socket backend recv_wait: {other:?}")),
        }
    }
    Ok(())
}
