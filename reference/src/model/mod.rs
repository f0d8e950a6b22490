//! The reference model of one port under test, its senders, its peer and
//! the port table. `Model::step` takes an op and the system under test's
//! choices (kernel byte counts, scheduler order) and predicts everything
//! else, naming the rule behind each predicted value.
//!
//! What decides the future is `PortState`, one part per concept, each
//! declared in its file: the peer's side of the stream (`stream.rs`), the
//! port's task queue (`tasks.rs`), the senders (`senders.rs`), input
//! (`input.rs`), the port table (`table.rs`) and the `Backend` that
//! carries output: the inet driver's queue (`driver.rs`) or the socket
//! NIF's pending sends (`socket_backend.rs`). Apart from it: the case's
//! `Config`, what the current `Step` produced, the rule behind each value
//! (`Why`) and the case's coverage (`tally.rs`).

mod backend;
mod choices;
mod compare;
mod derive;
mod driver;
mod half_close;
mod input;
mod ops;
mod owner_death;
mod peer_end;
mod port_kill;
mod provenance;
mod reader;
mod schedule;
mod senders;
mod shutdown;
mod socket_backend;
mod step;
mod stream;
mod table;
mod tally;
mod tasks;

pub use compare::{compare, Field, Mismatch};
pub use derive::{derive_set, Derivation, DeriveOptions, Underived, DERIVE_BUDGET, MAX_SET};
pub use provenance::{accepted_rule, OptField, OptsWhy};

use crate::observation::{Observation, Reply, SendResult};
use crate::op::{SendFlags, Setup};
use crate::options::{setopts, Opt, PortOptions};
use crate::rules::{ids, RuleId};
use crate::units::{Bytes, Millis, SenderId};
use crate::variant::{OtpRelease, Variant};
use backend::Backend;
use choices::{Choices, Need, Pick};
use driver::DriverQueue;
use input::Input;
use senders::{Sender, Senders};
use socket_backend::SocketSide;
use std::fmt;
use std::sync::Arc;
use stream::Peer;
use table::PortTable;
use tally::{Coverage, Tally};
use tasks::TaskQueue;

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
    pub senders: Arc<[RuleId]>,
    pub completed: Vec<RuleId>,
    /// The rule that decided the order of the step's completions, when one
    /// did (DIFF-INET-2, DIFF-INET-6): `completed` names what each one
    /// returned, not where it came. Not compared; `portcheck diff` names
    /// an order two runtimes differ in by it.
    pub completed_order: Option<RuleId>,
    pub ports: RuleId,
    /// The rule behind the reader's status or the result of its recv
    /// (RX-7..RX-10).
    pub reader: RuleId,
    /// The rule that set each option's current value (a `getopts`
    /// difference is blamed on it).
    pub opts: OptsWhy,
}

/// The model's prediction for one step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Prediction {
    pub observation: Observation,
    pub why: Why,
}

/// Where the port under test is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Life {
    Open,
    /// DIFF-INET-3: gen_tcp:close is waiting for the queue to empty; the
    /// port is still open to senders and in the table.
    Closing,
    /// Closed by the user; the socket stays open until the queue is flushed (CL-1).
    Closed,
}

/// A send that is waiting to run: scheduled as a task or suspended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct PendingSend {
    sender: SenderId,
    len: Bytes,
    tag: u16,
    flags: SendFlags,
}

/// What a case configures; the same in every state of a prediction set.
#[derive(Clone, Debug)]
struct Config {
    variant: Variant,
    /// The measured OTP release whose DIFF rules apply (the OTP variants;
    /// `OtpRelease::rule_set` picks it for the running release).
    otp: OtpRelease,
    /// The system's timers run on the real clock (real OTP): an armed send
    /// timer may fire at any step, and has fired once virtual time passes
    /// its deadline (TO-1).
    real_clock: bool,
    parallelism: bool,
    /// The port table's size (PT-1).
    capacity: usize,
    /// What an accepted socket inherits (OPT-6).
    listener_opts: PortOptions,
    /// SO_RCVLOWAT as the setup's options set it (DIFF-SOCK-8), for the
    /// variant otp-socket.
    rcvlowat: Option<Bytes>,
    /// `{show_econnreset, true}` at connect (RS-1).
    show_econnreset: bool,
    /// `{linger, {true, 0}}` at connect (CL-4).
    linger_zero: bool,
    /// `{exit_on_close, true}` (the default); false: the peer's FIN
    /// half-closes the port (PC-6, PC-7).
    exit_on_close: bool,
}

/// Everything that decides the port's future. With `Step`, it is what the
/// derivation merges on: two models with equal states and steps predict
/// the same from here on, whichever rules decided their past.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct PortState {
    opts: PortOptions,
    now: Millis,
    life: Life,
    /// false after TO-3, or once a closed port flushed (CL-1).
    socket_open: bool,
    /// DIFF-INET-3: the queue emptied while gen_tcp:close waited; the
    /// closer has its `{empty_out_q,S}` and will close.
    close_notice: bool,
    /// The port exited (exit_on_close: PC-2, PC-3, PC-5, DIFF-INET-7)
    /// rather than being closed by its owner (DIFF-INET-10).
    exited: bool,
    /// The port was killed by another process (CL-5).
    killed: bool,
    peer: Peer,
    backend: Backend,
    tasks: TaskQueue,
    senders: Senders,
    input: Input,
    table: PortTable,
    /// The port's own shutdown of its socket (SD-*).
    shut: shutdown::Shut,
    /// The reader's recv, while it waits (RX-7).
    reader: Option<reader::WaitingRecv>,
    /// `shutdown(2)` was made at least once: the FIN is out, even while
    /// a second shutdown over queued output is pending (SD-1, SD-2).
    fin_sent: bool,
    /// SD-3: a shutdown was made when the queue it waited for emptied
    /// (`TCP_ADDF_SHUTDOWN_WR_DONE`, which only that path sets): a write
    /// failing on it is reported as closed, whatever show_econnreset says.
    shut_after_flush: bool,
}

/// What the current step produced so far; cleared as a step starts.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct Step {
    completed: Vec<(SenderId, SendResult, RuleId)>,
    /// Completions seen at the end of the step (DIFF-INET-2).
    deferred: Vec<(SenderId, SendResult, RuleId)>,
    busy_port_events: Vec<SenderId>,
    /// The op's reply once applied, until the step ends: paths that ran an
    /// activity before the op and after it may reach the same state with
    /// different replies (a queue size read before or after a write).
    applied: Option<Reply>,
    /// Deriving whether a real-clock timer fired before the op.
    before_op: bool,
    /// Running what the system did between steps, before the op reached
    /// the port (a write then is followed by the op's own enqueue).
    between_steps: bool,
    /// What the reader's recv returned during the step (RX-7..RX-10).
    reader_returned: Option<Result<Vec<u8>, crate::observation::Posix>>,
}

#[derive(Clone, Debug)]
pub struct Model {
    config: Config,
    state: PortState,
    step: Step,
    why: Why,
    /// The rule of the most recent decision (for choices nobody expected).
    last_rule: RuleId,
    /// The rule that had left the queue non-empty when the last send was
    /// enqueued onto it (WM-3): a system that wrote that send directly
    /// instead had an empty queue, which that rule decided.
    enqueued_onto: RuleId,
    /// A SCHED-1 violation of the last step, reported by the executor once
    /// the observation itself matched.
    unquiet: Option<Divergence>,
    coverage: Coverage,
}

impl Model {
    /// A model for a case; `Err` if the setup options are invalid.
    pub fn new(setup: &Setup) -> Result<Model, Divergence> {
        // OPT-8: the kernel environment's defaults come first.
        let env = |list: &[Opt], what: &str| {
            crate::options::kernel_env_base(list)
                .map(|a| a.options)
                .map_err(|r| Divergence::new(r.rule, format!("kernel environment {what} options rejected")))
        };
        let base = env(&setup.kernel_env.connect, "connect")?;
        let listener_base = env(&setup.kernel_env.listen, "listen")?;
        let opts =
            setopts(base, &setup.options).map_err(|r| Divergence::new(r.rule, "setup options rejected"))?.options;
        let listener_opts = setopts(listener_base, &setup.listener_options)
            .map_err(|r| Divergence::new(r.rule, "listener options rejected"))?
            .options;
        let n = setup.senders as usize;
        let mut opts_why = OptsWhy::default();
        opts_why.record_kernel_env(&PortOptions::default(), &base);
        let other = crate::options::setopts_other_order(base, &setup.options);
        opts_why.record(&base, &opts, &setup.options, None, other.as_ref());
        Ok(Model {
            config: Config {
                variant: Variant::Reference,
                otp: OtpRelease::DEFAULT,
                real_clock: false,
                parallelism: setup.parallelism,
                capacity: setup.table_capacity,
                listener_opts,
                rcvlowat: socket_backend::setup_rcvlowat(&setup.options),
                show_econnreset: setup.show_econnreset,
                linger_zero: setup.linger_zero,
                exit_on_close: setup.exit_on_close,
            },
            state: PortState {
                opts,
                now: Millis(0),
                life: Life::Open,
                socket_open: true,
                close_notice: false,
                exited: false,
                killed: false,
                peer: Peer::default(),
                backend: Backend::Driver(DriverQueue::default()),
                tasks: TaskQueue::default(),
                senders: Senders::new(n),
                input: Input::default(),
                table: PortTable { ports: 2, accepted: 0, slot_held: false },
                shut: shutdown::Shut::Open,
                fin_sent: false,
                shut_after_flush: false,
                reader: None,
            },
            step: Step::default(),
            why: Why {
                reply: ids::WM_1,
                queue: ids::WM_2,
                busy_driver: ids::WM_3,
                busy_msgq: ids::MQ_3,
                msgq: ids::MQ_3,
                senders: vec![ids::SND_5; n].into(),
                completed: vec![],
                completed_order: None,
                ports: ids::PT_3,
                reader: ids::RX_7,
                opts: opts_why,
            },
            last_rule: ids::WM_2,
            enqueued_onto: ids::WM_3,
            unquiet: None,
            // OPT-7 (and WM-1, MQ-7 when not overridden) decide the start.
            coverage: Coverage {
                touched: Tally::once(&[ids::OPT_7, ids::WM_1, ids::MQ_7]),
                crossings: Tally::default(),
            },
        })
    }

    /// The same model following a declared variant of the rules.
    pub fn into_variant(mut self, variant: Variant) -> Model {
        self.config.variant = variant;
        self.state.backend = match variant {
            Variant::OtpSocket => Backend::Socket(SocketSide::with_rcvlowat(self.config.rcvlowat)),
            Variant::Reference | Variant::OtpInet => Backend::Driver(DriverQueue::default()),
        };
        self
    }

    /// The same model for a system whose timers run on the real clock.
    pub fn with_real_clock(mut self, real: bool) -> Model {
        self.config.real_clock = real;
        self
    }

    pub fn variant(&self) -> Variant {
        self.config.variant
    }

    /// Judge the case by the DIFF rules of `release`'s rule set (the
    /// newest measured release not newer than it).
    pub fn with_otp(mut self, release: OtpRelease) -> Model {
        self.config.otp = release.rule_set().release;
        if self.otp_27_on() {
            // DIFF-SOCK-11: low_watermark no longer sets SO_RCVLOWAT.
            self.config.rcvlowat = None;
            if let Backend::Socket(s) = &mut self.state.backend {
                *s = SocketSide::with_rcvlowat(None);
            }
        }
        self
    }

    /// The measured release whose rules apply.
    pub fn otp(&self) -> OtpRelease {
        self.config.otp
    }

    /// OTP 27 or newer: the releases whose DIFF rules differ from 25's
    /// (DIFF-INET-6, DIFF-SOCK-10).
    pub(super) fn otp_27_on(&self) -> bool {
        self.config.otp >= OtpRelease(27)
    }

    /// Bytes the kernel accepted that the peer has not read yet.
    pub fn peer_unread(&self) -> Bytes {
        self.state.peer.written - self.state.peer.read
    }

    /// The peer has read every byte and the port's end is there: its next
    /// read sees EOF (CL-1, SD-1), not a reset.
    pub fn peer_expects_eof(&self) -> bool {
        self.peer_at_eof() && !self.peer_reset()
    }

    /// Bytes still in the driver queue (on the socket backend: bytes
    /// pending sends have still to write).
    pub fn queued(&self) -> Bytes {
        match &self.state.backend {
            Backend::Driver(d) => d.queue,
            Backend::Socket(_) => self.sock_pending(),
        }
    }

    /// The rule that requires the system to make progress now, if any: a
    /// stall (a wait for progress that timed out) is blamed on it. Bytes
    /// the kernel took must reach the peer, and queued bytes on an open
    /// socket must be written: ST-1; a delay_send flush is DS-2's; a closed
    /// port's flush CL-1's.
    pub fn progress_rule(&self) -> Option<RuleId> {
        let flushing = self.queued() > Bytes::ZERO && self.state.socket_open;
        if !flushing {
            return (self.peer_unread() > Bytes::ZERO).then_some(ids::ST_1);
        }
        Some(match &self.state.backend {
            Backend::Driver(d) if d.flush_armed => ids::DS_2,
            _ if self.state.life == Life::Closed => ids::CL_1,
            _ => ids::ST_1,
        })
    }

    /// Is the port's socket still open?
    pub fn socket_open(&self) -> bool {
        self.state.socket_open
    }

    /// Which senders are idle (may send).
    pub fn idle_senders(&self) -> Vec<SenderId> {
        (0..self.state.senders.list.len())
            .filter(|&i| self.state.senders.list[i] == Sender::Idle)
            .map(|i| SenderId(i as u8))
            .collect()
    }

    pub fn options(&self) -> PortOptions {
        self.state.opts
    }

    /// The socket closes now; with unread input the kernel resets (CL-3),
    /// which a peer that already has the port's FIN never reads as a reset
    /// (SD-3: its reads see EOF, its writes EPIPE). With a zero linger time
    /// every close resets (CL-4, KN-RST-3): the owner's, and the driver's
    /// own (a recv at the peer's end, a failed write, send_timeout_close).
    fn close_socket(&mut self) {
        self.state.socket_open = false;
        let unread = self.input_pending() > Bytes::ZERO;
        if unread || self.config.linger_zero {
            self.state.peer.reset = true;
            self.state.peer.reset_reported |= self.peer_had_the_fin();
            self.cross(if unread { ids::CL_3 } else { ids::CL_4 });
        }
    }

    fn input_pending(&self) -> Bytes {
        self.state.input.stream.len() - self.state.input.received
    }

    fn decide(&mut self, rule: RuleId) -> RuleId {
        self.last_rule = rule;
        self.coverage.touched.bump(rule);
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
        Arc::make_mut(&mut self.why.senders)[i] = rule;
    }
}
