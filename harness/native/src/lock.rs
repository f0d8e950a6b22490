//! The port lock. An immediate send needs it (MQ-1: `erts_port_trylock`), a
//! port task takes it to run; another scheduler (the harness, for
//! `ContendLock`) may hold it, and then sends are scheduled instead.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// A try-only lock shared by everyone who may execute on the port.
#[derive(Clone, Debug, Default)]
pub struct PortLock(Arc<AtomicBool>);

/// Holding the port lock; released on drop.
#[derive(Debug)]
pub struct PortLockGuard(Arc<AtomicBool>);

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

    pub fn is_locked(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }
}

impl Drop for PortLockGuard {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}
