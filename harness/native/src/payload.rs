//! A send's payload (ST-1) at memory speed.
//!
//! The bytes are defined by
//! `payload_byte(tag, i) = (tag*131 ^ i*7 ^ (i>>8)*29) as u8`, the
//! formula the suite's reference model uses too (the harness checks the two
//! agree: `harness/tests/native/payload.rs`).
//! Truncated to 8 bits, that formula depends on `i` only through
//! `i mod 256` and `(i >> 8) mod 256`, i.e. on `i mod 65536`, and on `tag`
//! only through an XOR with `payload_byte(tag, 0)` (XOR commutes with the
//! truncation). So:
//!
//! `payload_byte(tag, i) == payload_byte(0, i % PERIOD) ^ payload_byte(tag, 0)`
//!
//! and a payload is one precomputed period of the tag-0 bytes, repeated and
//! XORed with one byte: a copy the compiler vectorizes instead of a formula
//! per byte. `harness/tests/native/payload.rs` checks it against the
//! definition (several periods, every tag).

use crate::units::Bytes;
use std::sync::OnceLock;

/// The period of `payload_byte` in `i`, for every tag.
pub const PERIOD: usize = 1 << 16;

/// `payload_byte(0, i)` for `i` in `0..PERIOD`, computed once.
fn period() -> &'static [u8] {
    static PERIOD_BYTES: OnceLock<Box<[u8]>> = OnceLock::new();
    PERIOD_BYTES.get_or_init(|| (0..PERIOD).map(|i| payload_byte(0, i)).collect())
}

/// Byte `i` of the payload of the send tagged `tag` (the definition).
pub fn payload_byte(tag: u16, i: usize) -> u8 {
    let t = tag as usize;
    (t.wrapping_mul(131) ^ i.wrapping_mul(7) ^ (i >> 8).wrapping_mul(29)) as u8
}

/// The payload of the send tagged `tag`: `payload_byte(tag, i)` for every
/// `i` in `0..len`.
pub fn payload(tag: u16, len: Bytes) -> Vec<u8> {
    let mut out = Vec::new();
    payload_into(tag, len, &mut out);
    out
}

/// [`payload`] written into `buf`, reusing its allocation: the runtime
/// keeps one such buffer, so a send allocates nothing. Returns the payload,
/// `buf[..len]`; `buf` only grows (zero-filled once, when a send is longer
/// than any before), and the bytes are written by a plain zip of the period
/// and the buffer, which the compiler vectorizes (an `extend` from a mapped
/// iterator was not: ~1.7 instructions a byte).
pub fn payload_into(tag: u16, len: Bytes, buf: &mut Vec<u8>) -> &[u8] {
    let key = payload_byte(tag, 0);
    let period = period();
    if buf.len() < len.0 {
        buf.resize(len.0, 0);
    }
    let out = &mut buf[..len.0];
    for chunk in out.chunks_mut(PERIOD) {
        for (o, p) in chunk.iter_mut().zip(period) {
            *o = p ^ key;
        }
    }
    out
}
