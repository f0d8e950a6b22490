//! Saved traces (`suite::saved`) as files: every committed regression,
//! `unexplained/` included, still reads with its rule a catalogued
//! `RuleId`, and a trace naming a rule the catalogue does not know is
//! refused rather than read as a new rule.

use std::path::{Path, PathBuf};
use suite::saved;

fn json_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        let name = path.file_name().and_then(|f| f.to_str()).unwrap_or_default();
        // `new/` holds unreviewed cases (not committed); `known.json` is the
        // list of known divergences, read below.
        if path.is_dir() && name != "new" {
            json_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "json") && name != "known.json" {
            out.push(path);
        }
    }
}

#[test]
fn every_committed_regression_reads() {
    let mut files = vec![];
    json_files(&Path::new(env!("CARGO_MANIFEST_DIR")).join("regressions"), &mut files);
    assert!(!files.is_empty(), "no regressions found");
    for path in &files {
        let t = saved::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        if let Some(rule) = t.rule {
            assert!(reference::rules::rule(rule).is_some(), "{}: rule {rule} not catalogued", path.display());
        }
    }
    println!("{} saved traces read", files.len());
}

#[test]
fn the_known_divergences_read_and_name_existing_cases() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("regressions");
    let known = suite::known::load(&dir.join("known.json")).unwrap_or_else(|e| panic!("{e}"));
    for (file, k) in &known {
        assert!(dir.join(file).is_file(), "known.json lists {file}, which does not exist");
        assert!(reference::rules::rule(k.rule).is_some(), "{file}: rule {} not catalogued", k.rule);
    }
    println!("{} known divergences read", known.len());
}

#[test]
fn an_uncatalogued_rule_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let committed = Path::new(env!("CARGO_MANIFEST_DIR")).join("regressions/native-8481573192862872669.json");
    let text = std::fs::read_to_string(committed).unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
    v["rule"] = "WM-99".into();
    let path = dir.path().join("t.json");
    std::fs::write(&path, v.to_string()).unwrap();
    let e = saved::read(&path).expect_err("an unknown rule id reads");
    assert!(e.contains("unknown rule id \"WM-99\""), "{e}");
}

/// A regression the model was changed for stays explained: the model
/// predicts every observation the failing run kept, up to and including the
/// step that failed then (`replay --observed`). The known divergences
/// (`known.json`) are the exception, by definition. Without this a model
/// change could undo a fix, and only a live replay that happens to take the
/// same timing would show it.
#[test]
fn every_explained_regression_is_predicted_from_its_observations() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("regressions");
    let known = suite::known::load(&dir.join("known.json")).unwrap_or_else(|e| panic!("{e}"));
    let mut files = vec![];
    json_files(&dir, &mut files);
    let (mut checked, mut unexplained) = (0, vec![]);
    for path in &files {
        let name = path.strip_prefix(&dir).unwrap().to_string_lossy().into_owned();
        if known.contains_key(&name) || name.starts_with("unexplained/") {
            continue;
        }
        let t = saved::read(path).unwrap_or_else(|e| panic!("{name}: {e}"));
        let Some(recording) = t.observed else { continue };
        let outcome = recording.check();
        let past_the_end = outcome.failure.as_ref().is_some_and(|f| f.step >= recording.steps.len());
        if !(outcome.passed() || past_the_end) {
            unexplained.push(format!("{name}: {}", outcome.failure.map(|f| f.to_string()).unwrap_or_default()));
        }
        checked += 1;
    }
    assert!(checked > 0, "no regression keeps its observations");
    assert!(unexplained.is_empty(), "regressions the model no longer predicts:\n{}", unexplained.join("\n"));
    println!("{checked} regressions predicted from their observations");
}

/// Real-OTP findings the model was changed for, kept with what OTP
/// observed (`regressions/observed/`, not replayed on a node: their
/// timing need not recur): the model predicts every observation of each
/// run, its failing step included, without `erl`.
#[test]
fn the_model_predicts_the_observed_runs_it_was_changed_for() {
    let mut files = vec![];
    json_files(&Path::new(env!("CARGO_MANIFEST_DIR")).join("regressions").join("observed"), &mut files);
    assert!(!files.is_empty(), "no observed runs found");
    for path in &files {
        let t = saved::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let recording = t.observed.unwrap_or_else(|| panic!("{}: keeps no observations", path.display()));
        let outcome = recording.check();
        // The run ended at its failure: a model that predicts that step
        // goes on to an op the run never made, past the recording's end.
        let past_the_end = outcome.failure.as_ref().is_some_and(|f| f.step >= recording.steps.len());
        assert!(
            outcome.passed() || past_the_end,
            "{}: no longer predicted\n{}",
            path.display(),
            suite::trace::lines(&outcome)
        );
    }
    println!("{} observed runs predicted", files.len());
}
