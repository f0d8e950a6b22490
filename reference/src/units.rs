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
    (0..len.0).map(|i| payload_byte(tag, i)).collect()
}

/// Byte `i` of the payload of the send tagged `tag`.
pub fn payload_byte(tag: u16, i: usize) -> u8 {
    let t = tag as usize;
    (t.wrapping_mul(131) ^ i.wrapping_mul(7) ^ (i >> 8).wrapping_mul(29)) as u8
}
