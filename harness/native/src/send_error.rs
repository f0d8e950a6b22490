//! The peer's RST met by a write (`tcp_send_or_shutdown_error`, PC-5),
//! and what a passive port tells the next send and recv once the peer's
//! end closed its socket (inet_drv's delayed-close flags, PC-4).

use crate::reply::Posix;

/// `TCP_ADDF_DELAYED_CLOSE_SEND`, `_CLOSE_RECV` and `_ECONNRESET`: set
/// when the socket of a passive port closes on the peer's end with nobody
/// told yet; each is taken by the next send or recv that finds the
/// socket gone.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Delayed {
    /// The next send gets {error,closed} (econnreset with `econnreset`)
    /// rather than {error,enotconn} (PC-4).
    pub send: bool,
    /// The next recv reports the end (PC-5): a write found the RST first.
    pub recv: bool,
    /// ... as a reset (show_econnreset, RS-1).
    pub econnreset: bool,
}

impl Delayed {
    /// After a write failed on the RST: the sender whose write it was (or
    /// the blocked caller) was told if `answered`; the next recv is told
    /// in any case.
    pub fn after_write_error(answered: bool, reason: Posix) -> Delayed {
        Delayed { send: !answered, recv: true, econnreset: reason == Posix::Econnreset }
    }

    /// `tcp_inet_commandv` on a closed socket: what a send is answered
    /// (PC-4). The econnreset note stays for the next recv.
    pub fn take_send(&mut self) -> Posix {
        if std::mem::take(&mut self.send) {
            if self.econnreset {
                Posix::Econnreset
            } else {
                Posix::Closed
            }
        } else {
            Posix::Enotconn
        }
    }

    /// `TCP_REQ_RECV` on a closed socket: the end, once, if a write found
    /// it (PC-5); it clears the send note too. `None`: not connected.
    pub fn take_recv(&mut self) -> Option<Posix> {
        if !std::mem::take(&mut self.recv) {
            return None;
        }
        self.send = false;
        Some(if std::mem::take(&mut self.econnreset) { Posix::Econnreset } else { Posix::Closed })
    }
}
