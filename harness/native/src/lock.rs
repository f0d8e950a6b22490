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
