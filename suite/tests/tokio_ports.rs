//! The tokio port runtime (`harness/tokio-ports`, binary
//! `portcheck-tokio-ports`) checked exactly as a third party's runtime
//! would be: through `portcheck run --sut exec:'…'` and nothing else
//! (harness/PROTOCOL.md, version 2).
//!
//! - The clean runtime passes fixed seeds with the abilities it declares
//!   (no lock contention, no port parallelism), reporting every choice.
//! - Each of its planted bugs (`--plant NAME`, `--list-plants`) is caught,
//!   and the failure names the rule the bug breaks.
//!
//! The binary is built by this test (`cargo build --profile test -p
//! portcheck-tokio-ports`, a no-op after `cargo test --workspace`); a
//! binary that cannot be built or found fails the test.

use rstest::rstest;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::OnceLock;

/// The gate: fixed seeds and case count. Measured 2026-12-04 (2 cores):
/// seeds 1, 2 and 3 pass 1000 of 1000 (22-27 s each); 200 cases a seed
/// take ~5 s, and
/// passed 3 runs of 3 with two busy loops (`yes > /dev/null`) beside them.
const SEEDS: [u64; 2] = [1, 2];
const CASES: u32 = 200;

/// Where planted bugs are looked for: the seed and case count each is
/// caught within (the first failing case is at most case 8 of seed 1).
const PLANT_SEED: u64 = 1;
const PLANT_CASES: u32 = 200;

/// Build the runtime once per test binary; its path.
fn runtime() -> &'static PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        // This test runs from <target>/<profile dir>/deps/; the binary is
        // built into <target>/<profile dir>/ by the profile this test was.
        let exe = std::env::current_exe().expect("the test's own path");
        let dir = exe.parent().and_then(|d| d.parent()).expect("<target>/<profile dir>").to_path_buf();
        let profile = if dir.ends_with("release") { "release" } else { "test" };
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
        let status = Command::new(env!("CARGO"))
            .current_dir(&root)
            .args(["build", "-q", "--profile", profile, "-p", "portcheck-tokio-ports"])
            .status()
            .expect("run cargo to build portcheck-tokio-ports");
        assert!(status.success(), "cargo build -p portcheck-tokio-ports failed: {status}");
        let bin = dir.join("portcheck-tokio-ports");
        assert!(bin.is_file(), "portcheck-tokio-ports not found at {} after building it", bin.display());
        bin
    })
}

/// `portcheck run --sut exec:'<runtime> <args>'`, saving any failing case
/// in a temporary directory (removed afterwards).
fn run(args: &str, cases: u32, seed: u64) -> (Output, String) {
    let dir = tempfile::tempdir().expect("temp dir");
    let sut = format!("exec:{} {args}", runtime().display());
    let out = Command::new(env!("CARGO_BIN_EXE_portcheck"))
        .args(["run", "--sut", sut.trim_end(), "--cases", &cases.to_string(), "--seed", &seed.to_string()])
        .args(["--shrink-limit", "400", "--save"])
        .arg(dir.path().join("failure.json"))
        .output()
        .expect("run portcheck");
    let all =
        format!("{}\n--- stderr ---\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out, all)
}

#[rstest]
#[case::seed_1(SEEDS[0])]
#[case::seed_2(SEEDS[1])]
fn clean_runtime_passes_through_exec(#[case] seed: u64) {
    let (out, all) = run("", CASES, seed);
    assert!(out.status.success(), "the clean tokio runtime failed (seed {seed}):\n{all}");
    let want = format!("{CASES} of {CASES} cases passed (seed {seed})");
    assert!(all.contains(&want), "expected `{want}`:\n{all}");
    assert!(!all.contains("SKIP case"), "cases were skipped: the generator ignored the declared abilities:\n{all}");
    // Every kind of choice is reported, so nothing is derived, and the
    // rules it can reach are reached (the lock-contention ones are not).
    for rule in ["WM-4", "SND-4", "TO-1", "DS-2", "PT-2", "CL-1", "RX-4"] {
        let row = all.lines().find(|l| l.starts_with(&format!("{rule} "))).unwrap_or_default();
        assert!(row.contains("passed"), "{rule} not reached and passed:\n{row}\n{all}");
    }
    let mq1 = all.lines().find(|l| l.starts_with("MQ-1 ")).unwrap_or_default();
    assert!(mq1.contains("not reached"), "MQ-1 needs lock contention, declared missing: {mq1}");
}

#[rstest]
#[case::resume_at_high("resume-at-high", "WM-4")]
#[case::ignore_send_timeout("ignore-send-timeout", "TO-1")]
#[case::nosuspend_suspends("nosuspend-suspends", "SND-2")]
#[case::resume_newest_first("resume-newest-first", "SND-4")]
#[case::accept_over_limit("accept-over-limit", "PT-2")]
fn planted_bug_is_caught_under_its_rule(#[case] plant: &str, #[case] rule: &str) {
    let (out, all) = run(&format!("--plant {plant}"), PLANT_CASES, PLANT_SEED);
    assert_eq!(out.status.code(), Some(1), "--plant {plant} was not caught (exit 1 expected):\n{all}");
    let want = format!("FAILED under rule {rule} ");
    assert!(all.contains(&want), "--plant {plant} was caught, but not under {rule}:\n{all}");
}

/// The plant table the runtime prints is the one tested above.
#[test]
fn list_plants_names_each_plant_and_its_rule() {
    let out = Command::new(runtime()).arg("--list-plants").output().expect("run --list-plants");
    assert!(out.status.success());
    let listed: Vec<(String, String)> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            let mut f = l.split('\t');
            (f.next().unwrap_or_default().to_string(), f.next().unwrap_or_default().to_string())
        })
        .collect();
    let want = [
        ("resume-at-high", "WM-4"),
        ("ignore-send-timeout", "TO-1"),
        ("nosuspend-suspends", "SND-2"),
        ("resume-newest-first", "SND-4"),
        ("accept-over-limit", "PT-2"),
    ];
    assert_eq!(listed, want.map(|(p, r)| (p.to_string(), r.to_string())).to_vec());
    let bad = Command::new(runtime()).args(["--plant", "no-such-bug"]).output().expect("run --plant");
    assert_eq!(bad.status.code(), Some(3), "an unknown plant is a usage error");
}

/// Talk to the runtime directly, one line in, one line out (PROTOCOL.md §1):
/// the answers to `lines`, and the exit status after stdin closes.
fn converse(lines: &[&str]) -> (Vec<serde_json::Value>, std::process::ExitStatus) {
    use std::io::{BufRead, BufReader, Write};
    let mut child = Command::new(runtime())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("start portcheck-tokio-ports");
    let mut stdin = child.stdin.take().expect("stdin");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut answers = vec![];
    for l in lines {
        writeln!(stdin, "{l}").expect("write a line");
        let mut answer = String::new();
        stdout.read_line(&mut answer).expect("read an answer");
        answers.push(serde_json::from_str(&answer).unwrap_or_else(|e| panic!("not JSON ({e}): {answer:?}")));
    }
    drop(stdin);
    (answers, child.wait().expect("wait for the runtime"))
}

const SETUP: &str = r#"{"options":[],"parallelism":false,"senders":2,"table_capacity":8,"listener_options":[]}"#;

/// What `ready` declares is what the README says, and an op it declared
/// it cannot do (a replayed trace may still send one) is `unsupported`,
/// leaving the session usable.
#[test]
fn ready_declares_its_gaps_and_answers_unsupported_for_them() {
    let hello =
        format!(r#"{{"type":"hello","version":2,"start":{{"table_capacity":8,"parallelism":false}},"setup":{SETUP}}}"#);
    let (answers, status) = converse(&[
        &hello,
        r#"{"type":"op","step":0,"op":{"op":"contend_lock"}}"#,
        r#"{"type":"op","step":1,"op":{"op":"queue_size"}}"#,
    ]);
    let ready = &answers[0];
    assert_eq!(ready["type"], "ready", "{ready}");
    assert_eq!(ready["version"], 2);
    assert_eq!(ready["variant"], "reference");
    assert_eq!(ready["settles"], false);
    assert_eq!(ready["real_clock"], true);
    assert_eq!(ready["reports"], serde_json::json!(["ran", "wrote", "read", "peer_got"]));
    let abilities =
        serde_json::json!({"lock_contention":false,"send_flags":true,"recv":true,"get_opts":true,"parallelism":false});
    assert_eq!(ready["abilities"], abilities);
    assert_eq!(answers[1]["type"], "unsupported", "{}", answers[1]);
    assert_eq!(answers[1]["step"], 0);
    assert_eq!(answers[2]["type"], "step", "{}", answers[2]);
    assert_eq!(answers[2]["observation"]["reply"], serde_json::json!({"queue_size": 0}));
    assert_eq!(answers[2]["observation"]["ports"], 2, "the port under test and the listener");
    assert!(status.success(), "EOF ends the session with status 0: {status}");
}

#[test]
fn a_setup_asking_for_parallelism_is_unsupported() {
    let setup = SETUP.replace(r#""parallelism":false"#, r#""parallelism":true"#);
    let hello =
        format!(r#"{{"type":"hello","version":2,"start":{{"table_capacity":8,"parallelism":true}},"setup":{setup}}}"#);
    let (answers, status) = converse(&[&hello]);
    assert_eq!(answers[0]["type"], "unsupported", "{}", answers[0]);
    assert!(answers[0].get("step").is_none());
    assert!(status.success());
}
