//! The operations a case is made of. The same values drive the model and
//! every system under test (the executor applies each to both).

use crate::options::Opt;
use crate::units::{Bytes, Millis, SenderId};
use serde::{Deserialize, Serialize};

/// Flags of `erlang:port_command/3` as gen_tcp users reach them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SendFlags {
    pub nosuspend: bool,
    pub force: bool,
}

/// A threshold a generated send can be sized against.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mark {
    /// high_watermark minus the driver queue (WM-3's `>=`).
    High,
    /// high_msgq_watermark minus the msgq size (MQ-3's `>`).
    HighMsgq,
    /// low_watermark minus the driver queue (WM-4's `<=`, from below).
    Low,
    /// low_msgq_watermark minus the msgq size (MQ-4's `<`, from below).
    LowMsgq,
}

/// How `gen_tcp:shutdown/2` shuts the port's socket (SD-*).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ShutdownHow {
    /// `write`: a FIN after the queued bytes; the port still receives.
    Write,
    /// `read_write`: the read side ends too (SD-4).
    ReadWrite,
}

/// How a case starts: one port under test connected to a peer socket the
/// harness owns, a listener, and a few sender processes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Setup {
    /// Options applied (as one setopts, OPT-5) to the port right after connect.
    pub options: Vec<Opt>,
    /// `{parallelism, true}` on the port under test (MQ-2).
    pub parallelism: bool,
    /// How many sender processes exist (≥ 2 in generated cases).
    pub senders: u8,
    /// Exact port-table capacity of the runtime (PT-*); the port under test
    /// and the listener take two slots.
    pub table_capacity: usize,
    /// Options of the listener, inherited by accepted ports (OPT-6).
    pub listener_options: Vec<Opt>,
    /// `{show_econnreset, true}` on the port under test at connect (RS-1).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub show_econnreset: bool,
    /// `{linger, {true, 0}}` on the port under test at connect: its close
    /// aborts the connection (CL-4).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub linger_zero: bool,
    /// `{exit_on_close, false}` on the port under test at connect: the
    /// peer's FIN closes only its read side, the port stays and keeps
    /// sending (PC-6, PC-7). Absent from the JSON when true (the default).
    #[serde(default = "exit_on_close_default", skip_serializing_if = "is_true")]
    pub exit_on_close: bool,
    /// The kernel application's `inet_default_connect_options` and
    /// `inet_default_listen_options` while the port under test and the
    /// listener are opened (OPT-8). Fixed cases only: never generated.
    #[serde(default, skip_serializing_if = "KernelEnv::is_empty")]
    pub kernel_env: KernelEnv,
}

/// What the kernel application's environment gives every `gen_tcp:connect`
/// and `gen_tcp:listen` before the call's own options (OPT-8).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KernelEnv {
    /// `inet_default_connect_options`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub connect: Vec<Opt>,
    /// `inet_default_listen_options`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub listen: Vec<Opt>,
}

impl KernelEnv {
    pub fn is_empty(&self) -> bool {
        self.connect.is_empty() && self.listen.is_empty()
    }
}

fn exit_on_close_default() -> bool {
    true
}

fn is_true(b: &bool) -> bool {
    *b
}

impl Default for Setup {
    fn default() -> Self {
        Setup {
            options: vec![],
            parallelism: false,
            senders: 2,
            table_capacity: 8,
            listener_options: vec![],
            show_econnreset: false,
            linger_zero: false,
            exit_on_close: true,
            kernel_env: KernelEnv::default(),
        }
    }
}

/// One step of a case.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "op")]
pub enum Op {
    /// Sender `sender` calls `gen_tcp:send` (or `port_command/3` with flags)
    /// with `len` bytes of payload `tag`. Only an idle sender may send.
    Send { sender: SenderId, len: Bytes, tag: u16, flags: SendFlags },
    /// Generated cases only: a send sized so the queue lands `delta` bytes
    /// from `mark` (exact threshold equalities are otherwise rare). The
    /// executor resolves it into `Send` from the model's state before any
    /// system under test sees it; traces record the resolved `Send`.
    SendAt { sender: SenderId, mark: Mark, delta: i8, tag: u16, flags: SendFlags },
    /// The peer reads up to `max` bytes without blocking.
    PeerRead { max: Bytes },
    /// The peer writes `len` bytes (payload `tag`) to the port's socket; the
    /// step ends once the bytes are readable on the port's side.
    PeerWrite { len: Bytes, tag: u16 },
    /// The port owner calls `gen_tcp:recv(S, 0, 0)`: whatever has arrived.
    Recv,
    /// The reader, a process of the owner's other than the owner, calls
    /// `gen_tcp:recv(S, len, infinity)` on the port under test: it returns
    /// within the step when it can, or waits; what it returns is
    /// `Observation::reader` (RX-7..RX-10). Generated on a passive port
    /// while the reader is idle. With `timeout`, `gen_tcp:recv(S, len, T)`:
    /// a recv that has not got its bytes within T ms returns
    /// `{error,timeout}` and leaves what it gathered buffered (RX-11);
    /// absent from the JSON when infinity.
    RecvWait {
        len: Bytes,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        timeout: Option<Millis>,
    },
    /// The port owner takes every message in its mailbox.
    Mailbox,
    /// Run the runtime until nothing more can happen without the outside world.
    Quiesce,
    /// Block until the runtime has an I/O event, then quiesce (failure bound
    /// inside the system under test; used only when no progress is possible).
    AwaitIo,
    /// Block until the peer's socket is readable (failure bound inside the
    /// system under test): bytes the kernel took are still in flight
    /// (Nagle, delayed ACKs). Used by the executor's drain.
    AwaitPeer,
    /// Advance the runtime's clock and run whatever timers fell due.
    AdvanceTime { by: Millis },
    /// `inet:setopts/2` on the port under test.
    SetOpts { opts: Vec<Opt> },
    /// `inet:getopts/2` of the options the model knows.
    GetOpts,
    /// `erlang:port_info(Port, queue_size)`.
    QueueSize,
    /// Another scheduler takes the port lock (MQ-1: sends get scheduled).
    ContendLock,
    /// The other scheduler releases the port lock.
    ReleaseLock,
    /// The harness connects a client to the listener and the runtime accepts.
    Accept,
    /// Close the most recently accepted port.
    CloseAccepted,
    /// Open one more port (connect) — fills the table (PT-3).
    OpenExtra,
    /// `gen_tcp:close/1` on the port under test.
    Close,
    /// The port owner calls `gen_tcp:shutdown(S, how)` (SD-*).
    Shutdown { how: ShutdownHow },
    /// The peer shuts down its write side (FIN after the bytes it wrote;
    /// it still reads). The step ends once the FIN reached the port's
    /// socket (PC-*).
    PeerShutdown,
    /// Sender `sender`, suspended on the busy port, is killed
    /// (`exit(Pid, kill)`); a fresh process takes its id (SND-7).
    Kill { sender: SenderId },
    /// Sender `sender`, blocked on its reply (the caller whose send made
    /// the port busy, SND-5), is killed (`exit(Pid, kill)`); a fresh
    /// process takes its id (SND-8).
    KillCaller { sender: SenderId },
    /// Another process kills the port under test (`exit(Port, kill)`; its
    /// owner unlinked from it first, so only the port dies): CL-5.
    KillPort,
    /// The port's owner dies (`exit(Owner, kill)`; the BEAM adapter hands
    /// the port to a process of its own first, with
    /// `gen_tcp:controlling_process/2`, and kills that one): CL-6.
    KillOwner,
    /// The peer closes with `{linger, {true, 0}}`: RST. The step ends once
    /// the RST reached the port's socket (RS-1, PC-*).
    PeerReset,
}

impl Op {
    /// Short name used in reports and per-rule coverage.
    pub fn name(&self) -> &'static str {
        match self {
            Op::Send { .. } | Op::SendAt { .. } => "send",
            Op::PeerRead { .. } => "peer_read",
            Op::PeerWrite { .. } => "peer_write",
            Op::Recv => "recv",
            Op::RecvWait { .. } => "recv_wait",
            Op::Mailbox => "mailbox",
            Op::Quiesce => "quiesce",
            Op::AwaitIo => "await_io",
            Op::AwaitPeer => "await_peer",
            Op::AdvanceTime { .. } => "advance_time",
            Op::SetOpts { .. } => "setopts",
            Op::GetOpts => "getopts",
            Op::QueueSize => "queue_size",
            Op::ContendLock => "contend_lock",
            Op::ReleaseLock => "release_lock",
            Op::Accept => "accept",
            Op::CloseAccepted => "close_accepted",
            Op::OpenExtra => "open_extra",
            Op::Close => "close",
            Op::Shutdown { .. } => "shutdown",
            Op::PeerShutdown => "peer_shutdown",
            Op::PeerReset => "peer_reset",
            Op::Kill { .. } => "kill",
            Op::KillCaller { .. } => "kill_caller",
            Op::KillPort => "kill_port",
            Op::KillOwner => "kill_owner",
        }
    }
}
