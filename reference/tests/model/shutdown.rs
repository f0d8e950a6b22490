//! The port shuts its own socket down: gen_tcp:shutdown/2 (SD-1..SD-4),
//! as measured on OTP 25.2.3, 27 and 29's inet driver (probe_shutdown.erl).

use crate::support::{send, wrote};
use reference::choice::Choice;
use reference::model::Model;
use reference::observation::{PeerRead, Posix, Reply, SendResult};
use reference::op::{Op, Setup, ShutdownHow};
use reference::options::Opt;
use reference::rules::ids;
use reference::units::Bytes;

const SHUT_WRITE: Op = Op::Shutdown { how: ShutdownHow::Write };

fn port(options: Vec<Opt>) -> Model {
    Model::new(&Setup { options, ..Setup::default() }).expect("setup")
}

fn peer_got(n: usize) -> Choice {
    Choice::PeerGot { got: Bytes(n) }
}

/// SD-2: with output queued the shutdown answers ok and leaves the queue;
/// once the queue is written the peer reads it, then EOF (SD-1).
#[test]
fn a_shutdown_over_a_queue_waits_for_it() {
    let mut m = port(vec![]);
    m.step(&send(0, 100, 1), &[wrote(100, 40)]).expect("WM-2");
    let p = m.step(&SHUT_WRITE, &[]).expect("SD-2");
    assert_eq!(p.observation.reply, Reply::Shutdown(Ok(())));
    assert_eq!((p.observation.queue, p.why.reply, p.why.queue), (Bytes(60), ids::SD_2, ids::SD_2));
    m.step(&Op::PeerRead { max: Bytes(1000) }, &[peer_got(40)]).expect("ST-1");
    let p = m.step(&Op::PeerRead { max: Bytes(1000) }, &[peer_got(0)]).expect("ST-1");
    assert_eq!(p.observation.reply, Reply::Peer(PeerRead::WouldBlock), "no EOF while the queue waits");
    m.step(&Op::Quiesce, &[Choice::Ran(reference::choice::Activity::Output), wrote(60, 60)]).expect("WM-4");
    m.step(&Op::PeerRead { max: Bytes(1000) }, &[peer_got(60)]).expect("ST-1");
    let p = m.step(&Op::PeerRead { max: Bytes(1000) }, &[peer_got(0)]).expect("SD-1");
    assert_eq!((p.observation.reply, p.why.reply), (Reply::Peer(PeerRead::Eof), ids::SD_1));
}

/// SD-3: a send while the shutdown waits is refused: {error,closed}, the
/// queue goes, the next recv reports closed, then enotconn.
#[test]
fn a_send_while_the_shutdown_waits_fails_the_port() {
    let mut m = port(vec![Opt::HighWatermark(1 << 20)]);
    m.step(&send(0, 100, 1), &[wrote(100, 40)]).expect("WM-2");
    m.step(&SHUT_WRITE, &[]).expect("SD-2");
    let p = m.step(&send(1, 1, 2), &[]).expect("SD-3");
    assert_eq!(p.observation.reply, Reply::Sent(Some(SendResult::Error(Posix::Closed))));
    assert_eq!((p.observation.queue, p.why.reply), (Bytes::ZERO, ids::SD_3));
    let p = m.step(&Op::Recv, &[]).expect("SD-3");
    assert_eq!((p.observation.reply, p.why.reply), (Reply::Recv(Err(Posix::Closed)), ids::SD_3));
    let p = m.step(&Op::Recv, &[]).expect("PC-2");
    assert_eq!(p.observation.reply, Reply::Recv(Err(Posix::Enotconn)));
}

/// SD-3: reported as closed even with show_econnreset (EPIPE, not a reset).
#[test]
fn a_write_after_shutdown_is_closed_not_reset() {
    let mut m = Model::new(&Setup { show_econnreset: true, ..Setup::default() }).expect("setup");
    m.step(&SHUT_WRITE, &[]).expect("SD-1");
    let p = m.step(&send(0, 5, 1), &[]).expect("SD-3");
    assert_eq!(p.observation.reply, Reply::Sent(Some(SendResult::Error(Posix::Closed))));
}

/// SD-1: on a socket closed under the port {error,enotconn}; on a closed
/// port {error,closed}. The peer's RST and lock contention are not
/// followed after a shutdown; after read_write the peer does not write.
#[test]
fn shutdown_after_the_end_and_what_follows_it() {
    let mut m = port(vec![]);
    m.step(&Op::PeerShutdown, &[]).expect("PC-1");
    m.step(&Op::Recv, &[Choice::Read { got: Bytes(0) }]).expect("PC-1");
    let p = m.step(&SHUT_WRITE, &[]).expect("SD-1");
    assert_eq!(p.observation.reply, Reply::Shutdown(Err(Posix::Enotconn)));
    m.step(&Op::Close, &[]).expect("CL-1");
    let p = m.step(&SHUT_WRITE, &[]).expect("SD-1");
    assert_eq!(p.observation.reply, Reply::Shutdown(Err(Posix::Closed)));
    let mut m = port(vec![]);
    m.step(&Op::Shutdown { how: ShutdownHow::ReadWrite }, &[]).expect("SD-4");
    assert!(!m.enabled(&Op::PeerReset));
    assert!(!m.enabled(&Op::ContendLock));
    assert!(!m.enabled(&Op::PeerWrite { len: Bytes(1), tag: 0 }));
    let p = m.step(&Op::Recv, &[Choice::Read { got: Bytes(0) }]).expect("SD-4");
    assert_eq!(p.observation.reply, Reply::Recv(Err(Posix::Closed)), "SD-4: the end, as at a FIN");
}
