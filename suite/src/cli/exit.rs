//! The exit statuses of `portcheck`, so a CI script can act on the kind of
//! failure (issue 13): a broken rule is the runtime's bug, a failing system
//! under test is a crash, hang or protocol violation, and a usage or
//! environment error is nobody's verdict.

use reference::rules::RuleId;
use std::process::ExitCode;

/// What a `portcheck` invocation came to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// 0: every case passed (or, for `replay`, the case passed).
    Passed = 0,
    /// 1: the system diverged from the model: a rule failed.
    Diverged = 1,
    /// 2: the system under test failed: it crashed, hung, or broke the
    /// protocol. No rule is blamed.
    SutFailed = 2,
    /// 3: a usage or environment error: bad arguments, an unreadable file,
    /// a missing tool.
    Usage = 3,
}

impl Exit {
    /// The status for a failed case: a divergence if a rule is blamed, a
    /// failure of the system under test otherwise.
    pub fn of_failure(rule: Option<RuleId>) -> Exit {
        match rule {
            Some(_) => Exit::Diverged,
            None => Exit::SutFailed,
        }
    }
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> ExitCode {
        ExitCode::from(e as u8)
    }
}

/// The `--help` text that documents the statuses.
pub const HELP: &str = "Exit status: 0 passed; 1 a divergence from the model (a rule failed); \
2 the system under test failed (crash, hang, protocol violation); 3 usage or environment error.";
