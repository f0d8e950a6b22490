//! Peer suites' scenarios as fixed cases, run in lockstep with the model
//! on every system under test: the native runtime, and `gen_tcp` on both
//! backends of OTP 25 (the `erl` on PATH) and of OTP 27 and 29 (their
//! chroots, `harness/beam/otp-chroots.sh`). Each trial fails if the model
//! and the system disagree at any step (the rule that decided the value is
//! named, as in any run), then checks the peer test's own assertion on
//! what the system reported. A system that is not here (no `erl`, a
//! release not installed, not root) prints `SKIP <id>: <reason>`.
//!
//! Why fixed cases as well as random ones: the random cases reach these
//! states, but a peer test's exact sequence is then checked on every run,
//! on every release, by name (README, "What the peers' suites assert").

use harness::executor::{run_case, run_case_reading_the_end, CaseOutcome};
use harness::sut::beam::{Backend, BeamFactory};
use harness::sut::native::{BugTable, NativeFactory, PlantedBug};
use harness::sut::SutFactory;
use reference::observation::{AcceptOutcome, OwnerMsg, PeerRead, Posix, Reader, Reply, SendResult};
use reference::op::{KernelEnv, Op, SendFlags, Setup, ShutdownHow};
use reference::options::{ActiveSetting, Opt, PortOptions, Timeout};
use reference::units::{Bytes, Millis, SenderId};
use std::sync::OnceLock;
use suite::capability::{otp_chroot_erl, trial, Capability};

type R = Result<(), String>;

/// The systems a scenario runs on.
#[derive(Clone, Copy, Debug)]
enum System {
    Native,
    /// `gen_tcp` on OTP `release` (`None`: the `erl` on PATH).
    Beam(Backend, Option<&'static str>),
}

impl System {
    fn name(self) -> String {
        match self {
            System::Native => "native".into(),
            System::Beam(b, rel) => format!("otp{}-{}", rel.unwrap_or("25"), b.arg()),
        }
    }

    fn caps(self) -> &'static [Capability] {
        match self {
            System::Native => &[],
            System::Beam(_, None) => &[Capability::Erl],
            System::Beam(_, Some(rel)) => Box::leak(Box::new([Capability::Root, Capability::OtpChroot(rel)])),
        }
    }

    /// One factory per system for the whole run, so that a release's node
    /// is reused from scenario to scenario as the differential's are: each
    /// case still gets fresh processes and ports, and a node whose reset
    /// finds anything left behind (or whose case failed) is killed, not
    /// reused (`harness/src/sut/external/reuse.rs`, issue 18).
    fn factory(self) -> Result<&'static dyn SutFactory, String> {
        static NATIVE: OnceLock<NativeFactory> = OnceLock::new();
        match self {
            System::Native => Ok(NATIVE.get_or_init(|| NativeFactory::new(None))),
            System::Beam(b, rel) => {
                let cell = beam_cells().iter().find(|(k, _)| *k == (b, rel)).map(|(_, c)| c);
                let cell = cell.ok_or_else(|| format!("{}: not a system of these scenarios", self.name()))?;
                let f = cell.get_or_init(|| {
                    let erl = rel.map(otp_chroot_erl);
                    BeamFactory::new(b, erl.as_deref()).map_err(|e| e.to_string())
                });
                f.as_ref().map(|f| f as &dyn SutFactory).map_err(Clone::clone)
            }
        }
    }
}

type BeamCell = OnceLock<Result<BeamFactory, String>>;

/// The BEAM systems' factories, made on first use.
fn beam_cells() -> &'static [((Backend, Option<&'static str>), BeamCell); 3] {
    static CELLS: [((Backend, Option<&str>), BeamCell); 3] = [
        ((Backend::Inet, None), OnceLock::new()),
        ((Backend::Inet, Some("27")), OnceLock::new()),
        ((Backend::Inet, Some("29")), OnceLock::new()),
    ];
    &CELLS
}

/// The systems whose sockets are ports with a driver queue: the native
/// runtime and the inet driver of each release. (The socket backend has
/// neither: its sends wait in the caller, DIFF-SOCK-*, so a scenario about
/// the driver queue and the port table is not its.)
fn port_systems() -> Vec<System> {
    let mut v = vec![System::Native];
    v.extend(beam_cells().iter().map(|((b, rel), _)| System::Beam(*b, *rel)));
    v
}

/// Runs `ops` in lockstep on `system`: the model's prediction must hold at
/// every step.
fn lockstep(system: System, setup: &Setup, ops: &[Op]) -> Result<CaseOutcome, String> {
    checked(system, run_case(system.factory()?, setup, ops))
}

/// `lockstep`, and the peer reads once more after the drain where the
/// model says only the port's FIN is left (SD-1): the EOF is compared too.
fn lockstep_to_the_end(system: System, setup: &Setup, ops: &[Op]) -> Result<CaseOutcome, String> {
    checked(system, run_case_reading_the_end(system.factory()?, setup, ops))
}

fn checked(system: System, out: CaseOutcome) -> Result<CaseOutcome, String> {
    if let Some(why) = &out.unsupported {
        return Err(format!("{}: unsupported: {why:?}", system.name()));
    }
    if !out.passed() {
        return Err(format!("the model and {} disagree:\n{}", system.name(), suite::trace::lines(&out)));
    }
    // The model skips an op it does not enable in the state reached: the
    // scenario would then not be the peer test's.
    if out.skipped_ops > 0 {
        return Err(format!(
            "{} of the scenario's ops were not enabled on {}:\n{}",
            out.skipped_ops,
            system.name(),
            suite::trace::lines(&out)
        ));
    }
    Ok(out)
}

/// What the system reported at the first step that applied `op` (the
/// executor adds steps of its own, such as the end-of-case drain).
fn observed<'a>(out: &'a CaseOutcome, op: &Op) -> Result<&'a reference::observation::Observation, String> {
    let step = out.trace.iter().find(|t| &t.op == op).ok_or(format!("no {op:?} step in the trace"))?;
    step.observed.as_ref().ok_or(format!("the {op:?} step was not observed"))
}

/// What the system reported at the step of the scenario's `i`-th op.
fn observed_at(out: &CaseOutcome, i: usize) -> Result<&reference::observation::Observation, String> {
    let step = out.trace.iter().find(|t| t.op_index == Some(i)).ok_or(format!("no step for op {i}"))?;
    step.observed.as_ref().ok_or(format!("op {i} ({:?}) was not observed", step.op))
}

/// Every byte the peer read in the case, and what its last read saw.
fn peer_reads(out: &CaseOutcome) -> (usize, Option<PeerRead>) {
    let mut total = 0;
    let mut last = None;
    for t in &out.trace {
        if let (Op::PeerRead { .. }, Some(o)) = (&t.op, &t.observed) {
            if let Reply::Peer(r) = &o.reply {
                if let PeerRead::Data(d) = r {
                    total += d.len();
                }
                last = Some(r.clone());
            }
        }
    }
    (total, last)
}

/// SD-1, SD-2: the peer read `sent` bytes, then EOF.
fn peer_got_all_then_eof(out: &CaseOutcome, sent: usize, rule: &str) -> R {
    match peer_reads(out) {
        (n, Some(PeerRead::Eof)) if n == sent => Ok(()),
        (n, last) => Err(format!("{rule}: the peer read {n} of {sent} bytes, its last read {last:?} (EOF expected)")),
    }
}

fn expect(what: &str, got: &Reply, want: Reply) -> R {
    if *got == want {
        Ok(())
    } else {
        Err(format!("{what}: {got:?}, expected {want:?}"))
    }
}

fn send(sender: u8, len: usize) -> Op {
    Op::Send { sender: SenderId(sender), len: Bytes(len), tag: 1, flags: SendFlags::default() }
}

/// `gen_tcp_misc_SUITE:zombie_sockets` (OTP-7615: ports left behind in
/// the table after close). The port sends more than the peer takes; the
/// peer resets (a client that closed with that data unread, KN-RST-1);
/// the recv reports the end (PC-5: the write that met the RST dropped the
/// queue); the close that follows has nothing to flush (CL-1), so the port
/// leaves the table at the close (PT-4).
fn zombie_sockets(system: System) -> R {
    let setup = Setup { senders: 1, ..Setup::default() };
    let ops = [send(0, 200_000), Op::PeerReset, Op::Recv, Op::QueueSize, Op::Close];
    let out = lockstep(system, &setup, &ops)?;
    let recv = observed(&out, &Op::Recv)?;
    if !matches!(recv.reply, Reply::Recv(Err(Posix::Closed))) {
        return Err(format!("PC-5: the recv after the reset returned {:?}", recv.reply));
    }
    let (before, close) = (observed(&out, &Op::QueueSize)?, observed(&out, &Op::Close)?);
    if before.queue != Bytes::ZERO {
        return Err(format!("PC-5: {:?} still queued after the reset", before.queue));
    }
    if close.ports + 1 != before.ports {
        return Err(format!("CL-1, PT-4: {} ports before the close, {} after", before.ports, close.ports));
    }
    Ok(())
}

/// `gen_tcp_misc_SUITE:default_options`: the kernel application's
/// `inet_default_connect_options` and `inet_default_listen_options` apply
/// to every connect and listen under the call's own options, their
/// `{active,_}` has no effect, and an accepted socket inherits what the
/// listen environment gave its listener (OPT-8, OPT-6). With `own` the
/// port's own setopts overrides one of them.
fn default_options(system: System, own: bool) -> R {
    let kernel_env = KernelEnv {
        connect: vec![
            Opt::DelaySend(true),
            Opt::HighWatermark(20_000),
            Opt::Active(ActiveSetting::True),
            Opt::SendTimeout(Timeout::After(Millis(3000))),
        ],
        listen: vec![Opt::LowWatermark(1000), Opt::Active(ActiveSetting::Once), Opt::DelaySend(true)],
    };
    let options = if own { vec![Opt::DelaySend(false)] } else { vec![] };
    let setup = Setup { senders: 1, kernel_env, options, ..Setup::default() };
    let out = lockstep(system, &setup, &[Op::GetOpts, Op::Accept])?;
    // What OPT-8 derives: the defaults (OPT-7, WM-1: high 8192, low 4096),
    // the environment over them without its active, the call's own over
    // that; the harness opens both passive.
    let defaults = PortOptions::default();
    let port =
        PortOptions { delay_send: !own, high: Bytes(20_000), send_timeout: Timeout::After(Millis(3000)), ..defaults };
    let accepted = PortOptions { low: Bytes(1000), delay_send: true, ..defaults };
    let got = &observed(&out, &Op::GetOpts)?.reply;
    if *got != Reply::Opts(port) {
        return Err(format!("OPT-8: the port under test's options {got:?}, expected {port:?}"));
    }
    let got = &observed(&out, &Op::Accept)?.reply;
    if *got != Reply::Accept(AcceptOutcome::Accepted(accepted)) {
        return Err(format!("OPT-8, OPT-6: the accepted port's options {got:?}, expected {accepted:?}"));
    }
    Ok(())
}

const SHUT_WRITE: Op = Op::Shutdown { how: ShutdownHow::Write };
const SHUT_BOTH: Op = Op::Shutdown { how: ShutdownHow::ReadWrite };

/// `gen_tcp_api_SUITE:t_shutdown_write` (SD-1): shutdown(write) on an
/// idle port returns ok; the peer reads what the port sent, then EOF; the
/// port still receives what the peer writes, until the peer's own FIN
/// (PC-1).
fn shutdown_write(system: System) -> R {
    let setup = Setup { senders: 1, ..Setup::default() };
    let ops = [send(0, 10), SHUT_WRITE, Op::PeerWrite { len: Bytes(3), tag: 2 }, Op::Recv, Op::PeerShutdown, Op::Recv];
    let out = lockstep_to_the_end(system, &setup, &ops)?;
    expect("SD-1: shutdown(write)", &observed_at(&out, 1)?.reply, Reply::Shutdown(Ok(())))?;
    expect("SD-1: a recv after shutdown(write)", &observed_at(&out, 3)?.reply, Reply::Recv(Ok(payload(2, 3))))?;
    expect("PC-1: the recv at the peer's FIN", &observed_at(&out, 5)?.reply, Reply::Recv(Err(Posix::Closed)))?;
    peer_got_all_then_eof(&out, 10, "SD-1")
}

/// `gen_tcp_api_SUITE:t_shutdown_both` (SD-1, SD-4): shutdown(read_write)
/// with input waiting: the peer reads what the port sent, then EOF; the
/// port reads what it had, then the end ({error,closed}, then enotconn),
/// and the next send is told {error,closed} (PC-4). With `active` the
/// owner gets the bytes, then {tcp_closed,S}, and the port exits (PC-3).
fn shutdown_both(system: System, active: bool) -> R {
    let options = if active { vec![Opt::Active(ActiveSetting::True)] } else { vec![] };
    let setup = Setup { senders: 1, options, ..Setup::default() };
    let ops = if active {
        vec![Op::PeerWrite { len: Bytes(3), tag: 2 }, Op::Quiesce, send(0, 10), SHUT_BOTH, Op::Quiesce, Op::Mailbox]
    } else {
        vec![Op::PeerWrite { len: Bytes(3), tag: 2 }, send(0, 10), SHUT_BOTH, Op::Recv, Op::Recv, Op::Recv, send(0, 1)]
    };
    let out = lockstep_to_the_end(system, &setup, &ops)?;
    let shut = if active { 3 } else { 2 };
    expect("SD-1: shutdown(read_write)", &observed_at(&out, shut)?.reply, Reply::Shutdown(Ok(())))?;
    if active {
        let before = observed_at(&out, 4)?;
        let got = &observed_at(&out, 5)?.reply;
        let want = Reply::Mailbox(vec![OwnerMsg::Tcp(payload(2, 3)), OwnerMsg::TcpClosed]);
        // The bytes may have been delivered at the first quiesce.
        let tail = Reply::Mailbox(vec![OwnerMsg::TcpClosed]);
        if *got != want && *got != tail {
            return Err(format!("SD-4, PC-3: the owner's mailbox {got:?}, expected {want:?}"));
        }
        if before.ports != 1 {
            return Err(format!("SD-4, PC-3: {} ports after the port read its end (it exits)", before.ports));
        }
    } else {
        let recvs: Vec<_> = (3..6).map(|i| observed_at(&out, i).map(|o| o.reply.clone())).collect::<Result<_, _>>()?;
        let want =
            vec![Reply::Recv(Ok(payload(2, 3))), Reply::Recv(Err(Posix::Closed)), Reply::Recv(Err(Posix::Enotconn))];
        if recvs != want {
            return Err(format!("SD-4: the recvs after shutdown(read_write) {recvs:?}, expected {want:?}"));
        }
        let sent = &observed_at(&out, 6)?.reply;
        expect("PC-4: the send after the end", sent, Reply::Sent(Some(SendResult::Error(Posix::Closed))))?;
    }
    peer_got_all_then_eof(&out, 10, "SD-1")
}

/// `gen_tcp_api_SUITE:t_shutdown_async` and `gen_tcp_misc_SUITE:
/// shutdown_pending` (SD-2): a send larger than the kernel takes leaves
/// output in the driver queue (written directly, the rest queued: WM-2);
/// shutdown(write) returns ok at once and leaves the queue as it was; the
/// peer reads every byte, then EOF. With `blocked`, a second sender's send
/// onto the queue made the port busy (WM-3): it is answered ok once the
/// queue drains to the low watermark (WM-4), the shutdown still pending.
fn shutdown_async_ops(blocked: bool) -> Vec<Op> {
    let mut ops = vec![send(0, 200_000), Op::QueueSize];
    if blocked {
        ops.push(send(1, 100));
    }
    ops.extend([SHUT_WRITE, Op::QueueSize]);
    ops
}

fn shutdown_async(system: System, blocked: bool) -> R {
    let setup = Setup { senders: 2, ..Setup::default() };
    let ops = shutdown_async_ops(blocked);
    let out = lockstep_to_the_end(system, &setup, &ops)?;
    let n = ops.len();
    let (before, after) = (observed_at(&out, 1)?, observed_at(&out, n - 1)?);
    if before.queue == Bytes::ZERO {
        return Err("t_shutdown_async: nothing queued in the driver before the shutdown".into());
    }
    expect("SD-2: shutdown(write) with output queued", &observed_at(&out, n - 2)?.reply, Reply::Shutdown(Ok(())))?;
    if blocked {
        let queued = before.queue.0 + 100;
        if after.queue.0 != queued {
            return Err(format!("SD-2: {} queued after the shutdown, {queued} before", after.queue));
        }
        let answered = out.trace.iter().flat_map(|t| t.observed.iter()).flat_map(|o| o.completed.iter());
        if !answered.clone().any(|c| *c == (SenderId(1), SendResult::Ok)) {
            return Err(format!(
                "SD-2, WM-4: the blocked sender was not answered ok: {:?}",
                answered.collect::<Vec<_>>()
            ));
        }
    } else if after.queue != before.queue {
        return Err(format!("SD-2: {} queued after the shutdown, {} before", after.queue, before.queue));
    }
    peer_got_all_then_eof(&out, 200_000 + if blocked { 100 } else { 0 }, "SD-2")
}

/// `gen_tcp_misc_SUITE:delay_send_error` (OTP-15536, SD-3): with
/// delay_send, a send after shutdown(write) is queued and answered ok
/// (DS-1); the flush's write fails, with nobody to answer it, so the next
/// send is told {error,closed} (PC-4), the next recv {error,closed}, then
/// {error,enotconn}.
fn delay_send_error(system: System) -> R {
    let setup = Setup { senders: 1, options: vec![Opt::DelaySend(true)], ..Setup::default() };
    let ops = [SHUT_WRITE, send(0, 4), Op::Quiesce, Op::QueueSize, send(0, 4), Op::Recv, Op::Recv, send(0, 4)];
    let out = lockstep(system, &setup, &ops)?;
    let replies: Vec<_> =
        [1, 4, 5, 6, 7].iter().map(|&i| observed_at(&out, i).map(|o| o.reply.clone())).collect::<Result<_, _>>()?;
    let want = vec![
        Reply::Sent(Some(SendResult::Ok)),
        Reply::Sent(Some(SendResult::Error(Posix::Closed))),
        Reply::Recv(Err(Posix::Closed)),
        Reply::Recv(Err(Posix::Enotconn)),
        Reply::Sent(Some(SendResult::Error(Posix::Enotconn))),
    ];
    if replies != want {
        return Err(format!("SD-3: the sends and recvs after shutdown(write) {replies:?}, expected {want:?}"));
    }
    if observed_at(&out, 3)?.queue != Bytes::ZERO {
        return Err("SD-3: the failed flush left output queued".into());
    }
    Ok(())
}

/// SD-3 with show_econnreset after a shutdown made once its queue
/// emptied (OTP swarm seed 1602 on 25 and 27; probe_shutdown_made_later.erl):
/// the peer reads the queue of a 20 KB send, the shutdown is made then, and a send
/// after it returns {error,closed}, not econnreset, as the recv after it.
fn shutdown_made_later_shows_no_reset(system: System) -> R {
    let setup = Setup { senders: 1, show_econnreset: true, ..Setup::default() };
    let mut ops = vec![send(0, 20_000), SHUT_WRITE];
    for _ in 0..40 {
        ops.extend([Op::PeerRead { max: Bytes(65536) }, Op::Quiesce]);
    }
    ops.extend([Op::QueueSize, send(0, 4), Op::Recv]);
    let out = lockstep(system, &setup, &ops)?;
    let n = ops.len();
    if observed_at(&out, 1)?.queue == Bytes::ZERO {
        return Err("nothing queued at the shutdown: it was made at once".into());
    }
    if observed_at(&out, n - 3)?.queue != Bytes::ZERO {
        return Err("the queue did not drain within the peer's reads".into());
    }
    let replies = [observed_at(&out, n - 2)?.reply.clone(), observed_at(&out, n - 1)?.reply.clone()];
    let want = [Reply::Sent(Some(SendResult::Error(Posix::Closed))), Reply::Recv(Err(Posix::Closed))];
    if replies != want {
        return Err(format!("SD-3: after the shutdown made late {replies:?}, expected {want:?}"));
    }
    Ok(())
}

/// `gen_tcp_misc_SUITE:linger_zero` (CL-4): with `{linger, {true, 0}}`
/// and output queued in the driver, gen_tcp:close returns ok and the port
/// is gone at once (the test's `port_info(C, connected)` is undefined), its
/// queue dropped; the peer reads what had reached it, then ECONNRESET.
fn linger_zero(system: System) -> R {
    let setup = Setup { senders: 1, linger_zero: true, ..Setup::default() };
    let read = Op::PeerRead { max: Bytes(1 << 20) };
    let ops = [send(0, 200_000), Op::QueueSize, Op::Close, Op::QueueSize, read.clone(), read];
    let out = lockstep(system, &setup, &ops)?;
    let before = observed_at(&out, 1)?;
    if before.queue == Bytes::ZERO {
        return Err("linger_zero: nothing queued in the driver before the close".into());
    }
    let closed = observed_at(&out, 2)?;
    expect("CL-4: the close", &closed.reply, Reply::Closed(Ok(())))?;
    if closed.ports != 1 || closed.queue != Bytes::ZERO {
        return Err(format!(
            "CL-4: {} ports and {} queued after the close (1 and 0 expected)",
            closed.ports, closed.queue
        ));
    }
    match peer_reads(&out) {
        (n, Some(PeerRead::Reset)) if n < 200_000 => Ok(()),
        (n, last) => {
            let last =
                last.map(|r| if let PeerRead::Data(d) = r { format!("{} bytes", d.len()) } else { format!("{r:?}") });
            Err(format!("CL-4: the peer read {n} of 200000 bytes, its last read {last:?} (a reset expected)"))
        }
    }
}

/// `gen_tcp_misc_SUITE:otp_13939`'s setting, the peer's FIN on a port
/// with `{exit_on_close, false}` (PC-6, PC-7): the port reports the end
/// (a passive recv `{error,closed}`, twice; an active port `tcp_closed`)
/// and stays; a send after it returns at once and is written (200 KB, more
/// than the kernel takes: the rest queued and flushed as the peer reads),
/// and the peer, which only shut its write side, reads every byte, then
/// EOF at the port's close. (otp_13939's peer closes outright, so its
/// second send meets the RST that answered the first: the peer's RST is
/// not generated with exit_on_close false.)
fn half_closed_send(system: System, active: bool) -> R {
    let setup = Setup { senders: 1, exit_on_close: false, ..Setup::default() };
    let mut ops = vec![];
    if active {
        ops.push(Op::SetOpts { opts: vec![Opt::Active(ActiveSetting::True)] });
    }
    ops.extend([Op::PeerShutdown, Op::Quiesce, Op::Mailbox, Op::Recv, Op::Recv, send(0, 200_000), Op::QueueSize]);
    let base = usize::from(active);
    ops.push(Op::Close);
    let out = lockstep_to_the_end(system, &setup, &ops)?;
    let told = observed_at(&out, base + 2)?;
    let (first, second) = (observed_at(&out, base + 3)?, observed_at(&out, base + 4)?);
    if active {
        expect("PC-7: the owner is told", &told.reply, Reply::Mailbox(vec![OwnerMsg::TcpClosed]))?;
        expect("RX-1: recv on an active port", &first.reply, Reply::Recv(Err(Posix::Einval)))?;
    } else {
        expect("PC-6: the recv at the end", &first.reply, Reply::Recv(Err(Posix::Closed)))?;
        expect("PC-6: the recv after it", &second.reply, Reply::Recv(Err(Posix::Closed)))?;
    }
    if second.ports != 2 {
        return Err(format!("PC-6/PC-7: {} ports after the end (the port stays: 2 expected)", second.ports));
    }
    expect("PC-6: the send after the end", &observed_at(&out, base + 5)?.reply, Reply::Sent(Some(SendResult::Ok)))?;
    if observed_at(&out, base + 6)?.queue == Bytes::ZERO {
        return Err("PC-6: the kernel took the whole send: nothing queued to flush after the end".into());
    }
    peer_got_all_then_eof(&out, 200_000, "PC-6, CL-1")
}

/// The owner closes the port while a caller is blocked on it (S1) and a
/// sender is suspended on it (S2) (issue 16: `Close` while senders wait;
/// `gen_tcp_misc_SUITE:otp_12242`'s blocked caller, without its linger
/// time): the close answers nobody; the flush goes on (CL-1) and the peer
/// reads every queued byte, then EOF. On the native runtime the port left
/// the table at the close (CL-2): S1 gets ok as the flush drains (WM-4),
/// S2's retry finds the port gone, `{error,closed}` (SND-6), its bytes
/// never sent. On OTP's inet driver gen_tcp:close waits for the queue
/// (DIFF-INET-3): both get ok, S2's bytes are queued and reach the peer
/// (`probe_close_waiting.erl`).
fn close_over_waiting_senders(system: System) -> R {
    let setup = Setup { senders: 3, options: vec![Opt::HighWatermark(64), Opt::LowWatermark(16)], ..Setup::default() };
    let tagged = |sender: u8, len: usize, tag: u16| Op::Send {
        sender: SenderId(sender),
        len: Bytes(len),
        tag,
        flags: SendFlags::default(),
    };
    let ops = [send(0, 200_000), tagged(1, 100, 2), tagged(2, 10, 3), Op::Close];
    let out = lockstep_to_the_end(system, &setup, &ops)?;
    let answered: Vec<_> =
        out.trace.iter().filter_map(|t| t.observed.as_ref()).flat_map(|o| o.completed.clone()).collect();
    let otp = matches!(system, System::Beam(..));
    let s2 = if otp { SendResult::Ok } else { SendResult::Error(Posix::Closed) };
    if !answered.contains(&(SenderId(1), SendResult::Ok)) || !answered.contains(&(SenderId(2), s2)) {
        return Err(format!("WM-4/SND-6/DIFF-INET-3: the waiting senders were answered {answered:?}"));
    }
    peer_got_all_then_eof(&out, 200_000 + 100 + if otp { 10 } else { 0 }, "CL-1")
}

/// What S0 queues ahead of the writers. `busy_port_SUITE` sends 2 MB; what
/// the scenarios need is a queue that stays above the high watermark (64)
/// until the kills, and the kernel takes at most its send and receive
/// buffers of it (9216 + 4608 bytes on these nodes, the adapter's `ready`),
/// so a tenth of it keeps them busy and the drain reads ten times less.
const QUEUED_AHEAD: usize = 200_000;

/// Writers suspended on a busy port (a queue of `QUEUED_AHEAD` behind S1, a caller
/// blocked on its reply, which the kernel cannot take without the peer
/// reading), then `kills`, in lockstep: the senders' statuses before the
/// kills as `multiple_writers` has them, every send completed in the case,
/// and what the peer read.
fn writers_behind_a_caller(system: System, kills: &[Op]) -> Result<(CaseOutcome, Vec<(SenderId, SendResult)>), String> {
    let options = vec![Opt::HighWatermark(64), Opt::LowWatermark(16)];
    let setup = Setup { senders: 5, options, ..Setup::default() };
    let w = |s: u8| Op::Send { sender: SenderId(s), len: Bytes(10), tag: 1, flags: SendFlags::default() };
    let mut ops = vec![send(0, QUEUED_AHEAD), send(1, 100), w(2), w(3), w(4)];
    ops.extend_from_slice(kills);
    ops.push(Op::QueueSize);
    let out = lockstep(system, &setup, &ops)?;
    use reference::observation::SenderStatus::{Idle, Suspended, Waiting};
    let before = observed_at(&out, 4)?;
    if before.senders != [Idle, Waiting, Suspended, Suspended, Suspended] {
        return Err(format!("senders {:?} before the kills", before.senders));
    }
    let done = out.trace.iter().flat_map(|t| t.observed.iter()).flat_map(|o| o.completed.clone()).collect();
    Ok((out, done))
}

/// `busy_port_SUITE:multiple_writers` (SND-7, SND-4): writers suspended on
/// a busy port, two of them killed; the peer reads everything: the
/// survivors' sends complete ok and their bytes arrive, the killed
/// writers' never do.
fn multiple_writers(system: System) -> R {
    let kill = |s: u8| Op::Kill { sender: SenderId(s) };
    let (out, done) = writers_behind_a_caller(system, &[kill(2), kill(4)])?;
    for s in [1, 3] {
        if !done.contains(&(SenderId(s), SendResult::Ok)) {
            return Err(format!("SND-4: survivor S{s} not answered ok: {done:?}"));
        }
    }
    if done.iter().any(|(s, _)| [2, 4].contains(&s.0)) {
        return Err(format!("SND-7: a killed writer completed: {done:?}"));
    }
    let (got, _) = peer_reads(&out);
    if got != QUEUED_AHEAD + 100 + 10 {
        return Err(format!(
            "SND-7: the peer read {got} bytes, expected {} (the killed writers' never)",
            QUEUED_AHEAD + 110
        ));
    }
    Ok(())
}

/// `multiple_writers` with the blocked caller killed instead (SND-8, as
/// `probe_kill_suspended.erl`'s `kill caller` measured on OTP 25, 27 and
/// 29): its 100 bytes, queued behind `QUEUED_AHEAD`, stay and reach the peer; the
/// three suspended writers send ok once the port leaves busy; the fresh
/// process in the caller's place completes nothing.
fn multiple_writers_caller_killed(system: System) -> R {
    let (out, done) = writers_behind_a_caller(system, &[Op::KillCaller { sender: SenderId(1) }])?;
    use reference::observation::SenderStatus::{Idle, Suspended};
    let after = observed_at(&out, 5)?;
    if after.senders != [Idle, Idle, Suspended, Suspended, Suspended] {
        return Err(format!("SND-8: senders {:?} after the kill", after.senders));
    }
    for s in [2, 3, 4] {
        if !done.contains(&(SenderId(s), SendResult::Ok)) {
            return Err(format!("SND-4: suspended writer S{s} not answered ok: {done:?}"));
        }
    }
    if done.iter().any(|(s, _)| s.0 == 1) {
        return Err(format!("SND-8: the killed caller's id completed a send: {done:?}"));
    }
    let (got, _) = peer_reads(&out);
    if got != QUEUED_AHEAD + 100 + 30 {
        return Err(format!(
            "SND-8: the peer read {got} bytes, expected {} (the killed caller's too)",
            QUEUED_AHEAD + 130
        ));
    }
    Ok(())
}

/// The port's owner dies (CL-6; the "the port owner killed"; the
/// BEAM adapter hands the port to a process of its own and kills that):
/// input unread at the port (`passive`), or taken into the owner's
/// mailbox (`active`), or a reader waiting. The port leaves the table at
/// once; the peer reads a reset over the unread input, EOF otherwise; the
/// reader returns {error,closed}; a send after {error,closed}; the owner's
/// messages are gone with it.
fn owner_death(system: System, load: &str) -> R {
    let mut ops = vec![];
    match load {
        "active" => ops.push(Op::SetOpts { opts: vec![Opt::Active(reference::options::ActiveSetting::True)] }),
        "reader" => ops.push(Op::RecvWait { len: Bytes(100), timeout: None }),
        _ => {}
    }
    ops.extend([Op::PeerWrite { len: Bytes(5), tag: 3 }, Op::Quiesce, Op::QueueSize, Op::KillOwner, Op::QueueSize]);
    ops.extend([send(0, 10), Op::Recv, Op::PeerRead { max: Bytes(65536) }, Op::Quiesce, Op::Mailbox]);
    let kill_at = ops.iter().position(|o| *o == Op::KillOwner).expect("the kill");
    let out = lockstep(system, &Setup::default(), &ops)?;
    let (before, after) = (observed_at(&out, kill_at - 1)?, observed_at(&out, kill_at)?);
    if after.ports != before.ports - 1 {
        return Err(format!("CL-6: ports {} before the owner's death, {} after", before.ports, after.ports));
    }
    let peer = peer_reads(&out).1;
    let want_reset = load == "passive";
    if matches!(peer, Some(PeerRead::Reset)) != want_reset {
        return Err(format!("CL-6, CL-3: the peer's last read {peer:?} ({load})"));
    }
    Ok(())
}

/// `busy_port_SUITE:no_trap_exit_unlinked` on a gen_tcp port (CL-5): a
/// 2 MB queue behind a blocked caller (S1) and a suspended writer (S2)
/// when another process kills the port (its owner unlinked): the port
/// leaves the table at once, the queue is dropped (the peer reads at most
/// what the kernel had taken, then EOF), the suspended writer is released
/// at once — {error,closed} on the native runtime, {error,einval} on OTP
/// (its retry finds the port gone, DIFF-INET-13) — and so is the blocked
/// caller ({error,closed}), except on OTP 25, where prim_inet's 5 s
/// INET_CLOSE_TIMEOUT answers it later (DIFF-INET-3).
fn no_trap_exit_unlinked(system: System) -> R {
    let options = vec![Opt::HighWatermark(64), Opt::LowWatermark(16)];
    let setup = Setup { senders: 3, options, ..Setup::default() };
    let ops = [send(0, 2_000_000), send(1, 100), send(2, 10), Op::QueueSize, Op::KillPort, Op::QueueSize];
    let mut all = ops.to_vec();
    all.extend([Op::PeerRead { max: Bytes(65536) }, Op::Quiesce, Op::PeerRead { max: Bytes(65536) }]);
    let out = lockstep(system, &setup, &all)?;
    use reference::observation::SenderStatus::{Idle, Suspended, Waiting};
    let before = observed_at(&out, 3)?;
    if before.senders != [Idle, Waiting, Suspended] {
        return Err(format!("no_trap_exit_unlinked: senders {:?} before the kill", before.senders));
    }
    let killed = observed_at(&out, 4)?;
    if killed.ports + 1 != before.ports {
        return Err(format!("CL-5: {} ports after the kill, {} before", killed.ports, before.ports));
    }
    let on_otp = matches!(system, System::Beam(..));
    let writer = if on_otp { Posix::Einval } else { Posix::Closed };
    let mut want = vec![(SenderId(2), SendResult::Error(writer))];
    if !matches!(system, System::Beam(_, None)) {
        want.insert(0, (SenderId(1), SendResult::Error(Posix::Closed)));
    }
    if killed.completed != want {
        return Err(format!("CL-5: the kill answered {:?}, expected {want:?}", killed.completed));
    }
    let (got, _) = peer_reads(&out);
    if got >= 2_000_000 {
        return Err(format!("CL-5: the peer read {got} bytes: the killed port's queue was flushed"));
    }
    Ok(())
}

/// What the reader's recv returned in the case, in order (RX-7..RX-10).
fn reader_results(out: &CaseOutcome) -> Vec<Result<Vec<u8>, Posix>> {
    out.trace
        .iter()
        .filter_map(|t| match t.observed.as_ref().map(|o| &o.reader) {
            Some(Reader::Returned(r)) => Some(r.clone()),
            _ => None,
        })
        .collect()
}

/// `gen_tcp_misc_SUITE:partial_recv_and_close` (RX-9): the peer sends Len
/// bytes and closes; `recv(S, Len + 1)` returns {error,closed}, not the
/// Len bytes; the next recv {error,enotconn} (PC-2). With `waiting`,
/// `partial_recv_and_close_2`: the recv waits already when the bytes and
/// the FIN come.
fn partial_recv_and_close(system: System, waiting: bool) -> R {
    let setup = Setup { senders: 1, ..Setup::default() };
    let (write, wait) = (Op::PeerWrite { len: Bytes(1000), tag: 3 }, Op::RecvWait { len: Bytes(1001), timeout: None });
    let ops = if waiting {
        vec![wait, write, Op::Quiesce, Op::PeerShutdown, Op::Quiesce, Op::Recv]
    } else {
        vec![write, Op::PeerShutdown, wait, Op::Quiesce, Op::Recv]
    };
    let out = lockstep(system, &setup, &ops)?;
    let got = reader_results(&out);
    if got != [Err(Posix::Closed)] {
        return Err(format!("RX-9: the recv of 1001 over 1000 bytes and the FIN returned {got:?}, expected [closed]"));
    }
    expect("PC-2: the recv after", &observed_at(&out, ops.len() - 1)?.reply, Reply::Recv(Err(Posix::Enotconn)))
}

/// `gen_tcp_api_SUITE:t_recv_timeout` (RX-11): `recv(S, 0, 200)` with
/// nothing coming returns {error,timeout} once 200 ms have passed. With
/// `gathered`, the peer's 4 bytes came first and the recv asked for 10:
/// it times out all the same, and the owner's next recv gets the 4 (they
/// stayed in the driver's buffer).
fn recv_timeout(system: System, gathered: bool) -> R {
    let setup = Setup { senders: 1, ..Setup::default() };
    let (len, write) = if gathered { (10, vec![Op::PeerWrite { len: Bytes(4), tag: 5 }]) } else { (0, vec![]) };
    let mut ops = write;
    ops.extend([
        Op::RecvWait { len: Bytes(len), timeout: Some(Millis(200)) },
        Op::AdvanceTime { by: Millis(200) },
        Op::Recv,
    ]);
    let out = lockstep(system, &setup, &ops)?;
    let got = reader_results(&out);
    if got != [Err(Posix::Timeout)] {
        return Err(format!("RX-11: recv(S, {len}, 200) returned {got:?}, expected [timeout]"));
    }
    let after = &observed_at(&out, ops.len() - 1)?.reply;
    match (gathered, after) {
        (true, Reply::Recv(Ok(d))) if d.len() == 4 => Ok(()),
        (false, Reply::Recv(Err(Posix::Timeout))) => Ok(()),
        _ => Err(format!("RX-11: the owner's recv after the timeout got {after:?}")),
    }
}

/// `gen_tcp_misc_SUITE:fill_sendq` (RX-10, PC-5): a writer blocked on a
/// busy port (its send onto the queue crossed the high watermark: WM-3)
/// and a reader blocked in `recv(S, 0, infinity)` when the peer closes
/// with the port's bytes unread (its RST, KN-RST-1): both get
/// {error,closed}.
fn fill_sendq(system: System) -> R {
    let options = vec![Opt::HighWatermark(64), Opt::LowWatermark(16)];
    let setup = Setup { senders: 1, options, ..Setup::default() };
    let ops = [
        Op::RecvWait { len: Bytes(0), timeout: None },
        send(0, 200_000),
        send(0, 100),
        Op::QueueSize,
        Op::PeerReset,
        Op::Quiesce,
        Op::Recv,
    ];
    let out = lockstep(system, &setup, &ops)?;
    if observed_at(&out, 3)?.senders.first() != Some(&reference::observation::SenderStatus::Waiting) {
        return Err("fill_sendq: the writer was not blocked on the busy port".into());
    }
    let got = reader_results(&out);
    if got != [Err(Posix::Closed)] {
        return Err(format!("RX-10: the reader returned {got:?}, expected [closed]"));
    }
    let answered: Vec<_> = out.trace.iter().flat_map(|t| t.observed.iter()).flat_map(|o| o.completed.clone()).collect();
    if answered != [(SenderId(0), SendResult::Error(Posix::Closed))] {
        return Err(format!("PC-5: the blocked writer was answered {answered:?}, expected closed"));
    }
    Ok(())
}

/// The planted `shutdown-before-flush` (the shutdown made at once over a
/// queue) is caught by `t_shutdown_async`'s case, under SD-2, as the
/// generated cases catch it (`suite/tests/planted_bugs.rs`).
fn shutdown_before_flush_is_caught() -> R {
    let bug = PlantedBug::ShutdownBeforeFlush;
    let setup = Setup { senders: 2, ..Setup::default() };
    let out = run_case_reading_the_end(&NativeFactory::new(Some(bug)), &setup, &shutdown_async_ops(false));
    match &out.failure {
        Some(f) if f.rule() == Some(bug.rule()) => Ok(()),
        Some(f) => Err(format!("{bug} was caught under {:?}, not {}: {f}", f.rule(), bug.rule())),
        None => Err(format!("{bug} was not caught:\n{}", suite::trace::lines(&out))),
    }
}

fn payload(tag: u16, len: usize) -> Vec<u8> {
    (0..len).map(|i| reference::units::payload_byte(tag, i)).collect()
}

fn main() {
    harness::interrupt::on_signal_clean_up();
    let mut args = libtest_mimic::Arguments::from_args();
    // One node at a time: a case beside another is load its timing need not see.
    args.test_threads.get_or_insert(1);
    let mut tests = vec![];
    for system in port_systems() {
        let id = |what: &str| -> &'static str { Box::leak(format!("peer/{what}/{}", system.name()).into_boxed_str()) };
        tests.push(trial(id("zombie_sockets"), system.caps(), move || zombie_sockets(system)));
        tests.push(trial(id("default_options"), system.caps(), move || default_options(system, false)));
        tests.push(trial(id("default_options_overridden"), system.caps(), move || default_options(system, true)));
        tests.push(trial(id("t_shutdown_write"), system.caps(), move || shutdown_write(system)));
        tests.push(trial(id("t_shutdown_both"), system.caps(), move || shutdown_both(system, false)));
        tests.push(trial(id("t_shutdown_both_active"), system.caps(), move || shutdown_both(system, true)));
        tests.push(trial(id("t_shutdown_async"), system.caps(), move || shutdown_async(system, false)));
        tests.push(trial(id("shutdown_pending"), system.caps(), move || shutdown_async(system, true)));
        tests.push(trial(id("delay_send_error"), system.caps(), move || delay_send_error(system)));
        tests.push(trial(id("shutdown_made_later_shows_no_reset"), system.caps(), move || {
            shutdown_made_later_shows_no_reset(system)
        }));
        tests.push(trial(id("partial_recv_and_close"), system.caps(), move || partial_recv_and_close(system, false)));
        tests.push(trial(id("partial_recv_and_close_2"), system.caps(), move || partial_recv_and_close(system, true)));
        tests.push(trial(id("fill_sendq"), system.caps(), move || fill_sendq(system)));
        tests.push(trial(id("t_recv_timeout"), system.caps(), move || recv_timeout(system, false)));
        tests.push(trial(id("t_recv_timeout_gathered"), system.caps(), move || recv_timeout(system, true)));
        tests.push(trial(id("linger_zero"), system.caps(), move || linger_zero(system)));
        tests.push(trial(id("multiple_writers"), system.caps(), move || multiple_writers(system)));
        tests.push(trial(id("multiple_writers_caller_killed"), system.caps(), move || {
            multiple_writers_caller_killed(system)
        }));
        tests.push(trial(id("no_trap_exit_unlinked"), system.caps(), move || no_trap_exit_unlinked(system)));
        for load in ["passive", "active", "reader"] {
            tests.push(trial(id(&format!("owner_death_{load}")), system.caps(), move || owner_death(system, load)));
        }
        tests.push(trial(id("otp_13939_half_closed"), system.caps(), move || half_closed_send(system, false)));
        tests.push(trial(id("close_over_waiting_senders"), system.caps(), move || close_over_waiting_senders(system)));
        tests.push(trial(id("otp_13939_half_closed_active"), system.caps(), move || half_closed_send(system, true)));
    }
    tests.push(trial("peer/planted/shutdown-before-flush", &[], shutdown_before_flush_is_caught));
    let conclusion = libtest_mimic::run(&args, tests);
    // Statics are never dropped: end the idle nodes here.
    for f in beam_cells().iter().filter_map(|(_, c)| c.get()).flatten() {
        f.pool().clear();
    }
    conclusion.exit();
}
