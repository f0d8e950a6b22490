//! The tcp driver's input side: active delivery to the owner's mailbox
//! (`tcp_deliver`, RX-2/RX-4/RX-5) and passive `gen_tcp:recv(S, 0, 0)`
//! (RX-1, RX-6), each up to the peer's end (`tcp_recv_closed`, PC-1,
//! PC-3, RS-1; with exit_on_close false PC-6, PC-7, which
//! [`crate::half_close`] decides). The reader's recv with a length, which
//! waits, is [`crate::reader`]'s; it passes the same checks ([`refused`]).
//! Bytes a timed-out recv left ([`crate::held_input`]) come first (RX-11).

use crate::bugs::{Faults, PlantedBug};
use crate::driver_queue::TcpDriver;
use crate::held_input::HeldInput;
use crate::options::{Active, PortOptions};
use crate::reader::{Reader, Want};
use crate::reply::{OwnerMsg, Posix};
use crate::trace::Action;
use std::io;

/// Size of the driver's input buffer: one read syscall, one message.
pub const INPUT_BUFFER: usize = 1460;

/// The peer's end as a read reaches it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum End {
    /// EOF: the peer's FIN. With exit_on_close false it closes only the
    /// port's read side (PC-6, PC-7).
    Fin,
    /// ECONNRESET: the peer's RST, `shown` as a reset with show_econnreset
    /// (RS-1).
    Reset { shown: bool },
}

impl End {
    /// How the port reports it: a reset only when shown (RS-1), otherwise
    /// closed like a FIN.
    pub fn reported(self) -> Posix {
        match self {
            End::Reset { shown: true } => Posix::Econnreset,
            End::Fin | End::Reset { shown: false } => Posix::Closed,
        }
    }
}

/// A read that reached the peer's end: which end it was.
pub(crate) fn end_of(r: &io::Result<usize>, show_econnreset: bool, faults: Faults) -> Option<End> {
    // Planted bug: every RST reported as a reset.
    let shown = show_econnreset || faults.has(PlantedBug::ResetShownWithoutOption);
    match r {
        Ok(0) => Some(End::Fin),
        Err(e) if e.kind() == io::ErrorKind::ConnectionReset => Some(End::Reset { shown }),
        _ => None,
    }
}

/// The socket is readable in active mode: read and deliver messages until
/// the socket has nothing more or the mode turns passive. Returns the
/// peer's end if a read reached it, after `{tcp_closed,S}` (the port then
/// exits, PC-3, or closes its read side, PC-7; the caller decides). The
/// message takes nothing from an `{active,N}` count (PC-7).
pub fn ready_input(
    driver: &mut TcpDriver,
    opts: &mut PortOptions,
    mailbox: &mut Vec<OwnerMsg>,
    trace: &mut Vec<Action>,
    faults: Faults,
) -> Option<End> {
    let mut buf = [0u8; INPUT_BUFFER];
    while opts.active.is_active() && driver.input_ready() {
        let r = driver.read(&mut buf, trace);
        if let Some(end) = end_of(&r, driver.show_econnreset, faults) {
            // PC-3, RS-1: {tcp_error,S,econnreset} only for a reported reset.
            if end.reported() == Posix::Econnreset {
                mailbox.push(OwnerMsg::TcpError(Posix::Econnreset));
            }
            mailbox.push(OwnerMsg::TcpClosed);
            return Some(end);
        }
        let n = match r {
            Ok(n) => n,
            // EAGAIN or another error: nothing (more) to deliver.
            Err(_) => break,
        };
        mailbox.push(OwnerMsg::Tcp(buf[..n].to_vec()));
        opts.active = match opts.active {
            // Planted bug: once handled as a count of 1 (RX-4's notice).
            Active::Once if faults.has(PlantedBug::ActiveOnceSendsPassive) => {
                mailbox.push(OwnerMsg::TcpPassive);
                Active::Passive
            }
            // RX-2: once → passive, silently.
            Active::Once => Active::Passive,
            // RX-4: the count runs out → passive, and the owner is told.
            Active::Count(c) if c <= 1 => {
                if !faults.has(PlantedBug::ActiveNNoPassive) {
                    mailbox.push(OwnerMsg::TcpPassive);
                }
                Active::Passive
            }
            Active::Count(c) => Active::Count(c - 1),
            // RX-5: keep reading until EAGAIN.
            a => a,
        };
    }
    None
}

/// What TCP_REQ_RECV answers before it reads, in its order, with no
/// syscall: a socket closed under the port (send_timeout_close, TO-3, or
/// the peer's end, PC-1) is not connected; no recv in active mode (RX-1);
/// a read side the peer's FIN closed is told the end again (PC-6); one
/// recv at a time, so none while the reader's waits (RX-8, after the
/// others as `enq_async` comes after them).
pub fn refused(driver: &TcpDriver, opts: &PortOptions, reader: &Reader) -> Option<Posix> {
    if !driver.is_open() {
        return Some(Posix::Enotconn);
    }
    if opts.active.is_active() {
        return Some(Posix::Einval);
    }
    // PC-6: inet_drv reads the EOF again (tcp_recv_closed answers
    // closed); the runtime knows it is there and answers without the read
    // (what that read does to a busy port:
    // `Runtime::recv_answered_by_port`).
    if driver.read_side().is_closed() {
        return Some(Posix::Closed);
    }
    if reader.is_waiting() {
        return Some(Posix::Ealready);
    }
    None
}

/// Why a passive recv returns no bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoBytes {
    /// Answered before any read ([`refused`]).
    Refused(Posix),
    /// Its read reached the peer's end (PC-1, RS-1, PC-6): the caller
    /// closes the socket or the read side.
    End(End),
    /// Nothing has arrived (RX-6).
    Timeout,
}

impl NoBytes {
    /// What the recv returns.
    pub fn answer(self) -> Posix {
        match self {
            NoBytes::Refused(e) => e,
            NoBytes::End(end) => end.reported(),
            NoBytes::Timeout => Posix::Timeout,
        }
    }
}

/// `gen_tcp:recv(S, 0, 0)` on the port: the bytes a timed-out recv left,
/// if any, with no read (RX-11: `tcp_recv` delivers a buffered packet
/// first); otherwise one read of whatever has arrived.
pub fn recv(
    driver: &mut TcpDriver,
    opts: &PortOptions,
    reader: &Reader,
    held: &mut HeldInput,
    trace: &mut Vec<Action>,
    faults: Faults,
) -> Result<Vec<u8>, NoBytes> {
    if let Some(e) = refused(driver, opts, reader) {
        return Err(NoBytes::Refused(e));
    }
    if let Some(data) = held.take_for(Want::Any) {
        return Ok(data);
    }
    let mut buf = [0u8; INPUT_BUFFER];
    let r = driver.read(&mut buf, trace);
    if let Some(end) = end_of(&r, driver.show_econnreset, faults) {
        return Err(NoBytes::End(end));
    }
    match r {
        // RX-6
        Ok(n) => Ok(buf[..n].to_vec()),
        Err(_) => Err(NoBytes::Timeout),
    }
}
