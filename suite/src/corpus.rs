//! A corpus: recorded cases of one system (`harness::recording`), kept as a
//! file so the model can be re-checked against them without the system.
//!
//! Format (JSON lines, `.jsonl`, gzip-compressed when the name ends in
//! `.gz` — the recorded payload bytes compress about sixfold): the first line is a `CorpusHeader` — the
//! format version, the system, the seed the cases came from and the
//! environment they ran in —, then one `Recording` per line. `portcheck run
//! --record FILE` writes one; `portcheck corpus FILE…` and
//! `suite/tests/otp_corpus.rs` check the model against it.

use crate::environment::Environment;
use crate::tally::{tally, RuleTally};
use harness::executor::CaseOutcome;
use harness::recording::Recording;
use reference::rules::RuleId;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::{BufRead, Write};
use std::path::Path;

/// Bumped when the file format changes incompatibly.
pub const FORMAT_VERSION: u32 = 1;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CorpusHeader {
    pub format: u32,
    pub sut: String,
    /// The seed of the `portcheck run` that produced the cases.
    pub seed: u64,
    pub environment: Environment,
}

pub struct Corpus {
    pub header: CorpusHeader,
    pub recordings: Vec<Recording>,
}

pub fn write(path: &Path, header: &CorpusHeader, recordings: &[Recording]) -> std::io::Result<()> {
    let file = std::fs::File::create(path)?;
    if path.extension().is_some_and(|e| e == "gz") {
        let mut gz = flate2::write::GzEncoder::new(file, flate2::Compression::best());
        write_lines(&mut gz, header, recordings)?;
        // Finish explicitly: an error writing the gzip trailer must not be
        // lost in a drop.
        gz.finish()?.sync_all()
    } else {
        let mut out = std::io::BufWriter::new(file);
        write_lines(&mut out, header, recordings)?;
        out.into_inner().map_err(|e| e.into_error())?.sync_all()
    }
}

fn write_lines(out: &mut dyn Write, header: &CorpusHeader, recordings: &[Recording]) -> std::io::Result<()> {
    writeln!(out, "{}", serde_json::to_string(header).expect("header serializes"))?;
    for r in recordings {
        writeln!(out, "{}", serde_json::to_string(r).expect("recording serializes"))?;
    }
    Ok(())
}

/// gzip's magic number: a compressed corpus is recognised by its content,
/// whatever its name.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Read a corpus; an error names the file's line.
pub fn read(path: &Path) -> Result<Corpus, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let reader: Box<dyn std::io::Read> = if bytes.starts_with(&GZIP_MAGIC) {
        Box::new(flate2::read::GzDecoder::new(&bytes[..]))
    } else {
        Box::new(&bytes[..])
    };
    let mut lines = std::io::BufReader::new(reader).lines().enumerate();
    let at = |n: usize, e: &dyn std::fmt::Display| format!("{}:{}: {e}", path.display(), n + 1);
    let (n, first) = lines.next().ok_or_else(|| format!("{}: empty, not a portcheck corpus", path.display()))?;
    let first = first.map_err(|e| at(n, &e))?;
    let header: CorpusHeader =
        serde_json::from_str(&first).map_err(|e| at(n, &format!("not a portcheck corpus header: {e}")))?;
    if header.format != FORMAT_VERSION {
        return Err(at(n, &format!("corpus format {} but this portcheck reads {FORMAT_VERSION}", header.format)));
    }
    let mut recordings = vec![];
    for (n, line) in lines {
        let line = line.map_err(|e| at(n, &e))?;
        if line.trim().is_empty() {
            continue;
        }
        recordings.push(serde_json::from_str(&line).map_err(|e| at(n, &format!("not a recorded case: {e}")))?);
    }
    Ok(Corpus { header, recordings })
}

/// The model against every recorded case.
pub struct CorpusCheck {
    pub cases: usize,
    pub passed: usize,
    pub tally: BTreeMap<RuleId, RuleTally>,
    /// (index of the recording, its outcome) of every case that failed.
    pub failures: Vec<(usize, CaseOutcome)>,
}

pub fn check(corpus: &Corpus) -> CorpusCheck {
    let mut c = CorpusCheck { cases: 0, passed: 0, tally: BTreeMap::new(), failures: vec![] };
    for (i, r) in corpus.recordings.iter().enumerate() {
        let out = r.check();
        c.cases += 1;
        tally(&mut c.tally, &out);
        if out.passed() {
            c.passed += 1;
        } else {
            c.failures.push((i, out));
        }
    }
    c
}

impl CorpusCheck {
    /// The first recorded case the model no longer predicts: where it is in
    /// the file, the rule it failed under, and its trace.
    pub fn first_failure(&self) -> Option<String> {
        let (i, out) = self.failures.first()?;
        let rule = out.failure.as_ref().and_then(|f| f.rule());
        Some(format!(
            "recorded case {i} (line {}), rule {}:\n{}",
            i + 2,
            rule.map_or("none (playback)", |r| r.0),
            crate::trace::lines(out)
        ))
    }
}
