//! The model against recorded real-OTP cases (`suite/corpus/*.jsonl.gz`),
//! played back through the one executor: every observation real `gen_tcp`
//! made in those cases (both backends, every recorded release: the file
//! `otp<rel>-<sut>-<seed>.jsonl.gz`, the kernel named in its header) must
//! still be predicted, under the variant and release the adapter declared. This is the differential property's evidence kept as data: it
//! needs no `erl`, runs in milliseconds, and so also runs under `make
//! mutants`. `make corpus` records the files again from real OTP.

use harness::recording::Recording;
use reference::observation::{Observation, PeerRead, Reply};
use std::path::{Path, PathBuf};
use suite::corpus;

fn corpus_files() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("readable directory entry").path())
        .filter(|p| p.to_str().is_some_and(|s| s.ends_with(".jsonl.gz")))
        .collect();
    files.sort();
    files
}

/// Every recorded case is predicted; a failure names the file, the case,
/// the rule and the trace.
#[test]
fn the_model_predicts_every_recorded_otp_case() {
    let mut per_sut = std::collections::BTreeMap::<(String, String), usize>::new();
    for path in corpus_files() {
        let c = corpus::read(&path).unwrap_or_else(|e| panic!("{e}"));
        assert!(!c.recordings.is_empty(), "{}: no recorded cases", path.display());
        let r = corpus::check(&c);
        if let Some(f) = r.first_failure() {
            panic!("{}: no longer predicted: {f}", path.display());
        }
        println!("{}: {} of {} recorded {} cases predicted", path.display(), r.passed, r.cases, c.header.sut);
        let name = path.file_name().and_then(|f| f.to_str()).unwrap_or_default();
        let release = name.strip_prefix("otp").and_then(|r| r.split('-').next()).unwrap_or_default();
        assert!(!release.is_empty(), "{name}: a corpus file is named otp<release>-<sut>-<seed>.jsonl.gz");
        *per_sut.entry((release.to_string(), c.header.sut.clone())).or_default() += r.passed;
    }
    let releases: std::collections::BTreeSet<_> = per_sut.keys().map(|(r, _)| r.clone()).collect();
    assert!(releases.contains("25"), "no OTP 25 corpus in suite/corpus: run `make corpus`");
    for rel in &releases {
        for sut in ["beam", "beam-socket"] {
            let n = per_sut.get(&(rel.clone(), sut.to_string())).copied().unwrap_or(0);
            assert!(n > 0, "no recorded OTP {rel} {sut} cases in suite/corpus: run `make corpus`");
        }
        println!("OTP {rel}: both backends recorded");
    }
}

fn recordings(sut: &str) -> Vec<Recording> {
    let mut all = vec![];
    for path in corpus_files() {
        let c = corpus::read(&path).unwrap_or_else(|e| panic!("{e}"));
        if c.header.sut == sut {
            all.extend(c.recordings);
        }
    }
    assert!(!all.is_empty(), "no recorded {sut} cases in suite/corpus");
    all
}

fn peer_got_data(s: &harness::recording::RecordedStep) -> bool {
    matches!(&s.observed, Observation { reply: Reply::Peer(PeerRead::Data(d)), .. } if !d.is_empty())
}

/// The playback check can fail: a recorded peer read that received one
/// byte more than the model accounts for is blamed on a rule.
#[test]
fn an_altered_observation_is_not_predicted() {
    for sut in ["beam", "beam-socket"] {
        let mut r = recordings(sut)
            .into_iter()
            .find(|r| r.steps.iter().any(peer_got_data))
            .unwrap_or_else(|| panic!("a {sut} recording with a peer read that got data"));
        let step = r.steps.iter_mut().find(|s| peer_got_data(s)).expect("found above");
        if let Reply::Peer(PeerRead::Data(d)) = &mut step.observed.reply {
            d[0] = d[0].wrapping_add(1);
        }
        let out = r.check();
        let f = out.failure.unwrap_or_else(|| panic!("{sut}: a corrupted payload byte was predicted"));
        assert_eq!(f.rule().map(|r| r.to_string()).as_deref(), Some("ST-1"), "{sut}: {f}");
    }
}

/// A case the model drives elsewhere than the recording is reported, not
/// answered: the recording is cut short by one step.
#[test]
fn a_recording_the_model_does_not_follow_is_reported() {
    let mut r = recordings("beam").swap_remove(0);
    r.steps.pop();
    let out = r.check();
    let f = out.failure.expect("a truncated recording fails");
    assert!(f.to_string().contains("past the recording's end"), "{f}");
}

/// A rule a variant declares does not apply (`Variant::applies`: the DIFF
/// rules of the other variant, and on otp-socket the reference rules its
/// DIFF rules replace whole, `SOCKET_REPLACES`) decided nothing in any
/// recorded case of that variant: reports show it as n/a and coverage
/// does not count it, so it must never be one that was reached.
#[test]
fn no_recorded_case_reaches_a_rule_its_variant_says_does_not_apply() {
    use reference::variant::Variant;
    for path in corpus_files() {
        let c = corpus::read(&path).unwrap_or_else(|e| panic!("{e}"));
        let variant = if c.header.sut == "beam-socket" { Variant::OtpSocket } else { Variant::OtpInet };
        let r = corpus::check(&c);
        for (id, t) in &r.tally {
            assert!(
                variant.applies(*id) || (t.cases == 0 && t.crossings == 0),
                "{}: {id} is n/a on {} but decided something in {} recorded cases",
                path.display(),
                variant.name(),
                t.cases
            );
        }
    }
}
