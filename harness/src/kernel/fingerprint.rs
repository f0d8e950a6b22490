//! TODO
pub fn dummy() {}
