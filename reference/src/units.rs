//! Quantities with meaning. A bare `usize` could be bytes, a port number or a
//! sender index; these types keep them apart.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A number of bytes (queue sizes, send sizes, watermarks).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Bytes(pub usize);

impl Bytes {
    pub const ZERO: Bytes = Bytes(0);
    pub fn saturating_sub(self, other: Bytes) -> Bytes {
        Bytes(self.0.saturating_sub(other.0))
    }
}

impl std::ops::Add for Bytes {
    type Output = Bytes;
    fn add(self, o: Bytes) -> Bytes {
        Bytes(self.0 + o.0)
    }
}
impl std::ops::AddAssign for Bytes {
    fn add_assign(&mut self, o: Bytes) {
        self.0 += o.0;
    }
}
impl std::ops::Sub for Bytes {
    type Output = Bytes;
    fn sub(self, o: Bytes) -> Bytes {
        Bytes(self.0 - o.0)
    }
}
impl std::ops::SubAssign for Bytes {
    fn sub_assign(&mut self, o: Bytes) {
        self.0 -= o.0;
    }
}
impl fmt::Display for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}B", self.0)
    }
}

/// Index of a sender process in a case (0-based).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SenderId(pub u8);

impl fmt::Display for SenderId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "S{}", self.0)
    }
}

/// Milliseconds of (virtual) time.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Millis(pub u64);

impl fmt::Display for Millis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}ms", self.0)
    }
}

/// The payload of a send is derived from its tag, so the peer can tell whose
/// bytes it received and in which order (rule ST-1).
pub fn payload(tag: u16, len: Bytes) -> Vec<u8> {
    let mut out = Vec::with_capacity(len.0);
    extend_payload(&mut out, tag, 0, len.0);
    out
}

/// `(7 * j) as u8` for every low byte `j` of an offset: the part of
/// `payload_byte` that changes within a 256-byte block.
const BLOCK: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut j = 0;
    while j < 256 {
        t[j] = (j * 7) as u8;
        j += 1;
    }
    t
};

/// Append bytes `[from, from + len)` of the payload of send `tag`: equal to
/// `payload_byte` byte by byte (the low byte of `i * 7` depends on the low
/// byte of `i` only), but a 256-byte block at a time, one XOR with a
/// constant per byte, which the compiler vectorizes. The model builds every
/// byte the peer, `recv` or an active message shows this way (why: it was
/// most of the model's time per step, `make bench` model_replay).
pub fn extend_payload(out: &mut Vec<u8>, tag: u16, from: usize, len: usize) {
    let t = (tag as usize).wrapping_mul(131);
    let end = from + len;
    let mut i = from;
    while i < end {
        let block_end = end.min((i | 255) + 1);
        let c = (t ^ (i >> 8).wrapping_mul(29)) as u8;
        out.extend(BLOCK[i & 255..=(block_end - 1) & 255].iter().map(|&b| b ^ c));
        i = block_end;
    }
}

/// Byte `i` of the payload of the send tagged `tag`.
pub fn payload_byte(tag: u16, i: usize) -> u8 {
    let t = tag as usize;
    (t.wrapping_mul(131) ^ i.wrapping_mul(7) ^ (i >> 8).wrapping_mul(29)) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    /// ST-1 depends on every producer of payload bytes agreeing: the
    /// block-wise `extend_payload` is `payload_byte` at every offset, across
    /// block boundaries and for every tag class.
    #[test]
    fn extend_payload_is_payload_byte_everywhere() {
        for tag in [0u16, 1, 2, 255, 256, 4097, 40587, u16::MAX] {
            for from in [0usize, 1, 200, 255, 256, 257, 511, 65_535, 70_001] {
                for len in [0usize, 1, 55, 256, 257, 1000] {
                    let mut out = vec![9u8];
                    extend_payload(&mut out, tag, from, len);
                    let want: Vec<u8> =
                        std::iter::once(9u8).chain((from..from + len).map(|i| payload_byte(tag, i))).collect();
                    assert_eq!(out, want, "tag {tag} from {from} len {len}");
                }
            }
        }
        assert_eq!(payload(7, Bytes(600)), (0..600).map(|i| payload_byte(7, i)).collect::<Vec<_>>());
    }
}
