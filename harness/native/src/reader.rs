//! The reader process's recv: `gen_tcp:recv(S, Len, T)` made on a
//! passive port by a process other than its owner. inet_drv queues it as
//! the port's one async operation (`enq_async`, so a second recv meanwhile
//! is `{error,ealready}`: RX-8) and reads for it at once and then whenever
//! the socket is readable (`tcp_recv(desc, Len)`), until it has its Len
//! bytes (RX-7), a read finds the peer's end (RX-9; also the end that
//! the owner's `shutdown(S, read_write)` makes, SD-4) or the port closes
//! its socket under it (RX-10), or, with a timeout T, its timer fires
//! (`driver_set_timer`, `tcp_inet_timeout`): it returns `{error,timeout}`
//! and what it gathered stays held for the next recv (RX-11,
//! [`crate::held_input`]).
//!
//! This module keeps the recv's state and makes its reads; the runtime
//! decides when they run, when the timer fires and what the port does at
//! the end.

use crate::bugs::{Faults, PlantedBug};
use crate::clock::Clock;
use crate::driver_queue::TcpDriver;
use crate::receive::{end_of, End, INPUT_BUFFER};
use crate::reply::Posix;
use crate::trace::Action;
use crate::units::{Bytes, Millis};
use std::io;

/// What a recv returns: its bytes, or an error as `inet` names it.
pub type RecvResult = Result<Vec<u8>, Posix>;

/// How many bytes the recv returns (RX-7).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Want {
    /// Len 0: the bytes of the first read that gets any, one input buffer
    /// at most.
    Any,
    /// Len > 0: exactly this many. Each read asks only for the bytes still
    /// missing (`tcp_remain`), so nothing past them leaves the kernel and
    /// the next recv gets them.
    Exactly(usize),
}

impl Want {
    pub fn of(len: Bytes) -> Want {
        match len.0 {
            0 => Want::Any,
            n => Want::Exactly(n),
        }
    }
}

/// When the recv's reads stop short of finishing it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reads {
    /// Within the recv call itself (TCP_REQ_RECV's `tcp_recv`): read until
    /// the kernel has nothing more (EAGAIN), so an end that is already
    /// there is found at once (RX-9).
    UntilWouldBlock,
    /// On the socket's readiness (`tcp_inet_input`), as active input reads:
    /// while the socket is readable as far as the driver knows.
    WhileReadable,
}

/// Where the reader's recv is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Status {
    /// No recv of the reader's is in progress.
    #[default]
    Idle,
    /// Its recv waits for bytes (RX-7).
    Waiting,
}

/// How the reader's recv finished.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Finished {
    /// It has its bytes (RX-7).
    Bytes(Vec<u8>),
    /// A read found the peer's end (a FIN is reported closed, a RST
    /// econnreset only with show_econnreset: RS-1). The recv returns
    /// `result`: the end, the bytes it had gathered dropped (RX-9). The
    /// port then does what it does after any passive recv that reached the
    /// end (PC-1; PC-6 with exit_on_close false).
    End { end: End, result: RecvResult },
}

impl Finished {
    /// What the recv returns.
    pub fn result(self) -> RecvResult {
        match self {
            Finished::Bytes(b) => Ok(b),
            Finished::End { result, .. } => result,
        }
    }
}

/// A recv in progress: what it wants, the bytes it has so far (held ones
/// a timed-out recv left, RX-11, then its reads') and when its timer
/// fires.
#[derive(Debug)]
struct Recv {
    want: Want,
    gathered: Vec<u8>,
    /// On the runtime's clock; `None`: infinity.
    deadline: Option<Millis>,
}

impl Recv {
    /// The most the next read may take.
    fn missing(&self) -> usize {
        match self.want {
            Want::Any => INPUT_BUFFER,
            Want::Exactly(n) => n - self.gathered.len(),
        }
    }

    fn is_complete(&self) -> bool {
        match self.want {
            Want::Any => !self.gathered.is_empty(),
            Want::Exactly(n) => self.gathered.len() == n,
        }
    }

    /// One read syscall, straight into the recv's buffer, for at most the
    /// bytes still missing.
    fn read(&mut self, driver: &mut TcpDriver, trace: &mut Vec<Action>) -> io::Result<usize> {
        let have = self.gathered.len();
        self.gathered.resize(have + self.missing(), 0);
        let r = driver.read(&mut self.gathered[have..], trace);
        self.gathered.truncate(have + r.as_ref().map_or(0, |n| *n));
        r
    }

    /// RX-9: the end before the recv had its bytes.
    fn at_end(self, end: End, faults: Faults) -> Finished {
        // Planted bug: what was gathered is returned as if it were all.
        let result = if faults.has(PlantedBug::ReaderReturnsPartialAtEnd) && !self.gathered.is_empty() {
            Ok(self.gathered)
        } else {
            Err(end.reported())
        };
        Finished::End { end, result }
    }
}

/// The port's reader: at most one recv in progress (RX-8).
#[derive(Debug, Default)]
pub struct Reader {
    waiting: Option<Recv>,
}

impl Reader {
    pub fn status(&self) -> Status {
        match self.waiting {
            Some(_) => Status::Waiting,
            None => Status::Idle,
        }
    }

    pub fn is_waiting(&self) -> bool {
        self.waiting.is_some()
    }

    /// The recv starts waiting from `gathered` (bytes held from a
    /// timed-out recv that do not finish it, RX-11; its reads ask only for
    /// what they miss), its timer armed for `deadline`; its first reads are
    /// the caller's to make ([`Reader::read`] with
    /// [`Reads::UntilWouldBlock`]).
    ///
    /// # Panics
    /// If a recv already waits: the reader is blocked in it and cannot
    /// make another (the runtime refuses that before).
    pub fn start(&mut self, want: Want, gathered: Vec<u8>, deadline: Option<Millis>) {
        assert!(self.waiting.is_none(), "the reader's recv already waits");
        self.waiting = Some(Recv { want, gathered, deadline });
    }

    /// When the waiting recv's timer fires (RX-11), if one waits with a
    /// timeout.
    pub fn deadline(&self) -> Option<Millis> {
        self.waiting.as_ref().and_then(|r| r.deadline)
    }

    /// RX-11: the waiting recv's timer is due; reads the clock only while
    /// a timer runs.
    pub fn timer_due(&self, clock: &dyn Clock) -> bool {
        self.deadline().is_some_and(|d| clock.now() >= d)
    }

    /// RX-11 (`tcp_inet_timeout`): the waiting recv gives up; it returns
    /// `{error,timeout}` (the caller reports it). `Some(gathered)`: what
    /// it had, which stays in the driver for the next recv; `None` when no
    /// recv waits.
    pub fn time_out(&mut self, faults: Faults) -> Option<Vec<u8>> {
        let recv = self.waiting.take()?;
        // Planted bug: what the recv gathered goes with it.
        if faults.has(PlantedBug::RecvTimeoutDropsGathered) {
            return Some(Vec::new());
        }
        Some(recv.gathered)
    }

    /// Read for the waiting recv (if any) until it finishes or `reads`
    /// says to stop; `None` while it waits on. A read error other than the
    /// peer's end (EAGAIN) leaves it waiting for the next readiness.
    pub fn read(
        &mut self,
        driver: &mut TcpDriver,
        reads: Reads,
        trace: &mut Vec<Action>,
        faults: Faults,
    ) -> Option<Finished> {
        let recv = self.waiting.as_mut()?;
        loop {
            if reads == Reads::WhileReadable && !driver.input_ready() {
                return None;
            }
            let r = recv.read(driver, trace);
            if let Some(end) = end_of(&r, driver.show_econnreset, faults) {
                return self.waiting.take().map(|recv| recv.at_end(end, faults));
            }
            match r {
                Ok(_) if recv.is_complete() => {
                    return self.waiting.take().map(|recv| Finished::Bytes(recv.gathered));
                }
                Ok(_) => {}
                Err(_) => return None,
            }
        }
    }

    /// RX-10: the owner closed the port or shut its reading side, or the
    /// socket closed under it (`tcp_close_check`: `async_error_am_all`):
    /// the waiting recv, if any, returns `{error,closed}`; what it had
    /// gathered is dropped.
    pub fn cancel(&mut self) -> Option<RecvResult> {
        self.waiting.take().map(|_| Err(Posix::Closed))
    }
}
