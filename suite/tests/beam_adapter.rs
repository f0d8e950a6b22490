//! The external SUT protocol (`harness/PROTOCOL.md`) and the BEAM adapter on
//! real OTP: protocol error paths against tiny shell-script SUTs, every op
//! kind against the adapter, and the seed scenarios as plain observations,
//! on both gen_tcp backends. BEAM tests print `SKIP <id>: <reason>` without
//! `erl`.

use harness::sut::beam::{Backend, BeamFactory};
use harness::sut::external::{unsupported_reason, ExternalFactory, ExternalSut};
use harness::sut::{Step, SutError, SutFactory, SystemUnderTest};
use reference::observation::{AcceptOutcome, PeerRead, Posix, Reply, SendResult, SenderStatus};
use reference::op::{Op, SendFlags, Setup};
use reference::options::{Active, ActiveSetting, Opt, PortOptions, Timeout};
use reference::units::{payload, Bytes, Millis, SenderId};
use std::time::{Duration, Instant};
use suite::capability::{trial, Capability};

const ERL: &[Capability] = &[Capability::Erl];

fn main() {
    let args = libtest_mimic::Arguments::from_args();
    let mut tests = vec![
        trial("external/malformed_line", &[], malformed_line),
        trial("external/silent_sut_killed", &[], silent_sut_killed),
        trial("external/early_exit_stderr_tail", &[], early_exit_stderr_tail),
        trial("external/exit_during_handshake", &[], exit_during_handshake),
        trial("external/version_mismatch", &[], version_mismatch),
        trial("external/unsupported_is_declared", &[], unsupported_is_declared),
        trial("external/undeclared_choice_kind", &[], undeclared_choice_kind),
        trial("external/wrong_step", &[], wrong_step),
    ];
    for b in [Backend::Inet, Backend::Socket] {
        let n = b.arg();
        let id = |s: &str| -> &'static str { Box::leak(format!("beam/{n}/{s}").into_boxed_str()) };
        tests.push(trial(id("op_kinds"), ERL, move || op_kinds(b)));
        tests.push(trial(id("watermarks_5000_byte_sends"), ERL, move || watermarks_5000(b)));
        tests.push(trial(id("high_watermark_2_one_byte_sends"), ERL, move || high_watermark_2(b)));
        tests.push(trial(id("accept_into_full_table"), ERL, move || accept_full_table(b)));
        tests.push(trial(id("send_timeout_data_still_delivered"), ERL, move || send_timeout(b)));
        tests.push(trial(id("nosuspend_and_force"), ERL, move || nosuspend_force(b)));
        tests.push(trial(id("active_n_and_recv"), ERL, move || active_n(b)));
        tests.push(trial(id("delay_send"), ERL, move || delay_send(b)));
        tests.push(trial(id("close_with_queued_output"), ERL, move || close_queued(b)));
        tests.push(trial(id("send_timeout_zero"), ERL, move || send_timeout_zero(b)));
        tests.push(trial(id("send_timeout_close"), ERL, move || send_timeout_close(b)));
        tests.push(trial(id("force_takes_the_reply_slot"), ERL, move || force_reply_slot(b)));
        tests.push(trial(id("small_rules"), ERL, move || small_rules(b)));
        tests.push(trial(id("parallelism_setup"), ERL, move || parallelism_setup(b)));
    }
    let conclusion = libtest_mimic::run(&args, tests);
    // Statics are never dropped: remove the compiled adapters' temp dirs.
    for b in [Backend::Inet, Backend::Socket] {
        if let Some(Ok(f)) = cell(b).get() {
            let _ = std::fs::remove_dir_all(f.adapter_dir());
        }
    }
    conclusion.exit();
}

// --- helpers ---------------------------------------------------------------------------------

type R = Result<(), String>;

macro_rules! ensure {
    ($c:expr, $($f:tt)*) => {
        if !$c {
            return Err(format!($($f)*));
        }
    };
}

/// A shell-script SUT: `body` runs after the handshake answer.
fn script(ready: &str, body: &str) -> ExternalFactory {
    let cmd = format!("read hello; echo '{ready}'; {body}");
    ExternalFactory::new("sh-sut", cmd).with_answer_timeout(Duration::from_secs(5))
}

const READY: &str = r#"{"type":"ready","version":1,"sut":"sh"}"#;

fn start_err(f: &ExternalFactory) -> SutError {
    match f.spawn(&Setup::default()) {
        Ok(_) => panic!("handshake should fail"),
        Err(e) => e,
    }
}

fn apply_err(f: &ExternalFactory, op: &Op) -> Result<SutError, String> {
    let mut sut = f.spawn(&Setup::default()).map_err(|e| format!("handshake: {e}"))?;
    match sut.apply(op) {
        Ok(s) => Err(format!("expected an error, got {s:?}")),
        Err(e) => Ok(e),
    }
}

fn send(sender: u8, len: usize, tag: u16) -> Op {
    Op::Send { sender: SenderId(sender), len: Bytes(len), tag, flags: SendFlags::default() }
}

/// One compiled adapter per backend for the whole run.
fn cell(b: Backend) -> &'static std::sync::OnceLock<Result<BeamFactory, String>> {
    use std::sync::OnceLock;
    static INET: OnceLock<Result<BeamFactory, String>> = OnceLock::new();
    static SOCKET: OnceLock<Result<BeamFactory, String>> = OnceLock::new();
    match b {
        Backend::Inet => &INET,
        Backend::Socket => &SOCKET,
    }
}

fn factory(b: Backend) -> Result<&'static BeamFactory, String> {
    cell(b).get_or_init(|| BeamFactory::new(b).map_err(|e| e.to_string())).as_ref().map_err(|e| e.clone())
}

/// One case against one BEAM backend, printing each step.
struct Case {
    sut: ExternalSut,
    steps: usize,
    /// Every byte the peer read, in order.
    peer: Vec<u8>,
}

impl Case {
    fn new(b: Backend, setup: Setup) -> Result<Case, String> {
        let f = factory(b)?;
        let sut = f.spawn(&setup).map_err(|e| e.to_string())?;
        println!("[{}] ready: {:?}", f.name(), sut.ready().info);
        Ok(Case { sut, steps: 0, peer: vec![] })
    }

    fn step(&mut self, op: Op) -> Result<Step, String> {
        let t = Instant::now();
        let s = self.sut.apply(&op).map_err(|e| e.to_string())?;
        let o = &s.observation;
        if let Reply::Peer(PeerRead::Data(d)) = &o.reply {
            self.peer.extend_from_slice(d);
        }
        let reply = match &o.reply {
            Reply::Peer(PeerRead::Data(d)) => format!("peer data {} bytes", d.len()),
            Reply::Mailbox(m) => format!("mailbox {} msgs", m.len()),
            r => format!("{r:?}"),
        };
        println!(
            "  {:>2} {:<44} -> {reply}; senders {:?} completed {:?} busy_port {:?} queue {} ports {} ({} ms)",
            self.steps,
            format!("{op:?}").chars().take(44).collect::<String>(),
            o.senders,
            o.completed,
            o.busy_port_events,
            o.queue.0,
            o.ports,
            t.elapsed().as_millis()
        );
        self.steps += 1;
        Ok(s)
    }

    /// Reads until the peer would block (every read is its own step).
    fn drain_peer(&mut self) -> Result<Vec<Step>, String> {
        let mut out = vec![];
        for _ in 0..1000 {
            let s = self.step(Op::PeerRead { max: Bytes(65536) })?;
            let stop = matches!(s.observation.reply, Reply::Peer(PeerRead::WouldBlock | PeerRead::Eof));
            out.push(s);
            if stop {
                return Ok(out);
            }
        }
        Err("peer never ran dry".into())
    }

    /// Reads until every sender is idle and the queue is empty; collects completions.
    fn drain_all(&mut self) -> Result<Vec<(SenderId, SendResult)>, String> {
        let mut done = vec![];
        for _ in 0..200 {
            let steps = self.drain_peer()?;
            for s in &steps {
                done.extend(s.observation.completed.iter().cloned());
            }
            let last = &steps.last().unwrap().observation;
            if last.queue.0 == 0 && last.senders.iter().all(|s| *s == SenderStatus::Idle) {
                return Ok(done);
            }
            // Bytes the kernel took are still in flight (zero-window
            // probes, delayed ACKs): wait for the peer, the outside world.
            let s = self.step(Op::AwaitPeer)?;
            done.extend(s.observation.completed.iter().cloned());
        }
        Err("never drained".into())
    }
}

fn setup(options: Vec<Opt>, senders: u8) -> Setup {
    Setup { options, senders, ..Setup::default() }
}

fn expect_payloads(peer: &[u8], sends: &[(u16, usize)]) -> R {
    let mut want = vec![];
    for &(tag, len) in sends {
        want.extend(payload(tag, Bytes(len)));
    }
    ensure!(peer.len() == want.len(), "peer got {} bytes, expected {}", peer.len(), want.len());
    if let Some(i) = (0..want.len()).find(|&i| peer[i] != want[i]) {
        return Err(format!("peer stream differs at byte {i}"));
    }
    Ok(())
}

// --- protocol error paths ------------------------------------------------------------------

fn malformed_line() -> R {
    let f = script(READY, "read op; echo 'this is {not json'; cat >/dev/null");
    let e = apply_err(&f, &Op::Quiesce)?.to_string();
    println!("{e}");
    ensure!(e.contains("step 0 (quiesce)"), "does not name the step: {e}");
    ensure!(e.contains("malformed"), "does not say malformed: {e}");
    ensure!(e.contains("this is {not json"), "does not quote the line: {e}");
    ensure!(unsupported_reason(&SutError(e.clone())).is_none(), "malformed is not a capability gap");
    Ok(())
}

fn silent_sut_killed() -> R {
    // Answers the handshake, then reads forever and never answers.
    let f =
        script(READY, "echo about to go silent >&2; cat >/dev/null").with_answer_timeout(Duration::from_millis(300));
    let mut sut = f.spawn(&Setup::default()).map_err(|e| e.to_string())?;
    let t = Instant::now();
    let e = sut.apply(&Op::GetOpts).err().ok_or("expected a timeout")?.to_string();
    println!("{e}");
    ensure!(t.elapsed() < Duration::from_secs(3), "took {:?}", t.elapsed());
    ensure!(e.contains("no answer within 300ms"), "{e}");
    ensure!(e.contains("killed"), "{e}");
    ensure!(e.contains("step 0 (getopts)"), "{e}");
    ensure!(e.contains("about to go silent"), "no stderr tail: {e}");
    // The session is dead afterwards.
    let e2 = sut.apply(&Op::GetOpts).err().ok_or("dead session answered")?.to_string();
    ensure!(e2.contains("already failed"), "{e2}");
    Ok(())
}

fn early_exit_stderr_tail() -> R {
    let f = script(READY, "read op; i=1; while [ $i -le 30 ]; do echo \"boom line $i\" >&2; i=$((i+1)); done; exit 3");
    let e = apply_err(&f, &Op::Quiesce)?.to_string();
    println!("{e}");
    ensure!(e.contains("exited early"), "{e}");
    ensure!(e.contains("exit status 3"), "{e}");
    ensure!(e.contains("boom line 30"), "missing the last line: {e}");
    ensure!(e.contains("boom line 11"), "missing line 11 of the last 20: {e}");
    ensure!(!e.contains("boom line 10\n"), "kept more than 20 lines: {e}");
    ensure!(e.contains("10 earlier lines dropped"), "{e}");
    Ok(())
}

fn exit_during_handshake() -> R {
    let f = ExternalFactory::new("sh-sut", "echo cannot start >&2; exit 7");
    let e = start_err(&f).to_string();
    println!("{e}");
    ensure!(e.contains("handshake"), "{e}");
    ensure!(e.contains("exit status 7"), "{e}");
    ensure!(e.contains("cannot start"), "{e}");
    Ok(())
}

fn version_mismatch() -> R {
    let f = script(r#"{"type":"ready","version":2,"sut":"future"}"#, "cat >/dev/null");
    let e = start_err(&f).to_string();
    println!("{e}");
    ensure!(e.contains("version 2"), "{e}");
    Ok(())
}

fn unsupported_is_declared() -> R {
    let f = script(
        READY,
        r#"read op; echo '{"type":"unsupported","step":0,"reason":"no locks here"}';
           read op; echo '{"type":"step","step":1,"observation":{"reply":"none","senders":["idle","idle"],"completed":[],"busy_port_events":[],"queue":0,"busy":null,"msgq":null,"ports":2}}';
           cat >/dev/null"#,
    );
    let mut sut = f.spawn(&Setup::default()).map_err(|e| e.to_string())?;
    let e = sut.apply(&Op::ContendLock).err().ok_or("expected unsupported")?;
    println!("{e}");
    ensure!(unsupported_reason(&e).is_some_and(|r| r.contains("no locks here")), "{e}");
    // The session stays usable: the next op gets its answer.
    let s = sut.apply(&Op::Quiesce).map_err(|e| e.to_string())?;
    ensure!(s.observation.reply == Reply::None && s.choices.is_empty(), "{s:?}");
    Ok(())
}

fn undeclared_choice_kind() -> R {
    let f = script(
        READY,
        r#"read op; echo '{"type":"step","step":0,"observation":{"reply":"none","senders":["idle","idle"],"completed":[],"busy_port_events":[],"queue":0,"busy":null,"msgq":null,"ports":2},"choices":[{"wrote":{"requested":1,"accepted":1}}]}'; cat >/dev/null"#,
    );
    let e = apply_err(&f, &Op::Quiesce)?.to_string();
    println!("{e}");
    ensure!(e.contains("not declared"), "{e}");
    Ok(())
}

fn wrong_step() -> R {
    let f = script(
        READY,
        r#"read op; echo '{"type":"step","step":4,"observation":{"reply":"none","senders":["idle","idle"],"completed":[],"busy_port_events":[],"queue":0,"busy":null,"msgq":null,"ports":2}}'; cat >/dev/null"#,
    );
    let e = apply_err(&f, &Op::Quiesce)?.to_string();
    println!("{e}");
    ensure!(e.contains("answer is for step 4"), "{e}");
    Ok(())
}

// --- the BEAM adapter ----------------------------------------------------------------------

fn op_kinds(b: Backend) -> R {
    let mut c = Case::new(b, setup(vec![], 2))?;
    let s = c.step(send(0, 100, 1))?;
    ensure!(s.observation.reply == Reply::Sent(Some(SendResult::Ok)), "{:?}", s.observation.reply);
    ensure!(s.observation.senders == vec![SenderStatus::Idle; 2], "{:?}", s.observation.senders);
    let s = c.step(Op::QueueSize)?;
    ensure!(s.observation.reply == Reply::QueueSize(Bytes(0)), "{:?}", s.observation.reply);
    let s = c.step(Op::PeerRead { max: Bytes(40) })?;
    ensure!(s.observation.reply == Reply::Peer(PeerRead::Data(payload(1, Bytes(100))[..40].to_vec())), "partial read");
    ensure!(s.choices == vec![reference::choice::Choice::PeerGot { got: Bytes(40) }], "{:?}", s.choices);
    let s = c.step(Op::PeerRead { max: Bytes(1000) })?;
    ensure!(s.observation.reply == Reply::Peer(PeerRead::Data(payload(1, Bytes(100))[40..].to_vec())), "rest");
    let s = c.step(Op::PeerRead { max: Bytes(1000) })?;
    ensure!(s.observation.reply == Reply::Peer(PeerRead::WouldBlock), "{:?}", s.observation.reply);
    ensure!(s.choices == vec![reference::choice::Choice::PeerGot { got: Bytes(0) }], "{:?}", s.choices);

    // Options: OPT-1/2 clamping, OPT-5 first-listed wins, OPT-3 einval.
    let s = c.step(Op::SetOpts { opts: vec![Opt::HighWatermark(1000)] })?;
    ensure!(s.observation.reply == Reply::SetOpts(Ok(())), "{:?}", s.observation.reply);
    let s = c.step(Op::SetOpts { opts: vec![Opt::HighMsgqWatermark(0)] })?;
    match b {
        Backend::Inet => {
            ensure!(s.observation.reply == Reply::SetOpts(Err(Posix::Einval)), "OPT-3: {:?}", s.observation.reply)
        }
        // Observed: gen_tcp_socket ignores the msgq watermarks, 0 included.
        Backend::Socket => ensure!(s.observation.reply == Reply::SetOpts(Ok(())), "{:?}", s.observation.reply),
    }
    let s = c.step(Op::SetOpts {
        opts: vec![Opt::SendTimeout(Timeout::After(Millis(300))), Opt::SendTimeout(Timeout::Infinity)],
    })?;
    ensure!(s.observation.reply == Reply::SetOpts(Ok(())), "{:?}", s.observation.reply);
    match c.sut.apply(&Op::GetOpts) {
        Ok(s) => {
            let Reply::Opts(o) = s.observation.reply else { return Err(format!("{:?}", s.observation.reply)) };
            println!("  getopts: {o:?}");
            ensure!(b == Backend::Inet, "socket backend answered getopts: {o:?}");
            let want = PortOptions {
                high: Bytes(1000),
                low: Bytes(1000),
                send_timeout: Timeout::After(Millis(300)),
                ..PortOptions::default()
            };
            ensure!(o == want, "getopts {o:?}, expected {want:?}");
        }
        Err(e) => {
            println!("  getopts: {e}");
            ensure!(b == Backend::Socket && unsupported_reason(&e).is_some(), "{e}");
        }
    }

    // Receive side.
    let s = c.step(Op::Recv)?;
    ensure!(s.observation.reply == Reply::Recv(Err(Posix::Timeout)), "{:?}", s.observation.reply);
    c.step(Op::PeerWrite { len: Bytes(10), tag: 9 })?;
    let s = c.step(Op::Recv)?;
    ensure!(s.observation.reply == Reply::Recv(Ok(payload(9, Bytes(10)))), "{:?}", s.observation.reply);
    let s = c.step(Op::Mailbox)?;
    ensure!(s.observation.reply == Reply::Mailbox(vec![]), "{:?}", s.observation.reply);
    c.step(Op::Quiesce)?;
    c.step(send(1, 10, 4))?;
    let s = c.step(Op::AwaitPeer)?;
    ensure!(s.observation.reply == Reply::None, "{:?}", s.observation.reply);
    let s = c.step(Op::PeerRead { max: Bytes(100) })?;
    ensure!(s.observation.reply == Reply::Peer(PeerRead::Data(payload(4, Bytes(10)))), "{:?}", s.observation.reply);
    let s = c.step(Op::ContendLock);
    ensure!(s.as_ref().err().is_some_and(|e| e.contains("unsupported")), "contend_lock: {s:?}");
    Ok(())
}

/// The 2013 seed: high 20000 / low 10000, 5000-byte sends, a peer that does
/// not read. The queue grows by 5000 a send (after the kernel's share of
/// the first two); the send that brings it to >= 20000 blocks with status
/// waiting (SND-5); later senders are suspended with busy_port events
/// (SND-1). Reading until the queue is <= 10000 releases everybody (WM-4,
/// SND-4) and the peer gets every byte in order (ST-1).
fn watermarks_5000(b: Backend) -> R {
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
fn high_watermark_2(b: Backend) -> R {
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

/// The 2011 seed: accept into a full table fails with system_limit and the
/// accepted fd is closed, so the client sees EOF (PT-2); opening a port
/// fails too (PT-3); closing an accepted port frees its slot (PT-4).
fn accept_full_table(b: Backend) -> R {
    let mut c = Case::new(b, Setup { table_capacity: 3, ..setup(vec![], 2) })?;
    let s = c.step(Op::Accept);
    let s = match s {
        Ok(s) => s,
        Err(e) => {
            ensure!(b == Backend::Socket, "{e}");
            println!("  accept: {e}");
            // Still show what open_extra does with a full table.
            let s = c.step(Op::OpenExtra)?;
            println!("  open_extra -> {:?} (ports {})", s.observation.reply, s.observation.ports);
            return Ok(());
        }
    };
    ensure!(matches!(s.observation.reply, Reply::Accept(AcceptOutcome::Accepted(_))), "{:?}", s.observation.reply);
    ensure!(s.observation.ports == 3, "ports {}", s.observation.ports);
    let s = c.step(Op::Accept)?;
    ensure!(
        s.observation.reply == Reply::Accept(AcceptOutcome::Failed { error: Posix::SystemLimit, peer_eof: true }),
        "PT-2: {:?}",
        s.observation.reply
    );
    let s = c.step(Op::OpenExtra)?;
    ensure!(s.observation.reply == Reply::Opened(Err(Posix::SystemLimit)), "PT-3: {:?}", s.observation.reply);
    let s = c.step(Op::CloseAccepted)?;
    ensure!(s.observation.reply == Reply::Closed(Ok(())), "{:?}", s.observation.reply);
    ensure!(s.observation.ports == 2, "PT-4: ports {} after close", s.observation.ports);
    let s = c.step(Op::Accept)?;
    ensure!(
        matches!(s.observation.reply, Reply::Accept(AcceptOutcome::Accepted(_))),
        "PT-4: {:?}",
        s.observation.reply
    );
    Ok(())
}

/// send_timeout on a busy port: the blocked caller gets {error,timeout},
/// suspended senders resume, and the queued data is still delivered (TO-1).
fn send_timeout(b: Backend) -> R {
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

fn nosuspend_force(b: Backend) -> R {
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

fn active_n(b: Backend) -> R {
    let mut c = Case::new(b, setup(vec![], 2))?;
    let s = c.step(Op::SetOpts { opts: vec![Opt::Active(ActiveSetting::N(2))] })?;
    ensure!(s.observation.reply == Reply::SetOpts(Ok(())), "{:?}", s.observation.reply);
    let s = c.step(Op::Recv)?;
    ensure!(s.observation.reply == Reply::Recv(Err(Posix::Einval)), "RX-1: {:?}", s.observation.reply);
    c.step(Op::PeerWrite { len: Bytes(10), tag: 1 })?;
    c.step(Op::PeerWrite { len: Bytes(10), tag: 2 })?;
    let s = c.step(Op::Mailbox)?;
    println!("  mailbox: {:?}", s.observation.reply);
    let Reply::Mailbox(m) = &s.observation.reply else { return Err("no mailbox".into()) };
    use reference::observation::OwnerMsg;
    ensure!(
        *m == vec![OwnerMsg::Tcp(payload(1, Bytes(10))), OwnerMsg::Tcp(payload(2, Bytes(10))), OwnerMsg::TcpPassive],
        "RX-4: {m:?}"
    );
    let s = c.step(Op::SetOpts { opts: vec![Opt::Active(ActiveSetting::N(32767))] })?;
    ensure!(s.observation.reply == Reply::SetOpts(Ok(())), "{:?}", s.observation.reply);
    let s = c.step(Op::SetOpts { opts: vec![Opt::Active(ActiveSetting::N(1))] })?;
    println!("  active 32767 + 1 -> {:?}", s.observation.reply);
    if b == Backend::Inet {
        ensure!(s.observation.reply == Reply::SetOpts(Err(Posix::Einval)), "RX-3");
        let s = c.step(Op::GetOpts)?;
        ensure!(
            matches!(&s.observation.reply, Reply::Opts(o) if o.active == Active::Count(32767)),
            "{:?}",
            s.observation.reply
        );
    }
    Ok(())
}

fn delay_send(b: Backend) -> R {
    let mut c = Case::new(b, setup(vec![Opt::DelaySend(true)], 2))?;
    let s = c.step(send(0, 100, 1))?;
    ensure!(s.observation.reply == Reply::Sent(Some(SendResult::Ok)), "{:?}", s.observation.reply);
    // DS-2: the zero-delay flush has run by the end of the step on the BEAM.
    ensure!(s.observation.queue.0 == 0, "queue {}", s.observation.queue.0);
    let s = c.step(Op::PeerRead { max: Bytes(1000) })?;
    ensure!(s.observation.reply == Reply::Peer(PeerRead::Data(payload(1, Bytes(100)))), "{:?}", s.observation.reply);
    Ok(())
}

fn close_queued(b: Backend) -> R {
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

/// TO-2: with send_timeout 0 a send that would make the port busy replies
/// {error,timeout} at once, the port does not go busy, the data stays queued.
fn send_timeout_zero(b: Backend) -> R {
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
fn send_timeout_close(b: Backend) -> R {
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

/// WM-6: a forced send crossing high takes the single blocked-caller slot;
/// the caller it displaced never gets a reply.
fn force_reply_slot(b: Backend) -> R {
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

/// OPT-6 (listener inheritance), RX-2 (active once), WM-5 (zero-length
/// send), SND-6/CL-2 and PT-4 (close with nothing queued).
fn small_rules(b: Backend) -> R {
    let listener = vec![
        Opt::HighWatermark(30000),
        Opt::LowWatermark(20000),
        Opt::HighMsgqWatermark(9000),
        Opt::DelaySend(true),
        Opt::SendTimeout(Timeout::After(Millis(700))),
        Opt::SendTimeoutClose(true),
        Opt::Active(ActiveSetting::Once),
    ];
    let mut c = Case::new(b, Setup { listener_options: listener, table_capacity: 4, ..setup(vec![], 2) })?;
    match c.step(Op::Accept) {
        Ok(s) => {
            let want = PortOptions {
                high: Bytes(30000),
                low: Bytes(20000),
                high_msgq: Bytes(9000),
                low_msgq: Bytes(4096),
                delay_send: true,
                send_timeout: Timeout::After(Millis(700)),
                send_timeout_close: true,
                active: Active::Once,
            };
            ensure!(
                s.observation.reply == Reply::Accept(AcceptOutcome::Accepted(want)),
                "OPT-6: {:?}",
                s.observation.reply
            );
        }
        Err(e) => ensure!(b == Backend::Socket && e.contains("unsupported"), "{e}"),
    }
    let s = c.step(send(0, 0, 1))?;
    ensure!(
        s.observation.reply == Reply::Sent(Some(SendResult::Ok)) && s.observation.queue.0 == 0,
        "WM-5: {:?}",
        s.observation
    );
    c.step(Op::SetOpts { opts: vec![Opt::Active(ActiveSetting::Once)] })?;
    c.step(Op::PeerWrite { len: Bytes(5), tag: 1 })?;
    c.step(Op::PeerWrite { len: Bytes(5), tag: 2 })?;
    let s = c.step(Op::Mailbox)?;
    use reference::observation::OwnerMsg;
    ensure!(
        s.observation.reply == Reply::Mailbox(vec![OwnerMsg::Tcp(payload(1, Bytes(5)))]),
        "RX-2: {:?}",
        s.observation.reply
    );
    let s = c.step(Op::Recv)?;
    ensure!(
        s.observation.reply == Reply::Recv(Ok(payload(2, Bytes(5)))),
        "passive after once: {:?}",
        s.observation.reply
    );
    let before = c.step(Op::QueueSize)?.observation.ports;
    let s = c.step(Op::Close)?;
    ensure!(s.observation.reply == Reply::Closed(Ok(())), "{:?}", s.observation.reply);
    if b == Backend::Inet {
        ensure!(s.observation.ports == before - 1, "PT-4: ports {} -> {}", before, s.observation.ports);
    }
    let s = c.step(send(1, 10, 3))?;
    ensure!(
        s.observation.reply == Reply::Sent(Some(SendResult::Error(Posix::Closed))),
        "SND-6: {:?}",
        s.observation.reply
    );
    Ok(())
}

/// `parallelism: true` starts the node with `+spp true` (gen_tcp has no
/// per-socket option); the socket backend has no port to make parallel.
fn parallelism_setup(b: Backend) -> R {
    let f = factory(b)?;
    let setup = Setup { parallelism: true, ..setup(vec![], 2) };
    ensure!(f.command(&setup).contains("+spp true"), "{}", f.command(&setup));
    match f.spawn(&setup) {
        Ok(sut) => {
            ensure!(b == Backend::Inet, "socket backend accepted parallelism");
            let p = sut.ready().info.get("port_parallelism").cloned();
            ensure!(p.as_deref() == Some("true"), "{p:?}");
        }
        Err(e) => {
            println!("  {e}");
            ensure!(b == Backend::Socket && unsupported_reason(&e).is_some(), "{e}");
        }
    }
    Ok(())
}
