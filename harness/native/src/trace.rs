//! What the runtime records as it works, for whoever drives it to check:
//! the activities its scheduler ran and the read/write syscalls they made
//! (in order), the sends that finished later, the senders it suspended, the
//! reader's recv that returned later, and a snapshot of the port under
//! test's observable state.

use crate::reader::{self, RecvResult};
use crate::reply::{Busy, SendResult, SenderStatus};
use crate::units::{Bytes, SenderId};

/// One unit of work the scheduler runs (`quiesce` runs one at a time).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Activity {
    /// The zero-delay delay_send flush timer fired (DS-2).
    DelayFlush,
    /// The socket was writable and the driver wrote from its queue (WM-4).
    Output,
    /// The socket was readable and the driver read input (RX-*): active
    /// delivery, or the reads of a waiting recv (RX-7).
    Input,
    /// A port task (scheduled send) ran (MQ-3..MQ-6).
    Task,
    /// A resumed sender ran and retried its send (SND-4).
    Resume(SenderId),
    /// The send timer fired (TO-1/TO-3).
    SendTimeout,
    /// The timer of the reader's `gen_tcp:recv(S, Len, T)` fired: the recv
    /// returned `{error,timeout}`, what it gathered held (RX-11).
    RecvTimeout,
}

/// Something the runtime did: ran an activity, or made a syscall whose
/// outcome was the kernel's to decide.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    /// The scheduler ran this activity (the syscalls it made follow).
    Ran(Activity),
    /// A write of `requested` bytes of which the kernel took `accepted`.
    Wrote { requested: Bytes, accepted: Bytes },
    /// A read that got `got` bytes (0 for EAGAIN or EOF).
    Read { got: Bytes },
}

/// What the runtime recorded since the last [`crate::Runtime::take_trace`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Trace {
    /// Activities and syscalls, in order.
    pub actions: Vec<Action>,
    /// Sends that finished other than by returning from `send`, in order.
    pub completed: Vec<(SenderId, SendResult)>,
    /// Senders that were suspended on the busy port (SND-1).
    pub busy_port_events: Vec<SenderId>,
    /// What the reader's recv returned other than within its own call (a
    /// read on readiness, the owner's close or shutdown, its timer), in
    /// order (RX-7, RX-9, RX-10, RX-11).
    pub reader_returned: Vec<RecvResult>,
}

/// The observable state of the port under test and the runtime.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snapshot {
    pub senders: Vec<SenderStatus>,
    pub queue: Bytes,
    pub busy: Busy,
    pub msgq: Bytes,
    pub ports: usize,
    /// Whether the reader's recv waits on the port under test (RX-7).
    pub reader: reader::Status,
}
