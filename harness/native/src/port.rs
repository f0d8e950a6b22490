//! A tcp port: its options, the tcp driver, the port-task queue, the
//! processes suspended on it, its lock, the recv that waits on it and the
//! input a timed-out recv left. The runtime drives it.

use crate::driver_queue::TcpDriver;
use crate::held_input::HeldInput;
use crate::lock::PortLock;
use crate::options::PortOptions;
use crate::port_table::PortId;
use crate::port_task::{MsgqLimits, TaskQueue};
use crate::process::SuspendList;
use crate::reader::Reader;
use crate::reply::Busy;

#[derive(Debug)]
pub struct TcpPort {
    /// Its slot while it is in the table; `None` once closed (it may linger,
    /// flushing, after that: CL-1).
    pub id: Option<PortId>,
    pub opts: PortOptions,
    pub driver: TcpDriver,
    pub tasks: TaskQueue,
    pub suspended: SuspendList,
    pub lock: PortLock,
    /// A passive recv reported the peer's end and closed the socket (PC-1).
    pub end_reported: bool,
    /// The reader process's recv, while it waits (RX-7..RX-10).
    pub reader: Reader,
    /// Bytes a timed-out recv gathered, for the next recv (RX-11).
    pub held: HeldInput,
}

impl TcpPort {
    pub fn new(id: PortId, opts: PortOptions, driver: TcpDriver) -> Self {
        TcpPort {
            id: Some(id),
            opts,
            driver,
            tasks: TaskQueue::default(),
            suspended: SuspendList::default(),
            lock: PortLock::new(),
            end_reported: false,
            reader: Reader::default(),
            held: HeldInput::default(),
        }
    }

    /// The port was closed by its owner (SND-6, CL-2).
    pub fn is_closed(&self) -> bool {
        self.id.is_none()
    }

    /// Busy for a sender: driver-busy or msgq-busy (SND-1).
    pub fn is_busy(&self) -> bool {
        self.driver.is_busy() || self.tasks.is_busy()
    }

    pub fn busy(&self) -> Busy {
        Busy { driver: self.driver.is_busy(), msgq: self.tasks.is_busy() }
    }

    pub fn msgq_limits(&self) -> MsgqLimits {
        MsgqLimits { high: self.opts.high_msgq, low: self.opts.low_msgq }
    }
}
