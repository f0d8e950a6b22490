//! The model (filled in next).
