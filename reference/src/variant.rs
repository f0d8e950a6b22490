//! Declared differences: the implementations portcheck checks that differ
//! from the reference rules on purpose (or by their design), each named by
//! a rule ID of its own (`DIFF-*`, in the catalogue) so a report says which
//! difference it relied on. A system under test declares its variant; the
//! model then follows the variant's rule where it departs from the
//! reference, and every other rule as before. Nothing is silenced: the
//! variant rule predicts the other behaviour exactly.

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Variant {
    /// The rules as catalogued (the native runtime).
    #[default]
    Reference,
    /// OTP 25 `gen_tcp` on the inet driver, as seen from Erlang processes.
    OtpInet,
    /// OTP 25 `gen_tcp` with `{inet_backend, socket}`.
    OtpSocket,
}

impl Variant {
    /// Does rule `id` apply to a system of this variant? A DIFF rule applies
    /// only to the variant it declares (DIFF-INET-* to otp-inet, DIFF-SOCK-*
    /// to otp-socket); every other rule to all. Reports show the rest as
    /// n/a, not as rules never reached.
    /// On otp-socket the reference rules its DIFF rules replace whole do
    /// not apply either ([`SOCKET_REPLACES`]).
    pub fn applies(self, id: crate::rules::RuleId) -> bool {
        match self {
            Variant::OtpSocket if SOCKET_REPLACES.contains(&id.0) => false,
            _ if !id.0.starts_with("DIFF-") => true,
            Variant::OtpInet => id.0.starts_with("DIFF-INET-"),
            Variant::OtpSocket => id.0.starts_with("DIFF-SOCK-"),
            Variant::Reference => false,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Variant::Reference => "reference",
            Variant::OtpInet => "otp-inet",
            Variant::OtpSocket => "otp-socket",
        }
    }
}

/// The reference rules that never decide anything on the socket backend,
/// because a DIFF-SOCK rule says what happens there instead: no driver
/// queue, busy port or suspension (DIFF-SOCK-1: WM-2..4, WM-6, SND-1..5, SND-7,
/// MQ-1..6, ST-2; WM-5 and MQ-7 still decide), watermarks and delay_send
/// ignored (DIFF-SOCK-2: OPT-1..5, DS-1, DS-2), send timers per send
/// (DIFF-SOCK-3/4: TO-1..4), close at once (DIFF-SOCK-5: CL-1; CL-4's
/// linger not generated there), no port
/// (DIFF-SOCK-6: PT-1..4, CL-2), `recv` not generated (DIFF-SOCK-7: RX-6;
/// nor the reader's, RX-7..10: its recv was measured on the inet driver).
/// Reports show them as n/a, and coverage does not count them; checked
/// against every recorded socket case (`suite/tests/otp_corpus.rs`).
pub const SOCKET_REPLACES: &[&str] = &[
    "WM-2", "WM-3", "WM-4", "WM-6", "SND-1", "SND-2", "SND-3", "SND-4", "SND-5", "MQ-1", "MQ-2", "MQ-3", "MQ-4",
    "MQ-5", "MQ-6", "SND-7", "ST-2", "OPT-1", "OPT-2", "OPT-3", "OPT-4", "OPT-5", "DS-1", "DS-2", "TO-1", "TO-2",
    "TO-3", "TO-4", "CL-1", "CL-4", "PT-1", "PT-2", "PT-3", "PT-4", "CL-2", "RX-6", "RX-7", "RX-8", "RX-9", "RX-10",
];

/// An Erlang/OTP major release, as `erlang:system_info(otp_release)` names it.
/// The OTP variants' rules were measured release by release: where two
/// releases differ, each has a DIFF rule of its own that names the releases
/// it holds on ([`crate::rules::releases_of`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct OtpRelease(pub u16);

impl OtpRelease {
    /// The releases whose behaviour was measured and declared.
    pub const MEASURED: [OtpRelease; 3] = [OtpRelease(25), OtpRelease(27), OtpRelease(29)];
    /// The release a case is judged by when the system does not say.
    pub const DEFAULT: OtpRelease = OtpRelease(25);

    /// `"27"` (or `"27.3.4.1"`, the full version) to a release.
    pub fn parse(s: &str) -> Option<OtpRelease> {
        s.trim().split('.').next()?.parse().ok().map(OtpRelease)
    }

    /// Which measured release's rules a running release is judged by: the
    /// newest measured release not newer than it (the oldest for an older
    /// one), with a warning when it is not itself measured.
    pub fn rule_set(self) -> RuleSet {
        let measured = OtpRelease::MEASURED;
        let by = measured.iter().rev().find(|m| **m <= self).copied().unwrap_or(measured[0]);
        let warning = (by != self).then(|| {
            format!(
                "OTP {} was not measured: judged by the rules of OTP {} (measured: {})",
                self.0,
                by.0,
                measured.iter().map(|m| m.0.to_string()).collect::<Vec<_>>().join(", ")
            )
        });
        RuleSet { release: by, warning }
    }
}

impl std::fmt::Display for OtpRelease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The measured release whose rules apply, and why if it is not the one running.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleSet {
    pub release: OtpRelease,
    pub warning: Option<String>,
}
