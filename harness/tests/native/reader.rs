//! RX-7..RX-11: the reader process's `gen_tcp:recv(S, Len, T)`
//! (`Op::RecvWait`) on a passive port over a real loopback connection:
//! what it returns and when (`observation.reader`), the reads it makes,
//! what the owner's recv, close and shutdown do while it waits, and what
//! a recv whose timer fired leaves for the next recv (RX-11, checked in
//! lockstep with the model too).

use crate::support::*;
use harness::executor::{run_case, CaseOutcome};
use harness::sut::native::{NativeFactory, PlantedBug};
use reference::choice::{Activity, Choice};
use reference::observation::{PeerRead, Posix, Reader, Reply, SendResult};
use reference::op::{Op, SendFlags, Setup, ShutdownHow};
use reference::options::{ActiveSetting, Opt, Timeout};
use reference::rules::ids;
use reference::units::{payload, Bytes, Millis, SenderId};

fn recv_wait(len: usize) -> Op {
    Op::RecvWait { len: Bytes(len), timeout: None }
}

const fn peer_write(len: usize, tag: u16) -> Op {
    Op::PeerWrite { len: Bytes(len), tag }
}

fn read(got: usize) -> Choice {
    Choice::Read { got: Bytes(got) }
}

/// The reads a step's input activity made.
fn input(reads: &[usize]) -> Vec<Choice> {
    std::iter::once(Choice::Ran(Activity::Input)).chain(reads.iter().map(|n| read(*n))).collect()
}

fn returned(r: Result<Vec<u8>, Posix>) -> Reader {
    Reader::Returned(r)
}

/// `len` bytes of the stream `tag`'s write made, from `from`.
fn part(tag: u16, written: usize, from: usize, len: usize) -> Vec<u8> {
    payload(tag, Bytes(written))[from..from + len].to_vec()
}

fn port(show_econnreset: bool) -> Case {
    start(&Setup { show_econnreset, ..setup(vec![]) })
}

/// RX-7: recv(S, 5) over 3 bytes, then 5 more: it waits through the
/// first write and returns exactly 5 bytes after the second; its reads ask
/// only for what is missing, so the other 3 stay for the owner's recv.
#[test]
fn rx7_exactly_len_bytes_across_two_peer_writes_and_the_rest_is_left_for_the_next_recv() {
    let mut c = start(&setup(vec![]));
    let s = c.apply(recv_wait(5));
    assert_eq!((s.observation.reply, s.observation.reader), (Reply::None, Reader::Waiting), "RX-7");
    assert_eq!(s.choices, vec![read(0)], "RX-7: it reads at once, and nothing has arrived");
    assert_eq!(c.apply(peer_write(3, 1)).observation.reader, Reader::Waiting);
    let s = c.apply(Op::Quiesce);
    assert_eq!((s.choices, s.observation.reader), (input(&[3]), Reader::Waiting), "RX-7: 3 of 5");
    c.apply(peer_write(5, 2));
    let s = c.apply(Op::Quiesce);
    assert_eq!(s.choices, input(&[2]), "RX-7: the read asks for the 2 missing");
    let mut want = payload(1, Bytes(3));
    want.extend(part(2, 5, 0, 2));
    assert_eq!(s.observation.reader, returned(Ok(want)), "RX-7");
    let s = c.apply(Op::Quiesce);
    assert_eq!((s.choices, s.observation.reader), (vec![], Reader::Idle), "nothing reads for a passive port");
    let s = c.apply(Op::Recv);
    assert_eq!(s.observation.reply, Reply::Recv(Ok(part(2, 5, 2, 3))), "RX-7: the rest is the next recv's");
    assert_eq!(s.choices, vec![read(3)]);
}

/// RX-7: bytes already there when the recv is made: it returns within its
/// own step, with a read of exactly Len.
#[test]
fn rx7_a_recv_with_its_bytes_already_there_returns_at_once() {
    let mut c = start(&setup(vec![]));
    c.apply(peer_write(10, 4));
    let s = c.apply(recv_wait(4));
    assert_eq!((s.choices, s.observation.reader), (vec![read(4)], returned(Ok(part(4, 10, 0, 4)))), "RX-7");
    assert_eq!(c.apply(Op::Recv).observation.reply, Reply::Recv(Ok(part(4, 10, 4, 6))), "RX-7");
}

/// RX-7: with Len 0 the recv returns what the first read that gets any
/// bytes got, waiting for it if nothing has arrived.
#[test]
fn rx7_len_0_returns_the_first_read() {
    let mut c = start(&setup(vec![]));
    let s = c.apply(recv_wait(0));
    assert_eq!((s.choices, s.observation.reader), (vec![read(0)], Reader::Waiting), "RX-7");
    c.apply(peer_write(10, 3));
    let s = c.apply(Op::Quiesce);
    assert_eq!((s.choices, s.observation.reader), (input(&[10]), returned(Ok(payload(3, Bytes(10))))), "RX-7");

    c.apply(peer_write(7, 5));
    let s = c.apply(recv_wait(0));
    assert_eq!((s.choices, s.observation.reader), (vec![read(7)], returned(Ok(payload(5, Bytes(7))))), "RX-7");
}

/// The peer sends 3 bytes, then its FIN, under recv(S, 5); the reader's
/// observation at the end.
fn fin_before_len(bug: Option<PlantedBug>) -> (Case, Reader) {
    let mut c = start_with(&setup(vec![]), bug);
    c.apply(recv_wait(5));
    c.apply(peer_write(3, 1));
    assert_eq!(c.apply(Op::Quiesce).observation.reader, Reader::Waiting, "RX-7: 3 of 5");
    c.apply(Op::PeerShutdown);
    let s = c.apply(Op::Quiesce);
    assert_eq!(s.choices, input(&[0]), "the read that finds the FIN");
    (c, s.observation.reader)
}

/// RX-9, PC-1: the FIN before the recv's Len bytes: `{error,closed}`, the
/// 3 bytes gathered dropped; the port is then as after any recv that
/// reported the end: it keeps its slot, its socket is closed (the peer
/// reads EOF), a later recv is enotconn.
#[test]
fn rx9_the_peers_fin_before_len_is_closed_and_then_recv_is_enotconn() {
    let (mut c, reader) = fin_before_len(None);
    assert_eq!(reader, returned(Err(Posix::Closed)), "RX-9");
    let s = c.apply(Op::Recv).observation;
    assert_eq!((s.reply, s.ports), (Reply::Recv(Err(Posix::Enotconn)), 2), "RX-9, PC-1");
    c.apply(Op::AwaitPeer);
    assert_eq!(c.apply(Op::PeerRead { max: Bytes(10) }).observation.reply, Reply::Peer(PeerRead::Eof), "PC-1");
}

/// RX-9: the planted `reader-returns-partial-at-end` returns the 3
/// gathered bytes at the FIN; the rule's test tells it apart.
#[test]
fn rx9_the_planted_bug_returns_the_partial_bytes_at_the_fin() {
    let (mut c, reader) = fin_before_len(Some(PlantedBug::ReaderReturnsPartialAtEnd));
    assert_eq!(reader, returned(Ok(payload(1, Bytes(3)))), "the planted bug breaks RX-9");
    assert_ne!(reader, returned(Err(Posix::Closed)), "RX-9 catches it");
    assert_eq!(c.apply(Op::Recv).observation.reply, Reply::Recv(Err(Posix::Enotconn)), "PC-1 still");
}

/// RX-9: a recv with a length larger than what is left before an end that
/// already arrived returns `{error,closed}` at once; so does Len 0 at the
/// end with nothing before it.
#[test]
fn rx9_an_end_already_there_answers_at_once() {
    let mut c = start(&setup(vec![]));
    c.apply(peer_write(3, 1));
    c.apply(Op::PeerShutdown);
    let s = c.apply(recv_wait(4));
    assert_eq!((s.choices, s.observation.reader), (vec![read(3), read(0)], returned(Err(Posix::Closed))), "RX-9");
    assert_eq!(c.apply(Op::Recv).observation.reply, Reply::Recv(Err(Posix::Enotconn)), "PC-1");

    let mut c = start(&setup(vec![]));
    c.apply(recv_wait(0));
    c.apply(Op::PeerShutdown);
    let s = c.apply(Op::Quiesce);
    assert_eq!((s.choices, s.observation.reader), (input(&[0]), returned(Err(Posix::Closed))), "RX-9, Len 0");
}

/// RX-9, RS-1: the peer's RST before Len bytes: `{error,closed}`, or
/// `{error,econnreset}` with show_econnreset; then enotconn (PC-1).
#[test]
fn rx9_the_peers_reset_before_len_is_closed_or_econnreset_with_show_econnreset() {
    for (show_econnreset, reason) in [(false, Posix::Closed), (true, Posix::Econnreset)] {
        let mut c = port(show_econnreset);
        c.apply(recv_wait(5));
        c.apply(peer_write(3, 1));
        c.apply(Op::Quiesce);
        c.apply(Op::PeerReset);
        let s = c.apply(Op::Quiesce);
        assert_eq!(
            (s.choices, s.observation.reader),
            (input(&[0]), returned(Err(reason))),
            "RX-9, RS-1 (show_econnreset {show_econnreset})"
        );
        assert_eq!(c.apply(Op::Recv).observation.reply, Reply::Recv(Err(Posix::Enotconn)), "PC-1");
    }
}

/// RX-8: the owner's recv while the reader's waits is `{error,ealready}`,
/// with no syscall; the waiting recv is unchanged and gets its bytes.
#[test]
fn rx8_the_owners_recv_while_the_reader_waits_is_ealready() {
    let mut c = start(&setup(vec![]));
    c.apply(recv_wait(5));
    c.apply(peer_write(7, 2));
    let s = c.apply(Op::Recv);
    assert_eq!(s.observation.reply, Reply::Recv(Err(Posix::Ealready)), "RX-8");
    assert_eq!((s.choices, s.observation.reader), (vec![], Reader::Waiting), "RX-8: no read, still waiting");
    let s = c.apply(Op::Quiesce);
    assert_eq!((s.choices, s.observation.reader), (input(&[5]), returned(Ok(part(2, 7, 0, 5)))), "RX-7");
    assert_eq!(c.apply(Op::Recv).observation.reply, Reply::Recv(Ok(part(2, 7, 5, 2))), "RX-7");
}

/// RX-10: the owner's close answers the waiting recv `{error,closed}` in
/// the close's own step (the bytes it had gathered dropped).
#[test]
fn rx10_close_while_the_reader_waits_answers_it_closed() {
    let mut c = start(&setup(vec![]));
    c.apply(recv_wait(5));
    c.apply(peer_write(3, 1));
    c.apply(Op::Quiesce);
    let s = c.apply(Op::Close).observation;
    assert_eq!((s.reply, s.reader, s.ports), (Reply::Closed(Ok(())), returned(Err(Posix::Closed)), 1), "RX-10");
    assert_eq!(c.apply(Op::Quiesce).observation.reader, Reader::Idle);
}

/// RX-10: shutdown(write) leaves the waiting recv waiting (it gets its
/// bytes later); shutdown(read_write) ends it as the peer's FIN would
/// (SD-4, RX-9): its read finds the end, it returns `{error,closed}`, and
/// the owner's recv then `{error,enotconn}` (PC-2), as on OTP
/// (probe_recv_wait.erl).
#[test]
fn rx10_shutdown_write_leaves_the_reader_waiting_and_read_write_ends_it() {
    let mut c = start(&setup(vec![]));
    c.apply(recv_wait(5));
    let s = c.apply(Op::Shutdown { how: ShutdownHow::Write }).observation;
    assert_eq!((s.reply, s.reader), (Reply::Shutdown(Ok(())), Reader::Waiting), "RX-10: write");
    c.apply(peer_write(7, 2));
    let s = c.apply(Op::Quiesce);
    assert_eq!(s.observation.reader, returned(Ok(part(2, 7, 0, 5))), "RX-7 after shutdown(write)");

    let mut c = start(&setup(vec![]));
    c.apply(recv_wait(5));
    let s = c.apply(Op::Shutdown { how: ShutdownHow::ReadWrite });
    assert_eq!((s.observation.reply, s.observation.reader), (Reply::Shutdown(Ok(())), Reader::Waiting), "SD-4");
    let s = c.apply(Op::Quiesce);
    assert_eq!(s.observation.reader, returned(Err(Posix::Closed)), "RX-9 at read_write's end");
    let s = c.apply(Op::Recv);
    assert_eq!(s.observation.reply, Reply::Recv(Err(Posix::Enotconn)), "PC-2 after the end was read");
}

/// The reader's recv passes the owner's recv's checks first, answered in
/// its own step with no syscall: einval on an active port (RX-1),
/// enotconn once a recv reported the end (PC-1), closed on a closed port.
#[test]
fn the_readers_recv_is_refused_as_the_owners_is() {
    let mut c = start(&setup(vec![Opt::Active(ActiveSetting::True)]));
    let s = c.apply(recv_wait(5));
    assert_eq!((s.choices, s.observation.reader), (vec![], returned(Err(Posix::Einval))), "RX-1");

    let mut c = start(&setup(vec![]));
    c.apply(Op::PeerShutdown);
    assert_eq!(c.apply(Op::Recv).observation.reply, Reply::Recv(Err(Posix::Closed)), "PC-1");
    let s = c.apply(recv_wait(5));
    assert_eq!((s.choices, s.observation.reader), (vec![], returned(Err(Posix::Enotconn))), "PC-1");

    let mut c = start(&setup(vec![]));
    c.apply(Op::Close);
    let s = c.apply(recv_wait(5));
    assert_eq!((s.choices, s.observation.reader), (vec![], returned(Err(Posix::Closed))), "CL-2");
}

/// The reader is one process blocked in one recv: a second `RecvWait`
/// while it waits is a misuse of the runtime, not an answer (the
/// generator makes none).
#[test]
fn a_second_recv_wait_while_the_reader_waits_is_refused_as_a_misuse() {
    let mut c = start(&setup(vec![]));
    c.apply(recv_wait(5));
    let e = c.sut.apply(&recv_wait(5)).map(|s| s.observation.reader).expect_err("the reader is blocked");
    assert!(e.0.contains("already"), "{e}");
}

/// `tcp_close_check` on a passive port whose socket closes under the
/// waiting recv, as a close does (RX-10): a send whose write meets the
/// peer's RST before any read found it (PC-5) answers the recv
/// `{error,closed}` (closed even with show_econnreset:
/// `async_error_am_all(closed)`), and the owner's next recv is still told
/// the end (the delayed note).
#[test]
fn a_write_that_meets_the_reset_answers_the_waiting_recv_closed() {
    for (show_econnreset, reason) in [(false, Posix::Closed), (true, Posix::Econnreset)] {
        let mut c = port(show_econnreset);
        c.apply(recv_wait(5));
        c.apply(Op::PeerReset);
        let s = c.send(0, 10, 1).observation;
        assert_eq!(
            (s.reply, s.reader),
            (Reply::Sent(Some(SendResult::Error(reason))), returned(Err(Posix::Closed))),
            "PC-5, RX-10 (show_econnreset {show_econnreset})"
        );
        assert_eq!(c.apply(Op::Recv).observation.reply, Reply::Recv(Err(reason)), "PC-5: the next recv");
    }
}

/// TO-3: send_timeout_close closes the socket under the waiting recv
/// (`tcp_desc_close`): the recv returns `{error,closed}` in the step the
/// timer fires.
#[test]
fn send_timeout_close_answers_the_waiting_recv_closed() {
    let mut c = start(&setup(vec![
        Opt::HighWatermark(100),
        Opt::LowWatermark(50),
        Opt::SendTimeout(Timeout::After(Millis(5))),
        Opt::SendTimeoutClose(true),
    ]));
    c.send(0, 10_000, 1);
    assert_eq!(c.send(1, 10, 2).observation.reply, Reply::Sent(None), "busy");
    assert_eq!(c.apply(recv_wait(5)).observation.reader, Reader::Waiting);
    let s = c.apply(Op::AdvanceTime { by: Millis(5) });
    assert!(ran(&s, Activity::SendTimeout));
    assert_eq!(s.observation.reader, returned(Err(Posix::Closed)), "TO-3, RX-10");
}

// ----- RX-11: gen_tcp:recv(S, Len, T) ------------------------------------------------------

/// `gen_tcp:recv(S, len, timeout)` by the reader.
const fn recv_within(len: usize, timeout: u64) -> Op {
    Op::RecvWait { len: Bytes(len), timeout: Some(Millis(timeout)) }
}

const fn advance(by: u64) -> Op {
    Op::AdvanceTime { by: Millis(by) }
}

fn timed_out() -> Reader {
    returned(Err(Posix::Timeout))
}

/// `ops` on the native runtime in lockstep with the model
/// (`harness::executor`): the outcome, its failure if any.
fn lockstep(setup: &Setup, ops: &[Op], bug: Option<PlantedBug>) -> CaseOutcome {
    run_case(&NativeFactory::new(bug), setup, ops)
}

/// `ops` agree with the model at every step, RX-11 among the rules that
/// decided.
fn agrees_with_the_model(setup: &Setup, ops: &[Op]) {
    let outcome = lockstep(setup, ops, None);
    assert!(outcome.passed(), "the model disagrees: {}", outcome.failure.map(|f| f.to_string()).unwrap_or_default());
    assert!(outcome.touched.contains_key(&ids::RX_11), "the case reaches RX-11");
}

/// The reader's recv(S, 10, 200) over 4 bytes times out; what it gathered
/// is held.
const GATHERED_THEN_TIMED_OUT: [Op; 4] = [recv_within(10, 200), peer_write(4, 1), Op::Quiesce, advance(200)];

/// RX-11: recv(S, 0, 200) with nothing arriving waits while the clock is
/// short of its deadline and returns `{error,timeout}` in the step that
/// reaches it, from the timer's activity (no read).
#[test]
fn a_timed_out_recv_returns_timeout_only_once_the_clock_reaches_its_deadline() {
    let mut c = start(&setup(vec![]));
    let s = c.apply(recv_within(0, 200));
    assert_eq!((s.choices, s.observation.reader), (vec![read(0)], Reader::Waiting), "RX-7: it reads at once");
    let s = c.apply(advance(199));
    assert_eq!((s.choices, s.observation.reader), (vec![], Reader::Waiting), "RX-11: 1 ms short");
    let s = c.apply(advance(1));
    assert_eq!((s.choices, s.observation.reader), (vec![Choice::Ran(Activity::RecvTimeout)], timed_out()), "RX-11");
    let s = c.apply(advance(1000));
    assert_eq!((s.choices, s.observation.reader), (vec![], Reader::Idle), "the timer fired once");

    agrees_with_the_model(&setup(vec![]), &[recv_within(0, 200), advance(199), advance(1), advance(1000)]);
}

/// RX-11: recv(S, 10, 200) over 4 bytes times out; the owner's next
/// recv(S, 0, 0) returns those 4 without a read, and the one after it
/// reads again (as on OTP, probe_recv_timeout.erl).
#[test]
fn timed_out_recv_leaves_gathered_bytes_for_the_next_recv() {
    let mut c = start(&setup(vec![]));
    c.apply(recv_within(10, 200));
    c.apply(peer_write(4, 1));
    let s = c.apply(Op::Quiesce);
    assert_eq!((s.choices, s.observation.reader), (input(&[4]), Reader::Waiting), "RX-7: 4 of 10");
    let s = c.apply(advance(200));
    assert_eq!((s.choices, s.observation.reader), (vec![Choice::Ran(Activity::RecvTimeout)], timed_out()), "RX-11");
    let s = c.apply(Op::Recv);
    assert_eq!(s.observation.reply, Reply::Recv(Ok(payload(1, Bytes(4)))), "RX-11: the gathered bytes");
    assert_eq!(s.choices, vec![], "RX-11: without a read");
    let s = c.apply(Op::Recv);
    assert_eq!((s.observation.reply, s.choices), (Reply::Recv(Err(Posix::Timeout)), vec![read(0)]), "RX-6");

    agrees_with_the_model(&setup(vec![]), &[GATHERED_THEN_TIMED_OUT.as_slice(), &[Op::Recv, Op::Recv]].concat());
}

/// RX-11: 3 held and 4 more arrived: recv(S, 5, 0) starts from the 3 and
/// reads only the 2 they miss, returning 5; recv(S, 0, 0) then gets the
/// other 2 (as on OTP, probe_recv_timeout_held.erl).
#[test]
fn a_longer_recv_starts_from_the_held_bytes_and_reads_only_what_they_miss() {
    let mut c = start(&setup(vec![]));
    c.apply(recv_within(5, 100));
    c.apply(peer_write(3, 1));
    c.apply(Op::Quiesce);
    assert_eq!(c.apply(advance(100)).observation.reader, timed_out(), "RX-11: 3 held");
    c.apply(peer_write(4, 2));
    let s = c.apply(recv_within(5, 0));
    let mut five = payload(1, Bytes(3));
    five.extend(part(2, 4, 0, 2));
    assert_eq!((s.choices, s.observation.reader), (vec![read(2)], returned(Ok(five))), "RX-11: reads the 2 missing");
    let s = c.apply(Op::Recv);
    assert_eq!((s.observation.reply, s.choices), (Reply::Recv(Ok(part(2, 4, 2, 2))), vec![read(2)]), "RX-7");

    let ops = [recv_within(5, 100), peer_write(3, 1), Op::Quiesce, advance(100)];
    agrees_with_the_model(&setup(vec![]), &[ops.as_slice(), &[peer_write(4, 2), recv_within(5, 0), Op::Recv]].concat());
}

/// RX-11: held bytes enough for the reader's next recv complete it in its
/// call without a read: Len <= held takes the first Len (the rest stays
/// held), Len 0 all that is left.
#[test]
fn held_bytes_enough_for_the_next_recv_return_without_a_read() {
    let mut c = start(&setup(vec![]));
    for op in GATHERED_THEN_TIMED_OUT {
        c.apply(op);
    }
    let s = c.apply(recv_wait(3));
    assert_eq!((s.choices, s.observation.reader), (vec![], returned(Ok(part(1, 4, 0, 3)))), "RX-11: Len <= held");
    let s = c.apply(recv_within(0, 50));
    assert_eq!((s.choices, s.observation.reader), (vec![], returned(Ok(part(1, 4, 3, 1)))), "RX-11: Len 0");
    let s = c.apply(advance(50));
    assert_eq!((s.choices, s.observation.reader), (vec![], Reader::Idle), "no timer was armed");

    agrees_with_the_model(
        &setup(vec![]),
        &[GATHERED_THEN_TIMED_OUT.as_slice(), &[recv_wait(3), recv_within(0, 50), advance(50)]].concat(),
    );
}

/// RX-11: recv(S, Len, 0) times out within its own call, after its reads
/// (no timer activity), and keeps what those reads got; with its bytes
/// there it returns them.
#[test]
fn a_recv_with_timeout_0_times_out_within_its_call_after_its_reads() {
    let mut c = start(&setup(vec![]));
    let s = c.apply(recv_within(0, 0));
    assert_eq!((s.choices, s.observation.reader), (vec![read(0)], timed_out()), "RX-11: nothing there");
    c.apply(peer_write(2, 1));
    let s = c.apply(recv_within(5, 0));
    assert_eq!((s.choices, s.observation.reader), (vec![read(2), read(0)], timed_out()), "RX-11: 2 of 5");
    c.apply(peer_write(6, 2));
    let s = c.apply(recv_within(5, 0));
    let mut five = payload(1, Bytes(2));
    five.extend(part(2, 6, 0, 3));
    assert_eq!((s.choices, s.observation.reader), (vec![read(3)], returned(Ok(five))), "RX-11, RX-7");
    assert_eq!(c.apply(Op::Recv).observation.reply, Reply::Recv(Ok(part(2, 6, 3, 3))), "RX-7");

    agrees_with_the_model(
        &setup(vec![]),
        &[recv_within(0, 0), peer_write(2, 1), recv_within(5, 0), peer_write(6, 2), recv_within(5, 0), Op::Recv],
    );
}

/// RX-11, TO-1: the recv's timer and a send timer each fire at their own
/// deadline, whichever was armed first.
#[test]
fn the_recv_timer_and_a_send_timer_each_fire_at_their_own_deadline() {
    let busy =
        setup(vec![Opt::HighWatermark(100), Opt::LowWatermark(50), Opt::SendTimeout(Timeout::After(Millis(100)))]);
    let mut c = start(&busy);
    c.send(0, 10_000, 1);
    assert_eq!(c.send(1, 10, 2).observation.reply, Reply::Sent(None), "busy, its timer armed");
    c.apply(recv_within(0, 200));
    let s = c.apply(advance(100));
    assert!(ran(&s, Activity::SendTimeout) && !ran(&s, Activity::RecvTimeout), "TO-1 at 100");
    assert_eq!(s.observation.reader, Reader::Waiting, "RX-11: not yet");
    let s = c.apply(advance(100));
    assert_eq!((s.choices, s.observation.reader), (vec![Choice::Ran(Activity::RecvTimeout)], timed_out()), "RX-11");

    let ops = [
        Op::Send { sender: SenderId(0), len: Bytes(10_000), tag: 1, flags: SendFlags::default() },
        Op::Send { sender: SenderId(1), len: Bytes(10), tag: 2, flags: SendFlags::default() },
        recv_within(0, 200),
        advance(100),
        advance(100),
    ];
    agrees_with_the_model(&busy, &ops);
}

/// RX-11: the planted `recv-timeout-drops-gathered` loses the 4 bytes the
/// timed-out recv gathered: the owner's next recv reads (and finds
/// nothing) instead of returning them; the lockstep run blames RX-11.
#[test]
fn a_timed_out_recv_that_drops_what_it_gathered_is_caught_under_rx11() {
    let bug = Some(PlantedBug::RecvTimeoutDropsGathered);
    let mut c = start_with(&setup(vec![]), bug);
    for op in GATHERED_THEN_TIMED_OUT {
        c.apply(op);
    }
    let s = c.apply(Op::Recv);
    assert_eq!((s.observation.reply, s.choices), (Reply::Recv(Err(Posix::Timeout)), vec![read(0)]), "bytes lost");

    let outcome = lockstep(&setup(vec![]), &[GATHERED_THEN_TIMED_OUT.as_slice(), &[Op::Recv]].concat(), bug);
    let failure = outcome.failure.expect("the model catches the planted bug");
    assert_eq!(failure.rule(), Some(ids::RX_11), "{failure}");
}
