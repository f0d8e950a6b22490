//! Sender processes (SND-*): idle, waiting for a reply, or suspended on a
//! busy port with the send they will retry.

use super::{Model, PendingSend};
use crate::observation::{Posix, SendResult, SenderStatus};
use crate::rules::{ids, RuleId};
use crate::units::SenderId;
use crate::variant::Variant;
use std::collections::VecDeque;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Sender {
    Idle,
    Waiting,
    Suspended(PendingSend),
}

impl Sender {
    pub fn status(self) -> SenderStatus {
        match self {
            Sender::Idle => SenderStatus::Idle,
            Sender::Waiting => SenderStatus::Waiting,
            Sender::Suspended(_) => SenderStatus::Suspended,
        }
    }
}

/// The sender processes, and who of them is suspended or may resume.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(super) struct Senders {
    pub(super) list: Vec<Sender>,
    /// Suspended on the busy port, in suspension order (SND-1).
    pub(super) suspended: VecDeque<SenderId>,
    /// Resumed and due to retry, in retry order (SND-4, DIFF-INET-1).
    pub(super) resumable: VecDeque<SenderId>,
    /// DIFF-INET-4: replies in each sender's mailbox that no send of its
    /// took yet, oldest first.
    pub(super) stale: Vec<VecDeque<SendResult>>,
    /// DIFF-INET-4: the sender returned a stale reply while its own was
    /// pending: that reply goes to its mailbox.
    pub(super) detached: Vec<bool>,
    /// DIFF-INET-3 (OTP 25): waiting for the reply of a port that was
    /// closed; `{error,closed}` once INET_CLOSE_TIMEOUT has passed.
    pub(super) orphaned: Vec<SenderId>,
    /// DIFF-INET-1 with SND-7: the first-suspended sender was killed; the
    /// port's list keeps its place, so the others retry in suspension
    /// order (the dead one's "last" retry is nothing).
    pub(super) head_killed: bool,
}

impl Senders {
    pub(super) fn new(n: usize) -> Senders {
        Senders {
            list: vec![Sender::Idle; n],
            suspended: VecDeque::new(),
            resumable: VecDeque::new(),
            stale: vec![VecDeque::new(); n],
            detached: vec![false; n],
            orphaned: Vec::new(),
            head_killed: false,
        }
    }
}

impl Model {
    pub(super) fn set_sender(&mut self, s: SenderId, state: Sender, rule: RuleId) {
        self.state.senders.list[s.0 as usize] = state;
        self.why_sender(s.0 as usize, rule);
    }

    /// DIFF-INET-4: what the sender's `receive {inet_reply,S,_}` takes once
    /// its `port_command` returned: the oldest reply in its mailbox. `own`
    /// is the send's own reply (`None`: still to come). Returns what the
    /// send returns, and whether that was a stale reply. From OTP 26 on
    /// (prim_inet:send/3, OTP-18520) a send takes only the reply carrying
    /// its own port-monitor reference: a stale reply stays in the mailbox,
    /// never read.
    pub(super) fn take_reply(&mut self, s: SenderId, own: Option<SendResult>) -> (Option<SendResult>, bool) {
        let i = s.0 as usize;
        if self.config.variant != Variant::OtpInet || self.otp_27_on() || self.state.senders.stale[i].is_empty() {
            return (own, false);
        }
        match own {
            // port_command itself answered (false, or badarg on a closed
            // port: on this backend {error,closed} comes only from SND-6):
            // no receive.
            Some(SendResult::False | SendResult::Error(crate::observation::Posix::Closed)) => (own, false),
            Some(r) => {
                self.state.senders.stale[i].push_back(r);
                self.cross(ids::DIFF_INET_4);
                (self.state.senders.stale[i].pop_front(), true)
            }
            None if self.state.senders.list[i] == Sender::Waiting => {
                self.state.senders.detached[i] = true;
                self.set_sender(s, Sender::Idle, ids::DIFF_INET_4);
                self.cross(ids::DIFF_INET_4);
                (self.state.senders.stale[i].pop_front(), true)
            }
            None => (None, false),
        }
    }

    /// A reply reaches a sender after the op that made its send: it
    /// completes the send, or (DIFF-INET-4) lands in the mailbox of a
    /// sender that already returned a stale reply instead.
    pub(super) fn deliver(&mut self, s: SenderId, r: SendResult, rule: RuleId) {
        let i = s.0 as usize;
        if self.state.senders.detached[i] {
            self.state.senders.detached[i] = false;
            self.state.senders.stale[i].push_back(r);
            self.why_sender(i, ids::DIFF_INET_4);
        } else {
            self.complete(s, r, rule);
        }
    }

    /// DIFF-INET-4: a leftover send timer answers the last busy caller with
    /// {error,timeout}: taken at once if it is waiting for a reply (its own
    /// then lands in its mailbox), kept in its mailbox otherwise.
    pub(super) fn stale_timeout(&mut self, s: SenderId) {
        let i = s.0 as usize;
        let r = SendResult::Error(crate::observation::Posix::Timeout);
        if self.state.senders.list[i] == Sender::Waiting && !self.state.senders.detached[i] {
            self.complete(s, r, ids::DIFF_INET_4);
            self.state.senders.detached[i] = true;
        } else {
            self.state.senders.stale[i].push_back(r);
            self.why_sender(i, ids::DIFF_INET_4);
        }
    }

    /// May `s` be killed? Only while suspended on the busy port (resumed
    /// or not yet): what a blocked caller's reply, or a send in flight,
    /// meets when its process dies is not modelled.
    pub(super) fn kill_enabled(&self, s: SenderId) -> bool {
        matches!(self.state.senders.list.get(s.0 as usize), Some(Sender::Suspended(_)))
    }

    /// SND-7: a sender killed while suspended never makes its send: it
    /// leaves the wait (and the queue of those resumed to retry), its
    /// mailbox goes with it, and a fresh process takes its id.
    pub(super) fn kill(&mut self, s: SenderId) -> (crate::observation::Reply, RuleId) {
        let i = s.0 as usize;
        let on_otp = self.config.variant == Variant::OtpInet;
        let senders = &mut self.state.senders;
        // DIFF-INET-1: the dead head keeps its place in the port's list.
        // It stays there, with the senders suspended after it behind it,
        // until busy clears (`resume_all`): also when no live sender was
        // left in front of them (swarm seed 1101 case 39 on OTP 25, 27
        // and 29: both suspended senders killed, two more suspended, then
        // they retried in suspension order).
        senders.head_killed |= on_otp && senders.suspended.front() == Some(&s);
        senders.suspended.retain(|&x| x != s);
        senders.resumable.retain(|&x| x != s);
        senders.stale[i].clear();
        senders.detached[i] = false;
        self.cross(ids::SND_7);
        self.set_sender(s, Sender::Idle, ids::SND_7);
        (crate::observation::Reply::None, self.decide(ids::SND_7))
    }

    /// May `s`, blocked on its reply, be killed (SND-8)? Only the caller
    /// the driver owes the reply busy's end sends, on an open port of the
    /// inet driver, while that reply is still to come: a caller displaced
    /// (WM-6) or dropped (DIFF-INET-9) waits for nothing the driver holds,
    /// and one whose reply is on its way (DIFF-INET-6), one that took a
    /// stale reply (DIFF-INET-4) or waits on a closed port (DIFF-INET-3)
    /// meets what those rules say, not modelled with a kill.
    pub(super) fn kill_caller_enabled(&self, s: SenderId) -> bool {
        let i = s.0 as usize;
        let super::backend::Backend::Driver(d) = &self.state.backend else { return false };
        self.state.senders.list.get(i) == Some(&Sender::Waiting)
            && d.busy
            && d.busy_caller == Some(s)
            && !d.replying.iter().any(|r| r.0 == s)
            && !self.state.senders.detached[i]
            && !self.state.senders.orphaned.contains(&s)
            && self.state.life == super::Life::Open
            && self.state.socket_open
    }

    /// SND-8: the blocked caller is killed. Its bytes stay queued and the
    /// port busy; the driver's caller slot now holds a dead process, so
    /// busy's end (WM-4, TO-1) and a leftover send timer (DIFF-INET-4)
    /// answer nobody. Its mailbox goes with it; a fresh, idle process
    /// takes its id.
    pub(super) fn kill_caller(&mut self, s: SenderId) -> (crate::observation::Reply, RuleId) {
        let i = s.0 as usize;
        let d = self.driver_mut();
        d.busy_caller = None;
        d.dead_caller = Some(s);
        d.caller_deadline = None;
        if d.last_busy_caller == Some(s) {
            d.last_busy_caller = None;
        }
        self.state.senders.stale[i].clear();
        self.cross(ids::SND_8);
        self.why.busy_driver = ids::SND_8;
        self.set_sender(s, Sender::Idle, ids::SND_8);
        (crate::observation::Reply::None, self.decide(ids::SND_8))
    }

    /// A send finished outside the op that made it.
    pub(super) fn complete(&mut self, s: SenderId, r: SendResult, rule: RuleId) {
        self.state.senders.orphaned.retain(|&o| o != s);
        self.set_sender(s, Sender::Idle, rule);
        self.step.completed.push((s, r, rule));
    }

    /// DIFF-INET-8: the port is gone. On OTP 27 and newer every send still
    /// waiting for its reply ends with {error,closed} (its port monitor's
    /// 'DOWN'), except one whose reply the driver had sent already
    /// (DIFF-INET-6: taken by `Activity::Returned`). Each waiting sender is
    /// a process of its own woken by its 'DOWN': they return on the node's
    /// schedule, in any order (`Activity::Returned`, before the step ends;
    /// swarm seed 1607 on OTP 27: S1 before S0), as a killed port's do
    /// (DIFF-INET-13). On OTP 25 they wait on, until INET_CLOSE_TIMEOUT
    /// after their wait began (DIFF-INET-3: `Activity::CloseFallback`, on a
    /// real clock at any later step).
    pub(super) fn port_gone(&mut self) {
        if self.config.variant != Variant::OtpInet {
            return;
        }
        let replying = self.driver_replying();
        for i in 0..self.state.senders.list.len() {
            let s = SenderId(i as u8);
            if self.state.senders.list[i] != Sender::Waiting || replying.contains(&s) {
                continue;
            }
            if self.otp_27_on() {
                self.cross(ids::DIFF_INET_8);
                self.driver_mut().replying.push((s, SendResult::Error(Posix::Closed), ids::DIFF_INET_8));
            } else if self.config.real_clock && !self.state.senders.orphaned.contains(&s) {
                self.state.senders.orphaned.push(s);
            }
        }
        if !self.otp_27_on() {
            return;
        }
        // The driver's timers and caller slot went with the port.
        if let super::backend::Backend::Driver(d) = &mut self.state.backend {
            d.busy_caller = None;
            d.caller_deadline = None;
            d.send_deadline = None;
            d.more_timers.clear();
        }
    }

    /// DIFF-INET-3 (OTP 25): an orphaned waiter's INET_CLOSE_TIMEOUT ran
    /// out; its port monitor finds the port gone.
    pub(super) fn close_fallback(&mut self, s: SenderId) {
        self.cross(ids::DIFF_INET_3);
        self.complete(s, SendResult::Error(Posix::Closed), ids::DIFF_INET_3);
    }

    /// SND-1: suspend on a busy port; a busy_port monitor event is raised.
    pub(super) fn suspend(&mut self, p: PendingSend) {
        self.cross(ids::SND_1);
        self.set_sender(p.sender, Sender::Suspended(p), ids::SND_1);
        self.state.senders.suspended.push_back(p.sender);
        self.step.busy_port_events.push(p.sender);
    }

    /// SND-4: every suspended sender becomes runnable, in suspension order.
    pub(super) fn resume_all(&mut self, rule: RuleId) {
        if !self.state.senders.suspended.is_empty() {
            self.cross(ids::SND_4);
        }
        let mut order: Vec<SenderId> = self.state.senders.suspended.drain(..).collect();
        let head_killed = std::mem::take(&mut self.state.senders.head_killed);
        if self.config.variant == Variant::OtpInet && order.len() > 1 && !head_killed {
            // DIFF-INET-1: the first-suspended sender retries last.
            order.rotate_left(1);
            self.cross(ids::DIFF_INET_1);
        }
        for s in order {
            self.state.senders.resumable.push_back(s);
            self.why_sender(s.0 as usize, rule);
        }
    }

    /// DIFF-INET-6: on OTP 27 and newer a resumed sender's retry that the
    /// driver answers (`{inet_reply,S,Status,Mref}`, not port_command's own
    /// `false` or badarg) is seen when its process takes the reply; the
    /// resumed senders run on any scheduler, so one resumed later may be
    /// seen first (it found the port closed in between, say).
    fn reply_travels(&self, r: SendResult) -> bool {
        self.config.variant == Variant::OtpInet
            && self.otp_27_on()
            && !matches!(r, SendResult::False | SendResult::Error(crate::observation::Posix::Closed))
    }

    /// A resumed sender runs and retries its send (SND-4).
    pub(super) fn resume(&mut self, s: SenderId, c: &mut super::Choices) -> Result<(), super::Divergence> {
        self.state.senders.resumable.pop_front();
        let Sender::Suspended(p) = self.state.senders.list[s.0 as usize] else {
            return Err(super::Divergence::new(ids::SND_4, format!("{s} resumed but was not suspended")));
        };
        self.set_sender(s, Sender::Idle, ids::SND_4);
        if self.config.variant == Variant::OtpInet && self.state.life == super::Life::Closed && self.state.exited {
            // DIFF-INET-10: the retry finds the port gone: it exited
            // (PC-3, PC-5, DIFF-INET-7); badarg. (After gen_tcp:close a
            // retry's {error,closed} was measured: DIFF-INET-6.)
            self.cross(ids::DIFF_INET_10);
            self.complete(s, SendResult::Error(Posix::Einval), ids::DIFF_INET_10);
            return Ok(());
        }
        let r = self.send(p, c)?;
        let rule = self.last_rule;
        match self.take_reply(s, r) {
            (Some(r), true) => self.complete(s, r, ids::DIFF_INET_4),
            (Some(r), false) if self.reply_travels(r) => {
                // DIFF-INET-6: the retry acted on the port now; its reply
                // is on its way, seen in any order with the others'.
                self.cross(ids::DIFF_INET_6);
                self.set_sender(s, Sender::Waiting, rule);
                self.driver_mut().replying.push((s, r, rule));
            }
            (Some(r), false) => self.complete(s, r, rule),
            (None, _) => {}
        }
        Ok(())
    }
}
