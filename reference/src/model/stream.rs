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
