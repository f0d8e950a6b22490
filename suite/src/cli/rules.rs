//! `portcheck rules`: the rule catalogue with citations.

use std::process::ExitCode;

pub fn run() -> ExitCode {
    for r in reference::rules::catalogue() {
        println!("{:<12} {:?}  {}\n             cite: {}", r.id, r.area, r.statement, r.citation);
    }
    ExitCode::SUCCESS
}
