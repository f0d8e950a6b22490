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
    pub fn name(self) -> &'static str {
        match self {
            Variant::Reference => "reference",
            Variant::OtpInet => "otp-inet",
            Variant::OtpSocket => "otp-socket",
        }
    }
}
