//! The reader: `gen_tcp:recv(S, Len, infinity)` made by a process other
//! than the owner. On a passive port it waits until Len bytes have arrived
//! (any bytes, for Len 0) and returns exactly those (RX-7); meanwhile any
//! other recv is refused (RX-8); the peer's end before Len bytes ends it
//! with an error and what it had gathered is lost (RX-9); the owner's
//! close answers it {error,closed} (RX-10). With a timeout T it gives up
//! when T ms have passed, and what it gathered stays in the driver's
//! buffer for the next recv (RX-11).
//!
//! inet_drv keeps one async request (`enq_async`) and reads only what the
//! request still misses (`tcp_recv`, `i_remain`), so nothing beyond Len is
//! taken off the socket: the model counts the reader's bytes as received
//! (they left the kernel, CL-3) and keeps where they start in the stream.
//!
//! Generated only where the model follows it (`enabled_while_reading`):
//! what the port does with a waiting recv when it turns active, when a
//! send timer closes its socket or when a write fails was not measured.

use super::{Choices, Divergence, Life, Model};
use crate::observation::{Posix, Reader, Reply};
use crate::op::Op;
use crate::options::Opt;
use crate::rules::{ids, RuleId};
use crate::units::{Bytes, Millis};
use crate::variant::Variant;

/// One read of the driver's, when a recv of length 0 asks for "what came".
const DRIVER_BUFFER: Bytes = Bytes(1460);

/// The reader's recv while it waits (RX-7).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(super) struct WaitingRecv {
    /// The length asked for; 0: the first bytes that arrive.
    len: Bytes,
    /// Where its bytes start in the peer's stream.
    from: Bytes,
    /// What its reads took off the socket so far.
    gathered: Bytes,
    /// When its timer fires (RX-11); `None`: infinity.
    deadline: Option<Millis>,
}

impl WaitingRecv {
    /// The most the next read may take: what the request still misses
    /// (`i_remain`), or one buffer for Len 0.
    fn missing(&self) -> Bytes {
        if self.len == Bytes::ZERO {
            DRIVER_BUFFER
        } else {
            self.len - self.gathered
        }
    }

    fn complete(&self) -> bool {
        self.gathered > Bytes::ZERO && (self.len == Bytes::ZERO || self.gathered == self.len)
    }
}

impl Model {
    /// The reader as an observation shows it.
    pub(super) fn reader_status(&self) -> Reader {
        match (&self.step.reader_returned, &self.state.reader) {
            (Some(r), _) => Reader::Returned(r.clone()),
            (None, Some(_)) => Reader::Waiting,
            (None, None) => Reader::Idle,
        }
    }

    pub(super) fn reader_waits(&self) -> bool {
        self.state.reader.is_some()
    }

    /// The most a read of the reader's may take now, if one waits (a
    /// derivation tries it first).
    pub(super) fn reader_wants(&self) -> Option<Bytes> {
        self.state.reader.map(|w| w.missing().min(self.input_pending()))
    }

    /// RX-7: the reader calls `gen_tcp:recv(S, len, timeout)`. What the
    /// owner's recv would be refused with at once (the connection, the
    /// mode: RX-6's checks) returns at once; bytes a timed-out recv left
    /// buffered count first (RX-11); otherwise the driver reads what has
    /// come and the recv waits for the rest, until its timer fires (a
    /// timeout of 0 fires after the first reads).
    pub(super) fn recv_wait(
        &mut self,
        len: Bytes,
        timeout: Option<Millis>,
        c: &mut Choices,
    ) -> Result<(Reply, RuleId), Divergence> {
        if let Some((reply, rule)) = self.recv_refusal() {
            if let Reply::Recv(r) = reply {
                self.reader_returns(r, rule);
            }
            return Ok((Reply::None, rule));
        }
        if let Some(data) = self.take_held(Some(len)) {
            self.reader_returns(Ok(data), ids::RX_11);
            return Ok((Reply::None, ids::RX_11));
        }
        self.cross(ids::RX_7);
        self.decide(ids::RX_7);
        let held = std::mem::take(&mut self.state.input.held);
        let owed = std::mem::take(&mut self.state.input.owed);
        // DIFF-INET-12: a length of 0 goes on with the open request; a
        // length replaces it.
        let len = if len == Bytes::ZERO && owed > Bytes::ZERO {
            self.cross(ids::DIFF_INET_12);
            self.decide(ids::DIFF_INET_12);
            held + owed
        } else {
            len
        };
        self.state.reader = Some(WaitingRecv {
            len,
            from: self.state.input.received - held,
            gathered: held,
            deadline: timeout.map(|t| Millis(self.state.now.0 + t.0)),
        });
        self.why.reader = match (owed > Bytes::ZERO, held > Bytes::ZERO) {
            (true, _) => ids::DIFF_INET_12,
            (false, true) => ids::RX_11,
            (false, false) => ids::RX_7,
        };
        self.read_for_reader(c)?;
        if timeout == Some(Millis(0)) {
            self.recv_timeout_at_once();
        }
        Ok((Reply::None, ids::RX_7))
    }

    /// RX-11 with a timeout of 0: TCP_REQ_RECV answers timeout after its
    /// reads. On the inet driver the request stays open (DIFF-INET-12:
    /// `i_remain` is cleared only by the timer, `tcp_inet_timeout`).
    fn recv_timeout_at_once(&mut self) {
        let Some(w) = self.state.reader else { return };
        self.recv_timeout();
        if self.config.variant == Variant::OtpInet && w.len > w.gathered {
            self.cross(ids::DIFF_INET_12);
            self.decide(ids::DIFF_INET_12);
            self.state.input.owed = w.len - w.gathered;
            self.why.reader = ids::DIFF_INET_12;
        }
    }

    /// DIFF-INET-12: the owner's `recv(S, 0, 0)` while a request a recv
    /// with a timeout of 0 left open misses bytes: one read of no more
    /// than those; when they are all there, the recv returns the buffered
    /// bytes and them, else {error,timeout} with what it read buffered.
    /// The peer's end found ends it as any recv (PC-1), the bytes lost.
    pub(super) fn recv_owed(&mut self, c: &mut Choices) -> Result<(Reply, RuleId), Divergence> {
        self.cross(ids::DIFF_INET_12);
        self.decide(ids::DIFF_INET_12);
        let owed = self.state.input.owed;
        let got = c.read(ids::DIFF_INET_12)?;
        if got > owed {
            return Err(Divergence::new(
                ids::DIFF_INET_12,
                format!("a read took {got} where the open request missed only {owed}"),
            ));
        }
        if got > self.input_pending() {
            return Err(Divergence::new(
                ids::DIFF_INET_12,
                format!("read {got} but only {} were sent", self.input_pending()),
            ));
        }
        if got == Bytes::ZERO && self.at_end() {
            self.state.input.held = Bytes::ZERO;
            self.state.input.owed = Bytes::ZERO;
            return Ok(self.recv_end());
        }
        self.state.input.received += got;
        self.state.input.held += got;
        self.state.input.owed = owed - got;
        if self.state.input.owed > Bytes::ZERO {
            return Ok((Reply::Recv(Err(Posix::Timeout)), ids::DIFF_INET_12));
        }
        let held = std::mem::take(&mut self.state.input.held);
        Ok((Reply::Recv(Ok(self.state.input.stream.slice(self.state.input.received - held, held))), ids::DIFF_INET_12))
    }

    /// DIFF-INET-12: the read an open request's recv of length 0 may make.
    pub(super) fn owed_wants(&self) -> Option<Bytes> {
        (self.state.input.owed > Bytes::ZERO).then(|| self.state.input.owed.min(self.input_pending()))
    }

    /// RX-11: a recv that the bytes a timed-out recv left buffered
    /// complete: all of them for Len 0 (`None`: the owner's recv), the
    /// first Len otherwise; the rest stays. `None` when there are none or
    /// too few.
    pub(super) fn take_held(&mut self, len: Option<Bytes>) -> Option<Vec<u8>> {
        let held = self.state.input.held;
        let take = match len {
            // DIFF-INET-12: the open request waits for its missing bytes.
            None | Some(Bytes::ZERO) if self.state.input.owed > Bytes::ZERO => return None,
            None | Some(Bytes::ZERO) => held,
            Some(n) if n <= held => n,
            Some(_) => return None,
        };
        if take == Bytes::ZERO {
            return None;
        }
        self.cross(ids::RX_11);
        self.decide(ids::RX_11);
        self.state.input.held = held - take;
        self.state.input.owed = Bytes::ZERO;
        Some(self.state.input.stream.slice(self.state.input.received - held, take))
    }

    /// RX-11: the reader's timer fired: the recv returns {error,timeout}
    /// and what it gathered stays in the driver's buffer; its request
    /// ends (`tcp_inet_timeout`: `i_remain = 0`).
    pub(super) fn recv_timeout(&mut self) {
        if let Some(w) = self.state.reader.take() {
            self.cross(ids::RX_11);
            self.decide(ids::RX_11);
            self.state.input.held = w.gathered;
            self.state.input.owed = Bytes::ZERO;
            self.reader_returns(Err(Posix::Timeout), ids::RX_11);
        }
    }

    /// RX-11: the reader's timer is armed and due by the model's clock.
    pub(super) fn recv_timer_due(&self) -> bool {
        self.state.reader.and_then(|w| w.deadline).is_some_and(|d| d <= self.state.now)
    }

    /// The reader's timer may fire: when due, or at any time on a real
    /// clock, whose time the model's does not follow (as TO-1's).
    pub(super) fn recv_timer_may_fire(&self) -> bool {
        self.state.reader.and_then(|w| w.deadline).is_some_and(|d| self.config.real_clock || d <= self.state.now)
    }

    /// Bytes a timed-out recv left buffered go to the next recv: turning
    /// the port active would deliver them as a message (measured, not
    /// modelled), so no active mode is set while there are some.
    pub(super) fn enabled_while_held(&self, opts: &[Opt]) -> bool {
        (self.state.input.held == Bytes::ZERO && self.state.input.owed == Bytes::ZERO)
            || !opts.iter().any(|o| matches!(o, Opt::Active(_)))
    }

    /// The driver reads for the waiting recv: in the request itself, and
    /// each time the socket is readable after (the input activity). A read
    /// of nothing leaves it waiting, or, at the peer's end, ends it (RX-9).
    pub(super) fn read_for_reader(&mut self, c: &mut Choices) -> Result<(), Divergence> {
        while let Some(mut w) = self.state.reader {
            let got = c.read(ids::RX_7)?;
            if got == Bytes::ZERO {
                if self.at_end() {
                    self.reader_meets_end(w);
                }
                return Ok(());
            }
            if got > w.missing() {
                return Err(Divergence::new(
                    ids::RX_7,
                    format!("a read took {got} where the recv of {} missed only {}", w.len, w.missing()),
                ));
            }
            if got > self.input_pending() {
                return Err(Divergence::new(
                    ids::RX_7,
                    format!("read {got} but only {} were sent", self.input_pending()),
                ));
            }
            self.decide(ids::RX_7);
            self.state.input.received += got;
            w.gathered += got;
            if w.complete() {
                let data = self.state.input.stream.slice(w.from, w.gathered);
                self.state.reader = None;
                self.reader_returns(Ok(data), ids::RX_7);
                return Ok(());
            }
            self.state.reader = Some(w);
            if !c.more_reads() {
                return Ok(());
            }
        }
        Ok(())
    }

    /// RX-9: the end came before Len bytes: the recv reports it as any recv
    /// that reaches the end does (PC-1, RS-1), and the bytes it gathered
    /// are not returned.
    fn reader_meets_end(&mut self, w: WaitingRecv) {
        self.state.reader = None;
        let (reply, rule) = self.recv_end();
        let rule = if w.len > Bytes::ZERO {
            self.cross(ids::RX_9);
            self.decide(ids::RX_9)
        } else {
            rule
        };
        if let Reply::Recv(r) = reply {
            self.reader_returns(r, rule);
        }
    }

    /// RX-10: the owner closed the port, or a failed write closed its
    /// socket (PC-5): a waiting recv gets {error,closed}.
    pub(super) fn reader_socket_closed(&mut self) {
        self.reader_closed_by(ids::RX_10);
    }

    /// RX-10 at the port's end under `rule`, which says so itself (CL-5's
    /// kill, CL-6's owner death): the reader's `{error,closed}` is blamed
    /// on the rule that ended the port.
    pub(super) fn reader_closed_by(&mut self, rule: RuleId) {
        if self.state.reader.take().is_some() {
            self.cross(ids::RX_10);
            self.decide(rule);
            self.reader_returns(Err(Posix::Closed), rule);
        }
    }

    /// The reader's recv waits for good (DIFF-INET-14): its timer is gone.
    pub(super) fn strand_reader(&mut self) {
        if let Some(w) = self.state.reader.as_mut() {
            w.deadline = None;
        }
    }

    /// RX-8: any recv while the reader's waits is refused.
    pub(super) fn recv_while_reading(&mut self) -> Option<(Reply, RuleId)> {
        self.state.reader?;
        self.cross(ids::RX_8);
        Some((Reply::Recv(Err(Posix::Ealready)), self.decide(ids::RX_8)))
    }

    fn reader_returns(&mut self, r: Result<Vec<u8>, Posix>, rule: RuleId) {
        self.step.reader_returned = Some(r);
        self.why.reader = rule;
    }

    /// May the reader make its recv now? On the inet driver's open,
    /// passive port with read readiness (DIFF-INET-5), without a send
    /// timer that would close the socket under it (TO-3: not measured
    /// with a recv waiting), while no recv of the reader's waits.
    pub(super) fn recv_wait_enabled(&self) -> bool {
        self.state.life == Life::Open
            && !self.on_socket()
            && !self.state.opts.active.is_active()
            && !self.state.input.deaf
            && !self.state.opts.send_timeout_close
            && self.state.reader.is_none()
    }

    /// Ops the model does not follow while the reader's recv waits: an
    /// active mode or send_timeout_close set (the probe saw the recv wait
    /// on, forever, with the data cut at Len in the mailbox: not
    /// modelled); a send that could meet the peer's end or the port's own
    /// shutdown (a failed write closes the socket under the recv: not
    /// measured); a close that would wait for the queue (DIFF-INET-3).
    /// (The peer's RST may come as on a port without a reader: over
    /// output, the write that meets it answers the recv, RX-10.)
    pub(super) fn enabled_while_reading(&self, op: &Op) -> Option<bool> {
        self.state.reader?;
        match op {
            Op::RecvWait { .. } => Some(false),
            Op::SetOpts { opts } if opts.iter().any(|o| matches!(o, Opt::Active(_) | Opt::SendTimeoutClose(true))) => {
                Some(false)
            }
            Op::Send { .. } | Op::SendAt { .. } if self.peer_ended() || self.shut_asked() => Some(false),
            Op::Close if self.driver().queue > Bytes::ZERO => Some(false),
            _ => None,
        }
    }
}
