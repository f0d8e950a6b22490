//! Cases run at once (`portcheck run --jobs N`, `suite::workers`) give the
//! serial run's verdict: the same cases in the same order, the same count
//! passed, and the same first failure under the same rule. Against the
//! native runtime, whose verdicts do not depend on the load (the lockstep
//! gate's premise); real OTP's are checked in `node_reuse.rs`. Not the
//! per-rule tally or the shrunk case: what the kernel takes of a write
//! depends on when ACKs came, also between two serial runs of one case
//! (measured: SND-1 reached in 2 or 3 of 12 cases of one seed under load),
//! and that decides which rules a passing case crosses and where shrinking
//! ends.

use harness::sut::native::{NativeFactory, PlantedBug};
use rstest::rstest;
use std::num::NonZeroUsize;
use suite::check::{check, check_parallel, CheckConfig, CheckReport};

fn config(seed: u64, cases: u32) -> CheckConfig {
    CheckConfig { max_shrink_iters: 300, ..CheckConfig::new(seed, cases) }
}

/// What a run decided.
fn verdict(r: &CheckReport) -> String {
    let cx = r.counterexample.as_ref().map(|cx| format!("case {} rule {:?}", cx.case_index, cx.rule()));
    format!("{} of {} passed; first failure {cx:?}", r.passed, r.cases)
}

#[rstest]
#[case::clean_runtime(None, 11)]
#[case::resume_before_low_watermark(Some(PlantedBug::ResumeBeforeLow), 24301)]
#[case::busy_at_high_msgq_watermark(Some(PlantedBug::MsgqBusyAtGe), 9)]
#[case::high_watermark_off_by_one(Some(PlantedBug::HighGtInsteadOfGe), 6)]
fn two_jobs_give_the_serial_report(#[case] bug: Option<PlantedBug>, #[case] seed: u64, #[values(2, 3)] jobs: usize) {
    let factory = NativeFactory::new(bug);
    let cfg = config(seed, 200);
    let serial = check(&factory, &cfg, |_, _| {});
    let mut order = vec![];
    let parallel = check_parallel(&factory, NonZeroUsize::new(jobs).unwrap(), &cfg, |done, _| order.push(done));
    // Progress comes in case order, once per case settled.
    assert_eq!(order, (1..=parallel.cases).collect::<Vec<_>>());
    assert_eq!(verdict(&parallel), verdict(&serial), "bug {bug:?}, seed {seed}, {jobs} jobs");
    // The planted bug is found, so a case past the failure that a worker
    // had started must not have been counted.
    assert_eq!(bug.is_some(), serial.counterexample.is_some(), "bug {bug:?} not found in {} cases", cfg.cases);
}
