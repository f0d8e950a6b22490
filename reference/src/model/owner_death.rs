//! The port's owner dies (CL-6). A port is linked to its owner, and the
//! owner's exit signal ends it whatever the reason: `kill` (the exit
//! signal the port gets is then `killed`, which is not `kill`) and
//! `normal` alike. ERTS then lets a driver with output queued flush it
//! first (`erts_deliver_port_exit`), with the port in the table, refusing
//! commands; with nothing queued the port terminates at once, as a killed
//! one does (CL-5). Only that case is generated: the flush was measured
//! (`probe_owner_killed*.erl`) and differs by release in ways not
//! modelled (OTP 25's port left the table seconds after its flush).

use super::senders::Sender;
use super::Model;
use crate::observation::Reply;
use crate::rules::{ids, RuleId};
use crate::units::Bytes;

impl Model {
    /// May the owner die now? Where the port may be killed (CL-5's
    /// conditions), with nothing queued in the driver, no delay_send
    /// flush armed and no sender waiting on the port or suspended on it.
    pub(super) fn kill_owner_enabled(&self) -> bool {
        self.kill_port_enabled()
            && self.driver().queue == Bytes::ZERO
            && !self.driver().busy
            && !self.driver().flush_armed
            && self.state.senders.list.iter().all(|s| *s == Sender::Idle)
    }

    /// CL-6: the port ends at once as CL-5's does (nobody is waiting on
    /// it to answer), and the owner's mailbox goes with the owner.
    pub(super) fn kill_owner(&mut self) -> (Reply, RuleId) {
        self.state.input.mailbox.clear();
        self.port_ends_at_once(ids::CL_6)
    }
}
