//! Applying an op to the port: the reply it gets and the rule behind it.
//! The ops' own rules live with their concepts (sends in `driver.rs`,
//! receiving in `input.rs`, the table in `table.rs`); setopts is here.

use super::backend::Backend;
use super::senders::Sender;
use super::{Choices, Divergence, Life, Model, PendingSend, SEND_AT_MAX};
use crate::observation::{OwnerMsg, Posix, Reply};
use crate::op::Op;
use crate::options::{setopts, ActiveSetting, Opt};
use crate::rules::{ids, RuleId};
use crate::units::{Bytes, Millis};
use crate::variant::Variant;

impl Model {
    /// Is `op` meaningful in the current state? (The generator only emits
    /// enabled ops; shrinking re-checks this on every candidate.)
    pub fn enabled(&self, op: &Op) -> bool {
        let open = self.state.life == Life::Open;
        if matches!(op, Op::ContendLock) && self.write_fails() {
            // A failing write makes the port exit or close its socket
            // (PC-5, SD-3) with sends scheduled as port tasks behind the
            // lock, whose abort is not modelled.
            return false;
        }
        if let Some(e) = self.enabled_half_closed(op) {
            return e;
        }
        if let Some(e) = self.enabled_after_kill(op) {
            return e;
        }
        if let Some(e) = self.enabled_while_reading(op) {
            return e;
        }
        if let Some(e) = self.enabled_after_end(op) {
            return e;
        }
        if let Some(e) = self.enabled_after_shutdown(op) {
            return e;
        }
        match op {
            Op::Shutdown { .. } => self.shutdown_enabled(),
            Op::RecvWait { .. } => self.recv_wait_enabled(),
            Op::SetOpts { opts } if !self.enabled_while_held(opts) => false,
            Op::Kill { sender } => self.kill_enabled(*sender),
            Op::KillCaller { sender } => self.kill_caller_enabled(*sender),
            Op::KillPort => self.kill_port_enabled(),
            Op::KillOwner => self.kill_owner_enabled(),
            Op::PeerShutdown => self.may_end(),
            Op::PeerReset => self.may_reset(),
            Op::Send { sender, .. } | Op::SendAt { sender, .. } => {
                matches!(self.state.senders.list.get(sender.0 as usize), Some(Sender::Idle))
            }
            Op::Recv | Op::SetOpts { .. } | Op::GetOpts | Op::Mailbox => open,
            // Data sent to a socket that already closed races the FIN with
            // the RST it draws: a kernel timing, not a port rule. Not generated.
            Op::PeerWrite { .. } => self.state.socket_open,
            Op::ContendLock => open && !self.state.tasks.lock_held,
            Op::ReleaseLock => self.state.tasks.lock_held,
            Op::CloseAccepted => self.state.table.accepted > 0,
            // Also while senders wait on the inet driver
            // (reference/tests/model/close_waiting.rs); not on the socket
            // backend, whose senders wait in the socket's server (a close
            // under them not measured).
            Op::Close => {
                open && !self.state.tasks.lock_held
                    && self.state.tasks.queue.is_empty()
                    && (!self.on_socket() || self.state.senders.list.iter().all(|s| *s == Sender::Idle))
            }
            _ => true,
        }
    }

    /// Resolve a generated `SendAt` into the `Send` it stands for now.
    pub fn resolve(&self, op: &Op) -> Op {
        match *op {
            Op::SendAt { sender, mark, delta, tag, flags } => {
                let (target, current) = match mark {
                    crate::op::Mark::High => (self.state.opts.high, self.driver().queue),
                    crate::op::Mark::HighMsgq => (self.state.opts.high_msgq, self.state.tasks.size),
                    crate::op::Mark::Low => (self.state.opts.low, self.driver().queue),
                    crate::op::Mark::LowMsgq => (self.state.opts.low_msgq, self.state.tasks.size),
                };
                // A mark out of reach (a msgq limit that means "none",
                // OPT-3) is not chased with gigabyte sends.
                let len = (target.0 as i64 - current.0 as i64 + delta as i64).clamp(0, SEND_AT_MAX.0 as i64) as usize;
                Op::Send { sender, len: Bytes(len), tag, flags }
            }
            ref other => other.clone(),
        }
    }

    pub(super) fn apply(&mut self, op: &Op, c: &mut Choices) -> Result<(Reply, RuleId), Divergence> {
        Ok(match op {
            Op::SendAt { .. } => return Err(Divergence::new(ids::SCHED_1, "SendAt reached the model unresolved")),
            Op::Send { sender, len, tag, flags } => {
                let p = PendingSend { sender: *sender, len: *len, tag: *tag, flags: *flags };
                let r = self.send(p, c)?;
                match self.take_reply(*sender, r) {
                    (r, true) => (Reply::Sent(r), ids::DIFF_INET_4),
                    (r, false) => (Reply::Sent(r), self.last_rule),
                }
            }
            Op::PeerRead { .. } => self.peer_read(c)?,
            Op::PeerWrite { .. } if !self.state.socket_open => self.peer_write_to_closed(),
            Op::PeerWrite { len, tag } => {
                self.state.input.stream.push(*tag, *len);
                (Reply::None, ids::RX_6)
            }
            Op::Recv => self.recv(c)?,
            Op::RecvWait { len, timeout } => self.recv_wait(*len, *timeout, c)?,
            Op::Mailbox => (Reply::Mailbox(std::mem::take(&mut self.state.input.mailbox)), ids::RX_5),
            Op::AwaitPeer => (Reply::None, ids::ST_1),
            Op::Quiesce | Op::AwaitIo => {
                self.decide(ids::SCHED_1);
                self.quiesce(c)?;
                (Reply::None, ids::SCHED_1)
            }
            Op::AdvanceTime { by } => {
                self.state.now = Millis(self.state.now.0 + by.0);
                self.quiesce(c)?;
                (Reply::None, ids::TO_1)
            }
            Op::SetOpts { opts } => {
                let before = self.state.opts;
                let (reply, rule) = match self.state.backend {
                    Backend::Driver(_) => self.setopts(opts),
                    Backend::Socket(_) => self.sock_setopts(opts),
                };
                let refused = matches!(reply, Reply::SetOpts(Err(_))).then_some(rule);
                let after = self.state.opts;
                // OPT-5 holds for the driver's list (back to front); the
                // socket backend applies front to back (DIFF-SOCK-2).
                let other = match self.state.backend {
                    Backend::Driver(_) => crate::options::setopts_other_order(before, opts),
                    Backend::Socket(_) => None,
                };
                self.why.opts.record(&before, &after, opts, refused, other.as_ref());
                (reply, rule)
            }
            Op::GetOpts => (Reply::Opts(self.state.opts), ids::OPT_5),
            Op::QueueSize => (Reply::QueueSize(self.observed_queue()), self.why.queue),
            Op::ContendLock => {
                self.state.tasks.lock_held = true;
                (Reply::None, ids::MQ_1)
            }
            Op::ReleaseLock => {
                self.state.tasks.lock_held = false;
                (Reply::None, ids::MQ_1)
            }
            Op::Accept => self.accept(),
            Op::CloseAccepted => self.close_accepted(),
            Op::OpenExtra => self.open_extra(),
            Op::Close => self.close(),
            Op::Shutdown { how } => self.shutdown(*how),
            Op::PeerShutdown => self.peer_ends(super::peer_end::PeerEnd::Fin),
            Op::PeerReset => self.peer_ends(super::peer_end::PeerEnd::Reset),
            Op::Kill { sender } => self.kill(*sender),
            Op::KillCaller { sender } => self.kill_caller(*sender),
            Op::KillPort => self.kill_port(),
            Op::KillOwner => self.kill_owner(),
        })
    }

    /// OPT-*: setopts on the inet driver; a rejected list keeps what came
    /// before the invalid option (OPT-3) and, on OTP, may leave the socket
    /// deaf (DIFF-INET-5).
    fn setopts(&mut self, opts: &[Opt]) -> (Reply, RuleId) {
        if let Some(r) = self.setopts_after_end(opts) {
            return r;
        }
        if let Some(r) = self.on_exited_port(ids::OPT_5) {
            return r;
        }
        if let Some(applied) = self.exits_on_active(opts) {
            // DIFF-INET-7: {tcp_closed,S} and driver_exit.
            self.cross(ids::DIFF_INET_7);
            self.state.input.mailbox.push(OwnerMsg::TcpClosed);
            self.state.opts = applied;
            self.state.life = Life::Closed;
            self.state.exited = true;
            self.state.table.ports -= 1;
            self.why.ports = ids::DIFF_INET_7;
            self.port_gone();
            return (Reply::SetOpts(Ok(())), self.decide(ids::DIFF_INET_7));
        }
        match setopts(self.state.opts, opts) {
            Ok(applied) => {
                self.cross_options(opts);
                if self.state.input.deaf && !same_active_mode(self.state.opts.active, applied.options.active) {
                    // DIFF-INET-5: the active mode changed: readiness follows it again.
                    self.state.input.deaf = false;
                    self.cross(ids::DIFF_INET_5);
                }
                self.state.opts = applied.options;
                for _ in 0..applied.passive_notices {
                    self.state.input.mailbox.push(OwnerMsg::TcpPassive);
                }
                if let Some(rule) = self.tell_half_closed() {
                    return (Reply::SetOpts(Ok(())), rule);
                }
                // The rule that could have refused the list decided its ok.
                (Reply::SetOpts(Ok(())), super::accepted_rule(opts))
            }
            Err(rej) => {
                self.cross(rej.rule);
                if self.config.variant == Variant::OtpInet
                    && !self.state.opts.active.is_active()
                    && rej.options.active.is_active()
                {
                    // DIFF-INET-5: inet_set_opts returns before it turns
                    // the read readiness on.
                    self.state.input.deaf = true;
                    self.cross(ids::DIFF_INET_5);
                    self.decide(ids::DIFF_INET_5);
                }
                // What came before the invalid option stays applied.
                self.cross_options(opts);
                self.state.opts = rej.options;
                for _ in 0..rej.passive_notices {
                    self.state.input.mailbox.push(OwnerMsg::TcpPassive);
                }
                (Reply::SetOpts(Err(Posix::Einval)), rej.rule)
            }
        }
    }
}

impl Model {
    /// DIFF-INET-7: does the driver, applying `opts` back to front (OPT-5),
    /// reach an active option that leaves the port active while
    /// send_timeout_close has closed its socket? Then the port exits there,
    /// with the options applied up to that one.
    fn exits_on_active(&self, opts: &[Opt]) -> Option<crate::options::PortOptions> {
        let closed_by_timeout = self.state.life == Life::Open && !self.state.socket_open;
        // RX-3: prim_inet's encoder refuses the whole list first.
        let encodable =
            !opts.iter().any(|o| matches!(o, Opt::Active(ActiveSetting::N(n)) if i16::try_from(*n).is_err()));
        if self.config.variant != Variant::OtpInet || !closed_by_timeout || !encodable {
            return None;
        }
        for i in (0..opts.len()).rev() {
            if !matches!(opts[i], Opt::Active(_)) {
                continue;
            }
            // An invalid option processed before this one stops the driver first (OPT-3).
            let applied = setopts(self.state.opts, &opts[i..]).ok()?;
            if applied.options.active.is_active() {
                return Some(applied.options);
            }
        }
        None
    }
}

/// DIFF-INET-5: the driver's active modes (passive, once, N, always); a
/// change between them turns the read readiness on or off again.
fn same_active_mode(a: crate::options::Active, b: crate::options::Active) -> bool {
    std::mem::discriminant(&a) == std::mem::discriminant(&b)
}
