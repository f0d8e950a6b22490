//! The tcp driver's input side: active delivery to the owner's mailbox
//! (`tcp_deliver`, RX-2/RX-4/RX-5) and passive `gen_tcp:recv(S, 0, 0)`
//! (RX-1, RX-6).

use crate::bugs::{Faults, PlantedBug};
use crate::driver_queue::TcpDriver;
use crate::options::{Active, PortOptions};
use crate::reply::{OwnerMsg, Posix};
use crate::trace::Action;
use std::io;

/// Size of the driver's input buffer: one read syscall, one message.
pub const INPUT_BUFFER: usize = 1460;

/// The socket is readable in active mode: read and deliver messages until
/// the socket has nothing more or the mode turns passive.
pub fn ready_input(
    driver: &mut TcpDriver,
    opts: &mut PortOptions,
    mailbox: &mut Vec<OwnerMsg>,
    trace: &mut Vec<Action>,
    faults: Faults,
) {
    let mut buf = [0u8; INPUT_BUFFER];
    while opts.active.is_active() && driver.input_ready() {
        let n = match driver.read(&mut buf, trace) {
            Ok(n) if n > 0 => n,
            // EAGAIN, EOF or an error: nothing (more) to deliver.
            _ => break,
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
}

/// `gen_tcp:recv(S, 0, 0)` on the port: one read of whatever has arrived.
pub fn recv(driver: &mut TcpDriver, opts: &PortOptions, trace: &mut Vec<Action>) -> Result<Vec<u8>, Posix> {
    // A socket closed under the port (send_timeout_close, TO-3) is not
    // connected; inet_drv checks that before the mode (TCP_REQ_RECV).
    if !driver.is_open() {
        return Err(Posix::Enotconn);
    }
    // RX-1: no recv in active mode, and no syscall either.
    if opts.active.is_active() {
        return Err(Posix::Einval);
    }
    let mut buf = [0u8; INPUT_BUFFER];
    match driver.read(&mut buf, trace) {
        // RX-6
        Ok(n) if n > 0 => Ok(buf[..n].to_vec()),
        Ok(_) => Err(Posix::Timeout),
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => Err(Posix::Timeout),
        Err(_) => Err(Posix::Timeout),
    }
}
