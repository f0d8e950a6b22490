//! Variant otp-socket: OTP 25 `gen_tcp` with `{inet_backend, socket}`
//! (`gen_tcp_socket.erl` over the socket NIF). There is no driver queue and
//! no busy port (DIFF-SOCK-1): each `gen_tcp:send` writes from its caller,
//! which waits until the kernel took every byte; a send made while another
//! is pending waits behind it, in call order. Each send has its own
//! send_timeout (DIFF-SOCK-3, DIFF-SOCK-4); close aborts pending sends
//! (DIFF-SOCK-5); the socket is not a port (DIFF-SOCK-6).
//!
//! How much the kernel took of a pending send is not observable when it
//! happens: only the send's completion (all of it taken) and the peer's
//! data show it. So the model takes a pending send's share lazily: a write
//! that takes everything is placed where the send completes, and a partial
//! share is taken right before the peer's read that reveals it, as much as
//! the peer's data shows (observationally the same: nothing between the
//! kernel taking the bytes and the peer reading them depends on the count).
//! A send that ended with its rest dropped (timeout, close) keeps an open
//! share until the peer's data shows where the next send's bytes begin, or
//! the peer sees EOF.

mod options;

pub(super) use options::setup_rcvlowat;

use super::senders::Sender;
use super::{Choices, Divergence, Life, Model, PendingSend};
use crate::observation::{PeerRead, Posix, Reply, SendResult};
use crate::options::Timeout;
use crate::rules::{ids, RuleId};
use crate::units::{payload_byte, Bytes, Millis, SenderId};
use std::collections::VecDeque;

/// A pending `gen_tcp:send`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(super) struct Writer {
    sender: SenderId,
    tag: u16,
    len: Bytes,
    /// When its send_timeout expires (virtual time), if it has one.
    deadline: Option<Millis>,
    /// send_timeout_close as it was at the call: gen_tcp_socket's send/2
    /// reads the socket's options (`{otp,meta}`) once, in the caller, and
    /// acts on them when its send times out (DIFF-SOCK-4).
    close_on_timeout: bool,
}

/// How much of a send the kernel took, as far as the model knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Share {
    /// The head send, still writing: less than all of it so far.
    Writing,
    /// Ended with its rest dropped (timeout, close): less than all of it.
    Dropped,
    /// Exactly this many bytes.
    Exact(Bytes),
}

/// A send whose bytes are not all in the model's stream yet: `pushed` of
/// them are, the kernel's share is `share`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct Piece {
    tag: u16,
    len: Bytes,
    pushed: Bytes,
    share: Share,
}

impl Piece {
    /// The most bytes of it the kernel can have taken.
    fn max_share(&self) -> Bytes {
        match self.share {
            Share::Writing | Share::Dropped => Bytes(self.len.0 - 1),
            Share::Exact(n) => n,
        }
    }
}

/// What a write the model asks the kernel about stands for (the derivation's
/// candidates differ).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum WriteCtx {
    /// A send onto an idle socket: all of it, or a share left to the peer's data.
    #[default]
    Direct,
    /// The head send's process ran when the socket was writable: the rest
    /// (its completion).
    Rest,
    /// A share revealed by the peer's read.
    Share,
    /// After close, a peer read that found nothing: the dropped send's
    /// share ends here (0), or more of it is still on its way (1).
    Tail,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(super) struct SocketSide {
    /// Pending sends in call order; the first is the one writing.
    writers: VecDeque<Writer>,
    /// Sends in stream order after the peer's stream (`Peer::out`) whose
    /// bytes are not all in it; the writing head's, if any, is last.
    pieces: VecDeque<Piece>,
    /// Closed by send_timeout_close (DIFF-SOCK-4).
    closed: bool,
    /// OTP 27+: the server that closed the socket is stopping (its exit
    /// reason `{shutdown,_}`): a call that meets it gets {error,closed}
    /// (DIFF-SOCK-10).
    server_exiting: bool,
    /// OTP 27+: the server that closed the socket has exited (DIFF-SOCK-10).
    server_exited: bool,
    /// Sends finished at the socket whose callers have not returned yet:
    /// (sender, result, rule, must return before quiescence).
    returning: Vec<(SenderId, SendResult, RuleId, bool)>,
    ctx: WriteCtx,
    /// SO_RCVLOWAT as set through `low_watermark` (DIFF-SOCK-8); `None`:
    /// the kernel's default of 1.
    rcvlowat: Option<Bytes>,
    /// A send timed out with send_timeout_close; the server has yet to
    /// close the socket (DIFF-SOCK-4).
    close_requested: bool,
    /// The socket just turned active with input waiting: gen_tcp_socket's
    /// first recv is a nonblocking read, which takes whatever is there,
    /// below SO_RCVLOWAT too (DIFF-SOCK-8; only readiness waits for it).
    fresh_recv: bool,
}

impl SocketSide {
    pub(super) const IDLE: SocketSide = SocketSide {
        writers: VecDeque::new(),
        pieces: VecDeque::new(),
        closed: false,
        server_exiting: false,
        server_exited: false,
        returning: Vec::new(),
        ctx: WriteCtx::Direct,
        rcvlowat: None,
        close_requested: false,
        fresh_recv: false,
    };

    pub(super) fn with_rcvlowat(rcvlowat: Option<Bytes>) -> SocketSide {
        SocketSide { rcvlowat, ..SocketSide::IDLE }
    }
}

impl Model {
    /// Bytes pending sends still have to write (the executor drains them).
    pub(super) fn sock_pending(&self) -> Bytes {
        let head_pushed = match self.sock().pieces.back() {
            Some(p) if p.share == Share::Writing => p.pushed,
            _ => Bytes::ZERO,
        };
        Bytes(self.sock().writers.iter().map(|w| w.len.0).sum::<usize>() - head_pushed.0)
    }

    /// DIFF-SOCK-1: `gen_tcp:send` from the calling process.
    pub(super) fn sock_send(&mut self, p: PendingSend, c: &mut Choices) -> Result<Option<SendResult>, Divergence> {
        if self.state.life == Life::Closed {
            self.decide(ids::DIFF_SOCK_5);
            return Ok(Some(SendResult::Error(Posix::Closed)));
        }
        if self.sock().closed {
            self.decide(ids::DIFF_SOCK_4);
            return Ok(Some(SendResult::Error(Posix::Closed)));
        }
        let deadline = match self.state.opts.send_timeout {
            Timeout::After(t) => Some(Millis(self.state.now.0 + t.0)),
            Timeout::Infinity => None,
        };
        let w = Writer {
            sender: p.sender,
            tag: p.tag,
            len: p.len,
            deadline,
            close_on_timeout: self.state.opts.send_timeout_close,
        };
        let zero_timeout = self.state.opts.send_timeout == Timeout::After(Millis(0));
        if !self.sock().writers.is_empty() {
            // Waits behind the pending send (a zero-byte one too).
            self.cross(ids::DIFF_SOCK_1);
            if zero_timeout {
                self.decide(ids::DIFF_SOCK_3);
                return Ok(self.sock_zero_timeout(w));
            }
            self.sock_mut().writers.push_back(w);
            self.set_sender(p.sender, Sender::Waiting, ids::DIFF_SOCK_1);
            self.decide(ids::DIFF_SOCK_1);
            return Ok(None);
        }
        if p.len == Bytes::ZERO {
            self.decide(ids::WM_5);
            return Ok(Some(SendResult::Ok));
        }
        self.sock_mut().ctx = WriteCtx::Direct;
        let took = c.write(ids::DIFF_SOCK_1, p.len, true)?;
        self.decide(ids::DIFF_SOCK_1);
        if took == p.len {
            self.sock_took_all(p.tag, p.len);
            return Ok(Some(SendResult::Ok));
        }
        self.sock_mut().pieces.push_back(Piece { tag: p.tag, len: p.len, pushed: Bytes::ZERO, share: Share::Writing });
        self.sock_push_share(took)?;
        if zero_timeout {
            self.decide(ids::DIFF_SOCK_3);
            self.sock_drop_head();
            return Ok(self.sock_zero_timeout(w));
        }
        self.sock_mut().writers.push_back(w);
        self.set_sender(p.sender, Sender::Waiting, ids::DIFF_SOCK_1);
        self.cross(ids::DIFF_SOCK_1);
        Ok(None)
    }

    /// A whole send is in the kernel: it follows every piece before it.
    fn sock_took_all(&mut self, tag: u16, len: Bytes) {
        if self.sock().pieces.is_empty() {
            self.state.peer.out.push(tag, len);
            self.state.peer.written += len;
        } else {
            self.sock_mut().pieces.push_back(Piece { tag, len, pushed: Bytes::ZERO, share: Share::Exact(len) });
        }
    }

    /// `took` more bytes of the front piece are in the kernel.
    fn sock_push_share(&mut self, took: Bytes) -> Result<(), Divergence> {
        if took == Bytes::ZERO {
            return Ok(());
        }
        let Some(p) = self.sock_mut().pieces.front_mut() else {
            return Err(Divergence::new(ids::ST_1, "the kernel took bytes of no pending send"));
        };
        if p.pushed + took > p.max_share() {
            return Err(Divergence::new(
                ids::DIFF_SOCK_1,
                format!("the kernel took {} of a {}-byte send that has not completed", p.pushed + took, p.len),
            ));
        }
        let (tag, pushed) = (p.tag, p.pushed);
        p.pushed += took;
        self.state.peer.out.push_part(tag, pushed, took);
        self.state.peer.written += took;
        Ok(())
    }

    /// Exact pieces at the front go into the stream.
    fn sock_flush(&mut self) {
        while let Some(&p) = self.sock().pieces.front() {
            let Share::Exact(n) = p.share else { return };
            self.state.peer.out.push_part(p.tag, p.pushed, n - p.pushed);
            self.state.peer.written += n - p.pushed;
            self.sock_mut().pieces.pop_front();
        }
    }

    /// The head send ended without all its bytes taken: its rest is dropped.
    fn sock_drop_head(&mut self) {
        if let Some(p) = self.sock_mut().pieces.back_mut() {
            if p.share == Share::Writing {
                p.share = Share::Dropped;
            }
        }
    }

    /// The head send's bytes are all in the kernel: it returns ok and the
    /// next pending send starts.
    fn sock_head_done(&mut self) {
        let w = self.sock_mut().writers.pop_front().expect("a head send");
        if w.len > Bytes::ZERO {
            let p = self.sock_mut().pieces.back_mut().expect("the head's piece");
            p.share = Share::Exact(w.len);
            self.sock_flush();
        }
        self.sock_mut().returning.push((w.sender, SendResult::Ok, ids::DIFF_SOCK_1, true));
        self.sock_start_next();
    }

    fn sock_start_next(&mut self) {
        if let Some(&w) = self.sock().writers.front() {
            if w.len > Bytes::ZERO {
                self.sock_mut().pieces.push_back(Piece {
                    tag: w.tag,
                    len: w.len,
                    pushed: Bytes::ZERO,
                    share: Share::Writing,
                });
            }
            self.why_sender(w.sender.0 as usize, ids::DIFF_SOCK_1);
        }
    }

    /// Output activity: the head's process ran on a writable socket and the
    /// kernel took the rest of its send.
    pub(super) fn sock_output(&mut self, c: &mut Choices) -> Result<(), Divergence> {
        let w = *self.sock().writers.front().expect("checked by activity_enabled");
        let pushed =
            if w.len > Bytes::ZERO { self.sock().pieces.back().map_or(Bytes::ZERO, |p| p.pushed) } else { Bytes::ZERO };
        let rest = w.len - pushed;
        if rest > Bytes::ZERO {
            self.sock_mut().ctx = WriteCtx::Rest;
            let took = c.write(ids::DIFF_SOCK_1, rest, false)?;
            if took < rest {
                if self.sock().pieces.len() != 1 {
                    return Err(Divergence::new(
                        ids::DIFF_SOCK_1,
                        "a partial write behind a send whose share is not known",
                    ));
                }
                return self.sock_push_share(took);
            }
        }
        self.decide(ids::DIFF_SOCK_1);
        self.cross(ids::DIFF_SOCK_1);
        self.sock_head_done();
        Ok(())
    }

    pub(super) fn sock_output_enabled(&self) -> bool {
        self.state.socket_open && !self.sock().writers.is_empty()
    }

    /// What must run before quiescence: due send timers, returns of
    /// finished sends.
    pub(super) fn sock_mandatory(&self) -> Option<crate::choice::Activity> {
        use crate::choice::Activity;
        if let Some(w) = self.sock().writers.iter().find(|w| w.deadline.is_some_and(|d| d <= self.state.now)) {
            return Some(Activity::Expire(w.sender));
        }
        if self.sock_close_requested() {
            return Some(Activity::PendingClose);
        }
        if let Some(r) = self.sock().returning.iter().find(|r| r.3) {
            return Some(Activity::Returned(r.0));
        }
        // A send that becomes the head (a zero-byte one too) starts when
        // the socket is writable again: the kernel decides (measured: a
        // zero-byte send stays waiting after the send before it returned).
        None
    }

    /// Whose send timer may fire now (DIFF-SOCK-3): on the real clock any
    /// armed one, otherwise those due.
    pub(super) fn sock_may_expire(&self, s: SenderId) -> bool {
        self.sock()
            .writers
            .iter()
            .any(|w| w.sender == s && w.deadline.is_some_and(|d| self.config.real_clock || d <= self.state.now))
    }

    pub(super) fn sock_expirable(&self) -> Vec<SenderId> {
        self.sock().writers.iter().filter(|w| self.sock_may_expire(w.sender)).map(|w| w.sender).collect()
    }

    /// A send with `{send_timeout,0}` that cannot finish at once times out
    /// in its own call (DIFF-SOCK-3). With send_timeout_close its caller
    /// first asks the socket's server to close, and returns only once the
    /// server has: possibly steps later, as for a timer that fired
    /// (DIFF-SOCK-4; measured on OTP 25: the caller of an 8191-byte send
    /// stays waiting, regression beam-socket-9657213360833449307).
    fn sock_zero_timeout(&mut self, w: Writer) -> Option<SendResult> {
        if w.close_on_timeout {
            self.set_sender(w.sender, Sender::Waiting, ids::DIFF_SOCK_4);
            self.sock_expired(w, true);
            None
        } else {
            Some(self.sock_expired(w, false))
        }
    }

    /// The send timer of `s` fired.
    pub(super) fn sock_expire(&mut self, s: SenderId) {
        let i = self.sock().writers.iter().position(|w| w.sender == s).expect("checked by activity_enabled");
        let w = self.sock_mut().writers.remove(i).expect("index");
        if i == 0 {
            self.sock_drop_head();
        }
        self.cross(ids::DIFF_SOCK_3);
        self.sock_expired(w, true);
        // The socket is handed to the next pending send even when this one
        // asked the server to close it: until the server has
        // (`Activity::PendingClose`) that send may write, and its piece
        // must be the writing one (`sock_output` reads it).
        if i == 0 && !self.sock().closed {
            self.sock_start_next();
        }
    }

    /// A send's timer expired: {error,timeout}; with send_timeout_close the
    /// socket closes and every other pending send returns {error,closed}
    /// (DIFF-SOCK-4). `complete`: the result is reported as a completion
    /// (else it is the op's reply, returned).
    fn sock_expired(&mut self, w: Writer, complete: bool) -> SendResult {
        let r = SendResult::Error(Posix::Timeout);
        if w.close_on_timeout {
            // The caller asks the socket's server to close; until the
            // server has (`Activity::PendingClose`), the other pending
            // sends' own timers may still fire: they return timeout too.
            self.cross(ids::DIFF_SOCK_4);
            self.sock_mut().close_requested = true;
            self.why_sender(w.sender.0 as usize, ids::DIFF_SOCK_4);
        }
        let rule = if w.close_on_timeout { ids::DIFF_SOCK_4 } else { ids::DIFF_SOCK_3 };
        if complete && w.close_on_timeout {
            // It returns once the socket's server has stopped: after the
            // aborted sends, possibly steps later (measured).
            self.sock_mut().returning.push((w.sender, r, rule, false));
        } else if complete {
            self.complete(w.sender, r, rule);
        } else {
            self.set_sender(w.sender, Sender::Idle, rule);
            self.decide(rule);
        }
        r
    }

    /// DIFF-SOCK-4: the server closes the socket a timed-out send asked it
    /// to close; the sends still pending return {error,closed}.
    pub(super) fn sock_close_requested(&self) -> bool {
        self.on_socket() && self.sock().close_requested && !self.sock().closed
    }

    /// DIFF-SOCK-4/10: the server that closed the socket exits on its own
    /// schedule, any time after (not before quiescence: nothing waits for
    /// it); until then it answers calls from its state `closed`.
    pub(super) fn sock_server_may_exit(&self) -> bool {
        self.on_socket() && self.sock().closed && !self.sock().server_exited
    }

    /// The server stops in two moves on OTP 27 and newer: while it is
    /// stopping a call that meets it ends with its exit, `{shutdown,_}`
    /// (gen_tcp_socket:call/2: {error,closed}); once it is gone the call
    /// finds no process (noproc: {error,einval}).
    pub(super) fn sock_server_exits(&mut self) {
        self.cross(ids::DIFF_SOCK_10);
        if self.otp_27_on() && !self.sock().server_exiting {
            self.sock_mut().server_exiting = true;
        } else {
            self.sock_mut().server_exited = true;
        }
    }

    /// DIFF-SOCK-10: the server is stopping (a call meets its exit).
    pub(super) fn sock_server_stopping(&self) -> bool {
        self.sock().server_exiting && !self.sock().server_exited
    }

    pub(super) fn sock_server_closes(&mut self) {
        self.sock_mut().closed = true;
        self.sock_abort_all(ids::DIFF_SOCK_4);
        if self.state.socket_open {
            self.close_socket();
        }
    }

    /// Every pending send returns {error,closed}, in call order.
    fn sock_abort_all(&mut self, rule: RuleId) {
        self.sock_drop_head();
        for w in std::mem::take(&mut self.sock_mut().writers) {
            self.sock_mut().returning.push((w.sender, SendResult::Error(Posix::Closed), rule, true));
        }
    }

    /// The caller of a finished send returns.
    pub(super) fn sock_returned(&mut self, s: SenderId) {
        let i = self.sock().returning.iter().position(|r| r.0 == s).expect("checked by activity_enabled");
        let (s, r, rule, _) = self.sock_mut().returning.remove(i);
        self.decide(rule);
        self.complete(s, r, rule);
    }

    pub(super) fn sock_may_return(&self, s: SenderId) -> bool {
        self.sock().returning.iter().any(|r| r.0 == s)
    }

    pub(super) fn sock_returnable(&self) -> Vec<SenderId> {
        self.sock().returning.iter().map(|r| r.0).collect()
    }

    /// DIFF-SOCK-5: close at once, aborting pending sends.
    pub(super) fn sock_close(&mut self) -> (Reply, RuleId) {
        self.state.life = Life::Closed;
        self.cross(ids::DIFF_SOCK_5);
        self.sock_abort_all(ids::DIFF_SOCK_5);
        if self.state.socket_open {
            self.close_socket();
        }
        self.why.ports = ids::DIFF_SOCK_6;
        self.decide(ids::DIFF_SOCK_6);
        (Reply::Closed(Ok(())), ids::DIFF_SOCK_5)
    }

    /// DIFF-SOCK-6: connecting another socket takes no table slot.
    pub(super) fn sock_open_extra(&mut self) -> (Reply, RuleId) {
        self.why.ports = ids::DIFF_SOCK_6;
        self.cross(ids::DIFF_SOCK_6);
        (Reply::Opened(Ok(())), ids::DIFF_SOCK_6)
    }

    /// Before the peer's read of `got` bytes: the kernel took at least as
    /// many as it read. Shares of pending (or dropped) sends are taken here,
    /// as much as the peer's data shows.
    pub(super) fn sock_peer_share(&mut self, got: Bytes, c: &mut Choices) -> Result<(), Divergence> {
        while got > self.peer_unread() {
            let need = got - self.peer_unread();
            let Some(&p) = self.sock().pieces.front() else { return Ok(()) };
            self.sock_mut().ctx = WriteCtx::Share;
            let took = c.write(ids::ST_1, p.len - p.pushed, true)?;
            self.sock_push_share(took)?;
            if took < need {
                // Bytes of a later send follow: this one's share ends here.
                let p = self.sock_mut().pieces.front_mut().expect("front");
                if p.share == Share::Writing {
                    return Err(Divergence::new(ids::ST_1, "the peer read past the pending send's bytes"));
                }
                p.share = Share::Exact(p.pushed);
                self.cross(ids::DIFF_SOCK_3);
                self.sock_flush();
            }
        }
        Ok(())
    }

    /// The peer read nothing from a closed socket. Either the kernel has
    /// nothing more of the front dropped send (its share ends where the
    /// stream is, and the next piece follows), or it holds more that has
    /// not arrived: bytes behind the peer's closed receive window come only
    /// with the window probe, after close returned (DIFF-SOCK-5). Which one
    /// is the kernel's choice (`WriteCtx::Tail`: took 0, or at least 1).
    pub(super) fn sock_peer_nothing_more(&mut self, c: &mut Choices) -> Result<(), Divergence> {
        if self.state.socket_open {
            return Ok(());
        }
        while let Some(&p) = self.sock().pieces.front() {
            if p.share == Share::Writing || p.share == Share::Dropped {
                self.sock_mut().ctx = WriteCtx::Tail;
                let took = c.write(ids::DIFF_SOCK_5, p.len - p.pushed, true)?;
                if took > Bytes::ZERO {
                    self.cross(ids::DIFF_SOCK_5);
                    return self.sock_push_share(took);
                }
                self.sock_mut().pieces.front_mut().expect("front").share = Share::Exact(p.pushed);
            }
            self.sock_flush();
        }
        Ok(())
    }

    /// The derivation's candidates for a write on this backend.
    pub(super) fn sock_write_candidates(
        &self,
        requested: Bytes,
        observed: &crate::observation::Observation,
    ) -> Vec<Bytes> {
        match self.sock().ctx {
            // All of it (the send returns ok), or a share the peer's data
            // will show (the sender waits).
            WriteCtx::Direct => vec![requested, Bytes::ZERO],
            WriteCtx::Rest => vec![requested],
            WriteCtx::Tail => {
                let room = self.sock().pieces.front().map_or(Bytes::ZERO, |p| p.max_share() - p.pushed);
                if room > Bytes::ZERO {
                    vec![Bytes::ZERO, Bytes(1)]
                } else {
                    vec![Bytes::ZERO]
                }
            }
            WriteCtx::Share => {
                let Some(p) = self.sock().pieces.front() else { return vec![] };
                let d: &[u8] = match &observed.reply {
                    Reply::Peer(PeerRead::Data(d)) => d,
                    _ => &[],
                };
                let off = self.peer_unread().0.min(d.len());
                let need = d.len() - off;
                let room = p.max_share().0 - p.pushed.0;
                let m = (0..need.min(room)).take_while(|&j| d[off + j] == payload_byte(p.tag, p.pushed.0 + j)).count();
                let top = if m == need { need } else { m };
                let mut v = vec![];
                for k in 0..4 {
                    if let Some(t) = top.checked_sub(k) {
                        if t <= room && !v.contains(&Bytes(t)) {
                            v.push(Bytes(t));
                        }
                    }
                }
                v
            }
        }
    }
}
