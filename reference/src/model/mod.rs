//! The reference model of one port under test, its senders, its peer and
//! the port table. `Model::step` takes an op and the system under test's
//! choices (kernel byte counts, scheduler order) and predicts everything
//! else, naming the rule behind each predicted value.

mod choices;
mod compare;
mod derive;
mod driver;
mod input;
mod senders;
mod socket_backend;
mod stream;
mod table;
mod tally;
mod tasks;

pub use compare::{compare, Mismatch};
pub use derive::{derive_set, Derivation, Underived, DERIVE_BUDGET, MAX_SET};

use crate::choice::{Activity, Choice};
use crate::observation::{Busy, Observation, OwnerMsg, Reply, SendResult};
use crate::op::{Op, SendFlags, Setup};
use crate::options::{setopts, PortOptions};
use crate::rules::{ids, RuleId};
use crate::units::{Bytes, Millis, SenderId};
use crate::variant::Variant;
use choices::{Choices, Need, Pick};
use senders::Sender;
use std::collections::BTreeMap;
use std::collections::VecDeque;
use std::fmt;
use std::rc::Rc;
use stream::Stream;
use tally::Tally;

/// The largest send a generated `SendAt` resolves to.
pub const SEND_AT_MAX: Bytes = Bytes(1 << 16);

/// The model could not accept the system's choices: they contradict `rule`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Divergence {
    pub rule: RuleId,
    pub what: String,
}

impl Divergence {
    pub fn new(rule: RuleId, what: impl Into<String>) -> Self {
        Divergence { rule, what: what.into() }
    }
}

impl fmt::Display for Divergence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}] {}", self.rule, self.what)
    }
}

/// Which rule decided each observable value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Why {
    pub reply: RuleId,
    pub queue: RuleId,
    pub busy_driver: RuleId,
    pub busy_msgq: RuleId,
    pub msgq: RuleId,
    /// Shared with the model: a prediction copies it once per step, and a
    /// sender's rule changes far less often than that.
    pub senders: Rc<[RuleId]>,
    pub completed: Vec<RuleId>,
    pub ports: RuleId,
}

/// The model's prediction for one step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Prediction {
    pub observation: Observation,
    pub why: Why,
}

/// Where the port under test is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Life {
    Open,
    /// DIFF-INET-3: gen_tcp:close is waiting for the queue to empty; the
    /// port is still open to senders and in the table.
    Closing,
    /// Closed by the user; the socket stays open until the queue is flushed (CL-1).
    Closed,
}

/// A send that is waiting to run: scheduled as a task or suspended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct PendingSend {
    sender: SenderId,
    len: Bytes,
    tag: u16,
    flags: SendFlags,
}

#[derive(Clone, Debug)]
pub struct Model {
    /// Which declared variant of the rules this model follows.
    variant: Variant,
    /// The system's timers run on the real clock (real OTP): a send timer
    /// may fire at any step once armed — steps take real time the model
    /// cannot see — and must have fired once virtual time passes its
    /// deadline (TO-1 then bounds it from above).
    real_clock: bool,
    /// Deriving whether a real-clock timer fired before the op (only the
    /// send timer can run then).
    before_op: bool,
    opts: PortOptions,
    parallelism: bool,
    now: Millis,
    life: Life,
    /// The socket is open (false after TO-3 or once a closed port flushed).
    socket_open: bool,
    /// The socket closed with unread input: the peer was reset (CL-3).
    reset: bool,
    /// The peer's ECONNRESET was already reported to one of its calls.
    reset_reported: bool,
    // --- driver queue (WM-*, DS-*, TO-*) ---
    queue: Bytes,
    out: Stream,
    written: Bytes,
    peer_read: Bytes,
    busy: bool,
    busy_caller: Option<SenderId>,
    /// The earliest armed send timer.
    send_deadline: Option<Millis>,
    /// Variant otp-inet (DIFF-INET-4): later timers armed by sends that took
    /// the busy branch while one was armed (sorted); they outlive busy.
    more_timers: Vec<Millis>,
    /// Variant otp-inet (DIFF-INET-4): the driver's `busy_caller` is never
    /// cleared; a leftover timer answers it.
    last_busy_caller: Option<SenderId>,
    /// Variant otp-inet (DIFF-INET-4): replies in each sender's mailbox that
    /// no send of its took yet, oldest first.
    stale: Vec<VecDeque<SendResult>>,
    /// Variant otp-inet (DIFF-INET-5): a rejected setopts made the socket
    /// active without turning its read readiness on: it reads nothing.
    deaf: bool,
    /// Variant otp-inet (DIFF-INET-4): the sender returned a stale reply
    /// while its own was pending: that reply goes to its mailbox.
    detached: Vec<bool>,
    flush_armed: bool,
    // --- port tasks (MQ-*) ---
    tasks: VecDeque<PendingSend>,
    qsz: Bytes,
    busy_msgq: bool,
    lock_held: bool,
    // --- senders (SND-*) ---
    senders: Vec<Sender>,
    suspended: VecDeque<SenderId>,
    resumable: VecDeque<SenderId>,
    // --- input (RX-*) ---
    input: Stream,
    input_received: Bytes,
    mailbox: Vec<OwnerMsg>,
    // --- port table (PT-*) ---
    capacity: usize,
    ports: usize,
    accepted: usize,
    listener_opts: PortOptions,
    // --- variant otp-socket (DIFF-SOCK-*) ---
    sock: socket_backend::SocketSide,
    // --- per step ---
    completed: Vec<(SenderId, SendResult, RuleId)>,
    /// Completions seen at the end of the step (DIFF-INET-2).
    deferred: Vec<(SenderId, SendResult, RuleId)>,
    busy_port_events: Vec<SenderId>,
    why: Why,
    /// The rule of the most recent decision (for choices nobody expected).
    last_rule: RuleId,
    /// A SCHED-1 violation of the last step, reported by the executor once
    /// the observation itself matched.
    unquiet: Option<Divergence>,
    /// The op's reply once applied, until the step ends. Part of the state
    /// the derivation merges on: two paths that reach the same state after
    /// the op, one having run an activity before the op and one after it,
    /// may have answered differently (a queue size read before or after a
    /// write), so they must not be merged.
    applied: Option<Reply>,
    /// DIFF-INET-3: the queue emptied while gen_tcp:close waited; the
    /// closer has its `{empty_out_q,S}` and will close.
    close_notice: bool,
    /// DIFF-INET-3: the closed port keeps its table slot until flushed.
    slot_held: bool,
    /// Every rule that decided something in this case.
    touched: Tally,
    /// Interesting transitions reached (busy set/cleared, timeouts, ...).
    crossings: Tally,
}

impl Model {
    /// A model for a case; `Err` if the setup options are invalid.
    pub fn new(setup: &Setup) -> Result<Model, Divergence> {
        let opts = setopts(PortOptions::default(), &setup.options)
            .map_err(|r| Divergence::new(r.rule, "setup options rejected"))?
            .options;
        let listener_opts = setopts(PortOptions::default(), &setup.listener_options)
            .map_err(|r| Divergence::new(r.rule, "listener options rejected"))?
            .options;
        let n = setup.senders as usize;
        Ok(Model {
            variant: Variant::Reference,
            real_clock: false,
            before_op: false,
            opts,
            parallelism: setup.parallelism,
            now: Millis(0),
            life: Life::Open,
            socket_open: true,
            reset: false,
            reset_reported: false,
            queue: Bytes::ZERO,
            out: Stream::default(),
            written: Bytes::ZERO,
            peer_read: Bytes::ZERO,
            busy: false,
            busy_caller: None,
            send_deadline: None,
            more_timers: vec![],
            last_busy_caller: None,
            stale: vec![VecDeque::new(); n],
            detached: vec![false; n],
            deaf: false,
            flush_armed: false,
            tasks: VecDeque::new(),
            qsz: Bytes::ZERO,
            busy_msgq: false,
            lock_held: false,
            senders: vec![Sender::Idle; n],
            suspended: VecDeque::new(),
            resumable: VecDeque::new(),
            input: Stream::default(),
            input_received: Bytes::ZERO,
            mailbox: vec![],
            capacity: setup.table_capacity,
            ports: 2,
            accepted: 0,
            listener_opts,
            sock: Default::default(),
            completed: vec![],
            deferred: vec![],
            busy_port_events: vec![],
            why: Why {
                reply: ids::WM_1,
                queue: ids::WM_2,
                busy_driver: ids::WM_3,
                busy_msgq: ids::MQ_3,
                msgq: ids::MQ_3,
                senders: vec![ids::SND_5; n].into(),
                completed: vec![],
                ports: ids::PT_3,
            },
            last_rule: ids::WM_2,
            // OPT-7 (and WM-1, MQ-7 when not overridden) decide the start.
            unquiet: None,
            applied: None,
            close_notice: false,
            slot_held: false,
            touched: Tally::once(&[ids::OPT_7, ids::WM_1, ids::MQ_7]),
            crossings: Tally::default(),
        }
        .with_socket_setup(&setup.options))
    }

    /// What the setup's options mean to the socket backend (DIFF-SOCK-8),
    /// kept for the variant otp-socket; unused by the others.
    fn with_socket_setup(mut self, options: &[crate::options::Opt]) -> Model {
        self.sock_setup(options);
        self
    }

    /// The same model following a declared variant of the rules.
    pub fn into_variant(mut self, variant: Variant) -> Model {
        self.variant = variant;
        self
    }

    /// The same model for a system whose timers run on the real clock.
    pub fn with_real_clock(mut self, real: bool) -> Model {
        self.real_clock = real;
        self
    }

    pub fn variant(&self) -> Variant {
        self.variant
    }

    /// Is `op` meaningful in the current state? (The generator only emits
    /// enabled ops; shrinking re-checks this on every candidate.)
    pub fn enabled(&self, op: &Op) -> bool {
        let open = self.life == Life::Open;
        match op {
            Op::Send { sender, .. } | Op::SendAt { sender, .. } => {
                matches!(self.senders.get(sender.0 as usize), Some(Sender::Idle))
            }
            Op::Recv | Op::SetOpts { .. } | Op::GetOpts | Op::Mailbox => open,
            // Data sent to a socket that already closed races the FIN with
            // the RST it draws: a kernel timing, not a port rule. Not generated.
            Op::PeerWrite { .. } => self.socket_open,
            Op::ContendLock => open && !self.lock_held,
            Op::ReleaseLock => self.lock_held,
            Op::CloseAccepted => self.accepted > 0,
            Op::Close => {
                open && !self.lock_held && self.tasks.is_empty() && self.senders.iter().all(|s| *s == Sender::Idle)
            }
            _ => true,
        }
    }

    /// Resolve a generated `SendAt` into the `Send` it stands for now.
    pub fn resolve(&self, op: &Op) -> Op {
        match *op {
            Op::SendAt { sender, mark, delta, tag, flags } => {
                let (target, current) = match mark {
                    crate::op::Mark::High => (self.opts.high, self.queue),
                    crate::op::Mark::HighMsgq => (self.opts.high_msgq, self.qsz),
                };
                // A mark out of reach (a msgq limit that means "none",
                // OPT-3) is not chased with gigabyte sends.
                let len = (target.0 as i64 - current.0 as i64 + delta as i64).clamp(0, SEND_AT_MAX.0 as i64) as usize;
                Op::Send { sender, len: Bytes(len), tag, flags }
            }
            ref other => other.clone(),
        }
    }

    /// Bytes the kernel accepted that the peer has not read yet.
    pub fn peer_unread(&self) -> Bytes {
        self.written - self.peer_read
    }

    /// Bytes still in the driver queue (on the socket backend: bytes
    /// pending sends have still to write).
    pub fn queued(&self) -> Bytes {
        if self.variant == Variant::OtpSocket {
            return self.sock_pending();
        }
        self.queue
    }

    /// Is the port's socket still open?
    pub fn socket_open(&self) -> bool {
        self.socket_open
    }

    /// Which senders are idle (may send).
    pub fn idle_senders(&self) -> Vec<SenderId> {
        (0..self.senders.len()).filter(|&i| self.senders[i] == Sender::Idle).map(|i| SenderId(i as u8)).collect()
    }

    pub fn options(&self) -> PortOptions {
        self.opts
    }

    /// The socket closes now; with unread input the kernel resets (CL-3).
    fn close_socket(&mut self) {
        self.socket_open = false;
        if self.input_pending() > Bytes::ZERO {
            self.reset = true;
            self.cross(ids::CL_3);
        }
    }

    fn input_pending(&self) -> Bytes {
        self.input.len() - self.input_received
    }

    fn decide(&mut self, rule: RuleId) -> RuleId {
        self.last_rule = rule;
        self.touched.bump(rule);
        rule
    }

    /// The quiescence violation of the last step, if any (SCHED-1 and the
    /// rule of the activity left runnable).
    pub fn take_unquiet(&mut self) -> Option<Divergence> {
        self.unquiet.take()
    }

    /// The rule behind sender `i`'s status (copied on write: predictions
    /// hold the previous list).
    fn why_sender(&mut self, i: usize, rule: RuleId) {
        Rc::make_mut(&mut self.why.senders)[i] = rule;
    }

    /// Record an interesting transition of `rule` (coverage).
    fn cross(&mut self, rule: RuleId) {
        self.touched.bump(rule);
        self.crossings.bump(rule);
    }

    /// OPT-*: which option rules a setopts list exercised.
    fn cross_options(&mut self, list: &[crate::options::Opt]) {
        use crate::options::Opt;
        for o in list {
            match o {
                Opt::HighWatermark(v) if (*v as i128) < self.opts.low.0 as i128 || *v < 0 => self.cross(ids::OPT_1),
                Opt::LowWatermark(v) if (*v as i128) > self.opts.high.0 as i128 || *v < 0 => self.cross(ids::OPT_2),
                Opt::HighMsgqWatermark(_) | Opt::LowMsgqWatermark(_) => self.cross(ids::OPT_4),
                Opt::Active(crate::options::ActiveSetting::N(_)) => self.cross(ids::RX_3),
                _ => {}
            }
        }
        if list.len() > 1 {
            self.cross(ids::OPT_5);
        }
    }

    /// Rules that decided something in this case, with counts.
    pub fn touched(&self) -> BTreeMap<RuleId, usize> {
        self.touched.to_map()
    }

    /// Interesting transitions reached in this case, with counts.
    pub fn crossings(&self) -> BTreeMap<RuleId, usize> {
        self.crossings.to_map()
    }

    /// Apply one op with the system's choices; predict the observation.
    pub fn step(&mut self, op: &Op, choices: &[Choice]) -> Result<Prediction, Divergence> {
        self.step_on(op, &mut Choices::new(choices), false)
    }

    /// Apply one op reading choices from `c`. `settle`: the system under
    /// test ran itself to quiescence before answering (real OTP, through
    /// its adapter), so the op is followed by a quiescence in the same step.
    fn step_on(&mut self, op: &Op, c: &mut Choices, settle: bool) -> Result<Prediction, Divergence> {
        self.applied = None;
        self.completed.clear();
        self.busy_port_events.clear();
        if settle && self.real_clock {
            // A real runtime on a real kernel keeps going between steps:
            // an armed send timer may fire, and an ACK that arrived after
            // the last answer may let the driver write, before the op
            // reaches the port.
            while self.before_op_enabled().next().is_some() {
                self.before_op = true;
                let a = c.next_activity()?;
                self.before_op = false;
                match a {
                    None => break,
                    Some(a) if self.before_op_enabled().any(|b| b == a) => self.run_activity(a, c)?,
                    Some(other) => {
                        return Err(Divergence::new(activity_rule(other), format!("{other:?} ran before the op")))
                    }
                }
            }
        }
        let (reply, reply_rule) = self.apply(op, c)?;
        if settle {
            // Only a settling step quiesces after the op, where the
            // derivation merges on it.
            self.applied = Some(reply.clone());
        }
        if settle && !matches!(op, Op::Quiesce | Op::AwaitIo | Op::AdvanceTime { .. }) {
            self.decide(ids::SCHED_1);
            self.quiesce(c)?;
        }
        if !self.deferred.is_empty() {
            if !self.completed.is_empty() {
                self.cross(ids::DIFF_INET_2);
            }
            let d = std::mem::take(&mut self.deferred);
            self.completed.extend(d);
        }
        let mut reply = reply;
        let mut reply_rule = reply_rule;
        if let (true, Op::Send { sender, .. }, Reply::Sent(None)) = (settle, op, &reply) {
            // A system that settles within the step reports its own send's
            // result in the reply when it finished before the step ended.
            if let Some(i) = self.completed.iter().position(|c| c.0 == *sender) {
                let (_, r, rule) = self.completed.remove(i);
                reply = Reply::Sent(Some(r));
                reply_rule = rule;
            }
        }
        match c.leftover() {
            None => {}
            Some(Pick::Made(extra)) => {
                return Err(Divergence::new(
                    self.unexpected_rule(extra),
                    format!("the system made a choice the model has no place for: {extra:?}"),
                ))
            }
            Some(Pick::Quiet) => return Err(Divergence::new(ids::SCHED_1, "quiet where nothing could run")),
        }
        self.why.reply = reply_rule;
        self.applied = None;
        Ok(self.predict(reply))
    }

    fn apply(&mut self, op: &Op, c: &mut Choices) -> Result<(Reply, RuleId), Divergence> {
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
            Op::PeerWrite { len, tag } => {
                self.input.push(*tag, *len);
                (Reply::None, ids::RX_6)
            }
            Op::Recv => self.recv(c)?,
            Op::Mailbox => (Reply::Mailbox(std::mem::take(&mut self.mailbox)), ids::RX_5),
            Op::AwaitPeer => (Reply::None, ids::ST_1),
            Op::Quiesce | Op::AwaitIo => {
                self.decide(ids::SCHED_1);
                self.quiesce(c)?;
                (Reply::None, ids::SCHED_1)
            }
            Op::AdvanceTime { by } => {
                self.now = Millis(self.now.0 + by.0);
                self.quiesce(c)?;
                (Reply::None, ids::TO_1)
            }
            Op::SetOpts { opts } if self.variant == Variant::OtpSocket => self.sock_setopts(opts),
            Op::SetOpts { opts } => match setopts(self.opts, opts) {
                Ok(applied) => {
                    self.cross_options(opts);
                    if self.deaf && !same_active_mode(self.opts.active, applied.options.active) {
                        // DIFF-INET-5: the active mode changed: readiness follows it again.
                        self.deaf = false;
                        self.cross(ids::DIFF_INET_5);
                    }
                    self.opts = applied.options;
                    if applied.went_passive {
                        self.mailbox.push(OwnerMsg::TcpPassive);
                    }
                    (Reply::SetOpts(Ok(())), ids::OPT_5)
                }
                Err(rej) => {
                    self.cross(rej.rule);
                    if self.variant == Variant::OtpInet
                        && !self.opts.active.is_active()
                        && rej.options.active.is_active()
                    {
                        // DIFF-INET-5: inet_set_opts returns before it turns
                        // the read readiness on.
                        self.deaf = true;
                        self.cross(ids::DIFF_INET_5);
                        self.decide(ids::DIFF_INET_5);
                    }
                    // What came before the invalid option stays applied.
                    self.cross_options(opts);
                    self.opts = rej.options;
                    if rej.went_passive {
                        self.mailbox.push(OwnerMsg::TcpPassive);
                    }
                    (Reply::SetOpts(Err(crate::observation::Posix::Einval)), rej.rule)
                }
            },
            Op::GetOpts => (Reply::Opts(self.opts), ids::OPT_5),
            Op::QueueSize => (Reply::QueueSize(self.observed_queue()), self.why.queue),
            Op::ContendLock => {
                self.lock_held = true;
                (Reply::None, ids::MQ_1)
            }
            Op::ReleaseLock => {
                self.lock_held = false;
                (Reply::None, ids::MQ_1)
            }
            Op::Accept => self.accept(),
            Op::CloseAccepted => self.close_accepted(),
            Op::OpenExtra => self.open_extra(),
            Op::Close => self.close(),
        })
    }

    /// Run enabled activities in the order the system chose, then check that
    /// nothing runnable is left (SCHED-1).
    fn quiesce(&mut self, c: &mut Choices) -> Result<(), Divergence> {
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
    fn before_op_enabled(&self) -> impl Iterator<Item = Activity> + '_ {
        // A send timer that fired between steps cleared busy (TO-1) and
        // resumed the suspended senders, which retry on their own schedule:
        // before the op reaches the port too (unexplained beam-inet-42/43).
        let resume = self.resumable.front().map(|&s| Activity::Resume(s));
        [Activity::SendTimeout, Activity::Output, Activity::PendingClose]
            .into_iter()
            .chain(resume)
            .filter(|&a| self.activity_enabled(a))
    }

    fn activity_enabled(&self, a: Activity) -> bool {
        match a {
            Activity::DelayFlush => self.flush_armed,
            Activity::Output if self.variant == Variant::OtpSocket => self.sock_output_enabled(),
            Activity::Output => self.queue > Bytes::ZERO && self.socket_open && !self.flush_armed,
            Activity::Expire(s) => self.variant == Variant::OtpSocket && self.sock_may_expire(s),
            Activity::Returned(s) => self.variant == Variant::OtpSocket && self.sock_may_return(s),
            Activity::Input => self.input_enabled(),
            Activity::Task => self.runnable_task().is_some(),
            Activity::Resume(s) => self.resumable.front() == Some(&s),
            Activity::SendTimeout if self.real_clock => {
                self.send_deadline.is_some() && (self.busy || self.variant == Variant::OtpInet)
            }
            Activity::PendingClose => self.close_pending() || self.sock_close_requested(),
            Activity::SendTimeout => self.timeout_due(),
        }
    }

    /// An activity that must run before the runtime may call itself quiet.
    /// Output is not among them: only the kernel knows when it may write.
    fn mandatory_activity(&self) -> Option<Activity> {
        if self.variant == Variant::OtpSocket {
            if let Some(a) = self.sock_mandatory() {
                return Some(a);
            }
        }
        if self.timeout_due() {
            Some(Activity::SendTimeout)
        } else if self.flush_armed {
            Some(Activity::DelayFlush)
        } else if let Some(&s) = self.resumable.front() {
            Some(Activity::Resume(s))
        } else if self.runnable_task().is_some() {
            Some(Activity::Task)
        } else if self.input_enabled() {
            Some(Activity::Input)
        } else {
            None
        }
    }

    fn run_activity(&mut self, a: Activity, c: &mut Choices) -> Result<(), Divergence> {
        match a {
            Activity::DelayFlush => self.delay_flush(c),
            Activity::Output if self.variant == Variant::OtpSocket => self.sock_output(c),
            Activity::Output => self.output(c),
            Activity::Expire(s) => {
                self.sock_expire(s);
                Ok(())
            }
            Activity::Returned(s) => {
                self.sock_returned(s);
                Ok(())
            }
            Activity::Input => self.input(c),
            Activity::Task => self.run_task(c),
            Activity::Resume(s) => self.resume(s, c),
            Activity::SendTimeout => {
                self.send_timeout();
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
                if self.busy_caller.take().is_some() {
                    self.cross(ids::DIFF_INET_3);
                }
                self.send_deadline = None;
                self.more_timers.clear();
                self.close_now();
                Ok(())
            }
        }
    }

    /// Who says `a` cannot run: a sender resumed while the port is still
    /// busy is blamed on the rule that keeps it busy.
    fn disabled_rule(&self, a: Activity) -> RuleId {
        match a {
            Activity::Resume(_) if self.busy => self.why.busy_driver,
            Activity::Resume(_) if self.busy_msgq => self.why.busy_msgq,
            other => activity_rule(other),
        }
    }

    fn unexpected_rule(&self, extra: Choice) -> RuleId {
        match extra {
            Choice::Ran(a) => activity_rule(a),
            Choice::Wrote { .. } if self.opts.delay_send => ids::DS_1,
            Choice::Wrote { .. } => self.last_rule,
            Choice::Read { .. } => ids::RX_1,
            Choice::PeerGot { .. } => ids::ST_1,
        }
    }

    /// DIFF-INET-3: on OTP a port closed with output queued stays in
    /// ERTS's port table while its driver flushes, and port_info still
    /// reports the queue.
    fn observed_queue(&self) -> Bytes {
        if (self.life == Life::Closed && self.variant != Variant::OtpInet) || self.variant == Variant::OtpSocket {
            Bytes::ZERO
        } else {
            self.queue
        }
    }

    fn predict(&self, reply: Reply) -> Prediction {
        let senders = self.senders.iter().map(|s| s.status()).collect();
        let mut why = self.why.clone();
        why.completed = self.completed.iter().map(|c| c.2).collect();
        Prediction {
            observation: Observation {
                reply,
                senders,
                completed: self.completed.iter().map(|&(s, r, _)| (s, r)).collect(),
                busy_port_events: self.busy_port_events.clone(),
                queue: self.observed_queue(),
                busy: Some(Busy { driver: self.busy, msgq: self.busy_msgq }),
                msgq: Some(self.qsz),
                ports: self.ports,
            },
            why,
        }
    }
}

/// The rule that says when an activity may run.
fn activity_rule(a: Activity) -> RuleId {
    match a {
        Activity::DelayFlush => ids::DS_2,
        Activity::Output => ids::WM_4,
        Activity::Input => ids::RX_5,
        Activity::Task => ids::MQ_5,
        Activity::Resume(_) => ids::SND_4,
        Activity::SendTimeout => ids::TO_1,
        Activity::PendingClose => ids::DIFF_INET_3,
        Activity::Expire(_) => ids::DIFF_SOCK_3,
        Activity::Returned(_) => ids::DIFF_SOCK_1,
    }
}

/// DIFF-INET-5: the driver's active modes (passive, once, N, always); a
/// change between them turns the read readiness on or off again.
fn same_active_mode(a: crate::options::Active, b: crate::options::Active) -> bool {
    std::mem::discriminant(&a) == std::mem::discriminant(&b)
}
