//! What a system under test reports after each step, and what the model
//! predicts for it. Compared field by field by the executor.

use crate::options::PortOptions;
use crate::units::{Bytes, SenderId};
use serde::{Deserialize, Serialize};

/// Errors as gen_tcp names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Posix {
    Timeout,
    Closed,
    Enotconn,
    Einval,
    SystemLimit,
    /// The peer reset the connection, reported so (RS-1).
    Econnreset,
    /// A recv while another recv on the port waits (RX-8).
    Ealready,
}

/// The value a finished send returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SendResult {
    Ok,
    /// `port_command(.., [nosuspend])` returned false.
    False,
    Error(Posix),
}

/// Where a sender process is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SenderStatus {
    Idle,
    /// Waiting for the reply of a send it made (SND-5, MQ-5).
    Waiting,
    /// Suspended on a busy port (SND-1).
    Suspended,
}

/// A message in the port owner's mailbox.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OwnerMsg {
    Tcp(Vec<u8>),
    TcpPassive,
    /// `{tcp_closed, S}` (PC-2, PC-3, DIFF-INET-7).
    TcpClosed,
    /// `{tcp_error, S, Reason}` (RS-1).
    TcpError(Posix),
}

/// The peer's view of a nonblocking read.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PeerRead {
    Data(Vec<u8>),
    WouldBlock,
    Eof,
    /// ECONNRESET: the port's socket was closed with unread input (CL-3).
    Reset,
}

/// What accept returned.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AcceptOutcome {
    /// A port was created; its options (OPT-6).
    Accepted(PortOptions),
    /// PT-2: the port was not created; `peer_eof` says whether the client saw
    /// EOF, i.e. whether the accepted fd was closed.
    Failed { error: Posix, peer_eof: bool },
}

/// The op's own result.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reply {
    None,
    /// The send returned within the step (otherwise the sender is waiting or
    /// suspended and its result arrives later in `completed`).
    Sent(Option<SendResult>),
    Peer(PeerRead),
    Recv(Result<Vec<u8>, Posix>),
    Mailbox(Vec<OwnerMsg>),
    SetOpts(Result<(), Posix>),
    Opts(PortOptions),
    QueueSize(Bytes),
    Accept(AcceptOutcome),
    Opened(Result<(), Posix>),
    Closed(Result<(), Posix>),
    /// `gen_tcp:shutdown/2` returned (SD-1).
    Shutdown(Result<(), Posix>),
}

/// The reader process of `Op::RecvWait`: its `gen_tcp:recv(S, Len,
/// infinity)`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reader {
    /// No recv of the reader's is in progress: none was made, or the last
    /// one returned in an earlier step.
    #[default]
    Idle,
    /// Its recv waits for bytes (RX-7).
    Waiting,
    /// Its recv returned during the step (within the `recv_wait` op's own
    /// step, or later), with this (RX-7, RX-9, RX-10).
    Returned(Result<Vec<u8>, Posix>),
}

impl Reader {
    pub fn is_idle(&self) -> bool {
        *self == Reader::Idle
    }
}

/// Busy flags, for a system under test that can show them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Busy {
    /// The driver queue's busy port (WM-3/WM-4).
    pub driver: bool,
    /// The port-task queue's busy state (MQ-3/MQ-4).
    pub msgq: bool,
}

/// Everything observable after a step.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Observation {
    pub reply: Reply,
    /// Status of every sender, index = `SenderId`.
    pub senders: Vec<SenderStatus>,
    /// Sends that finished during the step (other than the op's own), in
    /// the order they finished.
    pub completed: Vec<(SenderId, SendResult)>,
    /// Senders that raised a busy_port monitor event during the step (SND-1).
    pub busy_port_events: Vec<SenderId>,
    /// Bytes in the driver queue of the port under test.
    pub queue: Bytes,
    /// Busy flags; `None` when the system under test cannot show them.
    pub busy: Option<Busy>,
    /// Bytes of scheduled output tasks; `None` when not observable.
    pub msgq: Option<Bytes>,
    /// Ports in the table.
    pub ports: usize,
    /// The reader process (`Op::RecvWait`); absent from the JSON while idle.
    #[serde(default, skip_serializing_if = "Reader::is_idle")]
    pub reader: Reader,
}
