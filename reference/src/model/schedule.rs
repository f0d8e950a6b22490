//! The scheduler's side of a step (SCHED-1): which activities may run now,
//! which must run before the runtime may call itself quiet, and running
//! them in the order the system chose.

use super::backend::Backend;
use super::{Choices, Divergence, Model};
use crate::choice::{Activity, Choice};
use crate::rules::{ids, RuleId};
use crate::units::Bytes;
use crate::variant::Variant;

impl Model {
    /// Run enabled activities in the order the system chose, then check that
    /// nothing runnable is left (SCHED-1).
    pub(super) fn quiesce(&mut self, c: &mut Choices) -> Result<(), Divergence> {
        while let Some(a) = c.next_activity()? {
            if !self.activity_enabled(a) {
                return Err(Divergence::new(
                    self.disabled_rule(a),
                    format!("the system ran {a:?}, which the model says cannot run now"),
                ));
            }
            self.run_activity(a, c)?;
        }
        if let Some(extra) = c.peek() {
            return Err(Divergence::new(
                self.unexpected_rule(extra),
                format!("the system made a choice the model has no place for: {extra:?}"),
            ));
        }
        if let Some(a) = self.mandatory_activity() {
            // Reported after the observation is compared: a difference in
            // what was observed names the more specific rule.
            let rule = match a {
                Activity::Resume(s) => self.why.senders[s.0 as usize],
                other => activity_rule(other),
            };
            self.unquiet = Some(Divergence::new(rule, format!("quiescence reached with {a:?} still runnable")));
        }
        Ok(())
    }

    /// What may run between steps on a real clock and kernel.
    pub(super) fn before_op_enabled(&self) -> impl Iterator<Item = Activity> + '_ {
        // A send timer that fired between steps cleared busy (TO-1) and
        // resumed the suspended senders, which retry on their own schedule:
        // before the op reaches the port too (unexplained beam-inet-42/43).
        let resume = self.state.senders.resumable.front().map(|&s| Activity::Resume(s));
        // On the socket backend each pending send has its own timer in its
        // caller (DIFF-SOCK-3/4): one may fire between steps as well, and a
        // timer with send_timeout_close has the server close the socket
        // before the op (a peer read then sees the reset; regression
        // beam-socket-17548076069843580848, failed so in CI at 167dbfb).
        let expire = if self.on_socket() { self.sock_expirable() } else { Vec::new() };
        let fallback = self.state.senders.orphaned.clone();
        // A reply the driver sent when busy cleared (DIFF-INET-6) reaches
        // its caller on the node's schedule, so also before the op, and
        // before the 'DOWN' of a port whose close then went on
        // (DIFF-INET-8: regression beam-inet-1003-case319-otp29).
        let replies = self.driver_replying().into_iter().map(Activity::Returned);
        [Activity::SendTimeout, Activity::RecvTimeout, Activity::Output, Activity::PendingClose, Activity::ServerExit]
            .into_iter()
            .chain(resume)
            .chain(replies)
            .chain(fallback.into_iter().map(Activity::CloseFallback))
            .chain(expire.into_iter().map(Activity::Expire))
            .filter(|&a| self.activity_enabled(a))
    }

    pub(super) fn activity_enabled(&self, a: Activity) -> bool {
        match a {
            Activity::Output => match &self.state.backend {
                Backend::Driver(d) => d.queue > Bytes::ZERO && self.state.socket_open && !d.flush_armed,
                Backend::Socket(_) => self.sock_output_enabled(),
            },
            Activity::Expire(s) => self.on_socket() && self.sock_may_expire(s),
            Activity::Returned(s) => {
                (self.on_socket() && self.sock_may_return(s)) || self.driver_replying().contains(&s)
            }
            Activity::DelayFlush => self.driver().flush_armed,
            Activity::Input => self.input_enabled(),
            Activity::Task => self.runnable_task().is_some(),
            Activity::Resume(s) => self.state.senders.resumable.front() == Some(&s),
            Activity::SendTimeout if self.config.real_clock => {
                let d = self.driver();
                d.send_deadline.is_some() && (d.busy || self.config.variant == Variant::OtpInet)
            }
            Activity::PendingClose => self.close_pending() || self.sock_close_requested(),
            Activity::ServerExit => self.sock_server_may_exit(),
            Activity::CloseFallback(s) => {
                self.state.senders.orphaned.contains(&s)
                    && self.state.senders.list[s.0 as usize] == super::senders::Sender::Waiting
            }
            Activity::SendTimeout => self.timeout_due(),
            Activity::RecvTimeout => self.recv_timer_may_fire(),
        }
    }

    /// An activity that must run before the runtime may call itself quiet.
    /// Output is not among them (only the kernel knows when it may write),
    /// except onto the peer's RST, which fails the write at once (PC-5).
    pub(super) fn mandatory_activity(&self) -> Option<Activity> {
        if let Backend::Socket(_) = self.state.backend {
            if let Some(a) = self.sock_mandatory() {
                return Some(a);
            }
        }
        if self.timeout_due() {
            Some(Activity::SendTimeout)
        } else if self.recv_timer_due() {
            Some(Activity::RecvTimeout)
        } else if let Some(&s) = self.driver_replying().first() {
            Some(Activity::Returned(s))
        } else if self.driver().flush_armed {
            Some(Activity::DelayFlush)
        } else if let Some(&s) = self.state.senders.resumable.front() {
            Some(Activity::Resume(s))
        } else if self.runnable_task().is_some() {
            Some(Activity::Task)
        } else if self.activity_enabled(Activity::Output) && !self.on_socket() && self.write_fails() {
            // PC-5: the RST made the socket writable (with an error): the
            // driver's write meets it; SD-3: so does a shut write side.
            Some(Activity::Output)
        } else if self.input_enabled() {
            Some(Activity::Input)
        } else {
            None
        }
    }

    pub(super) fn run_activity(&mut self, a: Activity, c: &mut Choices) -> Result<(), Divergence> {
        match a {
            Activity::DelayFlush => self.delay_flush(c),
            Activity::Output => match self.state.backend {
                Backend::Driver(_) => self.output(c),
                Backend::Socket(_) => self.sock_output(c),
            },
            Activity::Expire(s) => {
                self.sock_expire(s);
                Ok(())
            }
            Activity::ServerExit => {
                self.sock_server_exits();
                Ok(())
            }
            Activity::CloseFallback(s) => {
                self.close_fallback(s);
                Ok(())
            }
            Activity::Returned(s) => {
                match self.state.backend {
                    Backend::Driver(_) => self.driver_returned(s),
                    Backend::Socket(_) => self.sock_returned(s),
                }
                Ok(())
            }
            Activity::Input => self.input(c),
            Activity::Task => self.run_task(c),
            Activity::Resume(s) => self.resume(s, c),
            Activity::SendTimeout => {
                self.send_timeout();
                Ok(())
            }
            Activity::RecvTimeout => {
                self.recv_timeout();
                Ok(())
            }
            Activity::PendingClose if self.sock_close_requested() => {
                self.sock_server_closes();
                Ok(())
            }
            Activity::PendingClose => {
                // The closer's port_close: a blocked caller's reply is never
                // sent (its send stays waiting), and the send timer goes
                // with the port (DIFF-INET-3).
                self.driver_mut().caller_deadline = None;
                if self.driver_mut().busy_caller.take().is_some() {
                    self.cross(ids::DIFF_INET_3);
                }
                self.driver_mut().send_deadline = None;
                self.driver_mut().more_timers.clear();
                self.close_now();
                Ok(())
            }
        }
    }

    /// Who says `a` cannot run: a sender resumed while the port is still
    /// busy is blamed on the rule that keeps it busy.
    fn disabled_rule(&self, a: Activity) -> RuleId {
        match a {
            // No socket to write to and nothing left to write: the rule
            // that emptied the queue with the socket (a write that failed
            // on the peer's reset, PC-5, or on the port's shutdown, SD-3;
            // TO-3; the close of a zero linger time, CL-4) decided it; so
            // did it a delay_send flush with nothing left to flush.
            Activity::Output | Activity::DelayFlush
                if !self.on_socket() && !self.state.socket_open && self.driver().queue == Bytes::ZERO =>
            {
                self.why.queue
            }
            // The port exited (PC-3, PC-5, DIFF-INET-7): the rule that
            // ended it decided that nothing reads any more.
            Activity::Input if self.state.exited => self.why.ports,
            Activity::Resume(_) if self.driver().busy => self.why.busy_driver,
            Activity::Resume(_) if self.state.tasks.busy => self.why.busy_msgq,
            other => activity_rule(other),
        }
    }

    pub(super) fn unexpected_rule(&self, extra: Choice) -> RuleId {
        match extra {
            Choice::Ran(a) => activity_rule(a),
            Choice::Wrote { .. } if self.state.opts.delay_send => ids::DS_1,
            // The system wrote a send the model enqueued: its queue was
            // empty, which the rule that last shaped the model's decided.
            Choice::Wrote { .. } if self.last_rule == ids::WM_3 => self.enqueued_onto,
            Choice::Wrote { .. } => self.last_rule,
            // A read where buffered bytes answered the recv (RX-11).
            Choice::Read { .. } if self.last_rule == ids::RX_11 => ids::RX_11,
            Choice::Read { .. } => ids::RX_1,
            Choice::PeerGot { .. } => ids::ST_1,
        }
    }
}

/// The rule that says when an activity may run.
pub(super) fn activity_rule(a: Activity) -> RuleId {
    match a {
        Activity::DelayFlush => ids::DS_2,
        Activity::Output => ids::WM_4,
        Activity::Input => ids::RX_5,
        Activity::Task => ids::MQ_5,
        Activity::Resume(_) => ids::SND_4,
        Activity::SendTimeout => ids::TO_1,
        Activity::RecvTimeout => ids::RX_11,
        Activity::PendingClose => ids::DIFF_INET_3,
        Activity::Expire(_) => ids::DIFF_SOCK_3,
        Activity::Returned(_) => ids::DIFF_SOCK_1,
        Activity::ServerExit => ids::DIFF_SOCK_10,
        Activity::CloseFallback(_) => ids::DIFF_INET_3,
    }
}
