//! What the runtime answers its callers: a send's result, errors as
//! `inet` names them, where a sender process is, the port's busy states and
//! the messages its owner receives.

/// An error as `inet`/`gen_tcp` reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Posix {
    Timeout,
    Closed,
    Enotconn,
    Einval,
    SystemLimit,
    /// The peer reset the connection, with show_econnreset (RS-1).
    Econnreset,
    /// A recv while another recv on the port waits (RX-8).
    Ealready,
}

/// The value a finished send returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SendResult {
    Ok,
    /// `port_command(.., [nosuspend])` returned false.
    False,
    Error(Posix),
}

/// Where a sender process is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SenderStatus {
    Idle,
    /// Waiting for the reply of a send it made (SND-5, MQ-5).
    Waiting,
    /// Suspended on a busy port (SND-1).
    Suspended,
}

/// A message in the port owner's mailbox.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OwnerMsg {
    /// `{tcp, Port, Data}`: input delivered in active mode.
    Tcp(Vec<u8>),
    /// `{tcp_passive, Port}`: the `{active, N}` count ran out (RX-4).
    TcpPassive,
    /// `{tcp_closed, Port}`: an active port read the peer's end (PC-3),
    /// or was made active after a recv reported it (PC-2).
    TcpClosed,
    /// `{tcp_error, Port, Reason}`: a reset, with show_econnreset (RS-1).
    TcpError(Posix),
}

/// The port's two busy states.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Busy {
    /// The driver queue's busy port (WM-3/WM-4).
    pub driver: bool,
    /// The port-task queue's busy state (MQ-3/MQ-4).
    pub msgq: bool,
}
