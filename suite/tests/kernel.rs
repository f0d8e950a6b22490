//! Kernel probes on the real kernel, one trial per rule (`KN-…`, see
//! `reference/src/rules/kernel.rs` and `harness::kernel`). Each trial prints
//! what it observed (`<ID> observed: <json>`); a broken expectation fails
//! with a message starting with the rule ID; a missing capability prints
//! `SKIP <id>: <reason>` and counts as ignored.
//!
//! Every fd, child, netns and temp dir a probe makes is released by RAII
//! guards in the harness, also when the probe fails.

use harness::kernel::{
    accept_exhaustion, connect, fd_exhaustion, file_atime, fingerprint, pipe_atime, rps_default_mask, rps_probe, rst,
    sockbuf, KernelRelease,
};
use libtest_mimic::{Arguments, Completion, Trial};
use serde::Serialize;
use suite::capability::{require, trial, Capability};

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

/// A trial that runs `probe`, reports its observation, and fails with the
/// rule ID on a broken expectation.
fn probe_trial<T: Serialize>(
    id: &'static str,
    caps: &'static [Capability],
    probe: impl FnOnce() -> Result<T, String> + Send + 'static,
) -> Trial {
    trial(id, caps, move || named(id, probe()).map(|o| report(id, &o)))
}

fn rst_trial(id: &'static str, mode: rst::CloseMode) -> Trial {
    probe_trial(id, NETNS, move || rst::probe(mode))
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

fn both(a: Result<(), String>, b: Result<(), String>) -> Result<(), String> {
    match (a, b) {
        (Ok(()), Ok(())) => Ok(()),
        (Err(a), Ok(())) | (Ok(()), Err(a)) => Err(a),
        (Err(a), Err(b)) => Err(format!("{a}\n{b}")),
    }
}

fn fingerprint_trial() -> Trial {
    trial("KN-FP-1", NETNS, || {
        let fp = named("KN-FP-1", fingerprint::collect())?;
        report("KN-FP-1", &fp);
        // insta panics on a mismatch (and prints the diff); name the rule.
        let r = std::panic::catch_unwind(|| {
            insta::with_settings!({
                snapshot_path => "../../snapshots",
                prepend_module_to_snapshot => false,
                description => "Kernel fingerprint (KN-FP-1): release major.minor, minimum buffers, which KN behaviours hold. Regenerate with `make snapshots` and review.",
            }, {
                insta::assert_yaml_snapshot!("kernel_fingerprint", fp);
            });
        });
        r.map_err(|_| {
            "KN-FP-1: the kernel fingerprint differs from snapshots/kernel_fingerprint.snap (diff above); \
             the machine kind or kernel changed: review, then `make snapshots`"
                .to_string()
        })
    })
}

fn main() {
    // SIGINT/SIGTERM remove the temp dirs and namespaces a trial holds.
    harness::interrupt::on_signal_clean_up();
    let args = Arguments::from_args();
    let trials = vec![
        // 1. RST on close
        rst_trial("KN-RST-1", rst::CloseMode::Unread),
        rst_trial("KN-RST-2", rst::CloseMode::Drained),
        rst_trial("KN-RST-3", rst::CloseMode::DrainedLinger0),
        rst_trial("KN-RST-4", rst::CloseMode::UnreadLinger0),
        probe_trial("KN-RST-6", NETNS, rst::probe_reset_then_close),
        probe_trial("KN-RST-7", NETNS, rst::probe_syn_sent_close),
        probe_trial("KN-RST-8", NETNS, rst::probe_flushed_close),
        probe_trial("KN-RST-9", NETNS, rst::probe_remote_fin_then_close),
        probe_trial("KN-RST-10", NETNS, rst::probe_shutdown_rdwr),
        probe_trial("KN-RST-11", NETNS, rst::probe_listener_closed),
        // 2. Non-blocking connect
        probe_trial("KN-CONN-1", &[], connect::closed_loopback),
        probe_trial("KN-CONN-2", &[], connect::naive_is_wrong),
        probe_trial("KN-CONN-3", &[], connect::listening_loopback),
        probe_trial("KN-CONN-4", NETNS, connect::no_route),
        probe_trial("KN-CONN-5", NETNS, connect::dropped_syn),
        probe_trial("KN-CONN-6", NETNS, connect::route_types),
        probe_trial("KN-CONN-7", &[], connect::blocking_refused),
        // 3. Pipe and FIFO timestamps, O_NOATIME
        pipe_trial("KN-PIPE-1", pipe_atime::PipeKind::Anonymous, false),
        pipe_trial("KN-PIPE-1/noatime", pipe_atime::PipeKind::Anonymous, true),
        pipe_trial("KN-PIPE-2", pipe_atime::PipeKind::Fifo, false),
        pipe_trial("KN-PIPE-3", pipe_atime::PipeKind::Fifo, true),
        probe_trial("KN-PIPE-4", ROOT, pipe_atime::noatime_permission),
        // 3b. Regular files: O_NOATIME and the mount's atime policy
        probe_trial("KN-ATIME-1", ROOT, file_atime::probe_open),
        probe_trial("KN-ATIME-2", ROOT, file_atime::probe_openat),
        probe_trial("KN-ATIME-3", ROOT, file_atime::probe_non_owner),
        probe_trial("KN-ATIME-4", ROOT, file_atime::probe_mount),
        // 4. fd exhaustion on accept
        Trial::test("KN-EMFILE-1+2", || {
            let o = named("KN-EMFILE-1", accept_exhaustion::observe())?;
            report("KN-EMFILE", &o);
            Ok(both(accept_exhaustion::check_emfile(&o), accept_exhaustion::check_loop(&o))?)
        }),
        // 4b. fd exhaustion on pipe and open
        probe_trial("KN-EMFILE-3", &[], fd_exhaustion::probe_pipe),
        probe_trial("KN-EMFILE-4", &[], fd_exhaustion::probe_pipe_count),
        probe_trial("KN-EMFILE-5", &[], fd_exhaustion::probe_open),
        Trial::ignorable_test("KN-ENFILE-1", || {
            let reason = accept_exhaustion::enfile_skip_reason();
            println!("SKIP KN-ENFILE-1: {reason}");
            Ok(Completion::ignored_with(reason))
        }),
        // 5. RPS
        trial("KN-RPS-1+2+3", NETNS, || {
            let o = named("KN-RPS-1", rps_probe::observe())?;
            print!("KN-RPS apply: {}", o.apply.summary());
            for b in [&o.control, &o.steered].into_iter().flatten() {
                println!(
                    "KN-RPS-3 burst of {} from CPU{} with rps_cpus={}: received_rps deltas {:?}; {}",
                    b.sent, b.sender_cpu, b.rps_cpus, b.received_rps_delta, b.net_rx_summary
                );
            }
            report("KN-RPS", &o);
            if o.steered.is_none() {
                println!("SKIP KN-RPS-3: needs at least two online CPUs (online: {})", o.online);
            }
            both(rps_probe::check_masks(&o), rps_probe::check_effect(&o))
        }),
        // KN-RPS-4 is a SKIP (with the reason) on a kernel without the sysctl.
        Trial::ignorable_test("KN-RPS-4", || {
            if let Err(reason) = require("KN-RPS-4", NETNS) {
                return Ok(Completion::ignored_with(reason));
            }
            if let Some(reason) = rps_default_mask::skip_reason() {
                println!("SKIP KN-RPS-4: {reason}");
                return Ok(Completion::ignored_with(reason));
            }
            let o = named("KN-RPS-4", rps_default_mask::observe())?;
            report("KN-RPS-4", &o);
            rps_default_mask::check(&o)?;
            Ok(Completion::Completed)
        }),
        // 6. Buffers and the fingerprint
        probe_trial("KN-BUF-1", &[], sockbuf::probe),
        fingerprint_trial(),
    ];
    libtest_mimic::run(&args, trials).exit();
}
