//! send_timeout: on a busy port (TO-1), zero (TO-2), with
//! send_timeout_close (TO-3).

use crate::support::{expect_payloads, send, setup, Case, R};
use harness::sut::beam::Backend;
use reference::observation::{PeerRead, Posix, Reply, SendResult, SenderStatus};
use reference::op::Op;
use reference::options::{Opt, Timeout};
use reference::units::{Millis, SenderId};

/// send_timeout on a busy port: the blocked caller gets {error,timeout},
/// suspended senders resume, and the queued data is still delivered (TO-1).
pub fn send_timeout(b: Backend) -> R {
    let opts = vec![Opt::HighWatermark(20000), Opt::LowWatermark(10000), Opt::SendTimeout(Timeout::After(Millis(300)))];
    let mut c = Case::new(b, setup(opts, 3))?;
    let s = c.step(send(0, 40000, 1))?; // onto an empty queue: ok, queue ~31.5k
    ensure!(
        s.observation.reply == Reply::Sent(Some(SendResult::Ok)) || b == Backend::Socket,
        "{:?}",
        s.observation.reply
    );
    let mut timed_out = vec![];
    if s.observation.reply != Reply::Sent(Some(SendResult::Ok)) {
        timed_out.extend(s.observation.completed.iter().cloned());
    }
    let s = c.step(send(1, 100, 2))?;
    ensure!(s.observation.reply == Reply::Sent(None) || b == Backend::Socket, "{:?}", s.observation.reply);
    c.step(send(2, 100, 3))?;
    let s = c.step(Op::AdvanceTime { by: Millis(300) })?;
    timed_out.extend(s.observation.completed.iter().cloned());
    println!("  after advance_time: completed {timed_out:?}, senders {:?}", s.observation.senders);
    if b == Backend::Inet {
        ensure!(timed_out.first() == Some(&(SenderId(1), SendResult::Error(Posix::Timeout))), "TO-1: {timed_out:?}");
        ensure!(s.observation.queue.0 > 0, "data stays queued");
    }
    let rest = c.drain_all()?;
    println!("  then: {rest:?}");
    // TO-1: everything queued, including the timed-out send, is delivered.
    let want: &[(u16, usize)] = &[(1, 40000), (2, 100), (3, 100)];
    match expect_payloads(&c.peer, want) {
        Ok(()) => Ok(()),
        Err(e) if b == Backend::Socket => {
            println!("  socket backend: {e} (the unsent rest of a timed-out send is dropped)");
            Ok(())
        }
        Err(e) => Err(e),
    }
}

/// TO-2: with send_timeout 0 a send that would make the port busy replies
/// {error,timeout} at once, the port does not go busy, the data stays queued.
pub fn send_timeout_zero(b: Backend) -> R {
    let opts = vec![Opt::HighWatermark(20000), Opt::LowWatermark(10000), Opt::SendTimeout(Timeout::After(Millis(0)))];
    let mut c = Case::new(b, setup(opts, 3))?;
    c.step(send(0, 40000, 1))?;
    let s = c.step(send(1, 100, 2))?;
    println!("  send_timeout 0, send onto a queue above high -> {:?}", s.observation.reply);
    let s2 = c.step(send(2, 100, 3))?;
    println!("  next send -> {:?}", s2.observation.reply);
    if b == Backend::Inet {
        ensure!(
            s.observation.reply == Reply::Sent(Some(SendResult::Error(Posix::Timeout))),
            "TO-2: {:?}",
            s.observation.reply
        );
        ensure!(s.observation.senders[1] == SenderStatus::Idle, "{:?}", s.observation.senders);
        // Not busy: the next send is not suspended (it times out the same way).
        ensure!(
            s2.observation.reply == Reply::Sent(Some(SendResult::Error(Posix::Timeout))),
            "TO-2: {:?}",
            s2.observation.reply
        );
        ensure!(s2.observation.busy_port_events.is_empty(), "port went busy");
        c.drain_all()?;
        // The data of the timed-out sends stays queued and is delivered.
        return expect_payloads(&c.peer, &[(1, 40000), (2, 100), (3, 100)]);
    }
    Ok(())
}

/// TO-3: with send_timeout_close the timeout closes the socket and
/// discards queued output; later sends reply {error,enotconn}.
pub fn send_timeout_close(b: Backend) -> R {
    let opts = vec![
        Opt::HighWatermark(20000),
        Opt::LowWatermark(10000),
        Opt::SendTimeout(Timeout::After(Millis(200))),
        Opt::SendTimeoutClose(true),
    ];
    let mut c = Case::new(b, setup(opts, 3))?;
    c.step(send(0, 40000, 1))?;
    c.step(send(1, 100, 2))?;
    let s = c.step(Op::AdvanceTime { by: Millis(200) })?;
    println!("  after the timeout: completed {:?} queue {}", s.observation.completed, s.observation.queue.0);
    let s2 = c.step(send(2, 10, 3))?;
    println!("  later send -> {:?}", s2.observation.reply);
    let mut end = None;
    for st in c.drain_peer()? {
        if let Reply::Peer(p @ (PeerRead::Eof | PeerRead::WouldBlock)) = &st.observation.reply {
            end = Some(p.clone());
        }
    }
    println!("  peer got {} bytes then {:?}", c.peer.len(), end);
    if b == Backend::Inet {
        ensure!(s.observation.completed.contains(&(SenderId(1), SendResult::Error(Posix::Timeout))), "TO-3");
        ensure!(s.observation.queue.0 == 0, "queued output discarded: queue {}", s.observation.queue.0);
        ensure!(
            s2.observation.reply == Reply::Sent(Some(SendResult::Error(Posix::Enotconn))),
            "TO-3: {:?}",
            s2.observation.reply
        );
        ensure!(c.peer.len() < 40100, "discarded output never reaches the peer");
    }
    Ok(())
}
