//! A known defect of the system under test (`harness/beam/known-defects.json`,
//! `suite::known::KnownDefect`): a case that fails by showing it is skipped
//! and counted as such, the run goes on, and any other failure of the system
//! under test still stops the run. Driven through a tiny `exec:` system that
//! reports a crash the way the BEAM adapter does.

use harness::sut::external::ExternalFactory;
use std::time::Duration;
use suite::check::{check, CheckConfig};
use suite::known::KnownDefect;

const READY: &str = r#"{"type":"ready","version":1,"sut":"sh"}"#;

/// Answers the handshake, then reports a crash at its first op.
fn crashing(reason: &str) -> ExternalFactory {
    let err = format!(r#"{{"type":"error","step":0,"message":"adapter crashed in step 0: exit:{reason}"}}"#);
    ExternalFactory::new("sh-sut", format!("read hello; echo '{READY}'; read op; echo '{err}'; exit 3"))
        .with_answer_timeout(Duration::from_secs(5))
}

fn config(defects: Vec<KnownDefect>) -> CheckConfig {
    CheckConfig { max_ops: 5, max_shrink_iters: 10, known_defects: defects, ..CheckConfig::new(1, 3) }
}

fn defect() -> KnownDefect {
    KnownDefect {
        id: "setopts-closed".into(),
        suts: vec!["sh-sut".into()],
        otp_releases: vec!["25".into()],
        evidence: vec!["badmatch,{error,closed}".into(), "gen_tcp_socket,handle_event,4".into()],
        found: "test".into(),
        what: "test".into(),
    }
}

#[test]
fn a_case_showing_a_known_defect_is_skipped_and_the_run_goes_on() {
    let f = crashing("{{badmatch,{error,closed}},[{gen_tcp_socket,handle_event,4,[{line,1463}]}]}");
    let r = check(&f, &config(vec![defect()]), |_, _| {});
    assert!(r.counterexample.is_none(), "{:?}", r.counterexample.map(|c| c.outcome.failure));
    assert_eq!((r.cases, r.passed, r.defects_met.len()), (3, 0, 3), "every case met it, none passed");
    assert!(r.defects_met.iter().all(|m| m.id == "setopts-closed" && m.failure.contains("gen_tcp_socket")));
}

#[test]
fn another_crash_still_fails_the_run_unshrunk_and_blames_no_rule() {
    let f = crashing("{{badmatch,{error,einval}},[{gen_tcp_socket,handle_event,4,[{line,1463}]}]}");
    let r = check(&f, &config(vec![defect()]), |_, _| {});
    let cx = r.counterexample.expect("a crash that is not the known defect fails the run");
    assert_eq!((cx.case_index, cx.rule(), cx.shrink_runs), (0, None, 0));
    assert!(r.defects_met.is_empty());
}

#[test]
fn without_the_defect_declared_the_crash_fails_the_run() {
    let f = crashing("{{badmatch,{error,closed}},[{gen_tcp_socket,handle_event,4,[{line,1463}]}]}");
    let r = check(&f, &config(vec![]), |_, _| {});
    assert!(r.counterexample.is_some_and(|cx| cx.rule().is_none()));
}
