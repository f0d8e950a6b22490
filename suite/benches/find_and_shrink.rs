//! Find and shrink: for each planted bug in the native runtime that the
//! lockstep property can reach, the wall time from the start of the
//! property run to the minimal counterexample, the shrunk trace's length
//! and the rule it was blamed on (bugs outside lockstep's reach are listed
//! with the test that catches them). The
//! configuration is suite/tests/planted_bugs.rs's: seed 24403, 400 cases,
//! 40 ops per case, at most 300 shrink runs (the test itself stops the
//! stalled writer's after 12: this is where its whole search is timed).
//!
//! `cargo bench -p portcheck --bench find_and_shrink`
//! (`PORTCHECK_SEED` to try another seed; extra arguments pick bugs by name.)

use harness::sut::native::{BugTable, Detection, NativeFactory, PlantedBug};
use std::time::Instant;
use suite::check::{check, CheckConfig};
use suite::environment::machine;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    let picked: Vec<PlantedBug> = args.iter().filter_map(|a| a.parse().ok()).collect();
    if !args.is_empty() && picked.is_empty() && !args.iter().any(|a| "find_and_shrink".contains(a.as_str())) {
        return;
    }
    let chosen: Vec<PlantedBug> = if picked.is_empty() { PlantedBug::ALL.to_vec() } else { picked };
    // Bugs lockstep cannot reach are caught by a harness test instead; say
    // so rather than report them NOT FOUND.
    let (bugs, outside): (Vec<PlantedBug>, Vec<PlantedBug>) =
        chosen.into_iter().partition(|b| b.detection() == Detection::Lockstep);
    let seed: u64 = std::env::var("PORTCHECK_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or(24403);
    let cfg = CheckConfig { max_shrink_iters: 300, ..CheckConfig::new(seed, 400) };
    println!("== find_and_shrink: planted bugs, start to minimal counterexample ==");
    println!("{}", machine());
    println!(
        "config: seed {}, {} cases, max_ops {}, max_shrink_iters {} (as suite/tests/planted_bugs.rs)",
        cfg.seed, cfg.cases, cfg.max_ops, cfg.max_shrink_iters
    );
    println!(
        "{:<22} {:>8} {:>8} {:>6} {:>8} {:>7} {:>9} {:>7} {:>8}  verdict",
        "bug", "found@", "find s", "ops", "shrunk", "runs", "shrink s", "rule", "total s"
    );
    let mut all_ok = true;
    let t_all = Instant::now();
    for &bug in &bugs {
        let factory = NativeFactory::new(Some(bug));
        let t = Instant::now();
        let mut found_at = None;
        let report = check(&factory, &cfg, |done, _| found_at = Some((done, t.elapsed())));
        let total = t.elapsed().as_secs_f64();
        match &report.counterexample {
            Some(cx) => {
                // The last progress call is the failing case (check stops there).
                let find = found_at.map(|(_, d)| d.as_secs_f64()).unwrap_or(0.0);
                let rule = cx.rule().map(|r| r.to_string()).unwrap_or_else(|| "none".into());
                let right = cx.rule() == Some(bug.rule());
                let fast = total <= 10.0;
                all_ok &= right;
                println!(
                    "{:<22} {:>8} {:>8.2} {:>6} {:>8} {:>7} {:>9.2} {:>7} {:>8.2}  {}{}",
                    bug.name(),
                    cx.case_index + 1,
                    find,
                    cx.original_ops,
                    cx.shrunk.ops.len(),
                    cx.shrink_runs,
                    total - find,
                    rule,
                    total,
                    if right { "right rule" } else { "WRONG RULE" },
                    if fast { "" } else { ", over the 10 s goal" }
                );
                println!(
                    "{:<22} shrunk trace: {} executed steps (drain included), expected rule {}",
                    "",
                    cx.outcome.trace.len(),
                    bug.rule()
                );
            }
            None => {
                all_ok = false;
                println!("{:<22} NOT FOUND in {} cases ({total:.2}s)", bug.name(), report.cases);
            }
        }
    }
    for bug in &outside {
        if let Detection::Outside { test, .. } = bug.detection() {
            println!("{:<22} not a lockstep bug: {test} catches it under {}", bug.name(), bug.rule());
        }
    }
    println!("find_and_shrink: all bugs in {:.2}s [goal <= 10 s each]", t_all.elapsed().as_secs_f64());
    if !all_ok {
        std::process::exit(1);
    }
}
