//! Variant otp-socket (OTP 25 `gen_tcp` with `{inet_backend, socket}`), as
//! the derivation sees it through the BEAM adapter's observations: the
//! DIFF-SOCK rules accept what OTP was measured to do, and refuse what the
//! inet driver would have done instead.

use crate::support::{derive, ran, send, wrote};
use reference::model::Model;
use reference::observation::{Observation, OwnerMsg, Reply, SendResult, SenderStatus};
use reference::op::{Op, Setup};
use reference::options::{ActiveSetting, Opt};
use reference::units::{payload_byte, Bytes, SenderId};
use reference::variant::Variant;

const IDLE: [SenderStatus; 2] = [SenderStatus::Idle, SenderStatus::Idle];

fn socket_set(options: Vec<Opt>) -> Vec<Model> {
    let setup = Setup { options, ..Setup::default() };
    vec![Model::new(&setup).expect("setup").into_variant(Variant::OtpSocket).with_real_clock(true)]
}

/// The model alone, on the socket backend's rules, for tests that give the
/// kernel's and the scheduler's choices explicitly (virtual clock).
fn explicit(options: Vec<Opt>, senders: u8) -> Model {
    let setup = Setup { options, senders, ..Setup::default() };
    Model::new(&setup).expect("setup").into_variant(Variant::OtpSocket)
}

fn seen(reply: Reply) -> Observation {
    Observation {
        reply,
        senders: IDLE.to_vec(),
        completed: vec![],
        busy_port_events: vec![],
        queue: Bytes::ZERO,
        busy: None,
        msgq: None,
        ports: 2,
        reader: Default::default(),
    }
}

/// Derive `op` to `obs` from every state of `set`; the new set, or why not.
fn step(set: &[Model], op: Op, obs: Observation) -> Result<Vec<Model>, String> {
    derive(set, &op, &obs).map(|ds| ds.into_iter().map(|d| d.model).collect()).map_err(|e| format!("{op:?}: {e:?}"))
}

fn tcp(tag: u16, from: usize, len: usize) -> OwnerMsg {
    OwnerMsg::Tcp((from..from + len).map(|i| payload_byte(tag, i)).collect())
}

/// DIFF-SOCK-1/2: `{high_watermark,2}` is ignored and there is no driver
/// queue: 1-byte sends onto an idle socket return ok, `queue_size` is 0.
#[test]
fn diff_sock_2_watermarks_block_no_send() {
    let mut set = socket_set(vec![Opt::HighWatermark(2), Opt::LowWatermark(1)]);
    for tag in 0..4 {
        set = step(&set, send(0, 1, tag), seen(Reply::Sent(Some(SendResult::Ok)))).expect("DIFF-SOCK-2");
    }
    assert!(step(&set, Op::QueueSize, seen(Reply::QueueSize(Bytes(1)))).is_err(), "DIFF-SOCK-1: a driver queue");
    step(&set, Op::QueueSize, seen(Reply::QueueSize(Bytes::ZERO))).expect("DIFF-SOCK-1: queue_size 0");
}

/// DIFF-SOCK-8: with `{low_watermark,10}` (SO_RCVLOWAT 10) an active
/// socket delivers 5 bytes only once 10 are waiting.
#[test]
fn diff_sock_8_active_delivery_waits_for_rcvlowat() {
    let mut set = socket_set(vec![Opt::LowWatermark(10)]);
    set = step(&set, Op::SetOpts { opts: vec![Opt::Active(ActiveSetting::True)] }, seen(Reply::SetOpts(Ok(()))))
        .expect("setopts");
    set = step(&set, Op::PeerWrite { len: Bytes(5), tag: 7 }, seen(Reply::None)).expect("peer write");
    assert!(
        step(&set, Op::Mailbox, seen(Reply::Mailbox(vec![tcp(7, 0, 5)]))).is_err(),
        "DIFF-SOCK-8: 5 < SO_RCVLOWAT delivered"
    );
    set = step(&set, Op::Mailbox, seen(Reply::Mailbox(vec![]))).expect("DIFF-SOCK-8: nothing below SO_RCVLOWAT");
    set = step(&set, Op::PeerWrite { len: Bytes(5), tag: 7 }, seen(Reply::None)).expect("peer write");
    let both = OwnerMsg::Tcp((0..5).chain(0..5).map(|i| payload_byte(7, i)).collect());
    step(&set, Op::Mailbox, seen(Reply::Mailbox(vec![both]))).expect("DIFF-SOCK-8: 10 bytes, one message");
}

/// DIFF-SOCK-8: a socket turning active reads what is waiting at once (its
/// first recv is nonblocking), below SO_RCVLOWAT too.
#[test]
fn diff_sock_8_turning_active_reads_what_waits() {
    let mut set = socket_set(vec![Opt::LowWatermark(113)]);
    set = step(&set, Op::PeerWrite { len: Bytes(1), tag: 3 }, seen(Reply::None)).expect("peer write");
    set = step(&set, Op::SetOpts { opts: vec![Opt::Active(ActiveSetting::True)] }, seen(Reply::SetOpts(Ok(()))))
        .expect("setopts");
    assert!(
        step(&set, Op::Mailbox, seen(Reply::Mailbox(vec![]))).is_err(),
        "DIFF-SOCK-8: the first read was held back"
    );
    set = step(&set, Op::Mailbox, seen(Reply::Mailbox(vec![tcp(3, 0, 1)])))
        .expect("DIFF-SOCK-8: the waiting byte is delivered");
    // Only that first read: from then on readiness waits for SO_RCVLOWAT.
    set = step(&set, Op::PeerWrite { len: Bytes(1), tag: 4 }, seen(Reply::None)).expect("peer write");
    assert!(
        step(&set, Op::Mailbox, seen(Reply::Mailbox(vec![tcp(4, 0, 1)]))).is_err(),
        "DIFF-SOCK-8: 1 < SO_RCVLOWAT delivered"
    );
    step(&set, Op::Mailbox, seen(Reply::Mailbox(vec![]))).expect("DIFF-SOCK-8: nothing below SO_RCVLOWAT");
}

/// DIFF-SOCK-6: the socket is not a port: a table of two (the socket and
/// the listener) still opens another.
#[test]
fn diff_sock_6_no_table_slot() {
    let setup = Setup { table_capacity: 2, ..Setup::default() };
    let set = vec![Model::new(&setup).expect("setup").into_variant(Variant::OtpSocket).with_real_clock(true)];
    step(&set, Op::OpenExtra, seen(Reply::Opened(Ok(())))).expect("DIFF-SOCK-6");
    let inet = vec![Model::new(&setup).expect("setup").into_variant(Variant::OtpInet).with_real_clock(true)];
    assert!(step(&inet, Op::OpenExtra, seen(Reply::Opened(Ok(())))).is_err(), "PT-3 on the inet driver");
}

/// DIFF-SOCK-4: a head send that times out with send_timeout_close asks the
/// socket's server to close; until the server has, the socket is handed to
/// the next pending send, which may write. Its write is its own: the model
/// once kept the timed-out send's piece as the writing one and computed the
/// next send's rest from it (a subtraction past zero, found by recording
/// OTP seed 202 on the socket backend).
#[test]
fn diff_sock_4_next_send_writes_before_the_server_closes() {
    use reference::choice::{Activity, Choice};
    use reference::options::Timeout;
    use reference::units::Millis;
    let mut m = explicit(vec![Opt::SendTimeout(Timeout::After(Millis(5))), Opt::SendTimeoutClose(true)], 2);
    m.step(&send(0, 100, 1), &[wrote(100, 40)]).expect("DIFF-SOCK-1: 40 of 100 taken, the caller waits");
    m.step(&send(1, 10, 2), &[]).expect("DIFF-SOCK-1: waits behind the first");
    let p = m
        .step(
            &Op::AdvanceTime { by: Millis(5) },
            &[
                Choice::Ran(Activity::Expire(SenderId(0))),
                Choice::Ran(Activity::Output),
                wrote(10, 10),
                Choice::Ran(Activity::PendingClose),
                Choice::Ran(Activity::Returned(SenderId(1))),
                Choice::Ran(Activity::Returned(SenderId(0))),
            ],
        )
        .expect("DIFF-SOCK-4: the next send writes its own 10 bytes before the close");
    assert_eq!(
        p.observation.completed,
        vec![(SenderId(1), SendResult::Ok), (SenderId(0), SendResult::Error(reference::observation::Posix::Timeout))],
        "DIFF-SOCK-1/4: the second send completed, the first timed out"
    );
}

/// DIFF-SOCK-4 with `{send_timeout,0}`: a send the kernel does not take
/// whole times out in its own call, but with send_timeout_close its caller
/// waits until the socket's server has closed the socket, and returns
/// timeout after that (measured: regression
/// beam-socket-9657213360833449307, an 8191-byte send left waiting).
#[test]
fn diff_sock_4_zero_timeout_close_waits_for_the_server() {
    use reference::choice::{Activity, Choice};
    use reference::observation::Posix;
    use reference::options::Timeout;
    use reference::units::Millis;
    let mut m = explicit(vec![Opt::SendTimeout(Timeout::After(Millis(0))), Opt::SendTimeoutClose(true)], 2);
    let p = m
        .step(&send(0, 100, 1), &[Choice::Wrote { requested: Bytes(100), accepted: Bytes(40) }])
        .expect("DIFF-SOCK-3: a partial write with send_timeout 0");
    assert_eq!(p.observation.reply, Reply::Sent(None), "DIFF-SOCK-4: the caller waits for the server's close");
    assert_eq!(p.observation.senders[0], SenderStatus::Waiting, "DIFF-SOCK-4");
    let p = m
        .step(&Op::Quiesce, &[Choice::Ran(Activity::PendingClose), Choice::Ran(Activity::Returned(SenderId(0)))])
        .expect("DIFF-SOCK-4: the server closes, then the caller returns");
    assert_eq!(p.observation.completed, vec![(SenderId(0), SendResult::Error(Posix::Timeout))], "DIFF-SOCK-4");
    let p = m.step(&send(1, 5, 2), &[]).expect("a send after the close");
    assert_eq!(
        p.observation.reply,
        Reply::Sent(Some(SendResult::Error(Posix::Closed))),
        "DIFF-SOCK-4: later sends closed"
    );
    let p = m.step(&Op::Recv, &[]).expect("a recv after the close");
    assert_eq!(p.observation.reply, Reply::Recv(Err(Posix::Closed)), "DIFF-SOCK-4: recv closed, not enotconn");
}

/// DIFF-SOCK-8: a `low_watermark` in the setup (applied at connect) sets
/// SO_RCVLOWAT as a setopts does: an active socket holds 5 bytes back.
#[test]
fn diff_sock_8_the_setups_low_watermark_sets_rcvlowat() {
    let mut set = socket_set(vec![Opt::LowWatermark(10), Opt::Active(ActiveSetting::True)]);
    set = step(&set, Op::PeerWrite { len: Bytes(5), tag: 7 }, seen(Reply::None)).expect("peer write");
    assert!(
        step(&set, Op::Mailbox, seen(Reply::Mailbox(vec![tcp(7, 0, 5)]))).is_err(),
        "DIFF-SOCK-8: 5 < SO_RCVLOWAT 10 delivered"
    );
    step(&set, Op::Mailbox, seen(Reply::Mailbox(vec![]))).expect("DIFF-SOCK-8: nothing below SO_RCVLOWAT");
}

/// DIFF-SOCK-2: setopts on the socket backend goes through the option
/// algebra, and `{active,N}` is a crossing of RX-3 there too (the report's
/// crossings column).
#[test]
fn diff_sock_2_active_n_crosses_rx_3() {
    let mut m = explicit(vec![], 2);
    m.step(&Op::SetOpts { opts: vec![Opt::Active(ActiveSetting::N(3))] }, &[]).expect("setopts");
    assert!(m.crossings().contains_key(&reference::rules::ids::RX_3), "RX-3 crossed: {:?}", m.crossings());
}

/// DIFF-SOCK-1: a pending send's process writes only what the kernel has
/// not taken yet, each time its socket turns writable, and returns ok once
/// the kernel took the last byte; the peer then reads the whole send.
#[test]
fn diff_sock_1_the_rest_is_written_piece_by_piece() {
    use reference::choice::{Activity, Choice};
    let mut m = explicit(vec![], 2);
    let p = m.step(&send(0, 100, 5), &[wrote(100, 40)]).expect("40 of 100 taken");
    assert_eq!(p.observation.reply, Reply::Sent(None), "DIFF-SOCK-1: the caller waits");
    assert_eq!(m.queued(), Bytes(60), "DIFF-SOCK-1: 60 bytes still to write");
    let p = m.step(&Op::Quiesce, &[ran(Activity::Output), wrote(60, 20)]).expect("the rest is 60; 20 more taken");
    assert!(p.observation.completed.is_empty(), "DIFF-SOCK-1: 40 still to write");
    assert_eq!(m.queued(), Bytes(40), "DIFF-SOCK-1: 40 bytes still to write");
    assert!(
        m.step(&Op::Quiesce, &[ran(Activity::Output), wrote(60, 60)]).is_err(),
        "DIFF-SOCK-1: the rest is 40, not 60"
    );
    let p = m
        .step(&Op::Quiesce, &[ran(Activity::Output), wrote(40, 40), ran(Activity::Returned(SenderId(0)))])
        .expect("the last 40");
    assert_eq!(p.observation.completed, vec![(SenderId(0), SendResult::Ok)], "DIFF-SOCK-1: ok once all is taken");
    let p = m.step(&Op::PeerRead { max: Bytes(1000) }, &[Choice::PeerGot { got: Bytes(100) }]).expect("the peer reads");
    assert_eq!(
        p.observation.reply,
        Reply::Peer(reference::observation::PeerRead::Data((0..100).map(|i| payload_byte(5, i)).collect())),
        "ST-1"
    );
}

/// DIFF-SOCK-3: the timer of a send waiting behind another fires first: it
/// returns timeout and the head keeps writing its own rest (its piece stays
/// the writing one).
#[test]
fn diff_sock_3_a_waiting_send_times_out_behind_the_head() {
    use reference::choice::Activity;
    use reference::observation::Posix;
    use reference::options::Timeout;
    use reference::units::Millis;
    let mut m = explicit(vec![], 2);
    m.step(&send(0, 100, 1), &[wrote(100, 40)]).expect("the head waits, no timer");
    m.step(&Op::SetOpts { opts: vec![Opt::SendTimeout(Timeout::After(Millis(5)))] }, &[]).expect("setopts");
    m.step(&send(1, 10, 2), &[]).expect("waits behind, timer 5 ms");
    let p = m
        .step(&Op::AdvanceTime { by: Millis(5) }, &[ran(Activity::Expire(SenderId(1)))])
        .expect("DIFF-SOCK-3: the waiting send's timer");
    assert_eq!(p.observation.completed, vec![(SenderId(1), SendResult::Error(Posix::Timeout))], "DIFF-SOCK-3");
    m.step(&Op::Quiesce, &[ran(Activity::Output), wrote(60, 60), ran(Activity::Returned(SenderId(0)))])
        .expect("DIFF-SOCK-1: the head writes its own rest of 60");
}

/// DIFF-SOCK-1: a zero-byte send that becomes the head writes nothing and
/// returns ok when its turn comes, whatever pieces of earlier sends the
/// model still tracks (here the timed-out head's, 10 bytes of it taken).
#[test]
fn diff_sock_1_a_zero_byte_head_writes_nothing() {
    use reference::choice::Activity;
    use reference::options::Timeout;
    use reference::units::Millis;
    let mut m = explicit(vec![Opt::SendTimeout(Timeout::After(Millis(5)))], 3);
    m.step(&send(1, 50, 2), &[wrote(50, 10)]).expect("10 of 50 taken, timer 5 ms");
    m.step(&Op::SetOpts { opts: vec![Opt::SendTimeout(Timeout::Infinity)] }, &[]).expect("setopts");
    m.step(&send(2, 0, 3), &[]).expect("a zero-byte send waits behind, no timer");
    m.step(&Op::AdvanceTime { by: Millis(5) }, &[ran(Activity::Expire(SenderId(1)))])
        .expect("DIFF-SOCK-3: the head's rest dropped");
    let p = m
        .step(&Op::Quiesce, &[ran(Activity::Output), ran(Activity::Returned(SenderId(2)))])
        .expect("DIFF-SOCK-1: the zero-byte head writes nothing");
    assert_eq!(p.observation.completed, vec![(SenderId(2), SendResult::Ok)], "DIFF-SOCK-1");
}

/// DIFF-SOCK-1: the peer's read shows how much of a pending send the kernel
/// took, also when bytes of an earlier, finished send come first in it.
#[test]
fn diff_sock_1_a_peer_read_shows_the_pending_sends_share() {
    use reference::observation::PeerRead;
    let mut set = socket_set(vec![]);
    set = step(&set, send(0, 10, 1), seen(Reply::Sent(Some(SendResult::Ok)))).expect("all 10 taken");
    let waiting = |reply| Observation { senders: vec![SenderStatus::Idle, SenderStatus::Waiting], ..seen(reply) };
    set = step(&set, send(1, 100, 2), waiting(Reply::Sent(None))).expect("DIFF-SOCK-1: the caller waits");
    let data: Vec<u8> = (0..10).map(|i| payload_byte(1, i)).chain((0..40).map(|i| payload_byte(2, i))).collect();
    step(&set, Op::PeerRead { max: Bytes(50) }, waiting(Reply::Peer(PeerRead::Data(data))))
        .expect("ST-1: 10 of the first send, then 40 of the pending one");
}

/// DIFF-SOCK-1: a pending send's share can be all but its last byte (with
/// all of it, the send would have returned ok).
#[test]
fn diff_sock_1_a_pending_share_may_be_all_but_one_byte() {
    use reference::observation::PeerRead;
    let waiting = |reply| Observation { senders: vec![SenderStatus::Waiting, SenderStatus::Idle], ..seen(reply) };
    let mut set = socket_set(vec![]);
    set = step(&set, send(0, 100, 1), waiting(Reply::Sent(None))).expect("DIFF-SOCK-1: the caller waits");
    let data: Vec<u8> = (0..99).map(|i| payload_byte(1, i)).collect();
    set = step(&set, Op::PeerRead { max: Bytes(1000) }, waiting(Reply::Peer(PeerRead::Data(data))))
        .expect("99 of 100 taken");
    assert!(
        step(&set, Op::PeerRead { max: Bytes(1000) }, waiting(Reply::Peer(PeerRead::Data(vec![payload_byte(1, 99)]))))
            .is_err(),
        "DIFF-SOCK-1: the last byte taken while the caller still waits"
    );
}

/// SCHED-1 on the socket backend: a send timer that is due must fire before
/// the runtime may call itself quiet (DIFF-SOCK-3), as must the return of a
/// finished send.
#[test]
fn sched_1_a_due_send_timer_fires_before_quiet() {
    use reference::choice::Activity;
    use reference::options::Timeout;
    use reference::units::Millis;
    let mut m = explicit(vec![Opt::SendTimeout(Timeout::After(Millis(5)))], 2);
    m.step(&send(0, 100, 1), &[wrote(100, 40)]).expect("40 of 100 taken, timer 5 ms");
    let mut quiet = m.clone();
    quiet.step(&Op::AdvanceTime { by: Millis(5) }, &[]).expect("the prediction itself");
    assert!(quiet.take_unquiet().is_some(), "SCHED-1: quiet with the due timer unfired");
    m.step(&Op::AdvanceTime { by: Millis(5) }, &[ran(Activity::Expire(SenderId(0)))]).expect("DIFF-SOCK-3: it fires");
    assert!(m.take_unquiet().is_none(), "SCHED-1: nothing left");
}

/// DIFF-SOCK-8: `{low_watermark,0}` is SO_RCVLOWAT 0, which Linux turns
/// into 1: one waiting byte is delivered.
#[test]
fn diff_sock_8_low_watermark_zero_delivers_a_byte() {
    let mut set = socket_set(vec![Opt::LowWatermark(0), Opt::Active(ActiveSetting::True)]);
    set = step(&set, Op::PeerWrite { len: Bytes(1), tag: 7 }, seen(Reply::None)).expect("peer write");
    step(&set, Op::Mailbox, seen(Reply::Mailbox(vec![tcp(7, 0, 1)]))).expect("DIFF-SOCK-8: SO_RCVLOWAT 1");
}

/// DIFF-SOCK-1 as the derivation sees it: the kernel's share of a waiting
/// send shows only in the peer's data. Once the peer read 40 of its 100
/// bytes, 60 are still to write.
#[test]
fn diff_sock_1_a_share_the_peer_read_is_no_longer_pending() {
    use reference::choice::Choice;
    let mut m = explicit(vec![], 1);
    m.step(&send(0, 100, 5), &[wrote(100, 0)]).expect("DIFF-SOCK-1: the share is left to the peer's data");
    assert_eq!(m.queued(), Bytes(100));
    m.step(&Op::PeerRead { max: Bytes(1000) }, &[Choice::PeerGot { got: Bytes(40) }, wrote(100, 40)])
        .expect("ST-1: 40 read");
    assert_eq!(m.queued(), Bytes(60), "DIFF-SOCK-1: 60 bytes still to write");
}

/// A passive recv on an open socket reads (RX-6); only after
/// send_timeout_close closed it does recv return {error,closed} (DIFF-SOCK-4).
#[test]
fn rx_6_recv_on_an_open_socket_reads() {
    use reference::choice::Choice;
    let mut m = explicit(vec![], 1);
    m.step(&Op::PeerWrite { len: Bytes(5), tag: 2 }, &[]).expect("RX-6");
    let p = m.step(&Op::Recv, &[Choice::Read { got: Bytes(5) }]).expect("RX-6: a read");
    assert_eq!(p.observation.reply, Reply::Recv(Ok((0..5).map(|i| payload_byte(2, i)).collect())), "RX-6");
}

/// DIFF-SOCK-4 on the real clock: a pending send's timer (with
/// send_timeout_close) may fire between steps, so the server's close comes
/// before the next op: a peer read then sees the reset, and the other
/// pending send returns closed while the timed-out one has not returned
/// yet (seen in CI at 167dbfb, regression beam-socket-17548076069843580848).
#[test]
fn diff_sock_4_a_timer_may_fire_and_close_between_steps() {
    use reference::observation::{PeerRead, Posix};
    use reference::options::Timeout;
    use reference::units::Millis;
    let waiting = |n: usize| {
        let mut s = IDLE.to_vec();
        s.iter_mut().take(n).for_each(|s| *s = SenderStatus::Waiting);
        s
    };
    let mut set = socket_set(vec![]);
    set = step(&set, send(0, 5760, 1), Observation { senders: waiting(1), ..seen(Reply::Sent(None)) })
        .expect("DIFF-SOCK-1: a send the kernel does not take whole waits");
    set = step(&set, Op::PeerWrite { len: Bytes(1), tag: 2 }, Observation { senders: waiting(1), ..seen(Reply::None) })
        .expect("unread input for the close to reset");
    for opt in [Opt::SendTimeout(Timeout::After(Millis(2))), Opt::SendTimeoutClose(true)] {
        set = step(
            &set,
            Op::SetOpts { opts: vec![opt] },
            Observation { senders: waiting(1), ..seen(Reply::SetOpts(Ok(()))) },
        )
        .expect("OPT-5");
    }
    set = step(&set, send(1, 14, 3), Observation { senders: waiting(2), ..seen(Reply::Sent(None)) })
        .expect("DIFF-SOCK-1: waits behind the first, with a 2 ms timer that closes");
    set = step(&set, Op::Quiesce, Observation { senders: waiting(2), ..seen(Reply::None) })
        .expect("the timer has not fired yet");
    let closed = Observation {
        senders: vec![SenderStatus::Idle, SenderStatus::Waiting],
        completed: vec![(SenderId(0), SendResult::Error(Posix::Closed))],
        ..seen(Reply::Peer(PeerRead::Reset))
    };
    step(&set, Op::PeerRead { max: Bytes(65536) }, closed)
        .expect("DIFF-SOCK-4: the timer fired before the peer's read; the timed-out caller returns later");
}

/// DIFF-SOCK-9: `{active,false}` while a count is left sends tcp_passive on
/// the socket backend (gen_tcp_socket state_setopts_active); from `true` it
/// sends nothing.
#[test]
fn diff_sock_9_leaving_a_count_for_passive_sends_tcp_passive() {
    let set = socket_set(vec![]);
    let opts = vec![Opt::Active(ActiveSetting::N(1)), Opt::Active(ActiveSetting::False)];
    let set = step(&set, Op::SetOpts { opts }, seen(Reply::SetOpts(Ok(())))).expect("DIFF-SOCK-2: applied in order");
    assert!(step(&set, Op::Mailbox, seen(Reply::Mailbox(vec![]))).is_err(), "DIFF-SOCK-9: no message");
    step(&set, Op::Mailbox, seen(Reply::Mailbox(vec![OwnerMsg::TcpPassive]))).expect("DIFF-SOCK-9: tcp_passive");
    let set = socket_set(vec![Opt::Active(ActiveSetting::True)]);
    let opts = vec![Opt::Active(ActiveSetting::False)];
    let set = step(&set, Op::SetOpts { opts }, seen(Reply::SetOpts(Ok(())))).expect("true to false");
    step(&set, Op::Mailbox, seen(Reply::Mailbox(vec![]))).expect("DIFF-SOCK-9: from true, no message");
}

/// DIFF-SOCK-10: on OTP 27 and newer, setopts on a socket whose server
/// closed it (send_timeout_close) answers einval; OTP 25 answers closed
/// (DIFF-SOCK-4). Sends answer closed on both.
#[test]
fn diff_sock_10_setopts_after_the_server_closed_is_einval_from_otp_27() {
    use reference::choice::{Activity, Choice};
    use reference::observation::Posix;
    use reference::options::Timeout;
    use reference::units::Millis;
    use reference::variant::OtpRelease;
    // The answer with the server running in state closed, stopping (OTP
    // 27+: its exit's {shutdown,_} meets the call) and gone.
    let answers: [(u16, &[Posix]); 4] = [
        (25, &[Posix::Einval, Posix::Closed]),
        (27, &[Posix::Einval, Posix::Closed, Posix::Einval]),
        (29, &[Posix::Einval, Posix::Closed, Posix::Einval]),
        (28, &[Posix::Einval, Posix::Closed, Posix::Einval]),
    ];
    for (release, by_moves) in answers {
        for (server_moves, &answer) in by_moves.iter().enumerate() {
            let mut m = explicit(vec![Opt::SendTimeout(Timeout::After(Millis(0))), Opt::SendTimeoutClose(true)], 2)
                .with_otp(OtpRelease(release));
            m.step(&send(0, 100, 1), &[wrote(100, 40)]).expect("DIFF-SOCK-3");
            let mut closing = vec![Choice::Ran(Activity::PendingClose), Choice::Ran(Activity::Returned(SenderId(0)))];
            closing.extend(std::iter::repeat_n(Choice::Ran(Activity::ServerExit), server_moves));
            m.step(&Op::Quiesce, &closing).expect("DIFF-SOCK-4: the server closes");
            let p = m.step(&Op::SetOpts { opts: vec![Opt::Active(ActiveSetting::True)] }, &[]).expect("setopts");
            assert_eq!(
                p.observation.reply,
                Reply::SetOpts(Err(answer)),
                "OTP {release}, the server's exit {server_moves} moves on: DIFF-SOCK-4/10"
            );
            let p = m.step(&send(1, 5, 2), &[]).expect("a send after the close");
            assert_eq!(p.observation.reply, Reply::Sent(Some(SendResult::Error(Posix::Closed))), "OTP {release}");
        }
    }
}

/// DIFF-SOCK-10/11: on OTP 27 a setopts of only watermarks (ignored,
/// low_watermark too) after the server closed the socket answers ok while
/// the server runs, einval once it exited.
#[test]
fn diff_sock_10_ignored_options_are_ok_until_the_server_exits() {
    use reference::choice::{Activity, Choice};
    use reference::observation::Posix;
    use reference::options::Timeout;
    use reference::units::Millis;
    use reference::variant::OtpRelease;
    let closed = || {
        let mut m = explicit(vec![Opt::SendTimeout(Timeout::After(Millis(0))), Opt::SendTimeoutClose(true)], 2)
            .with_otp(OtpRelease(27));
        m.step(&send(0, 100, 1), &[wrote(100, 40)]).expect("DIFF-SOCK-3");
        m.step(&Op::Quiesce, &[Choice::Ran(Activity::PendingClose), Choice::Ran(Activity::Returned(SenderId(0)))])
            .expect("DIFF-SOCK-4: the server closes");
        m
    };
    let watermarks = || Op::SetOpts { opts: vec![Opt::LowWatermark(27), Opt::HighWatermark(0)] };
    let p = closed().step(&watermarks(), &[]).expect("the server still runs");
    assert_eq!(p.observation.reply, Reply::SetOpts(Ok(())), "DIFF-SOCK-10: ignored options, a running server");
    let mut m = closed();
    m.step(&Op::Quiesce, &[Choice::Ran(Activity::ServerExit)]).expect("DIFF-SOCK-10: the server stops");
    let p = m.step(&watermarks(), &[]).expect("setopts");
    assert_eq!(p.observation.reply, Reply::SetOpts(Err(Posix::Closed)), "DIFF-SOCK-10: the call meets its exit");
    let mut m = closed();
    let gone = [Choice::Ran(Activity::ServerExit), Choice::Ran(Activity::ServerExit)];
    m.step(&Op::Quiesce, &gone).expect("DIFF-SOCK-10: the server exits");
    let p = m.step(&watermarks(), &[]).expect("setopts");
    assert_eq!(p.observation.reply, Reply::SetOpts(Err(Posix::Einval)), "DIFF-SOCK-10: no server");
}

/// DIFF-SOCK-11: on OTP 27 low_watermark does not hold input back.
#[test]
fn diff_sock_11_low_watermark_is_ignored_from_otp_27() {
    use reference::variant::OtpRelease;
    let setup = Setup { options: vec![Opt::LowWatermark(5), Opt::Active(ActiveSetting::True)], ..Setup::default() };
    let m = Model::new(&setup).expect("setup").into_variant(Variant::OtpSocket).with_real_clock(true);
    for (release, held) in [(25, true), (27, false)] {
        let set = vec![m.clone().with_otp(OtpRelease(release))];
        let set = step(&set, Op::PeerWrite { len: Bytes(1), tag: 7 }, seen(Reply::None)).expect("one byte arrives");
        let delivered = step(&set, Op::Mailbox, seen(Reply::Mailbox(vec![tcp(7, 0, 1)]))).is_ok();
        assert_eq!(delivered, !held, "OTP {release}: DIFF-SOCK-8/11");
    }
}

/// DIFF-SOCK-5: after a send with send_timeout 0 timed out, the kernel may
/// still hold some of its bytes behind the peer's closed receive window:
/// right after close the peer may read nothing (they come with the window
/// probe, then EOF), or EOF if the kernel took none (measured: regression
/// beam-socket-16803180870457928098, ss showed FIN-WAIT-1 with a persist timer).
#[test]
fn diff_sock_5_a_dropped_share_may_still_arrive_after_close() {
    use reference::observation::PeerRead;
    let set = step(&socket_set(vec![]), send(0, 119, 1), seen(Reply::Sent(Some(SendResult::Ok)))).expect("all taken");
    let mut set = time_out_at_once(set);
    let first: Vec<u8> = (0..119).map(|i| payload_byte(1, i)).collect();
    set =
        step(&set, Op::PeerRead { max: Bytes(119) }, seen(Reply::Peer(PeerRead::Data(first)))).expect("the first send");
    set = step(&set, Op::Close, seen(Reply::Closed(Ok(())))).expect("DIFF-SOCK-5: close");
    step(&set, Op::PeerRead { max: Bytes(1) }, seen(Reply::Peer(PeerRead::Eof)))
        .expect("DIFF-SOCK-5: the kernel took none");
    set = step(&set, Op::PeerRead { max: Bytes(1) }, seen(Reply::Peer(PeerRead::WouldBlock)))
        .expect("DIFF-SOCK-5: some is still on its way");
    set = step(
        &set,
        Op::PeerRead { max: Bytes(4) },
        seen(Reply::Peer(PeerRead::Data((0..4).map(|i| payload_byte(2, i)).collect()))),
    )
    .expect("DIFF-SOCK-5: the timed-out send's first bytes arrive");
    step(&set, Op::PeerRead { max: Bytes(4) }, seen(Reply::Peer(PeerRead::Eof))).expect("then EOF");
}

/// DIFF-SOCK-11: on OTP 27 a `low_watermark` in a setopts is accepted and
/// ignored, and the report counts the crossing of DIFF-SOCK-11 (on OTP 25
/// it sets SO_RCVLOWAT: DIFF-SOCK-8).
#[test]
fn diff_sock_11_an_ignored_low_watermark_is_counted() {
    use reference::rules::ids;
    use reference::variant::OtpRelease;
    for (release, crossed, not) in
        [(27, ids::DIFF_SOCK_11, ids::DIFF_SOCK_8), (25, ids::DIFF_SOCK_8, ids::DIFF_SOCK_11)]
    {
        let mut m = explicit(vec![], 2).with_otp(OtpRelease(release));
        let p = m.step(&Op::SetOpts { opts: vec![Opt::LowWatermark(100)] }, &[]).expect("setopts");
        assert_eq!(p.observation.reply, Reply::SetOpts(Ok(())), "OTP {release}");
        assert_eq!(m.crossings().get(&crossed), Some(&1), "OTP {release}: {:?}", m.crossings());
        assert_eq!(m.crossings().get(&not), None, "OTP {release}");
    }
}

/// `{send_timeout,0}` then a send the kernel does not take whole: it times
/// out at once with its rest dropped (DIFF-SOCK-3), so the bytes of the
/// next send follow in the stream wherever the kernel's share of it ended;
/// the peer's data shows where (DIFF-SOCK-1).
fn after_a_dropped_send() -> Vec<Model> {
    let set = time_out_at_once(socket_set(vec![]));
    step(&set, send(0, 10, 3), seen(Reply::Sent(Some(SendResult::Ok)))).expect("DIFF-SOCK-1: the next send, all taken")
}

/// `{send_timeout,0}`, then an 8192-byte send that times out at once
/// (DIFF-SOCK-3), the kernel's share of it not known yet.
fn time_out_at_once(set: Vec<Model>) -> Vec<Model> {
    use reference::observation::Posix;
    use reference::options::Timeout;
    use reference::units::Millis;
    let set = step(
        &set,
        Op::SetOpts { opts: vec![Opt::SendTimeout(Timeout::After(Millis(0)))] },
        seen(Reply::SetOpts(Ok(()))),
    )
    .expect("setopts");
    step(&set, send(0, 8192, 2), seen(Reply::Sent(Some(SendResult::Error(Posix::Timeout)))))
        .expect("DIFF-SOCK-3: timed out at once")
}

/// DIFF-SOCK-3: the peer reads 40 bytes of the timed-out send, then the
/// next send's: its share ended at 40, where the payload stops matching.
#[test]
fn diff_sock_3_the_next_sends_bytes_show_where_the_dropped_share_ended() {
    use reference::observation::PeerRead;
    let set = after_a_dropped_send();
    let data: Vec<u8> = (0..40).map(|i| payload_byte(2, i)).chain((0..10).map(|i| payload_byte(3, i))).collect();
    step(&set, Op::PeerRead { max: Bytes(1000) }, seen(Reply::Peer(PeerRead::Data(data))))
        .expect("DIFF-SOCK-1/3: 40 of the dropped send, then the next one whole");
}

/// DIFF-SOCK-5: once the peer saw EOF after close (the kernel held
/// nothing more of the dropped send), no byte of it arrives later: TCP
/// sends nothing after its FIN.
#[test]
fn diff_sock_5_nothing_arrives_after_eof() {
    use reference::observation::PeerRead;
    let mut set = time_out_at_once(socket_set(vec![]));
    set = step(&set, Op::Close, seen(Reply::Closed(Ok(())))).expect("DIFF-SOCK-5: close");
    set = step(&set, Op::PeerRead { max: Bytes(1) }, seen(Reply::Peer(PeerRead::Eof)))
        .expect("DIFF-SOCK-5: the kernel took none");
    let late = seen(Reply::Peer(PeerRead::Data((0..4).map(|i| payload_byte(2, i)).collect())));
    assert!(step(&set, Op::PeerRead { max: Bytes(4) }, late).is_err(), "DIFF-SOCK-5: bytes after EOF");
    step(&set, Op::PeerRead { max: Bytes(4) }, seen(Reply::Peer(PeerRead::Eof))).expect("EOF again");
}

/// DIFF-SOCK-5 with the kernel's choices given: after close, the kernel
/// may still hold the rest of a timed-out send that it had taken 40 bytes
/// of; the write the model asks the kernel about is that rest, 60 bytes.
#[test]
fn diff_sock_5_the_tail_after_close_is_the_dropped_sends_rest() {
    use reference::choice::Choice;
    use reference::observation::{PeerRead, Posix};
    use reference::options::Timeout;
    use reference::units::Millis;
    let mut m = explicit(vec![Opt::SendTimeout(Timeout::After(Millis(0)))], 2);
    let p = m.step(&send(0, 100, 1), &[wrote(100, 40)]).expect("DIFF-SOCK-3: 40 of 100 taken");
    assert_eq!(p.observation.reply, Reply::Sent(Some(SendResult::Error(Posix::Timeout))), "DIFF-SOCK-3");
    m.step(&Op::Close, &[]).expect("DIFF-SOCK-5: close");
    let p = m.step(&Op::PeerRead { max: Bytes(1000) }, &[Choice::PeerGot { got: Bytes(40) }]).expect("ST-1: the 40");
    assert_eq!(p.observation.reply, Reply::Peer(PeerRead::Data((0..40).map(|i| payload_byte(1, i)).collect())));
    let p = m
        .step(&Op::PeerRead { max: Bytes(1000) }, &[Choice::PeerGot { got: Bytes(0) }, wrote(60, 0)])
        .expect("DIFF-SOCK-5: the kernel holds none of the other 60");
    assert_eq!(p.observation.reply, Reply::Peer(PeerRead::Eof), "DIFF-SOCK-5");
}
