//! The driver's input buffer kept across a timed-out recv (RX-11): a
//! `gen_tcp:recv(S, Len, T)` whose timer fires returns `{error,timeout}`,
//! and the bytes it had gathered stay in the driver (`tcp_inet_timeout`
//! keeps `i_buf`). The next recv returns them first: the owner's
//! `recv(S, 0, 0)` and a reader's recv of Len 0 all of them, one of
//! Len <= held the first Len, without reading; a longer one starts from
//! them and reads only what they miss.
//!
//! The bytes left the kernel when the timed-out recv read them, so a close
//! with nothing else unread is a close without unread input (CL-3).

use crate::reader::Want;
use crate::units::Bytes;

/// Bytes a timed-out recv gathered, for the next recv (RX-11).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct HeldInput(Vec<u8>);

impl HeldInput {
    /// How many bytes are held.
    pub fn len(&self) -> Bytes {
        Bytes(self.0.len())
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// A timed-out recv leaves what it gathered, after whatever is held
    /// already (none: a recv starts from the held bytes, [`Self::take_all`]).
    pub fn keep(&mut self, gathered: Vec<u8>) {
        self.0.extend(gathered);
    }

    /// The bytes a recv that wants `want` returns without reading: every
    /// held byte for [`Want::Any`], the first `n` for [`Want::Exactly`]
    /// when that many are held (the rest stays). `None` when none are held
    /// or too few: the recv reads (from [`Self::take_all`]).
    pub fn take_for(&mut self, want: Want) -> Option<Vec<u8>> {
        if self.0.is_empty() {
            return None;
        }
        match want {
            Want::Any => Some(self.take_all()),
            Want::Exactly(n) if n <= self.0.len() => {
                let rest = self.0.split_off(n);
                Some(std::mem::replace(&mut self.0, rest))
            }
            Want::Exactly(_) => None,
        }
    }

    /// Every held byte: a recv that needs more starts from them.
    pub fn take_all(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn held(bytes: &[u8]) -> HeldInput {
        let mut h = HeldInput::default();
        h.keep(bytes.to_vec());
        h
    }

    /// RX-11: a recv of Len 0 (the owner's `recv(S, 0, 0)` too) takes all
    /// the held bytes; with none held it reads.
    #[test]
    fn any_takes_every_held_byte_and_nothing_held_means_read() {
        let mut h = held(b"abcd");
        assert_eq!(h.take_for(Want::Any), Some(b"abcd".to_vec()));
        assert!(h.is_empty());
        assert_eq!(h.take_for(Want::Any), None, "nothing held: the recv reads");
    }

    /// RX-11: a recv of Len <= held takes the first Len and leaves the
    /// rest; one of Len > held takes nothing here (it starts from them).
    #[test]
    fn exactly_takes_the_first_len_when_held_suffices() {
        let mut h = held(b"abcdefg");
        assert_eq!(h.take_for(Want::Exactly(5)), Some(b"abcde".to_vec()));
        assert_eq!(h.len(), Bytes(2));
        assert_eq!(h.take_for(Want::Exactly(3)), None, "too few: the recv reads what they miss");
        assert_eq!(h.take_all(), b"fg".to_vec());
        assert_eq!(h.len(), Bytes::ZERO);
    }
}
