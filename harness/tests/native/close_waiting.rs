//! The owner closes the port while a caller is blocked on it and a sender
//! is suspended on it, on the native runtime over real loopback: CL-1 and
//! WM-4 on the closed port's flush, SND-6 for the retry; CL-4 with a zero
//! linger time (reference/tests/model/close_waiting.rs has the model's).

use crate::support::*;
use reference::observation::{PeerRead, Posix, Reply, SendResult, SenderStatus};
use reference::op::{Op, Setup};
use reference::options::Opt;
use reference::units::{payload, Bytes, SenderId};

fn busy_with_caller_and_suspended(linger_zero: bool) -> Case {
    let mut c = start(&Setup { senders: 3, linger_zero, ..setup(vec![Opt::HighWatermark(64), Opt::LowWatermark(16)]) });
    assert_eq!(c.send(0, 200_000, 1).observation.reply, Reply::Sent(Some(SendResult::Ok)), "WM-2");
    assert_eq!(c.send(1, 100, 2).observation.reply, Reply::Sent(None), "WM-3: S1 blocked");
    let o = c.send(2, 10, 3).observation;
    assert_eq!(o.senders[2], SenderStatus::Suspended, "SND-1: S2 suspended");
    c
}

/// The peer reads until EOF, the runtime running between its reads; what
/// it got, and the sends that completed meanwhile.
fn read_to_eof(c: &mut Case) -> (Vec<u8>, Vec<(SenderId, SendResult)>) {
    let (mut got, mut answered) = (vec![], vec![]);
    for _ in 0..10_000 {
        let s = c.apply(Op::PeerRead { max: Bytes(65536) });
        answered.extend(s.observation.completed.clone());
        match s.observation.reply {
            Reply::Peer(PeerRead::Data(d)) => got.extend(d),
            Reply::Peer(PeerRead::Eof) => return (got, answered),
            _ => {
                let q = c.apply(Op::Quiesce);
                answered.extend(q.observation.completed.clone());
                let w = c.apply(Op::AwaitPeer);
                answered.extend(w.observation.completed.clone());
            }
        }
    }
    panic!("the peer never read EOF");
}

/// The close answers nobody and the port leaves the table (CL-2); the
/// flush goes on (CL-1): the peer reads every queued byte, then EOF; the
/// blocked caller gets ok as it drains (WM-4) and the suspended sender's
/// retry finds the port gone (SND-6), its bytes never sent.
#[test]
fn a_close_over_waiting_senders_flushes_and_answers_them_as_the_queue_drains() {
    let mut c = busy_with_caller_and_suspended(false);
    let closed = c.apply(Op::Close).observation;
    assert_eq!((closed.reply, closed.ports), (Reply::Closed(Ok(())), 1), "CL-2");
    assert_eq!(closed.completed, vec![], "the close answers nobody");
    let (got, answered) = read_to_eof(&mut c);
    let mut want = payload(1, Bytes(200_000));
    want.extend(payload(2, Bytes(100)));
    assert!(got == want, "CL-1: the queue flushed");
    assert_eq!(
        answered,
        vec![(SenderId(1), SendResult::Ok), (SenderId(2), SendResult::Error(Posix::Closed))],
        "WM-4 on the closed port's flush, SND-6 for the retry"
    );
}

/// CL-4: the zero linger close drops the queue: the blocked caller gets
/// {error,closed} at the close, the suspended sender resumes and its
/// retry finds the port gone (SND-6); the peer reads only what the kernel
/// had taken.
#[test]
fn a_zero_linger_close_over_waiting_senders_answers_them_closed() {
    let mut c = busy_with_caller_and_suspended(true);
    let closed = c.apply(Op::Close).observation;
    assert_eq!(closed.reply, Reply::Closed(Ok(())));
    assert_eq!(closed.completed, vec![(SenderId(1), SendResult::Error(Posix::Closed))], "CL-4");
    let (got, answered) = read_to_eof(&mut c);
    assert!(got.len() < 200_000, "CL-4: the queue dropped ({} bytes read)", got.len());
    assert_eq!(answered, vec![(SenderId(2), SendResult::Error(Posix::Closed))], "SND-6");
}
