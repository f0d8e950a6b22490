//! A send's payload (ST-1) at memory speed.
//!
//! The bytes are those of `reference::units::payload`, which evaluates
//! `payload_byte(tag, i) = (tag*131 ^ i*7 ^ (i>>8)*29) as u8` once per byte.
//! Truncated to 8 bits, that formula depends on `i` only through
//! `i mod 256` and `(i >> 8) mod 256`, i.e. on `i mod 65536`, and on `tag`
//! only through an XOR with `payload_byte(tag, 0)` (XOR commutes with the
//! truncation). So:
//!
//! `payload_byte(tag, i) == payload_byte(0, i % PERIOD) ^ payload_byte(tag, 0)`
//!
//! and a payload is one precomputed period of the tag-0 bytes, repeated and
//! XORed with one byte: a copy the compiler vectorizes instead of a formula
//! per byte. `harness/tests/mutants/payload.rs` checks it against the
//! definition (several periods, every tag).

use reference::units::{payload_byte, Bytes};
use std::sync::OnceLock;

/// The period of `payload_byte` in `i`, for every tag.
pub const PERIOD: usize = 1 << 16;

/// `payload_byte(0, i)` for `i` in `0..PERIOD`, computed once.
fn period() -> &'static [u8] {
    static PERIOD_BYTES: OnceLock<Box<[u8]>> = OnceLock::new();
    PERIOD_BYTES.get_or_init(|| (0..PERIOD).map(|i| payload_byte(0, i)).collect())
}

/// The payload of the send tagged `tag`: equal to
/// `reference::units::payload(tag, len)`.
pub fn payload(tag: u16, len: Bytes) -> Vec<u8> {
    let key = payload_byte(tag, 0);
    let period = period();
    let mut out = Vec::with_capacity(len.0);
    for start in (0..len.0).step_by(PERIOD) {
        let take = (len.0 - start).min(PERIOD);
        out.extend(period[..take].iter().map(|b| b ^ key));
    }
    out
}
