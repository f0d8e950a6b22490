//! The watermarks and the busy port: the seed scenarios, nosuspend and
//! force, the blocked-caller slot, delay_send.

use crate::support::{expect_payloads, send, setup, Case, R};
use harness::sut::beam::Backend;
use reference::observation::{PeerRead, Reply, SendResult, SenderStatus};
use reference::op::{Op, SendFlags};
use reference::options::Opt;
use reference::units::{payload, Bytes, SenderId};

/// The 2013 seed: high 20000 / low 10000, 5000-byte sends, a peer that does
/// not read. The queue grows by 5000 a send (after the kernel's share of
/// the first two); the send that brings it to >= 20000 blocks with status
/// waiting (SND-5); later senders are suspended with busy_port events
/// (SND-1). Reading until the queue is <= 10000 releases everybody (WM-4,
/// SND-4) and the peer gets every byte in order (ST-1).
pub fn watermarks_5000(b: Backend) -> R {
    let n = 8u8;
    let mut c = Case::new(b, setup(vec![Opt::HighWatermark(20000), Opt::LowWatermark(10000)], n))?;
    let mut blocked = None;
    let mut queues = vec![];
    for i in 0..n {
        let s = c.step(send(i, 5000, i as u16 + 1))?;
        let o = &s.observation;
        queues.push(o.queue.0);
        if blocked.is_none() {
            if o.reply == Reply::Sent(None) {
                blocked = Some(i);
                ensure!(o.senders[i as usize] == SenderStatus::Waiting, "blocking sender {i}: {:?}", o.senders);
                if b == Backend::Inet {
                    ensure!(o.queue.0 >= 20000, "blocked below high: queue {}", o.queue.0);
                    ensure!(o.busy_port_events.is_empty(), "SND-5: the blocked caller raises no event");
                }
            } else {
                ensure!(o.reply == Reply::Sent(Some(SendResult::Ok)), "send {i}: {:?}", o.reply);
                if b == Backend::Inet {
                    ensure!(o.queue.0 < 20000, "send {i} returned ok with queue {}", o.queue.0);
                }
            }
        } else {
            ensure!(o.reply == Reply::Sent(None), "send {i} after the block: {:?}", o.reply);
            match b {
                Backend::Inet => {
                    ensure!(o.senders[i as usize] == SenderStatus::Suspended, "sender {i}: {:?}", o.senders);
                    ensure!(o.busy_port_events == vec![SenderId(i)], "busy_port events {:?}", o.busy_port_events);
                }
                Backend::Socket => {
                    // No busy port: later senders queue behind the blocked
                    // call in gen_tcp_socket's server and wait.
                    ensure!(o.senders[i as usize] == SenderStatus::Waiting, "sender {i}: {:?}", o.senders);
                    ensure!(o.busy_port_events.is_empty(), "busy_port events {:?}", o.busy_port_events);
                }
            }
        }
    }
    let blocked = blocked.ok_or("no send blocked")?;
    println!(
        "  queues {queues:?}; send {blocked} blocked (kernel share {})",
        (blocked as usize + 1) * 5000 - queues[blocked as usize]
    );
    if b == Backend::Inet {
        ensure!(
            queues.windows(2).take(blocked as usize).skip(1).all(|w| w[1] == w[0] + 5000),
            "queue grows by 5000: {queues:?}"
        );
    }
    let done = c.drain_all()?;
    let mut order: Vec<u8> = done.iter().map(|(id, _)| id.0).collect();
    ensure!(done.iter().all(|(_, r)| *r == SendResult::Ok), "{done:?}");
    order.sort();
    ensure!(order == (blocked..n).collect::<Vec<_>>(), "completed {done:?}");
    let sends: Vec<(u16, usize)> = (0..n).map(|i| (i as u16 + 1, 5000)).collect();
    let order = stream_order(&c.peer, &sends)?;
    println!("  payload order on the wire (tags) {order:?}");
    let in_order: Vec<u16> = (1..=blocked as u16 + 1).collect();
    ensure!(order[..=blocked as usize] == in_order[..], "sends up to the blocked one in order: {order:?}");
    if b == Backend::Inet {
        // Observed on OTP 25.2.3 (declared difference from SND-4's "in the
        // order suspended"): the first-suspended sender retries last, the
        // others in suspension order.
        let mut resumed: Vec<u16> = (blocked as u16 + 3..=n as u16).collect();
        resumed.push(blocked as u16 + 2);
        ensure!(order[blocked as usize + 1..] == resumed[..], "resume order {order:?}, expected tail {resumed:?}");
    }
    Ok(())
}

/// The order in which whole sends appear in the peer's stream (each send's
/// bytes must be contiguous and complete).
fn stream_order(peer: &[u8], sends: &[(u16, usize)]) -> Result<Vec<u16>, String> {
    let mut at = 0;
    let mut left: Vec<(u16, usize)> = sends.to_vec();
    let mut order = vec![];
    while at < peer.len() {
        let i = left
            .iter()
            .position(|&(tag, len)| peer.len() - at >= len && peer[at..at + len] == payload(tag, Bytes(len))[..])
            .ok_or_else(|| format!("no whole send starts at byte {at} (order so far {order:?})"))?;
        let (tag, len) = left.remove(i);
        order.push(tag);
        at += len;
    }
    ensure!(left.is_empty(), "sends never delivered: {left:?} (order {order:?})");
    Ok(order)
}

/// `{high_watermark,2}` with 1-byte sends: once the queue is non-empty a
/// 1-byte send crosses high (WM-3, `>=`) and blocks; the next sender is
/// suspended.
pub fn high_watermark_2(b: Backend) -> R {
    let mut c = Case::new(b, setup(vec![Opt::HighWatermark(2)], 4))?;
    let s = c.step(Op::GetOpts);
    if let Ok(s) = &s {
        ensure!(matches!(&s.observation.reply, Reply::Opts(o) if o.high == Bytes(2) && o.low == Bytes(2)), "OPT-1");
    }
    let s = c.step(send(0, 1, 1))?;
    ensure!(s.observation.reply == Reply::Sent(Some(SendResult::Ok)) && s.observation.queue.0 == 0, "WM-2");
    // Fill the kernel: onto an empty queue, no watermark check (WM-2).
    let s = c.step(send(0, 30000, 2))?;
    match b {
        Backend::Inet => ensure!(s.observation.reply == Reply::Sent(Some(SendResult::Ok)), "{:?}", s.observation.reply),
        // No driver queue: the caller itself waits until the kernel took it all.
        Backend::Socket => ensure!(
            s.observation.reply == Reply::Sent(None) && s.observation.senders[0] == SenderStatus::Waiting,
            "{:?}",
            s.observation
        ),
    }
    let q = s.observation.queue.0;
    let s = c.step(send(if b == Backend::Socket { 3 } else { 1 }, 1, 3))?;
    let o = &s.observation;
    match b {
        Backend::Inet => {
            ensure!(q > 0, "the kernel took 30000 bytes");
            ensure!(o.reply == Reply::Sent(None) && o.senders[1] == SenderStatus::Waiting, "{o:?}");
            // q + 1, unless a late ACK let the driver write meanwhile.
            ensure!(o.queue.0 >= 1 && o.queue.0 <= q + 1, "queue {} after {q}", o.queue.0);
            let s = c.step(send(2, 1, 4))?;
            ensure!(s.observation.senders[2] == SenderStatus::Suspended, "{:?}", s.observation);
            ensure!(s.observation.busy_port_events == vec![SenderId(2)], "{:?}", s.observation);
        }
        Backend::Socket => {
            ensure!(o.queue.0 == 0, "no driver queue on the socket backend");
            println!("  socket backend: 1-byte send after a 30000-byte send -> {:?}, senders {:?}", o.reply, o.senders);
            c.step(send(2, 1, 4))?;
        }
    }
    c.drain_all()?;
    expect_payloads(&c.peer, &[(1, 1), (2, 30000), (3, 1), (4, 1)])
}

pub fn nosuspend_force(b: Backend) -> R {
    let mut c = Case::new(b, setup(vec![Opt::HighWatermark(2)], 4))?;
    let s = c.step(Op::Send {
        sender: SenderId(0),
        len: Bytes(30000),
        tag: 1,
        flags: SendFlags { nosuspend: true, force: false },
    });
    let s = match s {
        Ok(s) => s,
        Err(e) => {
            ensure!(b == Backend::Socket, "{e}");
            println!("  {e}");
            return Ok(());
        }
    };
    ensure!(s.observation.reply == Reply::Sent(Some(SendResult::Ok)), "{:?}", s.observation.reply);
    c.step(send(1, 1, 2))?; // blocks: port busy
    let s = c.step(Op::Send {
        sender: SenderId(2),
        len: Bytes(5),
        tag: 3,
        flags: SendFlags { nosuspend: true, force: false },
    })?;
    ensure!(s.observation.reply == Reply::Sent(Some(SendResult::False)), "SND-2: {:?}", s.observation.reply);
    let q = s.observation.queue.0;
    let s = c.step(Op::Send {
        sender: SenderId(3),
        len: Bytes(5),
        tag: 4,
        flags: SendFlags { nosuspend: false, force: true },
    })?;
    println!("  force onto a busy port -> {:?}, queue {} -> {}", s.observation.reply, q, s.observation.queue.0);
    // Went through (not suspended, not refused): it crossed high again and
    // waits in the blocked-caller slot (WM-6). The queue can also have
    // shrunk meanwhile if the kernel signalled writability late.
    ensure!(
        s.observation.reply == Reply::Sent(None)
            && s.observation.senders[3] == SenderStatus::Waiting
            && s.observation.busy_port_events.is_empty(),
        "SND-3: {:?}",
        s.observation
    );
    Ok(())
}

/// WM-6: a forced send crossing high takes the single blocked-caller slot;
/// the caller it displaced never gets a reply.
pub fn force_reply_slot(b: Backend) -> R {
    if b == Backend::Socket {
        let mut c = Case::new(b, setup(vec![], 2))?;
        let e = c.step(Op::Send {
            sender: SenderId(0),
            len: Bytes(1),
            tag: 1,
            flags: SendFlags { nosuspend: false, force: true },
        });
        ensure!(e.as_ref().err().is_some_and(|e| e.contains("unsupported")), "{e:?}");
        return Ok(());
    }
    let mut c = Case::new(b, setup(vec![Opt::HighWatermark(20000), Opt::LowWatermark(10000)], 3))?;
    c.step(send(0, 40000, 1))?;
    let s = c.step(send(1, 100, 2))?;
    ensure!(s.observation.senders[1] == SenderStatus::Waiting, "{:?}", s.observation.senders);
    let forced =
        Op::Send { sender: SenderId(2), len: Bytes(100), tag: 3, flags: SendFlags { nosuspend: false, force: true } };
    let s = c.step(forced)?;
    ensure!(s.observation.senders[2] == SenderStatus::Waiting, "the forced sender waits: {:?}", s.observation.senders);
    let mut done = vec![];
    loop {
        let steps = c.drain_peer()?;
        for st in &steps {
            done.extend(st.observation.completed.iter().cloned());
        }
        if steps.last().unwrap().observation.queue.0 == 0 {
            let senders = steps.last().unwrap().observation.senders.clone();
            println!("  queue empty: completed {done:?}, senders {senders:?}");
            ensure!(done == vec![(SenderId(2), SendResult::Ok)], "WM-6: {done:?}");
            ensure!(senders[1] == SenderStatus::Waiting, "WM-6: the displaced caller still waits: {senders:?}");
            break;
        }
        c.step(Op::AwaitPeer)?;
    }
    expect_payloads(&c.peer, &[(1, 40000), (2, 100), (3, 100)])
}

pub fn delay_send(b: Backend) -> R {
    let mut c = Case::new(b, setup(vec![Opt::DelaySend(true)], 2))?;
    let s = c.step(send(0, 100, 1))?;
    ensure!(s.observation.reply == Reply::Sent(Some(SendResult::Ok)), "{:?}", s.observation.reply);
    // DS-2: the zero-delay flush has run by the end of the step on the BEAM.
    ensure!(s.observation.queue.0 == 0, "queue {}", s.observation.queue.0);
    let s = c.step(Op::PeerRead { max: Bytes(1000) })?;
    ensure!(s.observation.reply == Reply::Peer(PeerRead::Data(payload(1, Bytes(100)))), "{:?}", s.observation.reply);
    Ok(())
}
