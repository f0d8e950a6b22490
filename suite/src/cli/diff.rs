//! `portcheck diff`: the same cases on two runtimes (two OTP builds of one
//! backend, or two backends on one build), and where they behave
//! differently, named by the rule each side's model says decided it.
//!
//! Why: a reviewer of a runtime change reads which rule moved (say
//! DIFF-INET-2 on OTP 25 became DIFF-INET-6 on OTP 27), with a minimal case
//! for each, instead of comparing two conformance runs by hand.

use super::exit::Exit;
use super::run::progress_printer;
use super::sut_arg::{self, ErlArg};
use crate::difference::run::{diff, DiffConfig, DiffReport, Minimal, Side};
use crate::difference::Key;
use crate::{known, trace};
use clap::Args;
use reference::rules::rule;
use std::fmt::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Args)]
#[command(after_help = HELP)]
pub struct DiffArgs {
    /// The system under test: once with two --erl (two builds of one
    /// backend), or twice (two backends on one build).
    #[arg(long, required = true)]
    sut: Vec<String>,
    /// The `erl` of a side (with `erlc` beside it): twice with one --sut,
    /// at most once with two (default: $PORTCHECK_ERL, else `erl` on PATH).
    #[arg(long, value_name = "PATH")]
    erl: Vec<PathBuf>,
    #[arg(long, default_value_t = 200)]
    cases: u32,
    /// Seed (printed; the same seed runs the same cases on both sides).
    #[arg(long)]
    seed: Option<u64>,
    /// Longest op sequence generated per case.
    #[arg(long, default_value_t = 40)]
    max_ops: usize,
    /// At most this many reruns (each on both sides) to shrink one difference.
    #[arg(long, default_value_t = 60)]
    shrink_limit: u32,
    /// Save each difference's minimal case, with both sides' traces, as
    /// JSON in this directory (created if missing).
    #[arg(long, value_name = "DIR")]
    save: Option<PathBuf>,
    /// Diff one case instead of generated ones: a file `--save` wrote (its
    /// minimal case) or `run --save` wrote (its setup and ops). Checks that a
    /// known difference still shows, without the noise of random cases.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["cases", "seed"])]
    case: Option<PathBuf>,
}

/// The case in `path`: a saved difference's minimal case, or a saved
/// trace's setup and ops.
fn read_case(path: &std::path::Path) -> Result<crate::check::SavedCase, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("--case {}: {e}", path.display()))?;
    let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| format!("--case {}: {e}", path.display()))?;
    let case = v.pointer("/difference/case").cloned().unwrap_or(v);
    let setup = serde_json::from_value(case["setup"].clone());
    let ops = serde_json::from_value(case["ops"].clone());
    match (setup, ops) {
        (Ok(setup), Ok(ops)) => Ok(crate::check::SavedCase { setup, ops }),
        (Err(e), _) | (_, Err(e)) => {
            Err(format!("--case {}: not a saved case (setup and ops, or difference.case): {e}", path.display()))
        }
    }
}

const HELP: &str = "Each side runs in lockstep with the model of its own release, as `run` does; where their \
observations of a step differ, the difference is named by the rule each side's model says decided the value. \
A difference counts only if a rerun of its case on both sides shows it again.\n\n\
Exit status: 0 no difference; 1 differences confirmed (or a side diverged from its own rules); \
2 a runtime failed (crash, hang, protocol violation); 3 usage or environment error.";

/// The two sides as (system, erl) pairs, or why the arguments do not name
/// exactly two runtimes.
fn pairs(sut: &[String], erl: &[PathBuf]) -> Result<[(String, Option<PathBuf>); 2], String> {
    let side = |s: &String, e: Option<&PathBuf>| (s.clone(), e.cloned());
    match (sut, erl) {
        ([s], [a, b]) => Ok([side(s, Some(a)), side(s, Some(b))]),
        ([s1, s2], [] | [_]) => Ok([side(s1, erl.first()), side(s2, erl.first())]),
        ([s1, s2], [a, b]) => Ok([side(s1, Some(a)), side(s2, Some(b))]),
        _ => Err(format!(
            "diff compares exactly two runtimes: --sut S --erl A --erl B (two builds of one backend) or \
             --sut S1 --sut S2 [--erl A] (two backends on one build); got {} --sut and {} --erl",
            sut.len(),
            erl.len()
        )),
    }
}

/// A side's system, its known defects (real OTP) and its description.
fn side(sut: &str, erl: Option<PathBuf>) -> Result<(Side, String), String> {
    let beam = sut.starts_with("beam");
    // --erl is for the beam sides only (a native side next to one runs none).
    let erl = ErlArg { erl: erl.filter(|_| beam), ..ErlArg::default() };
    let factory = sut_arg::factory(sut, None, &erl)?;
    let runtime = factory.runtime();
    let known_defects = match (&runtime, beam) {
        (Some(r), true) => known::defects_for(&known::beam_defects_file(), factory.name(), Some(&r.otp_release))
            .map_err(|e| format!("known defects: {e}"))?,
        _ => vec![],
    };
    let on = runtime.as_ref().map(|r| format!(" on {r}")).unwrap_or_default();
    let described = format!("{sut}{on}{}", if beam { erl.shown() } else { String::new() });
    Ok((Side { label: String::new(), factory, known_defects }, described))
}

/// Short names that tell the two sides apart: the system where they
/// differ, the release where that differs, else "A" and "B".
fn labels(pairs: &[(String, Option<PathBuf>); 2], sides: &[Side; 2]) -> [String; 2] {
    let rt = |i: usize| sides[i].factory.runtime();
    let mut parts: [Vec<String>; 2] = Default::default();
    if pairs[0].0 != pairs[1].0 {
        (0..2).for_each(|i| parts[i].push(pairs[i].0.clone()));
    }
    let (ra, rb) = (rt(0), rt(1));
    if let (Some(a), Some(b)) = (&ra, &rb) {
        if a.otp_release != b.otp_release {
            parts[0].push(format!("OTP {}", a.otp_release));
            parts[1].push(format!("OTP {}", b.otp_release));
        } else if a != b {
            parts[0].push(a.to_string());
            parts[1].push(b.to_string());
        }
    }
    let [a, b] = parts;
    if a.is_empty() {
        return ["A".into(), "B".into()];
    }
    [a.join(", "), b.join(", ")]
}

/// `completed order: DIFF-INET-2 (OTP 25) vs DIFF-INET-6 (OTP 27)`.
fn key_text(k: &Key, labels: &[String; 2]) -> String {
    if k.moved() {
        format!("{}: {} ({}) vs {} ({})", k.field, k.rules[0], labels[0], k.rules[1], labels[1])
    } else {
        format!("{}: {} on both (the runtimes' kernel or scheduler choices differed)", k.field, k.rules[0])
    }
}

pub fn run(args: DiffArgs) -> ExitCode {
    let pairs = match pairs(&args.sut, &args.erl) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("portcheck: {e}");
            return Exit::Usage.into();
        }
    };
    let mut built = vec![];
    for (sut, erl) in pairs.iter().cloned() {
        match side(&sut, erl) {
            Ok(s) => built.push(s),
            Err(e) => {
                eprintln!("portcheck: {e}");
                return Exit::Usage.into();
            }
        }
    }
    let [(a, da), (b, db)]: [(Side, String); 2] = built.try_into().ok().expect("two sides");
    let mut sides = [a, b];
    let names = labels(&pairs, &sides);
    for (s, l) in sides.iter_mut().zip(&names) {
        s.label = l.clone();
    }
    let only = match args.case.as_deref().map(read_case).transpose() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("portcheck: {e}");
            return Exit::Usage.into();
        }
    };
    let cfg = DiffConfig {
        only,
        cases: args.cases,
        seed: args.seed.unwrap_or_else(crate::check::fresh_seed),
        max_ops: args.max_ops,
        shrink_limit: args.shrink_limit,
    };
    let sut_args: String = args.sut.iter().map(|s| format!(" --sut {s}")).collect();
    let erl_args: String = args.erl.iter().map(|e| format!(" --erl {}", e.display())).collect();
    match &args.case {
        Some(c) => println!("portcheck diff{sut_args}{erl_args} --case {}", c.display()),
        None => println!("portcheck diff{sut_args}{erl_args} --cases {} --seed {}", cfg.cases, cfg.seed),
    }
    println!("  A = {}: {da}\n  B = {}: {db}", names[0], names[1]);
    let report = diff(&sides, &cfg, progress_printer(cfg.cases));
    print!("{}", summary(&report, &names));
    for (n, m) in report.minimal.iter().enumerate() {
        print!("{}", minimal_text(n + 1, m, &names, report.seed));
        if let Some(dir) = &args.save {
            match save(dir, n + 1, m, &names, &[da.clone(), db.clone()]) {
                Ok(p) => println!("saved: {}", p.display()),
                Err(e) => {
                    eprintln!("portcheck: --save {}: {e}", dir.display());
                    return Exit::Usage.into();
                }
            }
        }
    }
    exit_status(&report).into()
}

/// 2 when a runtime failed (not by a known defect), else 1 when a
/// difference was confirmed or a side diverged from its own rules, else 0.
fn exit_status(r: &DiffReport) -> Exit {
    if r.failures.iter().any(|f| f.rule.is_none() && f.known_defect.is_none()) {
        Exit::SutFailed
    } else if !r.confirmed_keys().is_empty() || r.failures.iter().any(|f| f.rule.is_some()) {
        Exit::Diverged
    } else {
        Exit::Passed
    }
}

/// The per-difference table, the cases that did not reproduce, each side's
/// own failures and skipped ops.
fn summary(r: &DiffReport, labels: &[String; 2]) -> String {
    let mut s = String::from("\n");
    let mut keys: Vec<Key> = vec![];
    for d in &r.differing {
        if !keys.contains(&d.difference.key) {
            keys.push(d.difference.key);
        }
    }
    let rows: Vec<[String; 4]> = keys
        .iter()
        .map(|k| {
            let of: Vec<_> = r.differing.iter().filter(|d| d.difference.key == *k).collect();
            let confirmed = of.iter().filter(|d| d.confirmed).count();
            let first = &of[0];
            let at = match first.difference.op_index {
                Some(i) => format!("op {i}"),
                None => "drain".into(),
            };
            [
                key_text(k, labels),
                confirmed.to_string(),
                (of.len() - confirmed).to_string(),
                format!(
                    "case {}, {at} (step {}), {}",
                    first.case_index, first.difference.steps[0], first.difference.field
                ),
            ]
        })
        .collect();
    if rows.is_empty() {
        s.push_str("no differences\n");
    } else {
        let w = rows.iter().map(|r| r[0].chars().count()).max().unwrap_or(0).max(10);
        let _ = writeln!(s, "{:<w$}  {:>9}  {:>14}  first seen", "difference", "confirmed", "not reproduced");
        for [k, c, n, f] in &rows {
            let _ = writeln!(s, "{k:<w$}  {c:>9}  {n:>14}  {f}");
        }
    }
    let confirmed = r.differing.iter().filter(|d| d.confirmed).count();
    let _ = writeln!(
        s,
        "\n{} cases (seed {}): {} the same, {} differ ({} confirmed by a rerun on both sides, {} not reproduced)",
        r.cases,
        r.seed,
        r.cases as usize - r.differing.len(),
        r.differing.len(),
        confirmed,
        r.differing.len() - confirmed
    );
    for (i, l) in labels.iter().enumerate() {
        let own: Vec<_> = r.failures.iter().filter(|f| f.side == i).collect();
        let _ = writeln!(
            s,
            "{l}: {} of {} cases conform to its own rules; {} ops its model skipped where the other side ran them",
            r.cases as usize - own.len(),
            r.cases,
            r.skipped_ops[i]
        );
        for f in own {
            let kind = match (&f.rule, &f.known_defect) {
                (Some(rule), _) => format!("diverged under {rule}"),
                (None, Some(id)) => format!("known defect {id}"),
                (None, None) => "the runtime failed".into(),
            };
            let _ = writeln!(s, "  case {}: {kind}: {}", f.case_index, f.what.lines().next().unwrap_or_default());
        }
    }
    s
}

/// A difference's minimal case: both traces, the differing step marked,
/// and each side's value with the rule that decided it.
fn minimal_text(n: usize, m: &Minimal, labels: &[String; 2], seed: u64) -> String {
    let mut s = String::new();
    let d = &m.difference;
    let _ = writeln!(
        s,
        "\nDIFFERENCE {n}: {} (case {} of seed {seed}, shrunk from {} to {} ops in {} reruns on both sides)",
        key_text(&m.key, labels),
        m.case_index,
        m.original_ops,
        m.case.ops.len(),
        m.reruns
    );
    for (i, label) in labels.iter().enumerate() {
        let _ = writeln!(s, "\n{label}:");
        s.push_str(&trace::steps(&m.outcomes[i].trace, Some(d.steps[i])));
        if let Some(f) = &m.outcomes[i].failure {
            let _ = writeln!(s, "  (then diverged from its own rules: {f})");
        }
    }
    let at = d.op_index.map(|i| format!("op {i}")).unwrap_or_else(|| "the drain".into());
    let _ = writeln!(
        s,
        "\nat {at} (step {} of {}, step {} of {}): {}",
        d.steps[0], labels[0], d.steps[1], labels[1], d.field
    );
    for (i, label) in labels.iter().enumerate() {
        let id = m.key.rules[i];
        let statement = rule(id).map(|r| r.statement).unwrap_or_default();
        let _ = writeln!(s, "  {label}: {}  decided by {id}: {statement}", d.values[i]);
    }
    s
}

/// `--save DIR`: the minimal case and both sides' runs, by value.
fn save(dir: &Path, n: usize, m: &Minimal, labels: &[String; 2], described: &[String; 2]) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let sides: Vec<_> = (0..2).map(|i| serde_json::json!({ "label": labels[i], "runtime": described[i] })).collect();
    let doc = serde_json::json!({ "sides": sides, "difference": m });
    let path = dir.join(format!("difference-{n}.json"));
    std::fs::write(&path, serde_json::to_string_pretty(&doc).expect("a difference serializes"))?;
    Ok(path)
}
