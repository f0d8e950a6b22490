//! The port shuts its own socket down: gen_tcp:shutdown/2 (SD-1..SD-4),
//! as measured on OTP 25.2.3, 27 and 29's inet driver (probe_shutdown.erl).

use crate::support::{send, wrote};
use reference::choice::{Activity, Choice};
use reference::model::Model;
use reference::observation::{PeerRead, Posix, Reply, SendResult};
use reference::op::{Op, Setup, ShutdownHow};
use reference::options::{ActiveSetting, Opt};
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

/// SD-3 with show_econnreset (probe_shutdown_econnreset.erl): the write's
/// EPIPE once the shutdown is made is shown as a reset, and the next recv
/// tells it too; the driver's refusal while the shutdown waits is closed.
#[test]
fn with_show_econnreset_a_failed_write_is_a_reset_and_a_refusal_closed() {
    let setup = Setup { show_econnreset: true, ..Setup::default() };
    let mut m = Model::new(&setup).expect("setup");
    m.step(&SHUT_WRITE, &[]).expect("SD-1");
    let p = m.step(&send(0, 5, 1), &[]).expect("SD-3");
    assert_eq!(p.observation.reply, Reply::Sent(Some(SendResult::Error(Posix::Econnreset))));
    let p = m.step(&Op::Recv, &[]).expect("SD-3");
    assert_eq!(p.observation.reply, Reply::Recv(Err(Posix::Econnreset)));
    let setup = Setup { show_econnreset: true, options: vec![Opt::HighWatermark(1 << 20)], ..Setup::default() };
    let mut m = Model::new(&setup).expect("setup");
    m.step(&send(0, 100, 1), &[wrote(100, 40)]).expect("WM-2");
    m.step(&SHUT_WRITE, &[]).expect("SD-2");
    let p = m.step(&send(1, 1, 2), &[]).expect("SD-3");
    assert_eq!(p.observation.reply, Reply::Sent(Some(SendResult::Error(Posix::Closed))));
}

/// SD-3 with show_econnreset after a shutdown made when the queue it
/// waited for emptied (probe_shutdown_made_later.erl on 25, 27 and 29;
/// OTP swarm seed 1602): the write's EPIPE is reported as closed, and the
/// next recv says closed too.
#[test]
fn a_shutdown_made_once_the_queue_emptied_shows_no_reset() {
    let setup = Setup { show_econnreset: true, ..Setup::default() };
    let mut m = Model::new(&setup).expect("setup");
    m.step(&send(0, 100, 1), &[wrote(100, 40)]).expect("WM-2");
    m.step(&SHUT_WRITE, &[]).expect("SD-2: pending");
    m.step(&Op::Quiesce, &[Choice::Ran(Activity::Output), wrote(60, 60)]).expect("WM-4, SD-2: made now");
    let p = m.step(&send(0, 5, 2), &[]).expect("SD-3");
    assert_eq!((p.observation.reply, p.why.reply), (Reply::Sent(Some(SendResult::Error(Posix::Closed))), ids::SD_3));
    let p = m.step(&Op::Recv, &[]).expect("SD-3");
    assert_eq!(p.observation.reply, Reply::Recv(Err(Posix::Closed)));
}

/// SD-1 (probe_shutdown_after_reset.erl): once the peer's RST closed the
/// kernel's connection, shutdown(2) fails and the driver answers
/// {error,enotconn}; once both FINs crossed, no shutdown is generated.
#[test]
fn after_the_peers_reset_shutdown_is_not_connected() {
    let mut m = port(vec![]);
    m.step(&Op::PeerReset, &[]).expect("RS-1");
    let p = m.step(&SHUT_WRITE, &[]).expect("SD-1");
    assert_eq!((p.observation.reply, p.why.reply), (Reply::Shutdown(Err(Posix::Enotconn)), ids::SD_1));
    let mut m = port(vec![]);
    m.step(&SHUT_WRITE, &[]).expect("SD-1");
    assert!(m.enabled(&SHUT_WRITE), "SD-1: a second shutdown");
    m.step(&Op::PeerShutdown, &[]).expect("PC-1");
    assert!(!m.enabled(&SHUT_WRITE), "both FINs crossed");
}

/// CL-3 after SD-1: the port closes with input unread (a send after the
/// shutdown fails it, SD-3), so the kernel resets; the peer, which read
/// every byte before the FIN, reads EOF, never the reset.
#[test]
fn a_peer_that_has_the_fin_reads_eof_not_the_reset() {
    let mut m = port(vec![]);
    m.step(&send(0, 10, 1), &[wrote(10, 10)]).expect("WM-2");
    m.step(&Op::PeerWrite { len: Bytes(8), tag: 2 }, &[]).expect("input unread");
    m.step(&SHUT_WRITE, &[]).expect("SD-1");
    m.step(&Op::PeerRead { max: Bytes(100) }, &[peer_got(10)]).expect("ST-1");
    let p = m.step(&send(0, 5, 3), &[]).expect("SD-3");
    assert_eq!(p.observation.reply, Reply::Sent(Some(SendResult::Error(Posix::Closed))));
    let p = m.step(&Op::PeerRead { max: Bytes(100) }, &[peer_got(0)]).expect("CL-3");
    assert_eq!((p.observation.reply, p.why.reply), (Reply::Peer(PeerRead::Eof), ids::CL_3));
}

/// CL-3: while the peer has bytes unread the FIN may still wait behind
/// them (the peer's window decides): no send or close that may reset then.
/// Nor a shutdown with a sender suspended, whose retry could fail just
/// after the FIN.
#[test]
fn no_reset_is_generated_while_the_fin_may_wait_behind_output() {
    let mut m = port(vec![Opt::HighWatermark(1 << 20)]);
    m.step(&send(0, 3000, 1), &[wrote(3000, 3000)]).expect("WM-2");
    m.step(&SHUT_WRITE, &[]).expect("SD-1");
    assert!(!m.enabled(&send(0, 5, 3)), "the RST would race the FIN");
    assert!(!m.enabled(&Op::Close));
    m.step(&Op::PeerRead { max: Bytes(100_000) }, &[peer_got(3000)]).expect("ST-1");
    assert!(m.enabled(&send(0, 5, 3)) && m.enabled(&Op::Close), "the FIN is the peer's");
    let mut m = port(vec![Opt::HighWatermark(64), Opt::LowWatermark(16)]);
    m.step(&send(0, 1000, 1), &[wrote(1000, 0)]).expect("WM-2, WM-3: busy");
    m.step(&send(1, 10, 2), &[]).expect("WM-3: busy, the caller waits");
    assert!(m.enabled(&SHUT_WRITE), "SD-2 over a busy port");
    let p = m.step(&send(0, 10, 3), &[]).expect("SND-1: suspended");
    assert_eq!(p.observation.senders[0], reference::observation::SenderStatus::Suspended);
    assert!(!m.enabled(&SHUT_WRITE), "a suspended sender's retry could race the FIN");
    let mut m = port(vec![Opt::HighWatermark(64), Opt::LowWatermark(16)]);
    m.step(&send(0, 1000, 1), &[wrote(1000, 0)]).expect("WM-2");
    m.step(&send(1, 10, 2), &[]).expect("WM-3: busy, the caller waits");
    m.step(&SHUT_WRITE, &[]).expect("SD-2");
    assert!(!m.enabled(&send(0, 10, 3)), "it would suspend, and retry once the FIN is made");
}

/// A write that fails on the shutdown after the owner closed the port
/// (CL-1: it left the table then, flushing) only closes the socket: the
/// table does not lose the port twice, and nobody is told.
#[test]
fn a_write_failing_on_a_port_closed_while_flushing_leaves_the_table_once() {
    let mut m = port(vec![Opt::DelaySend(true), Opt::Active(ActiveSetting::True)]);
    m.step(&SHUT_WRITE, &[]).expect("SD-1");
    m.step(&send(0, 10, 1), &[]).expect("DS-1: queued");
    let p = m.step(&Op::Close, &[]).expect("CL-1");
    let ports = p.observation.ports;
    let p = m.step(&Op::Quiesce, &[Choice::Ran(Activity::DelayFlush)]).expect("SD-3");
    assert_eq!((p.observation.ports, p.observation.queue), (ports, Bytes::ZERO));
    let p = m.step(&Op::Mailbox, &[]).expect("nothing told");
    assert_eq!(p.observation.reply, Reply::Mailbox(vec![]));
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
