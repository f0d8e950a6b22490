//! What closing a port's socket does with input the owner never read.
//!
//! Linux decides between FIN and RST at close time: `__tcp_close()`
//! (net/ipv4/tcp.c) walks the socket's receive queue, and if any data there
//! was never read (`data_was_unread`) it counts `TCPAbortOnClose` and sends
//! RST instead of FIN (RFC 2525 2.17). The peer's next read then fails with
//! ECONNRESET and whatever it had not read yet may be lost (KN-RST-1, CL-3).
//! inet_drv closes without reading, so a port closed with unread input
//! resets its peer; that is the default here too, and what the lockstep
//! model expects (CL-3).
//!
//! [`CloseMode::DrainInput`] is the squid remedy from the 2011 seed article
//! ("TCP链接主动关闭不发fin包奇怪行为分析"): read the receive queue empty,
//! discard it, then close, so the kernel takes the FIN branch (KN-RST-2,
//! KN-RST-5). It only discards what has arrived when the socket is closed:
//! input that arrives after the drain makes the close reset again, because
//! the kernel's check runs inside close(2) itself.

use std::io::{self, Read};

/// How a port's socket is closed (a socket option of the native runtime,
/// set when the port is opened: [`crate::connect::SocketOpts`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CloseMode {
    /// close(2) as is, as inet_drv does: unread input makes the kernel send
    /// RST (`data_was_unread` in `__tcp_close`, net/ipv4/tcp.c; CL-3,
    /// KN-RST-1).
    #[default]
    Plain,
    /// Read and discard the input the kernel holds, then close(2): the peer
    /// sees FIN (reads EOF, no ECONNRESET) and `TCPAbortOnClose` does not
    /// move (KN-RST-5).
    DrainInput,
}

/// Reads and discards up to `held` bytes from `sock` (what the kernel held
/// when the port was closed, FIONREAD), stopping early at EAGAIN, EOF or an
/// error; returns how many bytes were discarded. `sock` must be
/// nonblocking. The budget keeps the close bounded when the peer keeps
/// sending: what arrives after it resets the connection anyway.
pub fn drain_input(mut sock: impl Read, held: usize) -> usize {
    let mut buf = [0u8; 16 * 1024];
    let mut discarded = 0;
    while discarded < held {
        let want = (held - discarded).min(buf.len());
        match sock.read(&mut buf[..want]) {
            Ok(0) => break,
            Ok(n) => discarded += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            // WouldBlock: drained. Any other error (ECONNRESET from the
            // peer): nothing left that could turn the close into RST.
            Err(_) => break,
        }
    }
    discarded
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drains_at_most_what_was_held() {
        let data = [7u8; 40_000];
        assert_eq!(drain_input(&data[..], 35_000), 35_000);
        assert_eq!(drain_input(&data[..], 50_000), 40_000);
        assert_eq!(drain_input(&data[..], 0), 0);
    }
}
