//! The kernel's table of IPv4 TCP sockets (`/proc/net/tcp`, this process's
//! network namespace): the state of one connection's end, as the kernel
//! holds it, without asking the runtime that owns it.
//!
//! The SUT adapter uses it for PT-2: an accept into a full table must close
//! the accepted fd. `close()` moves an established socket to FIN_WAIT1 (or
//! destroys it, with an RST) before it returns; an end that is still
//! ESTABLISHED after the runtime answered has not been closed, and its
//! client will see no EOF while it stays open.

use std::io;
use std::net::SocketAddrV4;

/// A state as the `st` column shows it: Linux `TCP_ESTABLISHED` (1) ..
/// `TCP_CLOSING` (11), include/net/tcp_states.h.
pub type TcpState = u8;
pub const ESTABLISHED: TcpState = 1;
pub const SYN_RECV: TcpState = 3;
pub const FIN_WAIT1: TcpState = 4;
pub const FIN_WAIT2: TcpState = 5;
pub const TIME_WAIT: TcpState = 6;
pub const CLOSE_WAIT: TcpState = 8;

/// An end in state `st` has not sent its FIN: its owner neither closed it
/// nor shut its output down (or has not accepted it yet).
pub fn sent_no_fin(st: TcpState) -> bool {
    matches!(st, ESTABLISHED | SYN_RECV | CLOSE_WAIT)
}

/// `/proc/net/tcp`'s spelling of an address: the IPv4 address as the
/// kernel's `%08X` of the network-order word read natively, and the port in
/// host order, `%04X`.
fn spell(a: SocketAddrV4) -> String {
    format!("{:08X}:{:04X}", u32::from_ne_bytes(a.ip().octets()), a.port())
}

/// The state of the connection end whose local address is `local` and
/// remote address `remote`, from a `/proc/net/tcp` text; `None` if the
/// table has no such end.
pub fn state_in(table: &str, local: SocketAddrV4, remote: SocketAddrV4) -> Option<TcpState> {
    let (l, r) = (spell(local), spell(remote));
    table.lines().skip(1).find_map(|line| {
        let mut f = line.split_whitespace().skip(1);
        match (f.next(), f.next(), f.next()) {
            (Some(fl), Some(fr), Some(st)) if fl == l && fr == r => u8::from_str_radix(st, 16).ok(),
            _ => None,
        }
    })
}

/// The kernel's state of the end `local` -> `remote` now; `None` if it has
/// none (never existed, or closed and gone).
pub fn state(local: SocketAddrV4, remote: SocketAddrV4) -> io::Result<Option<TcpState>> {
    Ok(state_in(&std::fs::read_to_string("/proc/net/tcp")?, local, remote))
}
