//! Quantities with meaning. Byte counts and sender ids are the protocol's
//! own (`reference::units`); a port's identity in the table is this
//! runtime's.

pub use reference::units::{Bytes, SenderId};
use std::fmt;

/// A port's slot in the port table (PT-*): unique for the life of a case.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PortId(pub u32);

impl fmt::Display for PortId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#Port<{}>", self.0)
    }
}
