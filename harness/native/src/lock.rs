//! The port lock. An immediate send needs it (MQ-1: `erts_port_trylock`), a
//! port task takes it to run; another scheduler (the harness, for
//! `ContendLock`) may hold it, and then sends are scheduled instead.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// A try-only lock shared by everyone who may execute on the port.
#[derive(Clone, Debug, Default)]
pub struct PortLock(Arc<AtomicBool>);

/// Holding the port lock; released on drop. Owns a handle on the lock, so
/// another scheduler (the harness) can keep it across calls.
#[derive(Debug)]
pub struct PortLockGuard(Arc<AtomicBool>);

/// Holding the port lock for the length of a borrow (the runtime's own
/// sends and tasks): no reference count to take and drop on every send.
#[derive(Debug)]
pub struct PortLockHeld<'a>(&'a AtomicBool);

impl PortLock {
    pub fn new() -> Self {
        Self::default()
    }

    /// Take the lock if it is free.
    pub fn try_lock(&self) -> Option<PortLockGuard> {
        self.0
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .ok()
            .map(|_| PortLockGuard(self.0.clone()))
    }

    /// Take the lock if it is free, for as long as `self` is borrowed.
    pub fn try_hold(&self) -> Option<PortLockHeld<'_>> {
        self.0.compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed).ok().map(|_| PortLockHeld(&self.0))
    }

    pub fn is_locked(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }
}

impl Drop for PortLockGuard {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

impl Drop for PortLockHeld<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The runtime's borrowed hold and the harness's owned guard exclude
    /// each other (MQ-1), and each releases the lock when dropped.
    #[test]
    fn hold_and_guard_exclude_each_other() {
        let lock = PortLock::new();
        let held = lock.try_hold().expect("free");
        assert!(lock.is_locked());
        assert!(lock.try_lock().is_none() && lock.try_hold().is_none(), "held: no second holder");
        drop(held);
        assert!(!lock.is_locked());
        let guard = lock.try_lock().expect("free again");
        assert!(lock.try_hold().is_none(), "the harness holds it: the runtime schedules instead");
        drop(guard);
        assert!(lock.try_hold().is_some());
    }
}
