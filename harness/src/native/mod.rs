//! The native port runtime: Erlang-style ports over nonblocking kernel TCP
//! sockets, written as a production event loop (mio) and independently of
//! the reference model, so the suite can check one against the other.
//!
//! - [`runtime`]: the event loop and scheduler (poller, timers, run queue).
//! - [`port_table`]: the fixed-size port table (PT-*).
//! - [`port`]: a tcp port: options, driver, task queue, suspend list, lock.
//! - [`driver_queue`]: the tcp driver's output side (WM-*, DS-*, TO-*, CL-1).
//! - [`port_task`]: the port-task queue and its busy_msgq state (MQ-*).
//! - [`process`]: sender processes and the run queue (SND-*).
//! - [`receive`]: active and passive input (RX-*).
//! - [`options`]: setopts (OPT-*).
//! - [`bugs`]: planted bugs.
//! - [`sut`]: the [`crate::sut::SystemUnderTest`] adapter.

pub mod bugs;
pub mod clock;
pub mod driver_queue;
pub mod lock;
pub mod options;
pub mod port;
pub mod port_table;
pub mod port_task;
pub mod process;
pub mod receive;
pub mod runtime;
pub mod sut;
mod sys;

pub use bugs::PlantedBug;
pub use clock::{Clock, InstantClock, VirtualClock};
pub use runtime::Runtime;
pub use sut::{NativeFactory, NativeSut};
