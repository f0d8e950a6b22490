//! The owner of the port under test dies (CL-6). The port is linked to
//! its owner, and the owner's exit signal ends it whatever the reason.
//! With nothing queued the port ends as a killed one (CL-5); ERTS would
//! let a port with output queued flush it first, which this runtime does
//! not implement (the generator makes no such case).

use super::{Runtime, RuntimeError};
use crate::bugs::PlantedBug;
use crate::units::Bytes;

impl Runtime {
    /// CL-6: the owner's death with nothing queued and nobody waiting on
    /// the port: the owner's mailbox goes with it, and the port ends at
    /// once (`kill_port`: it leaves the table, its socket closes, a
    /// waiting recv returns `{error,closed}`). With output queued or a
    /// sender waiting, an error (not generated).
    pub fn kill_owner(&mut self) -> Result<(), RuntimeError> {
        let port = self.subject.as_ref().ok_or_else(|| RuntimeError("no port under test".into()))?;
        if port.driver.queue_len() != Bytes::ZERO
            || port.driver.is_busy()
            || self.procs.statuses().iter().any(|s| *s != crate::SenderStatus::Idle)
        {
            return Err(RuntimeError(
                "kill_owner: output queued or a sender waiting: the flush at the owner's death is not implemented"
                    .into(),
            ));
        }
        self.mailbox.clear();
        // Planted bug: the port outlives its owner (left open, in the table).
        if self.faults.has(PlantedBug::PortOutlivesOwner) {
            return Ok(());
        }
        self.kill_port()
    }
}
