//! The kernel's table of IPv4 TCP sockets (this process's network
//! namespace): the state of one connection's end, as the kernel holds it,
//! without asking the runtime that owns it. [`state`] asks the kernel for
//! that one end (sock_diag, `SOCK_DIAG_BY_FAMILY` with the exact address
//! pair: one hash lookup); `/proc/net/tcp` ([`state_in`]) lists every
//! socket, TIME_WAIT included, and reading it cost milliseconds once a
//! test run had left a few hundred behind (the lockstep bench spent 88 % of
//! its wall time there, in PT-2 accepts).
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
/// none (never existed, or closed and gone). Asks sock_diag; a kernel
/// without it (no `CONFIG_INET_DIAG`) is read from `/proc/net/tcp`.
pub fn state(local: SocketAddrV4, remote: SocketAddrV4) -> io::Result<Option<TcpState>> {
    match diag::state(local, remote) {
        Err(e) if diag::unsupported(&e) => state_from_proc(local, remote),
        r => r,
    }
}

/// [`state`] from `/proc/net/tcp` (the whole table, read and searched).
pub fn state_from_proc(local: SocketAddrV4, remote: SocketAddrV4) -> io::Result<Option<TcpState>> {
    Ok(state_in(&std::fs::read_to_string("/proc/net/tcp")?, local, remote))
}

/// One end's state by sock_diag (linux/inet_diag.h, linux/sock_diag.h):
/// an `inet_diag_req_v2` naming the exact address pair, without
/// `NLM_F_DUMP`, is answered by one `inet_diag_msg` (the kernel looks the
/// socket up as a packet from `remote` to `local` would find it) or by
/// `ENOENT`.
mod diag {
    use super::TcpState;
    use std::io;
    use std::net::SocketAddrV4;
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

    const SOCK_DIAG_BY_FAMILY: u16 = 20;
    /// `INET_DIAG_NOCOOKIE`: no socket cookie to match.
    const NOCOOKIE: u32 = !0;

    #[repr(C)]
    #[derive(Clone, Copy, Default)]
    struct SockId {
        sport: u16,
        dport: u16,
        src: [u32; 4],
        dst: [u32; 4],
        ifindex: u32,
        cookie: [u32; 2],
    }

    #[repr(C)]
    struct Request {
        nlh: libc::nlmsghdr,
        family: u8,
        protocol: u8,
        ext: u8,
        pad: u8,
        states: u32,
        id: SockId,
    }

    /// `struct inet_diag_msg`, as far as it is read.
    #[repr(C)]
    #[derive(Clone, Copy)]
    struct Msg {
        family: u8,
        state: u8,
        timer: u8,
        retrans: u8,
        id: SockId,
    }

    /// The kernel has no sock_diag for TCP, or this process may not use
    /// it (a sandbox's seccomp or LSM): the caller falls back.
    pub fn unsupported(e: &io::Error) -> bool {
        matches!(
            e.raw_os_error(),
            Some(libc::EPROTONOSUPPORT | libc::EAFNOSUPPORT | libc::EOPNOTSUPP | libc::EPERM | libc::EACCES)
        )
    }

    fn cvt(r: isize) -> io::Result<usize> {
        if r < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(r as usize)
        }
    }

    fn be_addr(a: &SocketAddrV4) -> [u32; 4] {
        [u32::from_ne_bytes(a.ip().octets()), 0, 0, 0]
    }

    pub fn state(local: SocketAddrV4, remote: SocketAddrV4) -> io::Result<Option<TcpState>> {
        // SAFETY: socket(2); the fd is owned at once.
        let fd = unsafe {
            let fd = libc::socket(libc::AF_NETLINK, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, libc::NETLINK_SOCK_DIAG);
            if fd < 0 {
                return Err(io::Error::last_os_error());
            }
            OwnedFd::from_raw_fd(fd)
        };
        let id = SockId {
            sport: local.port().to_be(),
            dport: remote.port().to_be(),
            src: be_addr(&local),
            dst: be_addr(&remote),
            ifindex: 0,
            cookie: [NOCOOKIE, NOCOOKIE],
        };
        let req = Request {
            nlh: libc::nlmsghdr {
                nlmsg_len: std::mem::size_of::<Request>() as u32,
                nlmsg_type: SOCK_DIAG_BY_FAMILY,
                nlmsg_flags: libc::NLM_F_REQUEST as u16,
                nlmsg_seq: 1,
                nlmsg_pid: 0,
            },
            family: libc::AF_INET as u8,
            protocol: libc::IPPROTO_TCP as u8,
            ext: 0,
            pad: 0,
            states: !0,
            id,
        };
        // SAFETY: a zeroed sockaddr_nl is valid; the kernel (pid 0) is the peer.
        let mut kernel: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
        kernel.nl_family = libc::AF_NETLINK as libc::sa_family_t;
        // SAFETY: `req` and `kernel` are valid for the lengths given.
        cvt(unsafe {
            libc::sendto(
                fd.as_raw_fd(),
                (&req as *const Request).cast(),
                std::mem::size_of::<Request>(),
                0,
                (&kernel as *const libc::sockaddr_nl).cast(),
                std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t,
            )
        })?;
        // One reply (no dump): an inet_diag_msg or an error, well within 8 KiB.
        let mut buf = [0u64; 1024];
        let n = loop {
            // SAFETY: `buf` is valid for its size in bytes.
            match cvt(unsafe { libc::recv(fd.as_raw_fd(), buf.as_mut_ptr().cast(), std::mem::size_of_val(&buf), 0) }) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                r => break r?,
            }
        };
        let hdr = std::mem::size_of::<libc::nlmsghdr>();
        if n < hdr {
            return Err(io::Error::new(io::ErrorKind::InvalidData, format!("sock_diag: short reply ({n} bytes)")));
        }
        // SAFETY: `buf` is 8-aligned and holds at least a header.
        let nlh: libc::nlmsghdr = unsafe { std::ptr::read(buf.as_ptr().cast()) };
        let body = (buf.as_ptr() as *const u8).wrapping_add(hdr);
        match nlh.nlmsg_type as libc::c_int {
            libc::NLMSG_ERROR if n >= hdr + 4 => {
                // SAFETY: an nlmsgerr starts with the (negative) errno.
                let err: i32 = unsafe { std::ptr::read(body.cast()) };
                match -err {
                    0 | libc::ENOENT => Ok(None),
                    e => Err(io::Error::from_raw_os_error(e)),
                }
            }
            t if t == SOCK_DIAG_BY_FAMILY as libc::c_int && n >= hdr + std::mem::size_of::<Msg>() => {
                // SAFETY: the body is an inet_diag_msg, at least `Msg` long.
                let m: Msg = unsafe { std::ptr::read_unaligned(body.cast()) };
                // An end that is gone is looked up as the listener on its
                // address, if there is one: that is not this end.
                if m.id.dport != id.dport || m.id.dst[0] != id.dst[0] {
                    return Ok(None);
                }
                Ok(Some(m.state))
            }
            t => Err(io::Error::new(io::ErrorKind::InvalidData, format!("sock_diag: reply of type {t}, {n} bytes"))),
        }
    }
}
