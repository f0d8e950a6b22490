//! `{exit_on_close, false}`: the peer's FIN closes only the port's read
//! side (PC-6, PC-7). inet_drv.c `tcp_recv_closed` (exitf) calls
//! `desc_close_read` where the default closes the socket (a passive
//! port, PC-1) or exits the port (an active one, PC-3): the driver stops
//! selecting the socket for reading and keeps it for writing, so sends go
//! on as before the end and the peer gets no FIN until the port closes
//! (CL-1).
//!
//! Only the peer's FIN half-closes. Its RST, the port's own shutdown and
//! send_timeout_close take their usual paths whatever exit_on_close says
//! (those branches were not measured, and no case combines them).

use crate::bugs::{Faults, PlantedBug};
use crate::receive::End;

/// `{exit_on_close, _}`: what a read reaching the peer's FIN does to the
/// port.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ExitOnClose {
    /// The default (`true`): a passive port closes its socket (PC-1), an
    /// active one exits (PC-3).
    #[default]
    Exit,
    /// `false`: only the read side closes (PC-6, PC-7).
    CloseRead,
}

impl ExitOnClose {
    /// `{exit_on_close, on}`.
    pub fn from_flag(on: bool) -> Self {
        if on {
            ExitOnClose::Exit
        } else {
            ExitOnClose::CloseRead
        }
    }

    /// Whether a read that reached `end` closes only the port's read side
    /// (PC-6, PC-7): a FIN on a port with exit_on_close false. A RST goes
    /// as it always does (PC-3, PC-5, RS-1).
    pub fn closes_read_only(self, end: End, faults: Faults) -> bool {
        // Planted bug: the FIN is handled as with exit_on_close true.
        self == ExitOnClose::CloseRead && end == End::Fin && !faults.has(PlantedBug::HalfClosedPortExits)
    }
}

/// The port's read side, which only the peer's FIN under exit_on_close
/// false closes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ReadSide {
    #[default]
    Open,
    /// A read reached the peer's FIN (`desc_close_read`): the socket is no
    /// longer read, every passive recv is told `{error,closed}` (PC-6).
    /// `owner_told`: the owner got its one `{tcp_closed,S}`
    /// (`TCP_ADDF_CLOSE_SENT`, PC-7).
    Closed { owner_told: bool },
}

impl ReadSide {
    pub fn is_closed(self) -> bool {
        matches!(self, ReadSide::Closed { .. })
    }

    /// PC-7: a port that read the end passively (PC-6) is made active:
    /// whether the owner is due `{tcp_closed,S}` now. True once: the
    /// owner is then told for good.
    pub fn tell_owner(&mut self) -> bool {
        match self {
            ReadSide::Closed { owner_told } if !*owner_told => {
                *owner_told = true;
                true
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_fin_with_exit_on_close_false_closes_the_read_side() {
        let ok = Faults::default();
        assert!(ExitOnClose::from_flag(false).closes_read_only(End::Fin, ok));
        assert!(!ExitOnClose::from_flag(true).closes_read_only(End::Fin, ok));
        for shown in [false, true] {
            assert!(!ExitOnClose::CloseRead.closes_read_only(End::Reset { shown }, ok), "a RST goes as always");
        }
        let bug = Faults(Some(PlantedBug::HalfClosedPortExits));
        assert!(!ExitOnClose::CloseRead.closes_read_only(End::Fin, bug), "the planted bug exits");
    }

    #[test]
    fn the_owner_is_told_once() {
        let mut open = ReadSide::Open;
        assert!(!open.tell_owner(), "nothing to tell while the read side is open");
        let mut passive = ReadSide::Closed { owner_told: false };
        assert!(passive.tell_owner());
        assert!(!passive.tell_owner(), "PC-7: once");
        let mut active = ReadSide::Closed { owner_told: true };
        assert!(!active.tell_owner(), "PC-7: told at the delivery already");
    }
}
