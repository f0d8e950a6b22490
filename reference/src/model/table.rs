//! The port table (PT-*), accept (OPT-6) and close (CL-1).

use super::backend::Backend;
use super::{Life, Model};
use crate::observation::{AcceptOutcome, Posix, Reply};
use crate::rules::{ids, RuleId};
use crate::units::Bytes;
use crate::variant::Variant;

/// The ports in ERTS's table besides the one under test (PT-*).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(super) struct PortTable {
    pub(super) ports: usize,
    pub(super) accepted: usize,
    /// DIFF-INET-3: the closed port keeps its slot until flushed.
    pub(super) slot_held: bool,
}

impl Model {
    /// PT-1 decides the table's size: a full table is its decision (the
    /// setup's exact capacity stands for the size PT-1 computes).
    fn table_full(&mut self) -> bool {
        let full = self.state.table.ports >= self.config.capacity;
        if full {
            self.decide(ids::PT_1);
        }
        full
    }

    pub(super) fn accept(&mut self) -> (Reply, RuleId) {
        if self.table_full() {
            self.why.ports = ids::PT_2;
            self.cross(ids::PT_2);
            return (Reply::Accept(AcceptOutcome::Failed { error: Posix::SystemLimit, peer_eof: true }), ids::PT_2);
        }
        self.state.table.ports += 1;
        self.state.table.accepted += 1;
        self.why.ports = ids::PT_2;
        self.cross(ids::OPT_6);
        (Reply::Accept(AcceptOutcome::Accepted(self.config.listener_opts)), ids::OPT_6)
    }

    pub(super) fn close_accepted(&mut self) -> (Reply, RuleId) {
        self.state.table.ports -= 1;
        self.state.table.accepted -= 1;
        self.cross(ids::PT_4);
        self.why.ports = ids::PT_4;
        (Reply::Closed(Ok(())), ids::PT_4)
    }

    pub(super) fn open_extra(&mut self) -> (Reply, RuleId) {
        if let Backend::Socket(_) = self.state.backend {
            return self.sock_open_extra();
        }
        self.why.ports = ids::PT_3;
        if self.table_full() {
            self.cross(ids::PT_3);
            return (Reply::Opened(Err(Posix::SystemLimit)), ids::PT_3);
        }
        self.state.table.ports += 1;
        (Reply::Opened(Ok(())), ids::PT_3)
    }

    /// CL-1: the port leaves the table at once; its socket closes once the
    /// queue is flushed. DIFF-INET-3: on OTP, gen_tcp:close first waits for
    /// the queue to empty with the port still open.
    pub(super) fn close(&mut self) -> (Reply, RuleId) {
        if let Backend::Socket(_) = self.state.backend {
            return self.sock_close();
        }
        if self.config.linger_zero {
            return self.close_aborting();
        }
        if self.config.variant == Variant::OtpInet && self.driver().queue > Bytes::ZERO && self.state.socket_open {
            self.state.life = Life::Closing;
            self.cross(ids::DIFF_INET_3);
            return (Reply::Closed(Ok(())), ids::DIFF_INET_3);
        }
        self.close_now()
    }

    /// DIFF-INET-3: the queue a pending gen_tcp:close waited for is empty
    /// (flushed, or dropped by send_timeout_close): the close may go on,
    /// once the closing process runs (`Activity::PendingClose`).
    pub fn close_pending(&self) -> bool {
        self.state.life == Life::Closing && (self.driver().queue == Bytes::ZERO || self.state.close_notice)
    }

    /// DIFF-INET-3: the driver tells the waiting closer `{empty_out_q,S}`
    /// when the queue empties, and the closer then `port_close`s — even if
    /// output was queued again in between (prim_inet.erl close_pend_loop
    /// does not look at the queue again). The port then closes as CL-1,
    /// flushing what is queued.
    pub(super) fn note_empty_queue(&mut self) {
        if self.state.life == Life::Closing && self.driver().queue == Bytes::ZERO {
            self.state.close_notice = true;
        }
    }

    /// CL-4: with `{linger, {true, 0}}` the close aborts the connection:
    /// prim_inet closes the port at once (no wait for the queue), the
    /// queue goes with it, and close(2) with a zero linger time sends a
    /// RST whatever the queues hold (KN-RST-3): the peer reads what its
    /// receive queue had, then ECONNRESET (EOF if it has the port's FIN).
    fn close_aborting(&mut self) -> (Reply, RuleId) {
        self.state.life = Life::Closed;
        self.reader_socket_closed();
        self.cross(ids::CL_2);
        self.cross(ids::CL_4);
        self.decide(ids::CL_4);
        if self.config.variant == Variant::OtpInet && self.driver().busy {
            // DIFF-INET-13: the port is gone at once and answers nobody,
            // as a killed one (swarm seed 1403 case 51 on OTP 25 and 27).
            let (caller, suspended) = self.drop_unanswered(ids::CL_4);
            self.otp_port_gone_answers(caller, &suspended);
        } else if self.driver().queue > Bytes::ZERO || self.driver().busy {
            self.drop_output(ids::CL_4, crate::observation::SendResult::Error(crate::observation::Posix::Closed));
        }
        self.state.table.ports -= 1;
        self.port_gone();
        self.why.ports = ids::CL_4;
        if self.state.socket_open {
            self.close_socket();
        }
        (Reply::Closed(Ok(())), ids::CL_4)
    }

    pub(super) fn close_now(&mut self) -> (Reply, RuleId) {
        self.state.life = Life::Closed;
        self.reader_socket_closed();
        self.cross(ids::CL_2);
        self.cross(ids::CL_1);
        if self.config.variant == Variant::OtpInet && self.driver().queue > Bytes::ZERO && self.state.socket_open {
            // DIFF-INET-3: ERTS keeps a port closed with output queued in
            // its table until the driver has flushed it.
            self.state.table.slot_held = true;
            self.cross(ids::DIFF_INET_3);
            // DIFF-INET-8: its senders' port monitors fire at the close,
            // not when the flush ends.
            self.port_gone();
        } else {
            self.state.table.ports -= 1;
            self.port_gone();
        }
        self.why.ports = ids::PT_4;
        if self.driver().queue == Bytes::ZERO {
            self.close_socket();
        }
        (Reply::Closed(Ok(())), ids::CL_1)
    }
}
