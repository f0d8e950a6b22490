//! The reader: gen_tcp:recv(S, Len, infinity) made by a process other
//! than the owner (RX-7..RX-10), as measured on OTP 25.2.3, 27.3.4.1 and
//! 29.1.2's inet driver (harness/beam/probes/probe_recv_wait.erl).

use crate::support::{derive, model, observed, ran, send};
use reference::choice::{Activity, Choice};
use reference::model::Model;
use reference::observation::{Observation, Posix, Reader, Reply, SendResult, SenderStatus};
use reference::op::{Op, Setup, ShutdownHow};
use reference::options::{ActiveSetting, Opt};
use reference::rules::ids;
use reference::units::Bytes;

fn read(n: usize) -> Choice {
    Choice::Read { got: Bytes(n) }
}

fn wait(len: usize) -> Op {
    Op::RecvWait { len: Bytes(len), timeout: None }
}

fn peer_write(len: usize, tag: u16) -> Op {
    Op::PeerWrite { len: Bytes(len), tag }
}

/// The bytes a peer write of `len` with `tag` carries, read back through
/// the owner's recv on a throwaway model.
fn payload(tag: u16, len: usize) -> Vec<u8> {
    let mut probe = model(vec![]);
    probe.step(&peer_write(len, tag), &[]).expect("RX-6");
    match probe.step(&Op::Recv, &[read(len)]).expect("RX-6").observation.reply {
        Reply::Recv(Ok(d)) => d,
        other => panic!("recv: {other:?}"),
    }
}

/// RX-7: a recv of 5 over 3 bytes waits; 5 more complete it with exactly
/// the first 5; the 3 after them stay for the owner's recv.
#[test]
fn a_recv_with_a_length_returns_exactly_that_many_bytes() {
    let mut m = model(vec![]);
    m.step(&peer_write(3, 1), &[]).expect("RX-6");
    let p = m.step(&wait(5), &[read(3)]).expect("RX-7");
    assert_eq!((p.observation.reader.clone(), p.why.reader), (Reader::Waiting, ids::RX_7));
    m.step(&peer_write(5, 2), &[]).expect("RX-6");
    let p = m.step(&Op::Quiesce, &[ran(Activity::Input), read(2)]).expect("RX-7");
    let mut want = payload(1, 3);
    want.extend(&payload(2, 5)[..2]);
    assert_eq!(p.observation.reader, Reader::Returned(Ok(want)));
    let p = m.step(&Op::Recv, &[read(3)]).expect("RX-6");
    assert_eq!(p.observation.reply, Reply::Recv(Ok(payload(2, 5)[2..].to_vec())));
    assert_eq!(p.observation.reader, Reader::Idle);
}

/// RX-7: a read may not take more than the recv still misses.
#[test]
fn a_read_beyond_the_length_diverges_under_rx7() {
    let mut m = model(vec![]);
    m.step(&peer_write(8, 1), &[]).expect("RX-6");
    let e = m.step(&wait(5), &[read(8)]).expect_err("read past Len");
    assert_eq!(e.rule, ids::RX_7);
}

/// RX-8: the owner's recv while the reader's waits is ealready, without
/// a read.
#[test]
fn a_recv_while_another_waits_is_ealready() {
    let mut m = model(vec![]);
    m.step(&wait(0), &[read(0)]).expect("RX-7");
    let p = m.step(&Op::Recv, &[]).expect("RX-8");
    assert_eq!((p.observation.reply, p.why.reply), (Reply::Recv(Err(Posix::Ealready)), ids::RX_8));
    assert_eq!(p.observation.reader, Reader::Waiting);
}

/// RX-9: the peer's FIN before Len bytes: {error,closed}, what was
/// gathered is lost, the socket closed (a later recv enotconn, PC-2) and
/// the next send told closed (PC-4).
#[test]
fn the_end_before_the_length_loses_the_gathered_bytes() {
    let mut m = model(vec![]);
    m.step(&peer_write(3, 1), &[]).expect("RX-6");
    m.step(&wait(5), &[read(3)]).expect("RX-7");
    m.step(&Op::PeerShutdown, &[]).expect("PC-1");
    let p = m.step(&Op::Quiesce, &[ran(Activity::Input), read(0)]).expect("RX-9");
    assert_eq!((p.observation.reader, p.why.reader), (Reader::Returned(Err(Posix::Closed)), ids::RX_9));
    let p = m.step(&Op::Recv, &[]).expect("PC-2");
    assert_eq!(p.observation.reply, Reply::Recv(Err(Posix::Enotconn)));
    let p = m.step(&send(0, 1, 9), &[]).expect("PC-4");
    assert_eq!(p.observation.reply, Reply::Sent(Some(SendResult::Error(Posix::Closed))));
}

/// RX-9 with show_econnreset: the peer's RST is reported as a reset.
#[test]
fn a_reset_before_the_length_is_econnreset_with_show_econnreset() {
    let mut m = Model::new(&Setup { show_econnreset: true, ..Setup::default() }).expect("setup");
    m.step(&wait(5), &[read(0)]).expect("RX-7");
    m.step(&Op::PeerReset, &[]).expect("RS-1");
    let p = m.step(&Op::Quiesce, &[ran(Activity::Input), read(0)]).expect("RX-9");
    assert_eq!(p.observation.reader, Reader::Returned(Err(Posix::Econnreset)));
}

/// RX-9: bytes and the FIN already there, a recv asking more: closed at once.
#[test]
fn a_length_beyond_what_came_before_the_end_is_closed_at_once() {
    let mut m = model(vec![]);
    m.step(&peer_write(3, 1), &[]).expect("RX-6");
    m.step(&Op::PeerShutdown, &[]).expect("PC-1");
    let p = m.step(&wait(4), &[read(3), read(0)]).expect("RX-9");
    assert_eq!(p.observation.reader, Reader::Returned(Err(Posix::Closed)));
}

/// RX-10: the owner's close answers the waiting recv {error,closed};
/// shutdown(write) leaves it waiting; shutdown(read_write) ends it as a
/// FIN would (SD-4).
#[test]
fn the_owners_close_answers_a_waiting_recv_closed() {
    let mut m = model(vec![]);
    m.step(&wait(5), &[read(0)]).expect("RX-7");
    let p = m.step(&Op::Shutdown { how: ShutdownHow::Write }, &[]).expect("SD-1");
    assert_eq!(p.observation.reader, Reader::Waiting);
    let p = m.step(&Op::Close, &[]).expect("RX-10");
    assert_eq!((p.observation.reader, p.why.reader), (Reader::Returned(Err(Posix::Closed)), ids::RX_10));
    let mut m = model(vec![]);
    m.step(&wait(5), &[read(0)]).expect("RX-7");
    m.step(&Op::Shutdown { how: ShutdownHow::ReadWrite }, &[]).expect("SD-4");
    let p = m.step(&Op::Quiesce, &[ran(Activity::Input), read(0)]).expect("SD-4");
    assert_eq!(p.observation.reader, Reader::Returned(Err(Posix::Closed)));
}

/// What the model does not follow while a recv waits is not generated:
/// an active mode, a second reader.
#[test]
fn an_active_setopts_or_a_second_reader_is_not_enabled_while_one_waits() {
    let mut m = model(vec![]);
    m.step(&wait(5), &[read(0)]).expect("RX-7");
    assert!(!m.enabled(&Op::SetOpts { opts: vec![Opt::Active(ActiveSetting::Once)] }));
    assert!(!m.enabled(&wait(1)));
    assert!(m.enabled(&Op::SetOpts { opts: vec![Opt::HighWatermark(10)] }));
    assert!(m.enabled(&Op::Recv));
}

/// On a system that settles (real OTP), the reader's reads are derived:
/// a write that completes its length returns it within the step.
#[test]
fn a_settled_peer_write_completes_the_recv_in_its_step() {
    let m = model(vec![]).into_variant(reference::variant::Variant::OtpInet).with_real_clock(true);
    let idle = [SenderStatus::Idle; 2];
    let set = derive(&[m], &wait(4), &Observation { reader: Reader::Waiting, ..observed(Reply::None, &idle, 0) })
        .expect("RX-7 waits");
    let set: Vec<Model> = set.into_iter().map(|d| d.model).collect();
    let data = payload(3, 6)[..4].to_vec();
    let done = Observation { reader: Reader::Returned(Ok(data)), ..observed(Reply::None, &idle, 0) };
    derive(&set, &peer_write(6, 3), &done).expect("RX-7 completes within the step");
    let early = Observation { reader: Reader::Waiting, ..observed(Reply::None, &idle, 0) };
    derive(&set, &peer_write(6, 3), &early).expect_err("the recv must complete");
}

/// RX-10, PC-5 (gen_tcp_misc_SUITE:fill_sendq, probe_recv_wait_busy.erl):
/// the peer's RST over queued output fails the write first, which answers
/// the waiting recv {error,closed} even with show_econnreset; the owner's
/// next recv reports the reset.
#[test]
fn a_write_failing_on_the_reset_answers_the_waiting_recv_closed() {
    let setup = Setup { show_econnreset: true, options: vec![Opt::HighWatermark(1 << 20)], ..Setup::default() };
    let mut m = Model::new(&setup).expect("setup");
    m.step(&send(0, 100, 1), &[crate::support::wrote(100, 40)]).expect("WM-2");
    m.step(&wait(0), &[read(0)]).expect("RX-7");
    m.step(&Op::PeerReset, &[]).expect("PC-5");
    let p = m.step(&Op::Quiesce, &[ran(Activity::Output)]).expect("PC-5");
    assert_eq!((p.observation.reader, p.why.reader), (Reader::Returned(Err(Posix::Closed)), ids::RX_10));
    assert_eq!(p.observation.queue, Bytes::ZERO);
    let p = m.step(&Op::Recv, &[]).expect("PC-5");
    assert_eq!(p.observation.reply, Reply::Recv(Err(Posix::Econnreset)));
}

fn timed(len: usize, ms: u64) -> Op {
    Op::RecvWait { len: Bytes(len), timeout: Some(reference::units::Millis(ms)) }
}

fn advance(ms: u64) -> Op {
    Op::AdvanceTime { by: reference::units::Millis(ms) }
}

/// RX-11: a timed recv waits until its deadline, not before; then it
/// returns {error,timeout} and the 4 bytes it gathered are the owner's
/// next recv's, with no read (`probe_recv_timeout_held.erl`).
#[test]
fn a_timed_out_recv_leaves_what_it_gathered_for_the_next_recv() {
    let mut m = model(vec![]);
    m.step(&peer_write(4, 1), &[]).expect("RX-6");
    let p = m.step(&timed(10, 30), &[read(4), read(0)]).expect("RX-7");
    assert_eq!(p.observation.reader, Reader::Waiting);
    let p = m.step(&advance(29), &[]).expect("not due yet");
    assert_eq!(p.observation.reader, Reader::Waiting);
    let p = m.step(&advance(1), &[ran(Activity::RecvTimeout)]).expect("RX-11");
    assert_eq!((p.observation.reader.clone(), p.why.reader), (Reader::Returned(Err(Posix::Timeout)), ids::RX_11));
    let p = m.step(&Op::Recv, &[]).expect("RX-11");
    assert_eq!((p.observation.reply, p.why.reply), (Reply::Recv(Ok(payload(1, 4))), ids::RX_11));
    let p = m.step(&Op::Recv, &[read(0)]).expect("RX-6");
    assert_eq!(p.observation.reply, Reply::Recv(Err(Posix::Timeout)));
}

/// RX-11: a due recv timer must fire before the runtime calls itself
/// quiet (SCHED-1); one that is not due may not fire on the model's clock.
#[test]
fn a_recv_timer_fires_when_due_and_not_before() {
    let mut m = model(vec![]);
    m.step(&timed(0, 20), &[read(0)]).expect("RX-7");
    let mut early = m.clone();
    let e = early.step(&advance(10), &[ran(Activity::RecvTimeout)]).expect_err("not due");
    assert_eq!(e.rule, ids::RX_11);
    m.step(&advance(20), &[]).expect("the step itself");
    let d = m.take_unquiet().expect("a due recv timer left unfired");
    assert_eq!(d.rule, ids::RX_11);
}

/// RX-11: a timeout of 0 answers after the call's own reads; held bytes
/// then complete a recv no longer than them at once, without reading, and
/// a longer one reads only what they miss.
#[test]
fn a_zero_timeout_answers_at_once_and_held_bytes_count_first() {
    let mut m = model(vec![]);
    m.step(&peer_write(3, 1), &[]).expect("RX-6");
    let p = m.step(&timed(5, 0), &[read(3), read(0)]).expect("RX-11");
    assert_eq!(p.observation.reader, Reader::Returned(Err(Posix::Timeout)));
    m.step(&peer_write(4, 2), &[]).expect("RX-6");
    let e = m.clone().step(&wait(5), &[read(4)]).expect_err("reads past what the held bytes miss");
    assert_eq!(e.rule, ids::RX_7);
    let p = m.step(&wait(5), &[read(2)]).expect("RX-7");
    let mut want = payload(1, 3);
    want.extend(&payload(2, 4)[..2]);
    assert_eq!(p.observation.reader, Reader::Returned(Ok(want)));
    let p = m.step(&Op::Recv, &[read(2)]).expect("RX-6");
    assert_eq!(p.observation.reply, Reply::Recv(Ok(payload(2, 4)[2..].to_vec())));
    let mut m = model(vec![]);
    m.step(&peer_write(6, 3), &[]).expect("RX-6");
    m.step(&timed(9, 0), &[read(6), read(0)]).expect("RX-11");
    let p = m.step(&wait(4), &[]).expect("RX-11");
    assert_eq!(
        (p.observation.reader.clone(), p.why.reader),
        (Reader::Returned(Ok(payload(3, 6)[..4].to_vec())), ids::RX_11)
    );
    assert!(!m.enabled(&Op::SetOpts { opts: vec![Opt::Active(ActiveSetting::Once)] }), "active with held bytes");
    let p = m.step(&Op::Recv, &[]).expect("RX-11");
    assert_eq!(p.observation.reply, Reply::Recv(Ok(payload(3, 6)[4..].to_vec())));
    assert!(m.enabled(&Op::SetOpts { opts: vec![Opt::Active(ActiveSetting::Once)] }));
}

/// DIFF-INET-12 (`probe_recv_timeout_zero.erl` E, M, G): on the inet
/// driver `recv(S, 10, 0)` over 4 bytes leaves its request open: the
/// owner's `recv(S, 0, 0)` reads only the 6 missing, times out until they
/// are there, then returns all 10; a recv with a length replaces it. The
/// reference variant ends the request with the timeout (RX-11).
#[test]
fn a_zero_timeout_recv_leaves_its_request_open_on_the_inet_driver() {
    let inet = || model(vec![]).into_variant(reference::variant::Variant::OtpInet);
    let mut m = inet();
    m.step(&peer_write(4, 1), &[]).expect("RX-6");
    m.step(&timed(10, 0), &[read(4), read(0)]).expect("DIFF-INET-12");
    m.step(&peer_write(3, 2), &[]).expect("RX-6");
    let e = m.clone().step(&Op::Recv, &[read(7)]).expect_err("reads past the missing 6");
    assert_eq!(e.rule, ids::DIFF_INET_12);
    let p = m.step(&Op::Recv, &[read(3)]).expect("DIFF-INET-12");
    assert_eq!((p.observation.reply, p.why.reply), (Reply::Recv(Err(Posix::Timeout)), ids::DIFF_INET_12));
    m.step(&peer_write(5, 3), &[]).expect("RX-6");
    let p = m.step(&Op::Recv, &[read(3)]).expect("DIFF-INET-12");
    let mut want = payload(1, 4);
    want.extend(payload(2, 3));
    want.extend(&payload(3, 5)[..3]);
    assert_eq!(p.observation.reply, Reply::Recv(Ok(want)));
    let p = m.step(&Op::Recv, &[read(2)]).expect("RX-6");
    assert_eq!(p.observation.reply, Reply::Recv(Ok(payload(3, 5)[3..].to_vec())));

    let mut m = inet();
    m.step(&peer_write(4, 1), &[]).expect("RX-6");
    m.step(&timed(10, 0), &[read(4), read(0)]).expect("DIFF-INET-12");
    let p = m.step(&wait(2), &[]).expect("RX-11");
    assert_eq!(p.observation.reader, Reader::Returned(Ok(payload(1, 4)[..2].to_vec())));
    let p = m.step(&Op::Recv, &[]).expect("RX-11");
    assert_eq!(p.observation.reply, Reply::Recv(Ok(payload(1, 4)[2..].to_vec())));

    let mut m = model(vec![]);
    m.step(&peer_write(4, 1), &[]).expect("RX-6");
    m.step(&timed(10, 0), &[read(4), read(0)]).expect("RX-11");
    let p = m.step(&Op::Recv, &[]).expect("RX-11");
    assert_eq!(p.observation.reply, Reply::Recv(Ok(payload(1, 4))));
}
