//! Receiving (RX-*): passive recv, and active delivery to the owner.

use super::stream::Stream;
use super::{Choices, Divergence, Life, Model, OptField};
use crate::observation::{OwnerMsg, PeerRead, Posix, Reply};
use crate::options::Active;
use crate::rules::{ids, RuleId};
use crate::units::Bytes;

/// What the peer sent to the port, and what the port's owner received.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(super) struct Input {
    /// Everything the peer wrote (RX-6).
    pub(super) stream: Stream,
    /// How much of it the port read.
    pub(super) received: Bytes,
    /// RX-11: the last of `received` that a timed-out recv gathered and
    /// left in the driver's buffer: the next recv returns them first.
    pub(super) held: Bytes,
    /// DIFF-INET-12: what a recv with a length and a timeout of 0 still
    /// missed when it timed out (`i_remain`, left set): the next recv of
    /// length 0 waits for those bytes and returns them with `held`.
    pub(super) owed: Bytes,
    pub(super) mailbox: Vec<OwnerMsg>,
    /// DIFF-INET-5: a rejected setopts made the socket active without
    /// turning its read readiness on: it reads nothing.
    pub(super) deaf: bool,
    /// The peer's FIN or RST (PC-*, RS-1).
    pub(super) peer_end: super::peer_end::PeerEnd,
    /// A read of the port reached the peer's end and reported it, or a
    /// write met its reset (PC-5).
    pub(super) end_read: bool,
    /// What the next send and recv are told of a socket the end closed
    /// (PC-4, PC-5).
    pub(super) delayed: super::peer_end::Delayed,
    /// PC-7: a half-closed port (exit_on_close false) told its owner
    /// {tcp_closed,S}; it never does again.
    pub(super) told_closed: bool,
}

impl Model {
    /// A closed port has no owner to deliver to (CL-1): its lingering
    /// socket only flushes output.
    pub(super) fn input_enabled(&self) -> bool {
        self.state.life != Life::Closed
            && (self.state.opts.active.is_active() || self.reader_waits())
            && !self.state.input.deaf
            && self.state.socket_open
            && (self.input_pending() > Bytes::ZERO || self.at_end())
            && self.sock_readable()
    }

    fn take_input(&mut self, got: Bytes, rule: RuleId) -> Result<Vec<u8>, Divergence> {
        if got > self.input_pending() {
            return Err(Divergence::new(rule, format!("read {got} but only {} were sent", self.input_pending())));
        }
        let data = self.state.input.stream.slice(self.state.input.received, got);
        self.state.input.received += got;
        Ok(data)
    }

    /// Input activity: each read becomes one message (RX-5); once and N
    /// go passive (RX-2, RX-4).
    pub(super) fn input(&mut self, c: &mut Choices) -> Result<(), Divergence> {
        if !self.state.opts.active.is_active() && self.reader_waits() {
            // RX-7: a passive port reads for the recv that waits.
            return self.read_for_reader(c);
        }
        loop {
            if !self.state.opts.active.is_active() {
                if c.more_reads() {
                    return Err(Divergence::new(ids::RX_2, "read after the socket went passive"));
                }
                return Ok(());
            }
            let got = c.read(ids::RX_5)?;
            self.sock_read_done();
            if got == Bytes::ZERO && self.at_end() {
                // PC-3/RS-1: the read found the peer's end.
                self.active_end();
                return Ok(());
            }
            if got == Bytes::ZERO {
                return Ok(());
            }
            self.decide(ids::RX_5);
            let data = self.take_input(got, ids::RX_5)?;
            self.state.input.mailbox.push(OwnerMsg::Tcp(data));
            match self.state.opts.active {
                Active::Once => {
                    self.state.opts.active = Active::Passive;
                    self.why.opts.set(OptField::Active, ids::RX_2);
                    self.cross(ids::RX_2);
                }
                Active::Count(n) if n <= 1 => {
                    self.state.opts.active = Active::Passive;
                    self.why.opts.set(OptField::Active, ids::RX_4);
                    self.state.input.mailbox.push(OwnerMsg::TcpPassive);
                    self.cross(ids::RX_4);
                }
                Active::Count(n) => {
                    self.state.opts.active = Active::Count(n - 1);
                    self.why.opts.set(OptField::Active, ids::RX_4);
                }
                Active::Always | Active::Passive => {}
            }
            if !c.more_reads() {
                return Ok(());
            }
        }
    }

    /// What a recv is answered at once, before it reads: the end already
    /// reported (PC-2..PC-5), a socket closed under the port, an active
    /// mode (RX-1). Shared by the owner's recv and the reader's (RX-7).
    pub(super) fn recv_refusal(&mut self) -> Option<(Reply, RuleId)> {
        if let Some(r) = self.sock_recv_closed() {
            return Some(r);
        }
        if let Some(r) = self.recv_after_end() {
            return Some(r);
        }
        if let Some(r) = self.on_exited_port(ids::RX_6) {
            return Some(r);
        }
        if !self.state.socket_open {
            // TO-3: TCP_REQ_RECV checks the connection before the mode.
            return Some((Reply::Recv(Err(Posix::Enotconn)), ids::TO_3));
        }
        if self.state.opts.active.is_active() {
            self.cross(ids::RX_1);
            return Some((Reply::Recv(Err(Posix::Einval)), ids::RX_1));
        }
        None
    }

    /// RX-1/RX-6: `gen_tcp:recv(S, 0, 0)`.
    pub(super) fn recv(&mut self, c: &mut Choices) -> Result<(Reply, RuleId), Divergence> {
        if let Some(r) = self.recv_refusal() {
            return Ok(r);
        }
        if let Some(r) = self.recv_while_reading() {
            return Ok(r);
        }
        if self.state.input.owed > Bytes::ZERO {
            return self.recv_owed(c);
        }
        if let Some(data) = self.take_held(None) {
            return Ok((Reply::Recv(Ok(data)), ids::RX_11));
        }
        self.decide(ids::RX_6);
        let got = c.read(ids::RX_6)?;
        if got == Bytes::ZERO && self.at_end() {
            return Ok(self.recv_end());
        }
        if got == Bytes::ZERO {
            return Ok((Reply::Recv(Err(Posix::Timeout)), ids::RX_6));
        }
        Ok((Reply::Recv(Ok(self.take_input(got, ids::RX_6)?)), ids::RX_6))
    }

    /// ST-1: the peer reads the next bytes of the stream the port wrote.
    pub(super) fn peer_read(&mut self, c: &mut Choices) -> Result<(Reply, RuleId), Divergence> {
        let got = c.peer_got(ids::ST_1)?;
        if self.on_socket() {
            // DIFF-SOCK-1: the kernel's share of pending sends, as the peer's data shows it.
            self.sock_peer_share(got, c)?;
            if got == Bytes::ZERO {
                self.sock_peer_nothing_more(c)?;
            }
        }
        let unread = self.peer_unread();
        if got > unread && got - unread <= self.state.peer.cut_slack {
            // TO-3 on a real clock: the kernel had taken part of the queue
            // the timer discarded, just before it fired.
            let extra = got - unread;
            self.state.peer.cut_slack -= extra;
            self.state.peer.written += extra;
            self.decide(ids::TO_3);
        }
        if got > self.peer_unread() {
            return Err(Divergence::new(
                ids::ST_1,
                format!("the peer read {got} but the kernel took only {} unread bytes", self.peer_unread()),
            ));
        }
        if got == Bytes::ZERO && self.peer_reset() {
            return Ok(self.peer_sees_reset());
        }
        if got == Bytes::ZERO {
            let (r, rule) = if self.peer_at_eof() {
                let rule = if self.write_side_shut() {
                    ids::SD_1
                } else if self.why.ports == ids::CL_5 || self.why.ports == ids::CL_6 {
                    self.why.ports
                } else if self.state.opts.send_timeout_close {
                    ids::TO_3
                } else {
                    ids::CL_1
                };
                (PeerRead::Eof, rule)
            } else if self.shutdown_waits() {
                // SD-2: the shutdown's FIN waits behind the queue.
                (PeerRead::WouldBlock, ids::SD_2)
            } else {
                (PeerRead::WouldBlock, ids::ST_1)
            };
            return Ok((Reply::Peer(r), rule));
        }
        self.decide(ids::ST_1);
        let data = self.state.peer.out.slice(self.state.peer.read, got);
        self.state.peer.read += got;
        Ok((Reply::Peer(PeerRead::Data(data)), ids::ST_1))
    }

    /// CL-3: whatever the peer had not read is gone; the error is reported
    /// once (to a read or a write), then reads see EOF and writes EPIPE.
    fn peer_sees_reset(&mut self) -> (Reply, RuleId) {
        self.state.peer.read = self.state.peer.written;
        self.peer_reset_reported()
    }

    /// CL-3: the reset is reported once; a write that gets it leaves what
    /// the peer's socket had received readable (tcp_recvmsg copies queued
    /// data before it looks at the error).
    fn peer_reset_reported(&mut self) -> (Reply, RuleId) {
        let r = if self.state.peer.reset_reported { PeerRead::Eof } else { PeerRead::Reset };
        self.state.peer.reset_reported = true;
        // A zero linger time resets whatever the socket held (CL-4).
        (Reply::Peer(r), if self.config.linger_zero { ids::CL_4 } else { ids::CL_3 })
    }

    /// The peer writes to a socket the port has closed, which the model
    /// allows only where a real-clock send timer with send_timeout_close
    /// fired before the op (TO-3; seen on OTP 27, seed 1003 case 16):
    /// nothing reaches the port. After a reset (CL-3) the write fails
    /// (ECONNRESET once, then EPIPE: `Reply::Peer(Reset)`, then `Eof`).
    /// After a FIN (CL-1) the kernel takes the first write's bytes (at most
    /// 512 in a generated case, one segment) and the closed socket answers
    /// RST, which loopback delivers before the write returns; from then on
    /// writes fail with EPIPE (`Eof`).
    pub(super) fn peer_write_to_closed(&mut self) -> (Reply, RuleId) {
        if self.peer_reset() {
            self.peer_reset_reported()
        } else if self.state.peer.writes_refused {
            (Reply::Peer(PeerRead::Eof), ids::CL_1)
        } else {
            self.state.peer.writes_refused = true;
            (Reply::None, ids::CL_1)
        }
    }
}
