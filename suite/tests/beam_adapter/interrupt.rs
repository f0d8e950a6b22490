//! Clean interruption (`harness::interrupt`): `portcheck run --sut beam`
//! stopped by SIGINT or SIGTERM in the middle of its cases leaves no temp
//! dir and no running OTP node, and ends by that signal.

use std::io::{BufRead, BufReader};
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Processes whose command line mentions `marker` and that are not zombies.
fn live_processes_naming(marker: &str) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else { return vec![] };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            let zombie = stat.rsplit_once(')').is_some_and(|(_, rest)| rest.trim_start().starts_with('Z'));
            !zombie && String::from_utf8_lossy(&cmd).contains(marker)
        })
        .collect()
}

pub fn interrupted_run_leaves_nothing(sig: nix::sys::signal::Signal) -> Result<(), String> {
    let tmp = tempfile::tempdir().map_err(|e| e.to_string())?;
    let mut child = Command::new(env!("CARGO_BIN_EXE_portcheck"))
        .args(["run", "--sut", "beam", "--cases", "500", "--seed", "5"])
        .env("TMPDIR", tmp.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| e.to_string())?;
    // The first line is printed once the factory (and its temp dir) exists
    // and the cases are about to run; the second kind of line a case later.
    let mut out = BufReader::new(child.stdout.take().expect("piped"));
    let mut line = String::new();
    out.read_line(&mut line).map_err(|e| e.to_string())?;
    ensure!(line.starts_with("portcheck run --sut beam"), "unexpected first line {line:?}");
    let dir_seen = std::fs::read_dir(tmp.path()).map_err(|e| e.to_string())?.count();
    ensure!(dir_seen == 1, "expected the adapter's temp dir under TMPDIR, found {dir_seen} entries");
    let marker = tmp.path().to_string_lossy().into_owned();
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), sig).map_err(|e| e.to_string())?;
    let status = child.wait().map_err(|e| e.to_string())?;
    ensure!(status.signal() == Some(sig as i32), "portcheck ended with {status:?}, not by {sig:?}");
    let left: Vec<_> = std::fs::read_dir(tmp.path()).map_err(|e| e.to_string())?.flatten().map(|e| e.path()).collect();
    ensure!(left.is_empty(), "left behind: {left:?}");
    // A node still starting may take a moment to be killed (PR_SET_PDEATHSIG):
    // the bound only decides when to give up.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let live = live_processes_naming(&marker);
        if live.is_empty() {
            break;
        }
        ensure!(Instant::now() < deadline, "OTP nodes still running 10 s after the interrupt: {live:?}");
        std::thread::yield_now();
    }
    Ok(())
}

/// A run that ends by itself leaves no temp dir either: the compiled
/// adapter, shared by the run's factories (`harness::sut::beam` `build`),
/// is removed at exit, as statics are never dropped.
pub fn finished_run_leaves_nothing() -> Result<(), String> {
    let tmp = tempfile::tempdir().map_err(|e| e.to_string())?;
    let out = Command::new(env!("CARGO_BIN_EXE_portcheck"))
        .args(["run", "--sut", "beam", "--cases", "3", "--seed", "5", "--generation", "uniform"])
        .env("TMPDIR", tmp.path())
        .output()
        .map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&out.stdout);
    ensure!(out.status.success(), "the run failed ({}):\n{text}", out.status);
    ensure!(text.contains("3 of 3 cases passed"), "unexpected output:\n{text}");
    let left: Vec<_> = std::fs::read_dir(tmp.path()).map_err(|e| e.to_string())?.flatten().map(|e| e.path()).collect();
    ensure!(left.is_empty(), "left behind: {left:?}");
    Ok(())
}
