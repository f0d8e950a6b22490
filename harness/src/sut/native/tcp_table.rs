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

    /// The receive buffer: 8 KiB, 8-aligned for the headers read from it.
    type Reply = [u64; 1024];

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
        let mut buf: Reply = [0u64; 1024];
        let n = loop {
            // SAFETY: `buf` is valid for its size in bytes.
            match cvt(unsafe { libc::recv(fd.as_raw_fd(), buf.as_mut_ptr().cast(), std::mem::size_of_val(&buf), 0) }) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                r => break r?,
            }
        };
        read_reply(&buf, n, &id)
    }

    /// The kernel's reply to the request for `id`: the first `n` bytes of
    /// `buf`, as `recv` left them (the rest of `buf` is not the reply).
    fn read_reply(buf: &Reply, n: usize, id: &SockId) -> io::Result<Option<TcpState>> {
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

    #[cfg(test)]
    mod tests {
        //! The reply as the kernel words it (linux/netlink.h, linux/inet_diag.h),
        //! whole and cut short, and the fallback when sock_diag is not there.
        use super::*;
        use rstest::rstest;
        use std::net::{Ipv4Addr, TcpListener, TcpStream};

        const HDR: usize = std::mem::size_of::<libc::nlmsghdr>();

        fn at(port: u16) -> SocketAddrV4 {
            SocketAddrV4::new(Ipv4Addr::LOCALHOST, port)
        }

        /// The request's id for the end 127.0.0.1:8080 -> 127.0.0.1:54000.
        fn asked() -> SockId {
            SockId {
                sport: 8080u16.to_be(),
                dport: 54000u16.to_be(),
                src: be_addr(&at(8080)),
                dst: be_addr(&at(54000)),
                ifindex: 0,
                cookie: [NOCOOKIE, NOCOOKIE],
            }
        }

        /// A buffer holding one netlink message of type `ty` whose body is
        /// `body` (its length field says how long it is).
        fn message(ty: u16, body: &[u8]) -> Reply {
            let mut buf: Reply = [0; 1024];
            let bytes: &mut [u8] = bytes_of(&mut buf);
            bytes[0..4].copy_from_slice(&((HDR + body.len()) as u32).to_ne_bytes());
            bytes[4..6].copy_from_slice(&ty.to_ne_bytes());
            bytes[HDR..HDR + body.len()].copy_from_slice(body);
            buf
        }

        fn bytes_of(buf: &mut Reply) -> &mut [u8] {
            // SAFETY: any byte pattern is a valid u64; the slice covers the array.
            unsafe { std::slice::from_raw_parts_mut(buf.as_mut_ptr().cast(), std::mem::size_of::<Reply>()) }
        }

        /// An `nlmsgerr` body: the negative errno and the request's header
        /// (the NETLINK_CAP_ACK form; without it the whole request follows).
        fn error_body(errno: i32) -> Vec<u8> {
            let mut b = (-errno).to_ne_bytes().to_vec();
            b.extend_from_slice(&[0u8; HDR]);
            b
        }

        /// An `inet_diag_msg` for the end `id`, in state `state`.
        fn diag_body(id: SockId, state: u8) -> Vec<u8> {
            let m = Msg { family: libc::AF_INET as u8, state, timer: 0, retrans: 0, id };
            // SAFETY: `Msg` is plain data of its size.
            let raw: [u8; std::mem::size_of::<Msg>()] = unsafe { std::mem::transmute(m) };
            let mut b = raw.to_vec();
            // The rest of inet_diag_msg (expires, queues, uid, inode).
            b.extend_from_slice(&[0u8; 20]);
            b
        }

        /// A lookup that finds no end is answered NLMSG_ERROR/ENOENT: no such
        /// end. Any other errno is the kernel refusing, reported as itself;
        /// a bare acknowledgement (errno 0) names no end either. The short
        /// form of the error (NETLINK_CAP_ACK: the request's header only,
        /// 36 bytes) is read like the long one.
        #[rstest]
        #[case::no_such_end(libc::ENOENT, Ok(None))]
        #[case::acknowledged(0, Ok(None))]
        #[case::refused(libc::EPERM, Err(libc::EPERM))]
        #[case::out_of_memory(libc::ENOMEM, Err(libc::ENOMEM))]
        fn an_error_reply_is_no_such_end_or_the_kernel_refusing(
            #[case] errno: i32,
            #[case] want: Result<Option<TcpState>, i32>,
        ) {
            let body = error_body(errno);
            let n = HDR + body.len();
            assert_eq!(n, 36, "nlmsghdr + nlmsgerr with the capped request");
            let got = read_reply(&message(libc::NLMSG_ERROR as u16, &body), n, &asked());
            assert_eq!(got.map_err(|e| e.raw_os_error().expect("an errno")), want);
        }

        /// A diag message for the end asked about gives its state; one for
        /// another end (the listener a gone end's address falls back to)
        /// gives none.
        #[test]
        fn a_diag_reply_gives_the_state_of_the_end_asked_about() {
            let body = diag_body(asked(), 8);
            let n = HDR + body.len();
            let got = read_reply(&message(SOCK_DIAG_BY_FAMILY, &body), n, &asked());
            assert_eq!(got.unwrap(), Some(8));
            let listener = SockId { dport: 0, dst: [0; 4], ..asked() };
            let body = diag_body(listener, 10);
            let got = read_reply(&message(SOCK_DIAG_BY_FAMILY, &body), HDR + body.len(), &asked());
            assert_eq!(got.unwrap(), None);
        }

        /// An end that differs from the one asked about in the remote port
        /// alone, or in the remote address alone, is another end: either
        /// difference is enough to give none.
        #[rstest]
        #[case::another_remote_port(SockId { dport: 54001u16.to_be(), ..asked() })]
        #[case::another_remote_address(SockId { dst: be_addr(&SocketAddrV4::new(Ipv4Addr::new(127, 0, 0, 2), 54000)), ..asked() })]
        fn a_diag_reply_for_another_end_gives_none(#[case] other: SockId) {
            let body = diag_body(other, 1);
            let got = read_reply(&message(SOCK_DIAG_BY_FAMILY, &body), HDR + body.len(), &asked());
            assert_eq!(got.unwrap(), None);
        }

        /// A syscall's return: negative is the errno left by the call, zero
        /// and above a length (recv's 0 is an empty read, not an error).
        #[test]
        fn a_negative_return_is_the_errno_and_zero_a_length() {
            assert_eq!(cvt(0).unwrap(), 0);
            assert_eq!(cvt(36).unwrap(), 36);
            // SAFETY: close(-1) only sets errno (EBADF).
            assert_eq!(unsafe { libc::close(-1) }, -1);
            assert_eq!(cvt(-1).unwrap_err().raw_os_error(), Some(libc::EBADF));
        }

        /// A reply cut shorter than its message is an error, not read past
        /// its end: what lies beyond `n` in the buffer is not the kernel's
        /// (here a whole message, which must not be taken).
        #[rstest]
        #[case::error_without_its_errno(libc::NLMSG_ERROR as u16, error_body(libc::ENOENT), HDR + 3)]
        #[case::error_header_only(libc::NLMSG_ERROR as u16, error_body(libc::ENOENT), HDR)]
        #[case::diag_msg_cut(SOCK_DIAG_BY_FAMILY, diag_body(asked(), 1), HDR + std::mem::size_of::<Msg>() - 1)]
        #[case::diag_header_only(SOCK_DIAG_BY_FAMILY, diag_body(asked(), 1), HDR)]
        fn a_reply_cut_short_is_invalid_data(#[case] ty: u16, #[case] body: Vec<u8>, #[case] n: usize) {
            let e = read_reply(&message(ty, &body), n, &asked()).expect_err("a cut reply");
            assert_eq!(e.kind(), io::ErrorKind::InvalidData, "{e}");
        }

        /// What the error says: a reply shorter than a netlink header is
        /// "short"; a whole header of a type that is neither answer is named
        /// by its type, so the message says what the kernel sent.
        #[test]
        fn an_unexpected_reply_is_named_by_its_length_or_type() {
            let e = read_reply(&message(libc::NLMSG_DONE as u16, &[]), HDR - 1, &asked()).unwrap_err();
            assert_eq!(e.to_string(), format!("sock_diag: short reply ({} bytes)", HDR - 1));
            let e = read_reply(&message(libc::NLMSG_DONE as u16, &[]), HDR, &asked()).unwrap_err();
            assert_eq!(e.to_string(), format!("sock_diag: reply of type {}, {HDR} bytes", libc::NLMSG_DONE));
        }

        /// seccomp(2): from here on socket(AF_NETLINK, ...) fails with
        /// `errno` in this process; every other call is allowed.
        fn refuse_netlink_sockets(errno: i32) -> Result<(), String> {
            let stmt = |code: u32, k: u32| libc::sock_filter { code: code as u16, jt: 0, jf: 0, k };
            let jeq = |k: u32, jt: u8, jf: u8| libc::sock_filter {
                code: (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16,
                jt,
                jf,
                k,
            };
            let nr = std::mem::offset_of!(libc::seccomp_data, nr) as u32;
            let arg0 = std::mem::offset_of!(libc::seccomp_data, args) as u32;
            let load = libc::BPF_LD | libc::BPF_W | libc::BPF_ABS;
            let ret = libc::BPF_RET | libc::BPF_K;
            let prog = [
                stmt(load, nr),
                jeq(libc::SYS_socket as u32, 0, 3),
                stmt(load, arg0),
                jeq(libc::AF_NETLINK as u32, 0, 1),
                stmt(ret, libc::SECCOMP_RET_ERRNO | errno as u32),
                stmt(ret, libc::SECCOMP_RET_ALLOW),
            ];
            let fprog = libc::sock_fprog { len: prog.len() as u16, filter: prog.as_ptr() as *mut _ };
            // SAFETY: prctl with documented arguments; `fprog` outlives the call.
            unsafe {
                if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0
                    || libc::prctl(libc::PR_SET_SECCOMP, libc::SECCOMP_MODE_FILTER, &fprog) < 0
                {
                    return Err(format!("seccomp: {}", io::Error::last_os_error()));
                }
            }
            Ok(())
        }

        /// In a child: a loopback connection's server end, looked up with
        /// socket(AF_NETLINK) failing with `errno`; the state or the errno.
        fn server_end_with_netlink_refused(errno: i32) -> Result<Option<TcpState>, i32> {
            let r = crate::kernel::in_child(std::time::Duration::from_secs(10), || {
                let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).map_err(|e| e.to_string())?;
                let c = TcpStream::connect(l.local_addr().map_err(|e| e.to_string())?).map_err(|e| e.to_string())?;
                let (s, _) = l.accept().map_err(|e| e.to_string())?;
                let v4 = |a| match a {
                    std::net::SocketAddr::V4(a) => Ok(a),
                    a => Err(format!("not IPv4: {a}")),
                };
                let server = v4(s.local_addr().map_err(|e| e.to_string())?)?;
                let client = v4(c.local_addr().map_err(|e| e.to_string())?)?;
                refuse_netlink_sockets(errno)?;
                Ok(super::super::state(server, client).map_err(|e| e.raw_os_error().unwrap_or(-1)))
            });
            r.expect("child")
        }

        /// A kernel or sandbox without sock_diag for this process (the
        /// protocol missing, or seccomp/an LSM refusing the netlink socket)
        /// is read from /proc/net/tcp instead: the same state, no error.
        #[rstest]
        #[case::no_protocol(libc::EPROTONOSUPPORT)]
        #[case::no_family(libc::EAFNOSUPPORT)]
        #[case::not_supported(libc::EOPNOTSUPP)]
        #[case::not_permitted(libc::EPERM)]
        #[case::access_denied(libc::EACCES)]
        fn without_sock_diag_the_state_comes_from_proc_net_tcp(#[case] errno: i32) {
            assert_eq!(server_end_with_netlink_refused(errno), Ok(Some(super::super::ESTABLISHED)));
        }

        /// A sock_diag that exists but fails for want of resources is
        /// reported as that failure, not papered over by the fallback.
        #[test]
        fn a_sock_diag_failure_for_want_of_memory_is_reported() {
            assert_eq!(server_end_with_netlink_refused(libc::ENOMEM), Err(libc::ENOMEM));
        }

        /// A process whose stdin is closed (a daemon, a CI runner) gets fd 0
        /// for the netlink socket; that is a socket like any other.
        #[test]
        fn the_lookup_works_when_the_netlink_socket_gets_fd_0() {
            let r = crate::kernel::in_child(std::time::Duration::from_secs(10), || {
                let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).map_err(|e| e.to_string())?;
                let la = l.local_addr().map_err(|e| e.to_string())?;
                let c = TcpStream::connect(la).map_err(|e| e.to_string())?;
                let (s, _) = l.accept().map_err(|e| e.to_string())?;
                let (std::net::SocketAddr::V4(server), std::net::SocketAddr::V4(client)) =
                    (s.local_addr().map_err(|e| e.to_string())?, c.local_addr().map_err(|e| e.to_string())?)
                else {
                    return Err("not IPv4".into());
                };
                // SAFETY: closing stdin of this child only.
                if unsafe { libc::close(0) } < 0 {
                    return Err(format!("close(0): {}", io::Error::last_os_error()));
                }
                state(server, client).map_err(|e| e.to_string())
            });
            assert_eq!(r, Ok(Some(super::super::ESTABLISHED)));
        }
    }
}
