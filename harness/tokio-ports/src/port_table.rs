//! The port table: a fixed number of slots (the case's `table_capacity`);
//! opening a port in a full table fails with system_limit (PT-2, PT-3),
//! closing one frees its slot (PT-4).

use crate::units::PortId;
use std::collections::BTreeMap;

/// What a slot holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PortKind {
    UnderTest,
    Listener,
    Accepted,
    Extra,
}

/// No free slot: `{error, system_limit}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SystemLimit;

#[derive(Debug)]
pub struct PortTable {
    capacity: usize,
    next: u32,
    slots: BTreeMap<PortId, PortKind>,
}

impl PortTable {
    pub fn new(capacity: usize) -> PortTable {
        PortTable { capacity, next: 0, slots: BTreeMap::new() }
    }

    /// Take a slot (PT-3 for open, PT-2 for accept).
    pub fn open(&mut self, kind: PortKind) -> Result<PortId, SystemLimit> {
        if self.slots.len() >= self.capacity {
            return Err(SystemLimit);
        }
        self.next += 1;
        let id = PortId(self.next);
        self.slots.insert(id, kind);
        Ok(id)
    }

    /// Take a slot even when the table is full: the planted
    /// `accept-over-limit` does this (a missing PT-2 check).
    pub fn open_unchecked(&mut self, kind: PortKind) -> PortId {
        self.next += 1;
        let id = PortId(self.next);
        self.slots.insert(id, kind);
        id
    }

    /// PT-4 (and CL-2: a closed port leaves the table at once).
    pub fn close(&mut self, id: PortId) {
        self.slots.remove(&id);
    }

    pub fn count(&self) -> usize {
        self.slots.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_table_refuses_and_a_close_frees_a_slot() {
        let mut t = PortTable::new(2);
        let a = t.open(PortKind::UnderTest).unwrap();
        t.open(PortKind::Listener).unwrap();
        assert_eq!(t.open(PortKind::Extra), Err(SystemLimit));
        t.close(a);
        assert!(t.open(PortKind::Extra).is_ok());
        assert_eq!(t.count(), 2);
    }
}
