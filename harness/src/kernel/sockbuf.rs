//! KN-BUF-1: the kernel's minimum socket buffers. Setting SO_SNDBUF or
//! SO_RCVBUF to 1 is not refused: `sk_setsockopt()` (net/core/sock.c)
//! doubles the value and clamps it to SOCK_MIN_SNDBUF / SOCK_MIN_RCVBUF, so
//! what the runtime gets is the kernel's minimum, not 1. (The seed article
//! "gen_tcp发送缓冲区以及水位线问题分析" reasons about `{sndbuf,1}` as if
//! the kernel honoured it.)

use super::{ctx, expect, getsockopt_int, ids, setsockopt_int, Probe};
use serde::{Deserialize, Serialize};
use socket2::{Domain, Socket, Type};
use std::os::fd::AsFd;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MinBuffers {
    /// SO_SNDBUF read back after setting 1 on a TCP socket.
    pub sndbuf: i32,
    /// SO_RCVBUF read back after setting 1 on a TCP socket.
    pub rcvbuf: i32,
}

pub fn observe() -> Probe<MinBuffers> {
    let s = ctx("socket", Socket::new(Domain::IPV4, Type::STREAM, None))?;
    ctx("SO_SNDBUF=1", setsockopt_int(s.as_fd(), libc::SOL_SOCKET, libc::SO_SNDBUF, 1))?;
    ctx("SO_RCVBUF=1", setsockopt_int(s.as_fd(), libc::SOL_SOCKET, libc::SO_RCVBUF, 1))?;
    Ok(MinBuffers {
        sndbuf: ctx("SO_SNDBUF", getsockopt_int(s.as_fd(), libc::SOL_SOCKET, libc::SO_SNDBUF))?,
        rcvbuf: ctx("SO_RCVBUF", getsockopt_int(s.as_fd(), libc::SOL_SOCKET, libc::SO_RCVBUF))?,
    })
}

/// KN-BUF-1: clamped, not honoured; SOCK_MIN_SNDBUF is twice
/// SOCK_MIN_RCVBUF (`2 * TCP_SKB_MIN_TRUESIZE` vs `TCP_SKB_MIN_TRUESIZE`).
pub fn probe() -> Probe<MinBuffers> {
    let b = observe()?;
    expect(ids::KN_BUF_1, b.sndbuf > 1 && b.rcvbuf > 1, || {
        format!("setting 1 should give the kernel minimum, read back sndbuf {} rcvbuf {}", b.sndbuf, b.rcvbuf)
    })?;
    expect(ids::KN_BUF_1, b.sndbuf == 2 * b.rcvbuf, || {
        format!("expected SOCK_MIN_SNDBUF = 2 x SOCK_MIN_RCVBUF, got {} and {}", b.sndbuf, b.rcvbuf)
    })?;
    Ok(b)
}
