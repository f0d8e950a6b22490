//! The inet driver's send path: `erts_port_output` deciding between busy,
//! immediate and scheduled (SND-*, MQ-1), then `tcp_sendv` with its
//! watermarks (WM-*), delay_send (DS-*) and send_timeout (TO-*), and the
//! output/flush/timeout activities that drain the queue.

use super::backend::Backend;
use super::{Choices, Divergence, Life, Model, PendingSend};
use crate::observation::{Posix, SendResult};
use crate::options::Timeout;
use crate::rules::{ids, RuleId};
use crate::units::{Bytes, Millis, SenderId};
use crate::variant::Variant;

/// The inet driver's send queue and busy state (WM-*, DS-*, TO-*).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(super) struct DriverQueue {
    pub(super) queue: Bytes,
    pub(super) busy: bool,
    /// The caller whose send made the port busy, waiting for its reply (SND-5).
    pub(super) busy_caller: Option<SenderId>,
    /// The earliest armed send timer.
    pub(super) send_deadline: Option<Millis>,
    /// DIFF-INET-4: later timers, armed by sends that took the busy branch
    /// while one was armed (sorted); they outlive busy.
    pub(super) more_timers: Vec<Millis>,
    /// DIFF-INET-4: the driver never clears its `busy_caller`; a leftover
    /// timer answers it.
    pub(super) last_busy_caller: Option<SenderId>,
    /// The deadline of the timer the blocked caller armed itself (TO-1):
    /// on the real clock, the only timer that must have fired once the
    /// clock passed it (DIFF-INET-4: a leftover timer has no upper bound).
    pub(super) caller_deadline: Option<Millis>,
    /// DS-1: the zero-delay flush is armed.
    pub(super) flush_armed: bool,
    /// DIFF-INET-6 (OTP 27+): the blocked callers' replies, sent when busy
    /// cleared, that their callers have not taken yet: each does, as
    /// `Activity::Returned`, in any order with the resumed senders' retries.
    /// More than one when busy clears again before the first caller ran (a
    /// resumed retry made the port busy again): a reply the driver sent is
    /// in its caller's mailbox and is never lost.
    pub(super) replying: Vec<(SenderId, SendResult, RuleId)>,
    /// SND-8: the caller in the slot was killed; busy's end answers
    /// nobody, and a send completing under its id then is blamed on SND-8.
    pub(super) dead_caller: Option<SenderId>,
}

impl DriverQueue {
    pub(super) const IDLE: DriverQueue = DriverQueue {
        queue: Bytes::ZERO,
        busy: false,
        busy_caller: None,
        send_deadline: None,
        more_timers: Vec::new(),
        last_busy_caller: None,
        caller_deadline: None,
        flush_armed: false,
        replying: Vec::new(),
        dead_caller: None,
    };
}

impl Model {
    /// `erts_port_output`: busy, immediate or scheduled (SND-*, MQ-1).
    pub(super) fn driver_send(&mut self, p: PendingSend, c: &mut Choices) -> Result<Option<SendResult>, Divergence> {
        if self.state.life == Life::Closed {
            self.decide(ids::SND_6);
            return Ok(Some(SendResult::Error(Posix::Closed)));
        }
        let busy = self.driver().busy || self.state.tasks.busy;
        if busy && !p.flags.force {
            if p.flags.nosuspend {
                self.decide(ids::SND_2);
                return Ok(Some(SendResult::False));
            }
            self.decide(ids::SND_1);
            self.suspend(p);
            return Ok(None);
        }
        if p.flags.force && busy {
            self.cross(ids::SND_3);
        }
        if !self.state.tasks.queue.is_empty() || self.state.tasks.lock_held {
            self.schedule(p);
            return Ok(None);
        }
        if self.config.parallelism {
            self.decide(ids::MQ_2);
        }
        self.driver_output(p, c)
    }

    /// `tcp_inet_commandv` + `tcp_sendv`. `Ok(None)`: the reply is deferred.
    pub(super) fn driver_output(&mut self, p: PendingSend, c: &mut Choices) -> Result<Option<SendResult>, Divergence> {
        let s = p.sender;
        if !self.state.socket_open && self.state.input.end_read {
            return Ok(Some(self.send_after_end()));
        }
        if !self.state.socket_open {
            self.decide(ids::TO_3);
            return Ok(Some(SendResult::Error(Posix::Enotconn)));
        }
        if self.send_refused_by_shutdown() {
            // SD-3: tcp_shutdown_error(EPIPE), before the queue is looked at.
            return Ok(self.write_failed(Some(s)));
        }
        let before = self.driver().queue;
        if p.len == Bytes::ZERO && before == Bytes::ZERO {
            self.decide(ids::WM_5);
            return Ok(Some(SendResult::Ok));
        }
        if before == Bytes::ZERO {
            self.state.peer.out.push(p.tag, p.len);
            if self.state.opts.delay_send {
                // DS-1: queue everything, no syscall, arm the zero-delay flush.
                let d = self.driver_mut();
                d.queue = p.len;
                d.flush_armed = true;
                self.why.queue = self.decide(ids::DS_1);
            } else if self.write_fails() {
                // PC-5, SD-3: the direct write fails; its caller is answered.
                let r = self.write_failed(Some(s)).expect("a passive port answers the caller");
                return Ok(Some(r));
            } else {
                // WM-2: write directly, queue the remainder unchecked.
                let took = c.write(ids::WM_2, p.len, true)?;
                self.state.peer.written += took;
                self.driver_mut().queue = p.len - took;
                self.why.queue = self.decide(ids::WM_2);
            }
            return Ok(Some(SendResult::Ok));
        }
        // WM-3: enqueue the whole message, busy at queued_before + size >= high.
        self.state.peer.out.push(p.tag, p.len);
        self.driver_mut().queue += p.len;
        self.enqueued_onto = self.why.queue;
        self.why.queue = ids::WM_3;
        if before + p.len >= self.state.opts.high {
            if self.state.opts.send_timeout == Timeout::After(Millis(0)) {
                self.why.busy_driver = self.decide(ids::TO_2);
                self.cross(ids::TO_2);
                return Ok(Some(SendResult::Error(Posix::Timeout)));
            }
            self.driver_mut().busy = true;
            self.cross(ids::WM_3);
            self.why.busy_driver = self.decide(ids::WM_3);
            self.driver_mut().dead_caller = None;
            if let Some(displaced) = self.driver_mut().busy_caller.replace(s) {
                // WM-6: the displaced caller never hears back.
                self.cross(ids::WM_6);
                self.why_sender(displaced.0 as usize, ids::WM_6);
            }
            let deadline = match self.state.opts.send_timeout {
                Timeout::After(t) => Some(Millis(self.state.now.0 + t.0)),
                Timeout::Infinity => None,
            };
            if let Some(at) = deadline {
                self.arm_send_timer(at);
            }
            self.driver_mut().caller_deadline = deadline;
            self.driver_mut().last_busy_caller = Some(s);
            self.set_sender(s, super::senders::Sender::Waiting, ids::WM_3);
            self.cross(ids::SND_5);
            return Ok(None);
        }
        self.why.busy_driver = self.decide(ids::WM_3);
        self.answered_at_once(s);
        Ok(Some(SendResult::Ok))
    }

    /// DIFF-INET-9: on OTP 27 and newer the driver keeps only the latest
    /// send's caller, so a send answered at once while another caller is
    /// blocked leaves that caller without a reply (it waits until the port
    /// goes, DIFF-INET-8); the reply busy clearing sends is dropped.
    fn answered_at_once(&mut self, s: SenderId) {
        if self.config.variant != crate::variant::Variant::OtpInet || !self.otp_27_on() {
            return;
        }
        if let Some(blocked) = self.driver().busy_caller.filter(|&b| b != s) {
            self.cross(ids::DIFF_INET_9);
            self.driver_mut().busy_caller = None;
            self.driver_mut().caller_deadline = None;
            self.why_sender(blocked.0 as usize, ids::DIFF_INET_9);
        }
    }

    /// One write from the queue (WM-4, ST-2).
    fn write_from_queue(&mut self, c: &mut Choices, rule: crate::rules::RuleId) -> Result<(), Divergence> {
        if self.write_fails() {
            // PC-5, SD-3: the write fails; nobody's send is answered by it.
            self.write_failed(None);
            return Ok(());
        }
        self.decide(ids::ST_2);
        if !c.has_write() {
            // No write where one is due: blame whatever last shaped the queue.
            return Err(Divergence::new(
                self.why.queue,
                format!(
                    "{rule} expects a write of the {} queued, the system wrote nothing ({} last changed the queue)",
                    self.driver().queue,
                    self.why.queue
                ),
            ));
        }
        let took = c.write(rule, self.driver().queue, rule == ids::DS_2)?;
        self.state.peer.written += took;
        self.driver_mut().queue -= took;
        self.why.queue = rule;
        self.note_empty_queue();
        self.shut_when_flushed();
        // On EAGAIN tcp_inet_output stops before driver_deq: no WM-4 check.
        if self.driver().busy && took > Bytes::ZERO {
            if self.driver().queue <= self.state.opts.low {
                self.unbusy(ids::WM_4);
            } else {
                self.why.busy_driver = ids::WM_4;
                if let Some(b) = self.driver().busy_caller {
                    self.why_sender(b.0 as usize, ids::WM_4);
                }
            }
        }
        if self.driver().queue == Bytes::ZERO && self.state.life == Life::Closed {
            if std::mem::take(&mut self.state.table.slot_held) {
                self.state.table.ports -= 1; // DIFF-INET-3: flushed, the port leaves the table.
                self.port_gone();
            }
            self.close_socket(); // CL-1: flushed, now the socket closes.
        }
        Ok(())
    }

    /// Output activity: the socket was writable (WM-4). A runtime may write
    /// more than once (until EAGAIN); each write asks for the whole queue.
    pub(super) fn output(&mut self, c: &mut Choices) -> Result<(), Divergence> {
        self.write_from_queue(c, ids::WM_4)?;
        while c.another_write() {
            if self.driver().queue == Bytes::ZERO {
                return Err(Divergence::new(ids::ST_2, "write with an empty queue"));
            }
            self.write_from_queue(c, ids::WM_4)?;
        }
        Ok(())
    }

    /// DS-2: the zero-delay flush writes the whole queue once.
    pub(super) fn delay_flush(&mut self, c: &mut Choices) -> Result<(), Divergence> {
        self.cross(ids::DS_2);
        self.driver_mut().flush_armed = false;
        if self.driver().queue > Bytes::ZERO && self.state.socket_open {
            self.write_from_queue(c, ids::DS_2)?;
        }
        Ok(())
    }

    /// Arm the send timer of a send that made the port busy (TO-1). The
    /// reference driver keeps one; the inet driver adds one per busy
    /// branch taken, the earlier ones still armed (DIFF-INET-4).
    fn arm_send_timer(&mut self, at: Millis) {
        match self.driver().send_deadline {
            Some(d) if self.config.variant == crate::variant::Variant::OtpInet => {
                self.cross(ids::DIFF_INET_4);
                let mut all = std::mem::take(&mut self.driver_mut().more_timers);
                all.push(d);
                all.push(at);
                all.sort();
                self.driver_mut().send_deadline = Some(all.remove(0));
                self.driver_mut().more_timers = all;
            }
            _ => self.driver_mut().send_deadline = Some(at),
        }
    }

    /// The earliest send timer is gone (fired or cancelled): the next one
    /// armed, if any (DIFF-INET-4), is the earliest now.
    fn drop_earliest_timer(&mut self) -> Option<Millis> {
        let gone = self.driver_mut().send_deadline.take();
        if !self.driver().more_timers.is_empty() {
            self.driver_mut().send_deadline = Some(self.driver_mut().more_timers.remove(0));
        }
        gone
    }

    /// WM-4/TO-1: leave busy, answer the blocked caller, resume senders.
    fn unbusy(&mut self, rule: crate::rules::RuleId) {
        let r = if rule == ids::WM_4 { SendResult::Ok } else { SendResult::Error(Posix::Timeout) };
        self.unbusy_with(rule, r);
    }

    /// Leave busy under `rule`: the blocked caller gets `r`, the suspended
    /// senders resume (WM-4, TO-1, PC-5).
    pub(super) fn unbusy_with(&mut self, rule: crate::rules::RuleId, r: SendResult) {
        self.cross(rule);
        self.driver_mut().busy = false;
        self.why.busy_driver = rule;
        if self.drop_earliest_timer().is_some() && rule == ids::WM_4 {
            self.cross(ids::TO_4);
        }
        self.driver_mut().caller_deadline = None;
        if let Some(dead) = self.driver_mut().dead_caller.take() {
            // SND-8: the reply goes to the killed caller, not to its id.
            self.why_sender(dead.0 as usize, ids::SND_8);
        }
        if let Some(b) = self.driver_mut().busy_caller.take() {
            if self.config.variant == crate::variant::Variant::OtpInet && !self.state.senders.detached[b.0 as usize] {
                if self.otp_27_on() {
                    // DIFF-INET-6: on its way; taken in any order with the
                    // resumed senders' retries.
                    self.cross(ids::DIFF_INET_6);
                    self.driver_mut().replying.push((b, r, rule));
                } else {
                    // DIFF-INET-2: the reply is seen after the resumed senders ran.
                    self.set_sender(b, super::senders::Sender::Idle, rule);
                    self.step.deferred.push((b, r, rule));
                }
            } else {
                self.deliver(b, r, rule);
            }
        }
        if !self.state.tasks.busy {
            self.resume_all(rule);
        }
    }

    /// A send timer must fire before the next op (TO-1's upper bound). On
    /// the virtual clock that is the earliest armed timer once the clock
    /// passed it. On the real clock of the inet driver it is only the
    /// blocked caller's own timer (the one the runtime's caller waits
    /// for): a leftover timer (DIFF-INET-4) passed by the clock may still
    /// be late on a starved node (regression beam-inet-42); it stays
    /// enabled (`activity_enabled`) until it fires.
    pub(super) fn timeout_due(&self) -> bool {
        let d = self.driver();
        let passed = |at: Millis| at <= self.state.now;
        if !d.busy {
            return false;
        }
        if self.config.real_clock && self.config.variant == Variant::OtpInet {
            d.busy_caller.is_some() && d.caller_deadline.is_some_and(passed) && d.send_deadline.is_some_and(passed)
        } else {
            d.send_deadline.is_some_and(passed)
        }
    }

    /// TO-1 (and TO-3 with send_timeout_close).
    pub(super) fn send_timeout(&mut self) {
        if self.driver().busy {
            self.unbusy(ids::TO_1);
        } else {
            // DIFF-INET-4: a timer left armed after busy cleared fires and
            // answers the last busy caller.
            self.cross(ids::DIFF_INET_4);
            self.drop_earliest_timer();
            if let Some(b) = self.driver().last_busy_caller {
                self.stale_timeout(b);
            }
        }
        if self.state.opts.send_timeout_close {
            self.cross(ids::TO_3);
            self.close_socket();
            if self.config.real_clock {
                // A write just before the timer fired may have handed the
                // kernel part of the queue: the peer's reads will show it.
                self.state.peer.cut_slack = self.state.peer.out.len() - self.state.peer.written;
            } else {
                self.state.peer.out.truncate(self.state.peer.written);
            }
            self.driver_mut().queue = Bytes::ZERO;
            self.driver_mut().flush_armed = false;
            self.why.queue = ids::TO_3;
            if self.timeout_close_exits() {
                // DIFF-INET-11: an active port tells its owner and exits.
                self.cross(ids::DIFF_INET_11);
                self.state.input.mailbox.push(crate::observation::OwnerMsg::TcpClosed);
                self.port_exits(ids::DIFF_INET_11);
            }
        } else {
            self.why.queue = ids::TO_1;
        }
    }

    /// DIFF-INET-11: on OTP 29 the send timer's close exits an active port.
    fn timeout_close_exits(&self) -> bool {
        self.config.variant == Variant::OtpInet
            && self.config.otp >= crate::variant::OtpRelease(29)
            && self.state.life == Life::Open
            && self.state.opts.active.is_active()
    }

    /// Has the peer nothing more to expect?
    pub(super) fn peer_reset(&self) -> bool {
        self.state.peer.reset
    }

    pub(super) fn peer_at_eof(&self) -> bool {
        (!self.state.socket_open || self.write_side_shut()) && self.state.peer.read == self.state.peer.written
    }

    /// DIFF-INET-6: whose replies are on their way to their callers, in
    /// the order the driver sent them.
    pub(super) fn driver_replying(&self) -> Vec<SenderId> {
        match &self.state.backend {
            Backend::Driver(d) => d.replying.iter().map(|r| r.0).collect(),
            Backend::Socket(_) => Vec::new(),
        }
    }

    /// DIFF-INET-6: `s` takes the reply on its way to it.
    pub(super) fn driver_returned(&mut self, s: SenderId) {
        let d = self.driver_mut();
        let at = d.replying.iter().position(|r| r.0 == s).expect("checked by activity_enabled");
        let (s, r, rule) = d.replying.remove(at);
        if rule == ids::DIFF_INET_13 || rule == ids::DIFF_INET_8 {
            // A sender of a port that is gone, answered by prim_inet (CL-5,
            // or its port monitor's 'DOWN').
            self.decide(rule);
            self.why.completed_order = Some(rule);
            self.complete(s, r, rule);
            return;
        }
        self.decide(ids::DIFF_INET_6);
        self.why.completed_order = Some(ids::DIFF_INET_6);
        self.deliver(s, r, rule);
    }
}
