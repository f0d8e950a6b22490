//! The native port runtime: Erlang-style ports over nonblocking kernel TCP
//! sockets, written as a production event loop (mio) and independently of
//! the reference model, so the suite can check one against the other. It
//! has its own vocabulary (options, replies, units, a trace of what it did);
//! the harness's adapter (`harness::sut::native`) translates.
//!
//! - [`runtime`]: the event loop and scheduler (poller, timers, run queue).
//! - [`port_table`]: the fixed-size port table (PT-*).
//! - [`port`]: a tcp port: options, driver, task queue, suspend list, lock.
//! - [`driver_queue`]: the tcp driver's output side (WM-*, DS-*, TO-*, CL-1).
//! - [`port_task`]: the port-task queue and its busy_msgq state (MQ-*).
//! - [`process`]: sender processes, their send flags and the run queue (SND-*).
//! - [`receive`]: active and passive input (RX-*).
//! - [`reader`]: the reader process's recv with a length, which waits
//!   (RX-7..RX-10), until its timer fires (RX-11).
//! - [`held_input`]: the bytes a timed-out recv gathered, which the next
//!   recv returns first (RX-11).
//! - [`shutdown`]: `gen_tcp:shutdown/2`, at once or once the queue
//!   empties (SD-*).
//! - [`send_error`]: a write meeting the peer's RST, and what the next
//!   send and recv are told of a socket the peer's end closed (PC-4, PC-5).
//! - [`half_close`]: `{exit_on_close, false}`: the peer's FIN closes only
//!   the port's read side, and the port keeps sending (PC-6, PC-7).
//! - [`options`]: the option set and setopts (OPT-*).
//! - [`reply`]: what callers are answered (send results, errors, sender
//!   states, busy states, owner messages).
//! - [`trace`]: what the runtime records (activities run, reads and writes).
//! - [`units`]: bytes, sender ids, milliseconds.
//! - [`payload`]: a send's payload bytes (ST-1), from a precomputed period.
//! - [`lock`]: the port lock another scheduler may hold (MQ-1).
//! - [`clock`]: the injectable clock (virtual for the harness, monotonic in production).
//! - [`close_mode`]: what closing a socket does with unread input (CL-3, KN-RST-5).
//! - [`connect`]: nonblocking connect, its outcome from SO_ERROR (KN-CONN-1/2).
//! - [`listen_port`]: the listen port's accept path, paused rather than
//!   spinning when the process is out of fds (KN-EMFILE-1/2), through
//!   [`accept_loop`], the epoll accept loop that does not spin on EMFILE.
//! - [`sys`]: bounded polls, FIONREAD, socket options, errno names.
//! - [`bugs`]: planted bugs.
//!
//! Where the runtime follows inet_drv rather than a literal reading of the
//! rule text: the low-watermark check (WM-4) runs only after a write that
//! took bytes (an EAGAIN leaves the queue and busy as they were, as
//! `tcp_inet_output` does), and `recv` on a socket closed by
//! send_timeout_close answers `enotconn` (TCP_REQ_RECV checks the connection
//! before the mode).

pub mod accept_loop;
pub mod bugs;
pub mod clock;
pub mod close_mode;
pub mod connect;
pub mod driver_queue;
pub mod half_close;
pub mod held_input;
pub mod listen_port;
pub mod lock;
pub mod options;
pub mod payload;
pub mod port;
pub mod port_table;
pub mod port_task;
pub mod process;
pub mod reader;
pub mod receive;
pub mod reply;
pub mod runtime;
pub mod send_error;
pub mod shutdown;
pub mod sys;
pub mod trace;
pub mod units;

pub use bugs::PlantedBug;
pub use clock::{Clock, InstantClock, VirtualClock};
pub use close_mode::CloseMode;
pub use connect::SocketOpts;
pub use listen_port::AcceptPolicy;
pub use options::{Active, ActiveSetting, Opt, PortOptions, Timeout};
pub use process::SendFlags;
pub use reader::{RecvResult, Status as ReaderStatus};
pub use reply::{Busy, OwnerMsg, Posix, SendResult, SenderStatus};
pub use runtime::{Accepted, OpenError, Runtime, RuntimeError};
pub use shutdown::How as ShutdownHow;
pub use trace::{Action, Activity, Snapshot, Trace};
pub use units::{Bytes, Millis, SenderId};
