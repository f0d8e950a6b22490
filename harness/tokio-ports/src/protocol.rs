//! The envelope of `harness/PROTOCOL.md` (version 2) as this adapter
//! reads and writes it: one JSON object a line. The payloads (`Setup`,
//! `Op`, `Observation`, `Choice`) are the protocol's own types from the
//! `portcheck-reference` crate; the envelope is written here, as a third
//! party would.

use reference::choice::Choice;
use reference::observation::Observation;
use reference::op::{Op, Setup};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::{self, BufRead, Write};

/// What the harness writes. Unknown fields are ignored (§1).
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FromHarness {
    Hello { version: u32, setup: Setup },
    Op { step: u64, op: Op },
    Bye,
    Reset,
}

/// §2.2 `ready.abilities`: what may be generated for this runtime.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Abilities {
    pub lock_contention: bool,
    pub send_flags: bool,
    pub recv: bool,
    pub get_opts: bool,
    pub parallelism: bool,
}

/// What the adapter answers.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ToHarness {
    Ready {
        version: u32,
        sut: String,
        reports: Vec<&'static str>,
        info: BTreeMap<String, String>,
        settles: bool,
        real_clock: bool,
        variant: &'static str,
        #[serde(skip_serializing_if = "Option::is_none")]
        abilities: Option<Abilities>,
    },
    Step {
        step: u64,
        observation: Observation,
        choices: Vec<Choice>,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        notes: Vec<String>,
    },
    Unsupported {
        #[serde(skip_serializing_if = "Option::is_none")]
        step: Option<u64>,
        reason: String,
    },
    Error {
        #[serde(skip_serializing_if = "Option::is_none")]
        step: Option<u64>,
        message: String,
    },
    Reset {
        clean: bool,
        #[serde(skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
}

/// The next message, `None` at EOF.
pub fn read(input: &mut impl BufRead) -> io::Result<Option<Result<FromHarness, String>>> {
    let mut line = String::new();
    if input.read_line(&mut line)? == 0 {
        return Ok(None);
    }
    Ok(Some(serde_json::from_str(line.trim_end()).map_err(|e| format!("bad line: {e}"))))
}

/// One answer, one line, flushed.
pub fn write(out: &mut impl Write, msg: &ToHarness) -> io::Result<()> {
    let line = serde_json::to_string(msg).map_err(io::Error::other)?;
    out.write_all(line.as_bytes())?;
    out.write_all(b"\n")?;
    out.flush()
}
