//! Closing a port with output still queued (CL-1).

use crate::support::{expect_payloads, send, setup, Case, R};
use harness::sut::beam::Backend;
use reference::observation::{PeerRead, Posix, Reply, SendResult};
use reference::op::Op;
use reference::units::{payload, Bytes};

pub fn close_queued(b: Backend) -> R {
    let mut c = Case::new(b, setup(vec![], 2))?;
    let s = c.step(send(0, 40000, 1))?;
    ensure!(
        s.observation.reply == Reply::Sent(Some(SendResult::Ok)) || b == Backend::Socket,
        "{:?}",
        s.observation.reply
    );
    let s = c.step(Op::Close)?;
    println!(
        "  close with {} queued -> {:?}; completed {:?}",
        s.observation.queue.0, s.observation.reply, s.observation.completed
    );
    // Observed on OTP 25.2.3 (inet): gen_tcp:close/1 first waits for the
    // driver queue to empty (prim_inet close_pend_loop) and the port stays
    // open meanwhile, so a send issued during that wait is still queued and
    // delivered (it blocks: the queue is above high).
    let s = c.step(send(1, 10, 2))?;
    println!("  send after close -> {:?}", s.observation.reply);
    let late_send_accepted = s.observation.reply != Reply::Sent(Some(SendResult::Error(Posix::Closed)));
    let mut eof = false;
    for _ in 0..200 {
        for st in c.drain_peer()? {
            if st.observation.reply == Reply::Peer(PeerRead::Eof) {
                eof = true;
            }
        }
        if eof {
            break;
        }
        c.step(Op::AwaitPeer)?;
    }
    ensure!(eof, "CL-1: the peer never saw EOF");
    // CL-1: every queued byte arrives before EOF.
    if b == Backend::Socket {
        // Observed: the 40000-byte send is still in its caller (no driver
        // queue); close ends it and the unsent rest is lost.
        println!("  socket backend: peer got {} of 40000 bytes before EOF", c.peer.len());
        ensure!(c.peer.len() < 40000 && c.peer[..] == payload(1, Bytes(40000))[..c.peer.len()], "prefix");
        return Ok(());
    }
    if late_send_accepted {
        expect_payloads(&c.peer, &[(1, 40000), (2, 10)])
    } else {
        expect_payloads(&c.peer, &[(1, 40000)])
    }
}
