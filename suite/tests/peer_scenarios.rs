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

use harness::executor::{run_case, CaseOutcome};
use harness::sut::beam::{Backend, BeamFactory};
use harness::sut::native::NativeFactory;
use harness::sut::SutFactory;
use reference::observation::{AcceptOutcome, Posix, Reply};
use reference::op::{KernelEnv, Op, SendFlags, Setup};
use reference::options::{ActiveSetting, Opt, PortOptions, Timeout};
use reference::units::{Bytes, Millis, SenderId};
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

    fn factory(self) -> Result<Box<dyn SutFactory>, String> {
        Ok(match self {
            System::Native => Box::new(NativeFactory::new(None)),
            System::Beam(b, rel) => {
                let erl = rel.map(otp_chroot_erl);
                Box::new(BeamFactory::new(b, erl.as_deref()).map_err(|e| e.to_string())?)
            }
        })
    }
}

/// The systems whose sockets are ports with a driver queue: the native
/// runtime and the inet driver of each release. (The socket backend has
/// neither: its sends wait in the caller, DIFF-SOCK-*, so a scenario about
/// the driver queue and the port table is not its.)
fn port_systems() -> Vec<System> {
    let mut v = vec![System::Native];
    for rel in [None, Some("27"), Some("29")] {
        v.push(System::Beam(Backend::Inet, rel));
    }
    v
}

/// Runs `ops` in lockstep on `system`: the model's prediction must hold at
/// every step.
fn lockstep(system: System, setup: &Setup, ops: &[Op]) -> Result<CaseOutcome, String> {
    let out = run_case(system.factory()?.as_ref(), setup, ops);
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
    }
    libtest_mimic::run(&args, tests).exit();
}
