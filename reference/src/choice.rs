//! The choices the model cannot make: what the kernel did and in which order
//! the runtime's scheduler ran enabled activities. A system under test
//! reports them with each step; the model takes them as inputs and predicts
//! every other observable from them.

use crate::units::{Bytes, SenderId};
use serde::{Deserialize, Serialize};

/// An activity the runtime's scheduler chose to run during `Quiesce`,
/// `AwaitIo` or `AdvanceTime`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Activity {
    /// The zero-delay delay_send flush timer fired (DS-2).
    DelayFlush,
    /// The socket was writable and the driver wrote from its queue (WM-4).
    Output,
    /// The socket was readable and the driver read input (RX-*).
    Input,
    /// A port task (scheduled send) ran (MQ-3..MQ-6).
    Task,
    /// A resumed sender ran and retried its send (SND-4).
    Resume(SenderId),
    /// The send timer fired (TO-1/TO-3).
    SendTimeout,
    /// The timer of the reader's `gen_tcp:recv(S, Len, T)` fired (RX-11).
    RecvTimeout,
    /// A gen_tcp:close that waited for the queue to empty went on and
    /// closed the port (DIFF-INET-3; the closing process runs on its own
    /// schedule).
    PendingClose,
    /// Variant otp-socket (DIFF-SOCK-3): the send timer of this sender's
    /// pending `gen_tcp:send` fired (each send has its own).
    Expire(SenderId),
    /// Variant otp-socket (DIFF-SOCK-1): this sender's `gen_tcp:send`,
    /// already finished at the socket, returned to it (senders whose sends
    /// finished together return in any order).
    Returned(SenderId),
    /// Variant otp-socket on OTP 27+ (DIFF-SOCK-10): the socket's server,
    /// having closed the socket, exited; calls to it answer einval from now.
    ServerExit,
    /// Variant otp-inet on OTP 25 (DIFF-INET-3): this sender, waiting for
    /// the reply of a port that was closed since, gave up waiting after
    /// INET_CLOSE_TIMEOUT, monitored the port, found it gone and returned
    /// `{error,closed}` (prim_inet:send_recv_reply/2; a real-clock timer).
    CloseFallback(SenderId),
}

/// One choice, in the order the system under test made it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Choice {
    /// The scheduler ran an activity.
    Ran(Activity),
    /// A write syscall on the port under test: what was asked and what the
    /// kernel took (0 for EAGAIN).
    Wrote { requested: Bytes, accepted: Bytes },
    /// A read syscall on the port under test returned `got` bytes (0: EAGAIN).
    Read { got: Bytes },
    /// The peer's nonblocking read returned `got` bytes (0: nothing or EOF).
    PeerGot { got: Bytes },
}
