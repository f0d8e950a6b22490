//! A port killed: `exit(Port, kill)` by a process other than its owner
//! (the owner unlinked from it first, so that only the port dies: a
//! linked owner dies of the exit signal, or, trapping exits, gets
//! `{'EXIT', Port, killed}` — Erlang's link semantics, not the port's).
//! `busy_port_SUITE:no_trap_exit_unlinked` on a gen_tcp port.
//!
//! A kill is not an exit with a reason: ERTS terminates the port at once
//! (`erts_deliver_port_exit`: no flush for `kill`; any other reason lets a
//! driver with a flush callback drain its queue first, measured and not
//! generated), and inet_drv's stop closes the socket (`tcp_inet_stop`,
//! `desc_close`: the waiting recv is answered closed).

use super::{Life, Model};
use crate::observation::{Posix, Reply, SendResult};
use crate::rules::{ids, RuleId};
use crate::units::SenderId;
use crate::variant::Variant;

impl Model {
    /// May the port be killed now? An open port without lock contention or
    /// scheduled sends (a kill with port tasks queued was not measured),
    /// with no sender resumed and not yet retried (between a busy port's
    /// release and the retries: not measured), before its own shutdown,
    /// the peer's end or a zero linger time (their closes with a kill were
    /// not measured).
    pub(super) fn kill_port_enabled(&self) -> bool {
        self.state.life == Life::Open
            && !self.on_socket()
            && !self.state.tasks.lock_held
            && self.state.tasks.queue.is_empty()
            && self.state.senders.resumable.is_empty()
            && !self.shut_asked()
            && !self.peer_ended()
            && !self.config.linger_zero
    }

    /// CL-5: the port leaves the table at once, its queue dropped without
    /// a flush, its socket closed (FIN after what the kernel took; a reset
    /// over unread input, CL-3); a waiting recv gets {error,closed}
    /// (RX-10); the senders waiting on it get {error,closed} — on OTP as
    /// DIFF-INET-13 says.
    pub(super) fn kill_port(&mut self) -> (Reply, RuleId) {
        self.port_ends_at_once(ids::CL_5)
    }

    /// The port ends at once under `rule` (CL-5's kill; CL-6's owner
    /// death with nothing queued, where nobody waits to be answered).
    pub(super) fn port_ends_at_once(&mut self, rule: RuleId) -> (Reply, RuleId) {
        self.cross(rule);
        self.decide(rule);
        self.state.life = Life::Closed;
        self.state.exited = true;
        self.state.killed = true;
        let busy = self.driver().busy;
        if self.config.variant == Variant::OtpInet && busy && self.reader_waits() {
            self.reader_left_waiting();
        } else {
            self.reader_closed_by(rule);
        }
        let (caller, suspended) = self.drop_unanswered(rule);
        if self.config.variant == Variant::OtpInet {
            self.otp_port_gone_answers(caller, &suspended);
        } else {
            if let Some(b) = self.driver_mut().busy_caller.take() {
                self.complete(b, SendResult::Error(Posix::Closed), rule);
            }
            for s in suspended {
                self.complete(s, SendResult::Error(Posix::Closed), rule);
            }
            self.state.senders.head_killed = false;
        }
        self.state.table.ports -= 1;
        self.why.ports = rule;
        if self.state.socket_open {
            self.close_socket();
        }
        (Reply::None, rule)
    }

    /// The port goes with its queue, not flushed (CL-5; CL-4's abort on
    /// OTP): busy ends with nobody answered yet. Returns the blocked
    /// caller and the suspended senders, for the caller to answer.
    pub(super) fn drop_unanswered(&mut self, rule: RuleId) -> (Option<SenderId>, Vec<SenderId>) {
        let caller = self.driver().busy_caller;
        self.discard_queue(rule, true);
        self.driver_mut().busy = false;
        self.why.busy_driver = rule;
        (caller, self.state.senders.suspended.drain(..).collect())
    }

    /// DIFF-INET-13: the port answers nobody. A sender waiting for its
    /// reply (the blocked caller, one displaced from its slot) returns
    /// {error,closed} when prim_inet finds the port gone: on 27+ at once
    /// (its port monitor), on 25 when INET_CLOSE_TIMEOUT runs out
    /// (`port_gone`, DIFF-INET-3). The suspended senders resume (in
    /// DIFF-INET-1's order) and their retries find the port gone:
    /// {error,einval} (DIFF-INET-10). Each is a process of its own
    /// answered at once: they return in the node's order (the probe saw
    /// the caller first, then the retries in DIFF-INET-1's order; swarm
    /// seed 1201 case 40 on 27 and 29 two waiting senders in the other
    /// order than their ids), so the model lets them return in any order
    /// (`Activity::Returned`), all within the kill's step.
    pub(super) fn otp_port_gone_answers(&mut self, caller: Option<SenderId>, suspended: &[SenderId]) {
        if !suspended.is_empty() || caller.is_some() {
            self.cross(ids::DIFF_INET_13);
        }
        self.driver_mut().busy_caller = None;
        if self.otp_27_on() {
            let waiting: Vec<SenderId> = (0..self.state.senders.list.len())
                .map(|i| SenderId(i as u8))
                .filter(|s| self.state.senders.list[s.0 as usize] == super::senders::Sender::Waiting)
                .filter(|s| !self.driver_replying().contains(s))
                .collect();
            for s in waiting {
                self.returns_on_its_own(s, SendResult::Error(Posix::Closed));
            }
        }
        self.port_gone();
        let mut order = suspended.to_vec();
        if order.len() > 1 && !std::mem::take(&mut self.state.senders.head_killed) {
            self.cross(ids::DIFF_INET_1);
            order.rotate_left(1);
        }
        for s in order {
            self.set_sender(s, super::senders::Sender::Waiting, ids::DIFF_INET_13);
            self.returns_on_its_own(s, SendResult::Error(Posix::Einval));
        }
    }

    /// DIFF-INET-13: `s` has its answer and returns on its own schedule.
    fn returns_on_its_own(&mut self, s: SenderId, r: SendResult) {
        self.driver_mut().replying.push((s, r, ids::DIFF_INET_13));
    }

    /// DIFF-INET-14: a recv waiting on a port killed while busy is never
    /// answered: it waits on, with no timer (the port's went with it).
    fn reader_left_waiting(&mut self) {
        self.cross(ids::DIFF_INET_14);
        self.decide(ids::DIFF_INET_14);
        self.strand_reader();
        self.why.reader = ids::DIFF_INET_14;
    }

    /// What the model follows on a killed port: a recv, a setopts and the
    /// owner's mailbox (as on a port that exited, PC-3: {error,closed},
    /// {error,einval}, nothing); not getopts (OTP answers einval: not
    /// modelled).
    pub(super) fn enabled_after_kill(&self, op: &crate::op::Op) -> Option<bool> {
        use crate::op::Op;
        if !self.state.killed {
            return None;
        }
        match op {
            Op::Recv | Op::SetOpts { .. } | Op::Mailbox => Some(true),
            Op::GetOpts => Some(false),
            _ => None,
        }
    }
}
