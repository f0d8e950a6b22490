//! The port's driver send queue: what the kernel did not take yet, in the
//! order it was sent (ST-1), written as one coalesced request (ST-2).

use crate::units::Bytes;
use std::collections::VecDeque;
use std::io::IoSlice;

/// Linux refuses a writev with more than IOV_MAX (1024) buffers.
const MAX_SLICES: usize = 1024;

/// A FIFO of the unsent bytes of whole sends (WM-2's remainder, WM-3's
/// enqueued messages, DS-1's delayed sends).
#[derive(Debug, Default)]
pub struct DriverQueue {
    chunks: VecDeque<Vec<u8>>,
    /// Bytes of the front chunk already written.
    head: usize,
    len: Bytes,
}

impl DriverQueue {
    pub fn len(&self) -> Bytes {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == Bytes::ZERO
    }

    /// Append a send (or what the kernel left of it) at the back.
    pub fn enqueue(&mut self, data: Vec<u8>) {
        if data.is_empty() {
            return;
        }
        self.len += Bytes(data.len());
        self.chunks.push_back(data);
    }

    /// ST-2: the whole queue, as one vectored write asks for it.
    pub fn slices(&self) -> Vec<IoSlice<'_>> {
        let mut out = Vec::with_capacity(self.chunks.len().min(MAX_SLICES));
        for (i, c) in self.chunks.iter().enumerate().take(MAX_SLICES) {
            out.push(IoSlice::new(if i == 0 { &c[self.head..] } else { c }));
        }
        out
    }

    /// The kernel took `n` bytes from the front; returns what remains.
    pub fn dequeue(&mut self, mut n: usize) -> Bytes {
        self.len = self.len.saturating_sub(Bytes(n));
        while n > 0 {
            let front = self.chunks.front().expect("dequeue within the queue's length");
            let left = front.len() - self.head;
            if n >= left {
                n -= left;
                self.chunks.pop_front();
                self.head = 0;
            } else {
                self.head += n;
                n = 0;
            }
        }
        self.len
    }

    /// TO-3: send_timeout_close discards the queued output.
    pub fn clear(&mut self) {
        self.chunks.clear();
        self.head = 0;
        self.len = Bytes::ZERO;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dequeue_keeps_order_across_chunks() {
        let mut q = DriverQueue::default();
        q.enqueue(vec![1, 2, 3]);
        q.enqueue(vec![]);
        q.enqueue(vec![4, 5]);
        assert_eq!(q.len(), Bytes(5));
        assert_eq!(q.dequeue(2), Bytes(3));
        let rest: Vec<u8> = q.slices().iter().flat_map(|s| s.iter().copied()).collect();
        assert_eq!(rest, vec![3, 4, 5]);
        assert_eq!(q.dequeue(3), Bytes::ZERO);
        assert!(q.is_empty() && q.slices().is_empty());
    }
}
