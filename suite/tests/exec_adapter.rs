//! Runtimes checked as a third party's would be: through `portcheck run
//! --sut exec:'CMD'` and nothing else (harness/PROTOCOL.md, version 2).
//!
//! - The shipped BEAM adapter, started by `harness/beam/exec-adapter`,
//!   which reads the case's `hello` before it starts the node (its `+Q` and
//!   `+spp` depend on the case, PROTOCOL.md §2.1 `start`) and declares in
//!   `ready` what it cannot do (no lock contention; the socket backend
//!   fewer). The generator honours the declaration, so no case is skipped
//!   as `unsupported`: every case runs and passes.
//!
//! Each trial prints `SKIP <id>: <reason>` and counts as ignored when
//! `erl` is missing. Fixed seeds and case counts (the gate's); the command
//! line a failure prints replays it.

use std::process::Command;
use suite::capability::{trial, Capability};

/// Cases per backend, and the seed (the run of 2026-12-03 passed 60 of 60
/// on OTP 25 for each backend with this seed, drawn uniformly: the real-OTP
/// gate's generation, see `GATE_GENERATION` in differential.rs).
const CASES: u32 = 30;
const SEED: u64 = 17;

fn main() {
    harness::interrupt::on_signal_clean_up();
    let args = libtest_mimic::Arguments::from_args();
    let erl: &'static [Capability] = &[Capability::Erl];
    let tests = vec![
        trial("exec-adapter/beam-inet-passes-with-its-declared-abilities", erl, || beam_through_exec("inet")),
        trial("exec-adapter/beam-socket-passes-with-its-declared-abilities", erl, || beam_through_exec("socket")),
    ];
    libtest_mimic::run(&args, tests).exit();
}

/// The repository's root (the suite crate's parent).
fn root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("suite/ has a parent").to_path_buf()
}

fn beam_through_exec(backend: &str) -> Result<(), String> {
    let adapter = root().join("harness/beam/exec-adapter");
    let sut = format!("exec:{} {backend}", adapter.display());
    let out = Command::new(env!("CARGO_BIN_EXE_portcheck"))
        .args(["run", "--sut", &sut, "--cases", &CASES.to_string(), "--seed", &SEED.to_string()])
        .args(["--generation", "uniform"])
        .output()
        .map_err(|e| format!("portcheck: {e}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let all = format!("{stdout}\n--- stderr ---\n{}", String::from_utf8_lossy(&out.stderr));
    if !out.status.success() {
        return Err(format!("portcheck run --sut {sut:?} failed ({}):\n{all}", out.status));
    }
    // The header names the release the adapter reported in its first ready.
    let header = stdout.lines().next().unwrap_or_default();
    if !header.contains(" on OTP ") {
        return Err(format!("the run's header names no release: {header}"));
    }
    if stdout.contains("SKIP case") {
        return Err(format!("cases were skipped as unsupported: the generator ignored the declared abilities:\n{all}"));
    }
    let want = format!("{CASES} of {CASES} cases passed (seed {SEED})");
    if !stdout.contains(&want) {
        return Err(format!("expected `{want}`:\n{all}"));
    }
    println!("{header}\n{want}");
    Ok(())
}
