//! The external system-under-test protocol (`harness/PROTOCOL.md`): its
//! error paths, against tiny shell-script systems under test. No `erl`
//! needed. (The BEAM adapter, which speaks this protocol, is tested on real
//! OTP in `suite/tests/beam_adapter/`.)

use harness::executor::run_case;
use harness::sut::external::{unsupported_reason, ExternalFactory};
use harness::sut::{Abilities, SutError, SutFactory, SystemUnderTest};
use reference::observation::Reply;
use reference::op::{Op, Setup};
use std::time::{Duration, Instant};

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

fn apply_err(f: &ExternalFactory, op: &Op) -> SutError {
    let mut sut = f.spawn(&Setup::default()).unwrap_or_else(|e| panic!("handshake: {e}"));
    match sut.apply(op) {
        Ok(s) => panic!("expected an error, got {s:?}"),
        Err(e) => e,
    }
}

#[test]
fn malformed_line() {
    let f = script(READY, "read op; echo 'this is {not json'; cat >/dev/null");
    let e = apply_err(&f, &Op::Quiesce).to_string();
    println!("{e}");
    assert!(e.contains("step 0 (quiesce)"), "does not name the step: {e}");
    assert!(e.contains("malformed"), "does not say malformed: {e}");
    assert!(e.contains("this is {not json"), "does not quote the line: {e}");
    assert!(unsupported_reason(&SutError(e.clone())).is_none(), "malformed is not a capability gap");
}

#[test]
fn silent_sut_killed() {
    // Answers the handshake, then reads forever and never answers.
    let f =
        script(READY, "echo about to go silent >&2; cat >/dev/null").with_answer_timeout(Duration::from_millis(300));
    let mut sut = f.spawn(&Setup::default()).unwrap_or_else(|e| panic!("{e}"));
    let t = Instant::now();
    let e = sut.apply(&Op::GetOpts).expect_err("expected a timeout").to_string();
    println!("{e}");
    assert!(t.elapsed() < Duration::from_secs(3), "took {:?}", t.elapsed());
    assert!(e.contains("no answer within 300ms"), "{e}");
    assert!(e.contains("killed"), "{e}");
    assert!(e.contains("step 0 (getopts)"), "{e}");
    assert!(e.contains("about to go silent"), "no stderr tail: {e}");
    // The session is dead afterwards.
    let e2 = sut.apply(&Op::GetOpts).expect_err("dead session answered").to_string();
    assert!(e2.contains("already failed"), "{e2}");
}

#[test]
fn early_exit_stderr_tail() {
    let f = script(READY, "read op; i=1; while [ $i -le 30 ]; do echo \"boom line $i\" >&2; i=$((i+1)); done; exit 3");
    let e = apply_err(&f, &Op::Quiesce).to_string();
    println!("{e}");
    assert!(e.contains("exited early"), "{e}");
    assert!(e.contains("exit status 3"), "{e}");
    assert!(e.contains("boom line 30"), "missing the last line: {e}");
    assert!(e.contains("boom line 11"), "missing line 11 of the last 20: {e}");
    assert!(!e.contains("boom line 10\n"), "kept more than 20 lines: {e}");
    assert!(e.contains("10 earlier lines dropped"), "{e}");
}

#[test]
fn exit_during_handshake() {
    let f = ExternalFactory::new("sh-sut", "echo cannot start >&2; exit 7");
    let e = start_err(&f).to_string();
    println!("{e}");
    assert!(e.contains("handshake"), "{e}");
    assert!(e.contains("exit status 7"), "{e}");
    assert!(e.contains("cannot start"), "{e}");
}

#[test]
fn version_mismatch() {
    let f = script(r#"{"type":"ready","version":3,"sut":"future"}"#, "cat >/dev/null");
    let e = start_err(&f).to_string();
    println!("{e}");
    assert!(e.contains("version 3"), "{e}");
    assert!(e.contains("speaks 1 to 2"), "{e}");
}

/// Version 2's `hello` carries what the runtime's process must be started
/// with, before the setup, so a script can read it before it starts the
/// runtime (PROTOCOL.md §2.1).
#[test]
fn hello_carries_the_start_parameters() {
    let setup = Setup { table_capacity: 5, parallelism: true, ..Setup::default() };
    let f = ExternalFactory::new(
        "sh-sut",
        r#"read hello; echo "$hello" >&2; case "$hello" in
             *'"version":2,"start":{"table_capacity":5,"parallelism":true},"setup":'*) echo '{"type":"ready","version":2,"sut":"sh"}';;
             *) echo '{"type":"error","message":"no start"}';; esac; cat >/dev/null"#,
    );
    let sut = f.spawn(&setup).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(sut.ready().version, 2);
}

const BEFORE_PEER_END: Abilities = Abilities { peer_end: false, ..BEFORE_KERNEL_ENV };
const BEFORE_KERNEL_ENV: Abilities = Abilities { kernel_env: false, ..BEFORE_SHUTDOWN };
const BEFORE_SHUTDOWN: Abilities = Abilities { shutdown: false, ..BEFORE_RECV_WAIT };
const BEFORE_RECV_WAIT: Abilities = Abilities { recv_wait: false, ..BEFORE_LINGER };
const BEFORE_LINGER: Abilities = Abilities { linger: false, ..BEFORE_KILL };
const BEFORE_KILL: Abilities = Abilities { kill: false, ..BEFORE_RECV_TIMEOUT };
const BEFORE_RECV_TIMEOUT: Abilities = Abilities { recv_timeout: false, ..BEFORE_KILL_PORT };
const BEFORE_KILL_PORT: Abilities = Abilities { kill_port: false, ..BEFORE_EXIT_ON_CLOSE };
const BEFORE_EXIT_ON_CLOSE: Abilities = Abilities { exit_on_close: false, ..BEFORE_KILL_CALLER };
const BEFORE_KILL_CALLER: Abilities = Abilities { kill_caller: false, ..BEFORE_KILL_OWNER };
const BEFORE_KILL_OWNER: Abilities = Abilities { kill_owner: false, ..Abilities::ALL };

/// A version 1 adapter (no `abilities`) is still accepted, and is sent
/// every op it knew; one that sends `abilities` under version 1 is not
/// believed (the field did not exist). The peer's end (`peer_end`) came
/// later: only an adapter that declares it is sent those ops; so did the
/// kernel environment's defaults (`kernel_env`, OPT-8),
/// `gen_tcp:shutdown/2` (`shutdown`, SD-*) and the reader's recv
/// (`recv_wait`, RX-7..RX-10), `{linger, {true, 0}}` (`linger`, CL-4)
/// a suspended sender killed (`kill`, SND-7), a recv's timeout
/// (`recv_timeout`, RX-11), the port killed (`kill_port`, CL-5) and
/// `{exit_on_close, false}` (`exit_on_close`, PC-6, PC-7) and the
/// blocked caller killed (`kill_caller`, SND-8) and the owner killed
/// (`kill_owner`, CL-6).
#[rstest::rstest]
#[case::version_1(r#"{"type":"ready","version":1,"sut":"sh"}"#, BEFORE_PEER_END)]
#[case::version_1_with_the_field(
    r#"{"type":"ready","version":1,"sut":"sh","abilities":{"recv":false}}"#,
    BEFORE_PEER_END
)]
#[case::version_2_without_the_field(r#"{"type":"ready","version":2,"sut":"sh"}"#, BEFORE_PEER_END)]
#[case::version_2_no_locks(
    r#"{"type":"ready","version":2,"sut":"sh","abilities":{"lock_contention":false}}"#,
    Abilities { lock_contention: false, ..BEFORE_PEER_END }
)]
#[case::version_2_with_the_peer_end(
    r#"{"type":"ready","version":2,"sut":"sh","abilities":{"peer_end":true}}"#,
    BEFORE_KERNEL_ENV
)]
#[case::version_2_with_the_kernel_env(
    r#"{"type":"ready","version":2,"sut":"sh","abilities":{"peer_end":true,"kernel_env":true}}"#,
    BEFORE_SHUTDOWN
)]
#[case::version_2_with_shutdown(
    r#"{"type":"ready","version":2,"sut":"sh","abilities":{"peer_end":true,"kernel_env":true,"shutdown":true}}"#,
    BEFORE_RECV_WAIT
)]
#[case::version_2_with_the_reader(
    r#"{"type":"ready","version":2,"sut":"sh","abilities":{"peer_end":true,"kernel_env":true,"shutdown":true,"recv_wait":true}}"#,
    BEFORE_LINGER
)]
#[case::version_2_with_linger(
    r#"{"type":"ready","version":2,"sut":"sh","abilities":{"peer_end":true,"kernel_env":true,"shutdown":true,"recv_wait":true,"linger":true}}"#,
    BEFORE_KILL
)]
#[case::version_2_with_kill(
    r#"{"type":"ready","version":2,"sut":"sh","abilities":{"peer_end":true,"kernel_env":true,"shutdown":true,"recv_wait":true,"linger":true,"kill":true}}"#,
    BEFORE_RECV_TIMEOUT
)]
#[case::version_2_with_recv_timeout(
    r#"{"type":"ready","version":2,"sut":"sh","abilities":{"peer_end":true,"kernel_env":true,"shutdown":true,"recv_wait":true,"linger":true,"kill":true,"recv_timeout":true}}"#,
    BEFORE_KILL_PORT
)]
#[case::version_2_with_kill_port(
    r#"{"type":"ready","version":2,"sut":"sh","abilities":{"peer_end":true,"kernel_env":true,"shutdown":true,"recv_wait":true,"linger":true,"kill":true,"recv_timeout":true,"kill_port":true}}"#,
    BEFORE_EXIT_ON_CLOSE
)]
#[case::version_2_with_exit_on_close(
    r#"{"type":"ready","version":2,"sut":"sh","abilities":{"peer_end":true,"kernel_env":true,"shutdown":true,"recv_wait":true,"linger":true,"kill":true,"recv_timeout":true,"kill_port":true,"exit_on_close":true}}"#,
    BEFORE_KILL_CALLER
)]
#[case::version_2_with_kill_caller(
    r#"{"type":"ready","version":2,"sut":"sh","abilities":{"peer_end":true,"kernel_env":true,"shutdown":true,"recv_wait":true,"linger":true,"kill":true,"recv_timeout":true,"kill_port":true,"exit_on_close":true,"kill_caller":true}}"#,
    BEFORE_KILL_OWNER
)]
#[case::version_2_with_kill_owner(
    r#"{"type":"ready","version":2,"sut":"sh","abilities":{"peer_end":true,"kernel_env":true,"shutdown":true,"recv_wait":true,"linger":true,"kill":true,"recv_timeout":true,"kill_port":true,"exit_on_close":true,"kill_caller":true,"kill_owner":true}}"#,
    Abilities::ALL
)]
#[case::version_2_socket_like(
    r#"{"type":"ready","version":2,"sut":"sh","abilities":{"lock_contention":false,"send_flags":false,"recv":false,"get_opts":false,"parallelism":false}}"#,
    Abilities { lock_contention: false, send_flags: false, recv: false, get_opts: false, parallelism: false, peer_end: false, kernel_env: false, shutdown: false, recv_wait: false, linger: false, kill: false, recv_timeout: false, kill_port: false, exit_on_close: false, kill_caller: false, kill_owner: false }
)]
fn declared_abilities(#[case] ready: &str, #[case] want: Abilities) {
    let f = script(ready, "cat >/dev/null");
    assert_eq!(f.abilities(), want);
}

/// An `unsupported` answer skips the case: neither passed nor failed,
/// with the reason (PROTOCOL.md §2.2).
#[test]
fn unsupported_skips_the_case() {
    let f =
        script(READY, r#"read op; echo '{"type":"unsupported","step":0,"reason":"no locks here"}'; cat >/dev/null"#);
    let out = run_case(&f, &Setup::default(), &[Op::ContendLock, Op::Quiesce]);
    assert!(out.skipped() && !out.passed() && out.failure.is_none(), "{out:?}");
    assert!(out.unsupported.as_deref().is_some_and(|r| r.contains("no locks here")), "{:?}", out.unsupported);
}

/// So does an `unsupported` answer to `hello` (a setup it cannot build).
#[test]
fn unsupported_setup_skips_the_case() {
    let f = ExternalFactory::new(
        "sh-sut",
        r#"read hello; echo '{"type":"unsupported","reason":"no parallelism here"}'; cat >/dev/null"#,
    );
    let out = run_case(&f, &Setup::default(), &[Op::Quiesce]);
    assert!(out.skipped() && !out.passed() && out.failure.is_none(), "{out:?}");
    assert!(out.unsupported.as_deref().is_some_and(|r| r.contains("no parallelism here")), "{:?}", out.unsupported);
}

#[test]
fn unsupported_is_declared() {
    let f = script(
        READY,
        r#"read op; echo '{"type":"unsupported","step":0,"reason":"no locks here"}';
           read op; echo '{"type":"step","step":1,"observation":{"reply":"none","senders":["idle","idle"],"completed":[],"busy_port_events":[],"queue":0,"busy":null,"msgq":null,"ports":2}}';
           cat >/dev/null"#,
    );
    let mut sut = f.spawn(&Setup::default()).unwrap_or_else(|e| panic!("{e}"));
    let e = sut.apply(&Op::ContendLock).expect_err("expected unsupported");
    println!("{e}");
    assert!(unsupported_reason(&e).is_some_and(|r| r.contains("no locks here")), "{e}");
    // The session stays usable: the next op gets its answer.
    let s = sut.apply(&Op::Quiesce).unwrap_or_else(|e| panic!("{e}"));
    assert!(s.observation.reply == Reply::None && s.choices.is_empty(), "{s:?}");
}

#[test]
fn undeclared_choice_kind() {
    let f = script(
        READY,
        r#"read op; echo '{"type":"step","step":0,"observation":{"reply":"none","senders":["idle","idle"],"completed":[],"busy_port_events":[],"queue":0,"busy":null,"msgq":null,"ports":2},"choices":[{"wrote":{"requested":1,"accepted":1}}]}'; cat >/dev/null"#,
    );
    let e = apply_err(&f, &Op::Quiesce).to_string();
    println!("{e}");
    assert!(e.contains("not declared"), "{e}");
}

#[test]
fn wrong_step() {
    let f = script(
        READY,
        r#"read op; echo '{"type":"step","step":4,"observation":{"reply":"none","senders":["idle","idle"],"completed":[],"busy_port_events":[],"queue":0,"busy":null,"msgq":null,"ports":2}}'; cat >/dev/null"#,
    );
    let e = apply_err(&f, &Op::Quiesce).to_string();
    println!("{e}");
    assert!(e.contains("answer is for step 4"), "{e}");
}

/// A 10 MB answer line is read, refused as malformed, and quoted only in
/// part (400 bytes), with its length.
#[test]
fn a_ten_megabyte_line_is_refused_and_quoted_in_part() {
    let f = script(READY, "read op; head -c 10000000 /dev/zero | tr '\\0' x; echo; cat >/dev/null");
    let e = apply_err(&f, &Op::Quiesce).to_string();
    println!("{}", &e[..e.len().min(600)]);
    assert!(e.contains("step 0 (quiesce)") && e.contains("malformed answer line"), "{}", &e[..600]);
    assert!(e.contains("(10000000 bytes)"), "does not give the line's length");
    assert!(e.len() < 2000, "quotes {} bytes of the line", e.len());
}

/// A field of the wrong type is named by its path in the answer.
#[test]
fn a_wrong_field_type_is_named() {
    let f = script(
        READY,
        r#"read op; echo '{"type":"step","step":0,"observation":{"reply":"none","senders":["idle","idle"],"completed":[],"busy_port_events":[],"queue":"lots","busy":null,"msgq":null,"ports":2}}'; cat >/dev/null"#,
    );
    let e = apply_err(&f, &Op::Quiesce).to_string();
    println!("{e}");
    assert!(e.contains("observation.queue: invalid type: string \"lots\""), "{e}");
}
