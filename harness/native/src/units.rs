//! The runtime's quantities: byte counts, sender process ids and
//! milliseconds, kept apart by type.

use std::fmt;

/// A number of bytes (queue sizes, send sizes, watermarks).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Bytes(pub usize);

impl Bytes {
    pub const ZERO: Bytes = Bytes(0);
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

/// A sender process, by index (`S0`, `S1`, …).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SenderId(pub u8);

impl fmt::Display for SenderId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "S{}", self.0)
    }
}

/// Milliseconds on the runtime's clock.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Millis(pub u64);

impl fmt::Display for Millis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}ms", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Byte counts add as numbers (a queue's size is the sum of its sends).
    #[test]
    fn byte_counts_add_up() {
        assert_eq!(Bytes(3) + Bytes(4), Bytes(7));
        assert_eq!(Bytes(0) + Bytes(5), Bytes(5));
        assert_eq!(Bytes::ZERO + Bytes::ZERO, Bytes::ZERO);
    }

    /// Reports name senders `S0`, `S1`, … and show quantities with their unit.
    #[test]
    fn quantities_display_with_their_names_and_units() {
        assert_eq!(SenderId(0).to_string(), "S0");
        assert_eq!(SenderId(12).to_string(), "S12");
        assert_eq!(Bytes(1460).to_string(), "1460B");
        assert_eq!(Millis(5).to_string(), "5ms");
    }
}
