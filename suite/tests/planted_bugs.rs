//! Teeth: each planted bug in the native runtime that the lockstep property
//! can reach must be found by it, and blamed on the rule it breaks. Fixed
//! seeds, so a run is reproducible; the case budget is a bound, not an
//! expectation. Bugs outside lockstep's reach (`Detection::Outside`) are
//! caught by the harness test they name, not here.

use harness::sut::native::{BugTable, Detection, NativeFactory, PlantedBug};
use reference::rules::{ids, RuleId};
use suite::check::{check, CheckConfig};

/// The bugs this file runs, one test each below.
const CAUGHT_HERE: &[PlantedBug] = &[
    PlantedBug::HighGtInsteadOfGe,
    PlantedBug::LowLtInsteadOfLe,
    PlantedBug::ResumeBeforeLow,
    PlantedBug::DelaySendIgnored,
    PlantedBug::DropOnSendTimeout,
    PlantedBug::LeakAcceptedFd,
    PlantedBug::MsgqBusyAtGe,
    PlantedBug::NosuspendQueues,
    PlantedBug::SetupFrontToBack,
];

/// Every bug the runtime says lockstep catches has a test here, and this
/// file claims no bug that lockstep cannot reach.
#[test]
fn every_lockstep_bug_is_tested_here() {
    let lockstep: Vec<PlantedBug> = PlantedBug::lockstep().collect();
    assert_eq!(lockstep, CAUGHT_HERE);
    for b in PlantedBug::ALL.iter().filter(|b| !CAUGHT_HERE.contains(b)) {
        assert!(matches!(b.detection(), Detection::Outside { .. }), "{b} is caught nowhere");
    }
}

fn caught(bug: PlantedBug, rule: RuleId) {
    assert!(CAUGHT_HERE.contains(&bug), "{bug} is not listed in CAUGHT_HERE");
    let factory = NativeFactory::new(Some(bug));
    let cfg = CheckConfig { max_shrink_iters: 300, ..CheckConfig::new(24301, 400) };
    let report = check(&factory, &cfg, |_, _| {});
    let cx = report
        .counterexample
        .unwrap_or_else(|| panic!("planted bug {bug} not found in {} cases (seed {})", cfg.cases, cfg.seed));
    println!("{bug}: found at case {} of seed {}, shrunk to {} ops", cx.case_index, cx.seed, cx.shrunk.ops.len());
    println!("{}", suite::trace::lines(&cx.outcome));
    assert_eq!(cx.rule(), Some(rule), "planted bug {bug} blamed on the wrong rule");
}

#[test]
fn high_gt_instead_of_ge_breaks_wm3() {
    caught(PlantedBug::HighGtInsteadOfGe, ids::WM_3);
}

#[test]
fn low_lt_instead_of_le_breaks_wm4() {
    caught(PlantedBug::LowLtInsteadOfLe, ids::WM_4);
}

#[test]
fn resume_before_low_breaks_wm4() {
    caught(PlantedBug::ResumeBeforeLow, ids::WM_4);
}

#[test]
fn delay_send_ignored_breaks_ds1() {
    caught(PlantedBug::DelaySendIgnored, ids::DS_1);
}

#[test]
fn data_dropped_on_send_timeout_breaks_to1() {
    caught(PlantedBug::DropOnSendTimeout, ids::TO_1);
}

#[test]
fn accepted_fd_leaked_on_full_table_breaks_pt2() {
    caught(PlantedBug::LeakAcceptedFd, ids::PT_2);
}

#[test]
fn msgq_busy_at_ge_breaks_mq3() {
    caught(PlantedBug::MsgqBusyAtGe, ids::MQ_3);
}

#[test]
fn nosuspend_queues_breaks_snd2() {
    caught(PlantedBug::NosuspendQueues, ids::SND_2);
}

/// A bug in how the case's setup is applied shows, and is blamed on the
/// option rule it breaks, not on the getopts or watermark that shows it.
#[test]
fn setup_front_to_back_breaks_opt5() {
    caught(PlantedBug::SetupFrontToBack, ids::OPT_5);
}
