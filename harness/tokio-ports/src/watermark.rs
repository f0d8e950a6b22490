//! When the driver queue makes the port busy and when it stops being busy
//! (WM-3, WM-4). The two thresholds are deliberately asymmetric: busy at
//! `>=` high, not busy again at `<=` low.

use crate::plant::Plant;
use crate::units::Bytes;

/// The port's high and low watermarks (WM-1 defaults, OPT-1/OPT-2 algebra
/// in `options.rs`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Watermarks {
    pub high: Bytes,
    pub low: Bytes,
}

impl Watermarks {
    /// WM-3: a send of `size` onto a queue holding `before` makes the port
    /// busy iff `before + size >= high`.
    pub fn goes_busy(self, before: Bytes, size: Bytes) -> bool {
        before + size >= self.high
    }

    /// WM-4: after a write from the queue that took bytes, a busy port with
    /// `remaining <= low` leaves busy. The planted `resume-at-high` leaves
    /// it as soon as the queue is below high.
    pub fn clears_busy(self, remaining: Bytes, plant: Option<Plant>) -> bool {
        if plant == Some(Plant::ResumeAtHigh) {
            return remaining < self.high;
        }
        remaining <= self.low
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busy_at_high_inclusive_and_clear_at_low_inclusive() {
        let w = Watermarks { high: Bytes(100), low: Bytes(50) };
        assert!(!w.goes_busy(Bytes(60), Bytes(39)));
        assert!(w.goes_busy(Bytes(60), Bytes(40)));
        assert!(w.clears_busy(Bytes(50), None));
        assert!(!w.clears_busy(Bytes(51), None));
        assert!(w.clears_busy(Bytes(99), Some(Plant::ResumeAtHigh)));
    }
}
