//! The runtime's clock. Timers (the send timer, TO-*; the reader's recv
//! timer, RX-11) are deadlines on this clock, each on its own; the harness
//! injects a virtual clock it advances explicitly, a production runtime
//! uses the monotonic clock.

use crate::units::Millis;
use std::cell::Cell;
use std::rc::Rc;
use std::time::Instant;

/// A monotonic millisecond clock.
pub trait Clock {
    fn now(&self) -> Millis;
    /// Whether time passes by itself (then the event loop may block until the
    /// next deadline); a virtual clock only moves when advanced.
    fn is_real(&self) -> bool;
}

/// A clock that only moves when [`VirtualClock::advance`] is called. Clones
/// share the same time.
#[derive(Clone, Debug, Default)]
pub struct VirtualClock(Rc<Cell<u64>>);

impl VirtualClock {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn advance(&self, by: Millis) {
        self.0.set(self.0.get().saturating_add(by.0));
    }
}

impl Clock for VirtualClock {
    fn now(&self) -> Millis {
        Millis(self.0.get())
    }
    fn is_real(&self) -> bool {
        false
    }
}

/// The monotonic clock, in milliseconds since the runtime started.
#[derive(Clone, Debug)]
pub struct InstantClock {
    start: Instant,
}

impl Default for InstantClock {
    fn default() -> Self {
        InstantClock { start: Instant::now() }
    }
}

impl Clock for InstantClock {
    fn now(&self) -> Millis {
        Millis(self.start.elapsed().as_millis() as u64)
    }
    fn is_real(&self) -> bool {
        true
    }
}
