//! OTP releases other than the one on PATH, named with `--erl`: the
//! releases `harness/beam/otp-chroots.sh` installs (27 and 29). Each trial
//! prints `SKIP <id>: <reason>` and counts as ignored when its release is
//! not installed (or the wrappers cannot mount: not root).
//!
//! Why these: the adapter's flagged send speaks the inet driver's send
//! command, whose format changed in OTP 26, so a release the adapter gets
//! wrong fails at its first nosuspend/force send; and a run's header must
//! name the release it ran on, or its result cannot be filed.

use harness::sut::beam::{Backend, BeamFactory};
use harness::sut::SystemUnderTest;
use reference::observation::{PeerRead, Reply, SendResult};
use reference::op::{Op, SendFlags, Setup};
use reference::units::{payload, Bytes, SenderId};
use std::process::Command;
use suite::capability::{otp_chroot_erl, trial, Capability};

macro_rules! ensure {
    ($c:expr, $($f:tt)*) => {
        if !$c {
            return Err(format!($($f)*));
        }
    };
}

const RELEASES: [&str; 2] = ["27", "29"];

fn main() {
    harness::interrupt::on_signal_clean_up();
    let args = libtest_mimic::Arguments::from_args();
    let mut tests = vec![];
    for rel in RELEASES {
        let caps: &'static [Capability] = Box::leak(Box::new([Capability::Root, Capability::OtpChroot(rel)]));
        let id = |what: &str| -> &'static str { Box::leak(format!("otp-releases/{rel}/{what}").into_boxed_str()) };
        tests.push(trial(id("run-header-names-the-release"), caps, move || run_header(rel)));
        tests.push(trial(id("flagged-sends-on-the-inet-driver"), caps, move || flagged_sends(rel)));
        let erlc = otp_chroot_erl(rel).with_file_name("erlc");
        tests.push(trial(id("adapter-compiles-without-warnings"), caps, move || compiles_clean(&erlc)));
    }
    tests.push(trial("otp-releases/on-path/adapter-compiles-without-warnings", &[Capability::Erl], || {
        compiles_clean(std::path::Path::new("erlc"))
    }));
    libtest_mimic::run(&args, tests).exit();
}

/// The adapter compiles with every warning on and none given, on each
/// release: a deprecation (OTP 29 deprecates `catch Expr`) is found here,
/// not by a user whose release turns it into an error. The source goes to
/// a directory under /tmp, which the chroot wrappers share with the host.
fn compiles_clean(erlc: &std::path::Path) -> Result<(), String> {
    let dir = tempfile::Builder::new().prefix("portcheck-erlc-").tempdir_in("/tmp").map_err(|e| e.to_string())?;
    let src = dir.path().join("portcheck_adapter.erl");
    std::fs::write(&src, harness::sut::beam::ADAPTER_SOURCE).map_err(|e| e.to_string())?;
    let out = Command::new(erlc)
        .args(["-Wall", "+warnings_as_errors", "-o"])
        .arg(dir.path())
        .arg(&src)
        .current_dir(dir.path())
        .output()
        .map_err(|e| format!("{}: {e}", erlc.display()))?;
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    ensure!(out.status.success() && text.trim().is_empty(), "{} -Wall: {:?}\n{text}", erlc.display(), out.status);
    Ok(())
}

/// `portcheck run --erl` prints the release it ran on in its first line.
fn run_header(rel: &str) -> Result<(), String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let erl = otp_chroot_erl(rel);
    let out = Command::new(env!("CARGO_BIN_EXE_portcheck"))
        .args(["run", "--sut", "beam-socket", "--cases", "5", "--seed", "7", "--erl"])
        .arg(&erl)
        .env_remove("PORTCHECK_ERL")
        .current_dir(dir.path())
        .output()
        .map_err(|e| e.to_string())?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let text = format!("{stdout}{}", String::from_utf8_lossy(&out.stderr));
    ensure!(out.status.success(), "exit {:?}:\n{text}", out.status.code());
    let header = stdout.lines().next().unwrap_or_default();
    let want = format!("portcheck run --sut beam-socket --erl {} --cases 5 --seed 7 on OTP {rel}.", erl.display());
    ensure!(header.starts_with(&want), "header {header:?}, wanted it to start with {want:?}");
    ensure!(header.contains("(erts "), "header {header:?} names no ERTS version");
    println!("  {header}");
    Ok(())
}

/// The factory finds the release before the first case, every node's
/// `ready` says the same, and nosuspend and force sends (the adapter's own
/// driver command, with the caller tag since OTP 26) return ok and deliver
/// every byte: with the OTP 25 format the first one killed the port or
/// lost its first bytes (../shared/notes/otp-versions.md, finding 1).
fn flagged_sends(rel: &str) -> Result<(), String> {
    let f = BeamFactory::new(Backend::Inet, Some(&otp_chroot_erl(rel))).map_err(|e| e.to_string())?;
    ensure!(f.runtime().otp_release == rel, "factory found {}", f.runtime());
    let mut sut = f.spawn(&Setup::default()).map_err(|e| e.to_string())?;
    ensure!(sut.runtime() == Some(f.runtime()), "ready.runtime {:?}, factory {}", sut.runtime(), f.runtime());
    let mut want = vec![];
    for (tag, len, flags) in [
        (1, 1, SendFlags { nosuspend: true, force: false }),
        (2, 12, SendFlags { nosuspend: true, force: false }),
        (3, 1, SendFlags { nosuspend: false, force: true }),
        (4, 300, SendFlags { nosuspend: false, force: true }),
    ] {
        let op = Op::Send { sender: SenderId(0), len: Bytes(len), tag, flags };
        let s = sut.apply(&op).map_err(|e| e.to_string())?;
        ensure!(s.observation.reply == Reply::Sent(Some(SendResult::Ok)), "{op:?}: {:?}", s.observation);
        want.extend(payload(tag, Bytes(len)));
    }
    // Each peer read takes what one recv returns (a segment at a time).
    let mut got = vec![];
    while got.len() < want.len() {
        let s = sut.apply(&Op::PeerRead { max: Bytes(65536) }).map_err(|e| e.to_string())?;
        match &s.observation.reply {
            Reply::Peer(PeerRead::Data(d)) => got.extend_from_slice(d),
            r => return Err(format!("peer read after {} of {} bytes: {r:?}", got.len(), want.len())),
        }
    }
    ensure!(got == want, "the peer read {got:?}, the senders sent {want:?}");
    println!("  {}: 4 flagged sends ok, the peer read all {} bytes", f.runtime(), want.len());
    Ok(())
}
