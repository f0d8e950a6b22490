//! Kernel probes on the real kernel, one trial per rule (`KN-…`, see
//! `reference/src/rules/kernel.rs`). Each trial prints what it observed;
//! a broken expectation fails with a message starting with the rule ID; a
//! missing capability prints `SKIP <id>: <reason>` and counts as ignored.

use harness::kernel::{
    accept_exhaustion, connect, fingerprint, ids, pipe_atime, rps_probe, rst, sockbuf, KernelRelease,
};
use libtest_mimic::{Arguments, Completion, Trial};
use serde::Serialize;
use suite::capability::{trial, Capability};

const ROOT: &[Capability] = &[Capability::Root];
const NETNS: &[Capability] = &[Capability::Netns];

/// Prints `<id> observed: <json>`.
fn report<T: Serialize>(id: &str, what: &T) {
    println!("{id} observed: {}", serde_json::to_string(what).unwrap_or_else(|e| format!("<{e}>")));
}

/// Makes sure every failure message names the rule (setup errors too).
fn named<T>(id: &str, r: Result<T, String>) -> Result<T, String> {
    r.map_err(|e| if e.starts_with("KN-") { e } else { format!("{id}: {e}") })
}

fn rst_trial(id: &'static str, mode: rst::CloseMode) -> Trial {
    trial(id, NETNS, move || {
        named(id, rst::probe(mode).map(|o| report(id, &o)))
    })
}

fn pipe_trial(id: &'static str, kind: pipe_atime::PipeKind, noatime: bool) -> Trial {
    Trial::test(id, move || {
        let release = KernelRelease::running()?;
        let (o, e) = named(id, pipe_atime::probe(kind, noatime))?;
        println!("{id}: kernel {} -> expected: {}", release.raw, e.why);
        report(id, &o);
        Ok(())
    })
}

fn main() {
    let args = Arguments::from_args();
    let trials = vec![
        rst_trial("KN-RST-1", rst::CloseMode::Unread),
        rst_trial("KN-RST-2", rst::CloseMode::Drained),
        rst_trial("KN-RST-3", rst::CloseMode::DrainedLinger0),
        rst_trial("KN-RST-4", rst::CloseMode::UnreadLinger0),
        Trial::test("KN-CONN-1", || named("KN-CONN-1", connect::closed_loopback().map(|o| report("KN-CONN-1", &o))).map_err(Into::into)),
        Trial::test("KN-CONN-2", || named("KN-CONN-2", connect::naive_is_wrong().map(|o| report("KN-CONN-2", &o))).map_err(Into::into)),
        Trial::test("KN-CONN-3", || named("KN-CONN-3", connect::listening_loopback().map(|o| report("KN-CONN-3", &o))).map_err(Into::into)),
        trial("KN-CONN-4", NETNS, || named("KN-CONN-4", connect::no_route().map(|o| report("KN-CONN-4", &o)))),
        trial("KN-CONN-5", NETNS, || named("KN-CONN-5", connect::dropped_syn().map(|o| report("KN-CONN-5", &o)))),
        trial("KN-CONN-6", NETNS, || named("KN-CONN-6", connect::route_types().map(|o| report("KN-CONN-6", &o)))),
        pipe_trial("KN-PIPE-1", pipe_atime::PipeKind::Anonymous, false),
        pipe_trial("KN-PIPE-1/noatime", pipe_atime::PipeKind::Anonymous, true),
        pipe_trial("KN-PIPE-2", pipe_atime::PipeKind::Fifo, false),
        pipe_trial("KN-PIPE-3", pipe_atime::PipeKind::Fifo, true),
        trial("KN-PIPE-4", ROOT, || named("KN-PIPE-4", pipe_atime::noatime_permission().map(|o| report("KN-PIPE-4", &o)))),
        Trial::test("KN-EMFILE-1+2", || {
            let o = accept_exhaustion::observe().map_err(|e| format!("KN-EMFILE-1: {e}"))?;
            report("KN-EMFILE", &o);
            let r1 = accept_exhaustion::check_emfile(&o);
            let r2 = accept_exhaustion::check_loop(&o);
            match (r1, r2) {
                (Ok(()), Ok(())) => Ok(()),
                (Err(a), Ok(())) | (Ok(()), Err(a)) => Err(a.into()),
                (Err(a), Err(b)) => Err(format!("{a}\n{b}").into()),
            }
        }),
        Trial::ignorable_test("KN-ENFILE-1", || {
            let reason = accept_exhaustion::enfile_skip_reason();
            println!("SKIP KN-ENFILE-1: {reason}");
            Ok(Completion::ignored_with(reason))
        }),
    ];
    let _ = (ids::ALL, fingerprint::dummy, rps_probe::dummy, sockbuf::dummy);
    libtest_mimic::run(&args, trials).exit();
}
