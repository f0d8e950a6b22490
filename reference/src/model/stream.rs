//! A byte stream made of tagged sends (ST-1): the model knows, for every
//! offset, which send's payload byte belongs there.

use crate::units::{extend_payload, Bytes};

/// The port's output as the peer sees it (ST-1, CL-3).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(super) struct Peer {
    /// Everything the port's sends put in the stream.
    pub(super) out: Stream,
    /// How much of it the kernel accepted.
    pub(super) written: Bytes,
    /// How much of that the peer read.
    pub(super) read: Bytes,
    /// The socket closed with unread input: the peer was reset (CL-3).
    pub(super) reset: bool,
    /// The peer's ECONNRESET was already reported to one of its calls.
    pub(super) reset_reported: bool,
    /// TO-3 on a real clock: bytes of the discarded queue that a write just
    /// before the timer fired may have handed the kernel; only the peer's
    /// reads show how many (a system that does not report its writes).
    pub(super) cut_slack: Bytes,
    /// The peer, having seen FIN, wrote to the closed socket, whose kernel
    /// answered RST: the peer's socket is closed for writing, every later
    /// write fails with EPIPE (tcp_reset in CLOSE_WAIT), reads still see
    /// the data, then EOF (CL-1).
    pub(super) writes_refused: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Stream {
    /// (start offset, tag, len, payload offset) of every send or part of
    /// one, in stream order.
    segments: Vec<(usize, u16, usize, usize)>,
    total: usize,
}

impl Stream {
    pub fn len(&self) -> Bytes {
        Bytes(self.total)
    }

    pub fn push(&mut self, tag: u16, len: Bytes) {
        self.push_part(tag, Bytes::ZERO, len);
    }

    /// Append bytes `[from, from+len)` of send `tag`'s payload.
    pub fn push_part(&mut self, tag: u16, from: Bytes, len: Bytes) {
        if len.0 > 0 {
            self.segments.push((self.total, tag, len.0, from.0));
            self.total += len.0;
        }
    }

    /// Forget everything past `at` (TO-3 discards queued output).
    pub fn truncate(&mut self, at: Bytes) {
        self.segments.retain(|&(start, _, _, _)| start < at.0);
        if let Some(last) = self.segments.last_mut() {
            last.2 = last.2.min(at.0 - last.0);
        }
        self.total = self.total.min(at.0);
    }

    /// The bytes `[from, from+len)`.
    pub fn slice(&self, from: Bytes, len: Bytes) -> Vec<u8> {
        let end = from.0 + len.0;
        assert!(end <= self.total, "slice past the end of the stream");
        let mut out = Vec::with_capacity(len.0);
        let mut i = self.segments.partition_point(|&(s, _, l, _)| s + l <= from.0);
        let mut off = from.0;
        while off < end {
            let (start, tag, l, poff) = self.segments[i];
            let stop = end.min(start + l);
            extend_payload(&mut out, tag, poff + off - start, stop - off);
            off = stop;
            i += 1;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::Stream;
    use crate::units::{payload_byte, Bytes};

    fn sends(list: &[(u16, usize)]) -> Stream {
        let mut s = Stream::default();
        for &(tag, len) in list {
            s.push(tag, Bytes(len));
        }
        s
    }

    /// ST-1: a write that put no bytes in the stream leaves it equal to
    /// what it was, so the derivation merges the two as one future.
    #[test]
    fn an_empty_part_leaves_the_stream_as_it_was() {
        let mut s = sends(&[(1, 10)]);
        s.push_part(2, Bytes(0), Bytes(0));
        s.push(3, Bytes(0));
        assert_eq!(s, sends(&[(1, 10)]));
    }

    /// TO-3: discarding the queue at a send's first byte forgets that send
    /// whole: the stream equals one it never went into.
    #[test]
    fn a_cut_at_a_send_boundary_forgets_the_later_send() {
        let mut s = sends(&[(1, 10), (2, 10)]);
        s.truncate(Bytes(10));
        assert_eq!(s, sends(&[(1, 10)]));
        assert_eq!(s.len(), Bytes(10));
    }

    /// ST-1, TO-3: after a cut inside a send, the stream ends there and
    /// the bytes that follow are those of the next send.
    #[test]
    fn a_cut_inside_a_send_keeps_only_its_head() {
        let mut s = sends(&[(1, 10), (2, 10)]);
        s.truncate(Bytes(15));
        assert_eq!(s.len(), Bytes(15));
        s.push(3, Bytes(5));
        let want: Vec<u8> = (0..5).map(|i| payload_byte(2, i)).chain((0..5).map(|i| payload_byte(3, i))).collect();
        assert_eq!(s.slice(Bytes(10), Bytes(10)), want);
        let mut head = sends(&[(1, 10), (2, 5)]);
        head.push(3, Bytes(5));
        assert_eq!(s, head, "the same bytes, the same stream");
    }
}
