//! The port table: a fixed number of slots (PT-*). Opening a port (connect,
//! listen, accept) needs a free slot; closing one frees it (PT-4).

use std::fmt;

use crate::bugs::{Faults, PlantedBug};

/// How many slots a runtime asked for a table of `size` makes: `size`, the
/// table size PT-1 computes (requested, clamped, rounded up to a power of
/// two), which the runtime's caller has already computed. Planted bug
/// `TableSizeRoundedDown`: rounded to a power of two again, downward.
pub fn slots(size: usize, faults: Faults) -> usize {
    if faults.has(PlantedBug::TableSizeRoundedDown) && size > 0 {
        1 << size.ilog2()
    } else {
        size
    }
}

/// A slot index in the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PortId(pub usize);

impl fmt::Display for PortId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#Port<0.{}>", self.0)
    }
}

/// The table is full (`system_limit`, PT-2/PT-3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TableFull;

/// A table of at most `capacity` entries. Slots are reused lowest-first.
#[derive(Debug)]
pub struct PortTable<T> {
    slots: Vec<Option<T>>,
    len: usize,
}

impl<T> PortTable<T> {
    pub fn with_capacity(capacity: usize) -> Self {
        PortTable { slots: (0..capacity).map(|_| None).collect(), len: 0 }
    }

    pub fn capacity(&self) -> usize {
        self.slots.len()
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn is_full(&self) -> bool {
        self.len == self.slots.len()
    }

    /// Reserve a slot before creating the port's resources, so a full table
    /// fails without opening anything (PT-3).
    pub fn check_free(&self) -> Result<(), TableFull> {
        if self.is_full() {
            Err(TableFull)
        } else {
            Ok(())
        }
    }

    pub fn insert(&mut self, value: T) -> Result<PortId, TableFull> {
        let ix = self.slots.iter().position(Option::is_none).ok_or(TableFull)?;
        self.slots[ix] = Some(value);
        self.len += 1;
        Ok(PortId(ix))
    }

    pub fn remove(&mut self, id: PortId) -> Option<T> {
        let v = self.slots.get_mut(id.0)?.take();
        if v.is_some() {
            self.len -= 1;
        }
        v
    }

    pub fn get(&self, id: PortId) -> Option<&T> {
        self.slots.get(id.0)?.as_ref()
    }

    pub fn get_mut(&mut self, id: PortId) -> Option<&mut T> {
        self.slots.get_mut(id.0)?.as_mut()
    }

    pub fn contains(&self, id: PortId) -> bool {
        self.get(id).is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capacity_is_exact_and_slots_are_freed() {
        let mut t = PortTable::with_capacity(2);
        let a = t.insert('a').unwrap();
        let _b = t.insert('b').unwrap();
        assert_eq!(t.insert('c'), Err(TableFull));
        assert_eq!(t.remove(a), Some('a'));
        assert_eq!(t.len(), 1);
        assert_eq!(t.insert('c'), Ok(a));
    }
}
