//! KN-RST-*: what the peer sees when a TCP socket is closed.
//!
//! `__tcp_close()` (net/ipv4/tcp.c) checks for unread data first: data in
//! the receive queue → RST (`TCPAbortOnClose`); otherwise SO_LINGER {1,0}
//! → RST via `tcp_disconnect` (`TCPAbortOnData`); otherwise FIN. Seed:
//! yufeng, "TCP链接主动关闭不发fin包奇怪行为分析" (2011).
//!
//! Every case runs in a private netns, so the MIB counter deltas are ours
//! alone.

use super::netns::Netns;
use super::{
    bytes_readable, ctx, expect, ids, io_errno_name, poll_fd, poll_flags, send_queue, tcp_counter, tcp_ext_counter,
    Probe,
};
use serde::Serialize;
use socket2::Socket;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsFd;
use std::time::Duration;

/// Failure bound for every readiness wait in these probes.
pub const BOUND: Duration = Duration::from_secs(5);

/// How the closing side closes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum CloseMode {
    /// close() with the peer's data still unread.
    Unread,
    /// read everything, then close().
    Drained,
    /// read everything, SO_LINGER {1, 0}, close().
    DrainedLinger0,
    /// SO_LINGER {1, 0} with unread data (unread wins: TCPAbortOnClose).
    UnreadLinger0,
}

/// What the peer saw and what the counters said.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CloseObservation {
    pub mode: CloseMode,
    /// poll() on the peer after the close.
    pub peer_revents: String,
    /// The peer's first read: `Ok(n)` or the errno name.
    pub first_read: Result<usize, String>,
    /// The peer's second read.
    pub second_read: Result<usize, String>,
    pub abort_on_close_delta: u64,
    pub abort_on_data_delta: u64,
}

/// Runs one close case inside a fresh netns.
pub fn observe(mode: CloseMode) -> Probe<CloseObservation> {
    let ns = Netns::new("rst")?;
    ns.run(move || observe_here(mode))?
}

/// A loopback connection (peer, closer) whose closer holds `payload`
/// unread in its receive queue: waited for, so a close that follows finds it.
fn pair_with_unread(payload: &[u8]) -> Probe<(TcpStream, TcpStream)> {
    let listener = ctx("listen", TcpListener::bind("127.0.0.1:0"))?;
    let addr: SocketAddr = ctx("local_addr", listener.local_addr())?;
    let mut peer = ctx("connect", TcpStream::connect(addr))?;
    let (closer, _) = ctx("accept", listener.accept())?;
    drop(listener);
    ctx("peer write", peer.write_all(payload))?;
    let rev = ctx("poll closer", poll_fd(closer.as_fd(), libc::POLLIN, BOUND))?;
    if rev & libc::POLLIN == 0 {
        return Err(format!("data did not reach the closing side within {BOUND:?} (revents {})", poll_flags(rev)));
    }
    Ok((peer, closer))
}

/// Runs one close case in the calling thread's netns (counter deltas are
/// only meaningful if nothing else there aborts connections meanwhile).
pub fn observe_here(mode: CloseMode) -> Probe<CloseObservation> {
    let payload = b"portcheck unread data";
    let (mut peer, mut closer) = pair_with_unread(payload)?;

    let close0 = tcp_ext_counter("TCPAbortOnClose")?;
    let data0 = tcp_ext_counter("TCPAbortOnData")?;

    if matches!(mode, CloseMode::Drained | CloseMode::DrainedLinger0) {
        let mut buf = [0u8; 64];
        let mut got = 0;
        while got < payload.len() {
            let n = ctx("closer read", closer.read(&mut buf[got..]))?;
            if n == 0 {
                return Err("closer saw EOF while draining".into());
            }
            got += n;
        }
    }
    let closer = Socket::from(closer);
    if matches!(mode, CloseMode::DrainedLinger0 | CloseMode::UnreadLinger0) {
        ctx("SO_LINGER {1,0}", closer.set_linger(Some(Duration::ZERO)))?;
    }
    drop(closer); // close(2)

    let rev = ctx("poll peer", poll_fd(peer.as_fd(), libc::POLLIN | libc::POLLRDHUP, BOUND))?;
    let mut buf = [0u8; 64];
    let first_read = peer.read(&mut buf).map_err(|e| io_errno_name(&e));
    let second_read = peer.read(&mut buf).map_err(|e| io_errno_name(&e));

    Ok(CloseObservation {
        mode,
        peer_revents: poll_flags(rev),
        first_read,
        second_read,
        abort_on_close_delta: tcp_ext_counter("TCPAbortOnClose")? - close0,
        abort_on_data_delta: tcp_ext_counter("TCPAbortOnData")? - data0,
    })
}

/// KN-RST-1: unread data → RST: ECONNRESET, then EOF; TCPAbortOnClose +1.
pub fn check_unread(o: &CloseObservation) -> Probe<()> {
    expect(ids::KN_RST_1, o.first_read == Err("ECONNRESET".into()), || {
        format!("close with unread data: peer's first read expected ECONNRESET, got {:?}", o.first_read)
    })?;
    expect(ids::KN_RST_1, o.second_read == Ok(0), || {
        format!("after the reset the peer's next read should be EOF (0), got {:?}", o.second_read)
    })?;
    expect(ids::KN_RST_1, o.abort_on_close_delta == 1, || {
        format!("TCPAbortOnClose should rise by 1 in the probe's netns, rose by {}", o.abort_on_close_delta)
    })
}

/// KN-RST-2: drained → FIN: read returns 0, no abort counted.
pub fn check_drained(o: &CloseObservation) -> Probe<()> {
    expect(ids::KN_RST_2, o.first_read == Ok(0), || {
        format!("close after draining: peer's read expected 0 (FIN), got {:?}", o.first_read)
    })?;
    expect(ids::KN_RST_2, o.abort_on_close_delta == 0 && o.abort_on_data_delta == 0, || {
        format!(
            "no abort expected, TCPAbortOnClose +{} TCPAbortOnData +{}",
            o.abort_on_close_delta, o.abort_on_data_delta
        )
    })
}

/// KN-RST-3: SO_LINGER {1,0} → RST even when drained, counted as
/// TCPAbortOnData (not TCPAbortOnClose).
pub fn check_linger0(o: &CloseObservation) -> Probe<()> {
    expect(ids::KN_RST_3, o.first_read == Err("ECONNRESET".into()), || {
        format!("SO_LINGER {{1,0}} close: peer's read expected ECONNRESET, got {:?}", o.first_read)
    })?;
    expect(ids::KN_RST_3, o.abort_on_data_delta == 1 && o.abort_on_close_delta == 0, || {
        format!(
            "expected TCPAbortOnData +1 and TCPAbortOnClose +0, got +{} and +{}",
            o.abort_on_data_delta, o.abort_on_close_delta
        )
    })
}

/// KN-RST-4: SO_LINGER {1,0} with unread data: the unread-data branch runs
/// first, so it is TCPAbortOnClose, not TCPAbortOnData.
pub fn check_unread_linger0(o: &CloseObservation) -> Probe<()> {
    expect(ids::KN_RST_4, o.first_read == Err("ECONNRESET".into()), || {
        format!("SO_LINGER {{1,0}} + unread: peer's read expected ECONNRESET, got {:?}", o.first_read)
    })?;
    expect(ids::KN_RST_4, o.abort_on_close_delta == 1 && o.abort_on_data_delta == 0, || {
        format!(
            "expected TCPAbortOnClose +1 and TCPAbortOnData +0, got +{} and +{}",
            o.abort_on_close_delta, o.abort_on_data_delta
        )
    })
}

/// Runs a mode and its check; returns the observation for reporting.
pub fn probe(mode: CloseMode) -> Probe<CloseObservation> {
    let o = observe(mode)?;
    match mode {
        CloseMode::Unread => check_unread(&o)?,
        CloseMode::Drained => check_drained(&o)?,
        CloseMode::DrainedLinger0 => check_linger0(&o)?,
        CloseMode::UnreadLinger0 => check_unread_linger0(&o)?,
    }
    Ok(o)
}

/// What closing a socket its peer had already reset showed (KN-RST-6).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ResetThenClose {
    /// poll() on the closer once the peer's RST had arrived.
    pub closer_revents: String,
    /// Bytes still in the closer's receive queue just before its close
    /// (SIOCINQ): the precondition, checked, not assumed.
    pub unread: usize,
    pub abort_on_close_delta: u64,
    pub out_rsts_delta: u64,
}

/// KN-RST-6, inside a fresh netns (the counters are its own): the peer
/// writes, the closer lets the bytes sit unread, the peer resets
/// (SO_LINGER {1,0}, its own queue drained), and once the closer sees the
/// reset (POLLERR) it closes.
pub fn observe_reset_then_close() -> Probe<ResetThenClose> {
    let ns = Netns::new("rst6")?;
    ns.run(observe_reset_then_close_here)?
}

fn observe_reset_then_close_here() -> Probe<ResetThenClose> {
    let (peer, closer) = pair_with_unread(b"portcheck unread data")?;
    let peer = Socket::from(peer);
    ctx("peer SO_LINGER {1,0}", peer.set_linger(Some(Duration::ZERO)))?;
    drop(peer); // close(2): RST
                // The reset has arrived once the closer polls POLLERR (sk_err set by tcp_reset).
    let rev = ctx("poll closer for the reset", poll_fd(closer.as_fd(), libc::POLLRDHUP, BOUND))?;
    if rev & libc::POLLERR == 0 {
        return Err(format!("the peer's RST did not reach the closer within {BOUND:?} (revents {})", poll_flags(rev)));
    }
    let unread = ctx("SIOCINQ on the closer", bytes_readable(std::os::fd::AsRawFd::as_raw_fd(&closer)))?;
    let close0 = tcp_ext_counter("TCPAbortOnClose")?;
    let rsts0 = tcp_counter("OutRsts")?;
    drop(closer); // close(2)
    Ok(ResetThenClose {
        closer_revents: poll_flags(rev),
        unread,
        abort_on_close_delta: tcp_ext_counter("TCPAbortOnClose")? - close0,
        out_rsts_delta: tcp_counter("OutRsts")? - rsts0,
    })
}

/// KN-RST-6: the reset socket held unread bytes, and its close sent
/// nothing.
pub fn check_reset_then_close(o: &ResetThenClose) -> Probe<()> {
    expect(ids::KN_RST_6, o.unread > 0, || {
        format!("the precondition failed: the reset socket's receive queue was empty before close ({o:?})")
    })?;
    expect(ids::KN_RST_6, o.abort_on_close_delta == 0 && o.out_rsts_delta == 0, || {
        format!(
            "closing a socket already reset sent a reset: TCPAbortOnClose +{}, OutRsts +{} ({} bytes unread)",
            o.abort_on_close_delta, o.out_rsts_delta, o.unread
        )
    })
}

/// KN-RST-6's probe and check.
pub fn probe_reset_then_close() -> Probe<ResetThenClose> {
    let o = observe_reset_then_close()?;
    check_reset_then_close(&o)?;
    Ok(o)
}

/// What closing a socket still in SYN_SENT showed (KN-RST-7).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SynSentClose {
    /// connect(2)'s own return (EINPROGRESS expected).
    pub immediate: String,
    /// `tcpi_state` just before the close (TCP_INFO): 2 is SYN_SENT, the
    /// precondition, checked, not assumed.
    pub state_before_close: u8,
    pub out_rsts_delta: u64,
}

/// KN-RST-7, inside a fresh netns whose SYNs are dropped (as KN-CONN-5's,
/// `connect::netns_dropping_syns`), so the connect stays in SYN_SENT; then
/// close().
pub fn observe_syn_sent_close() -> Probe<SynSentClose> {
    let (ns, sink) = super::connect::netns_dropping_syns("rst7")?;
    ns.run(move || -> Probe<SynSentClose> {
        let (s, immediate) = super::connect::start(sink, |_| Ok(()))?;
        let state_before_close = tcp_state(&s)?;
        let rsts0 = tcp_counter("OutRsts")?;
        drop(s); // close(2)
        Ok(SynSentClose {
            immediate: match immediate {
                Ok(()) => "0".into(),
                Err(e) => format!("{e:?}"),
            },
            state_before_close,
            out_rsts_delta: tcp_counter("OutRsts")? - rsts0,
        })
    })?
}

/// `tcpi_state` of a TCP socket (TCP_INFO).
pub(super) fn tcp_state(s: &Socket) -> Probe<u8> {
    // SAFETY: zeroed tcp_info is a valid value; getsockopt writes at most `len` bytes into it.
    let mut info: libc::tcp_info = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::tcp_info>() as libc::socklen_t;
    let fd = std::os::fd::AsRawFd::as_raw_fd(s);
    // SAFETY: the pointer and length describe `info`.
    let r = unsafe {
        libc::getsockopt(fd, libc::IPPROTO_TCP, libc::TCP_INFO, (&mut info as *mut libc::tcp_info).cast(), &mut len)
    };
    if r != 0 {
        return Err(format!("TCP_INFO: {}", std::io::Error::last_os_error()));
    }
    Ok(info.tcpi_state)
}

/// KN-RST-7: the connect was in SYN_SENT, and the close sent no RST.
pub fn check_syn_sent_close(o: &SynSentClose) -> Probe<()> {
    const TCP_SYN_SENT: u8 = 2;
    expect(ids::KN_RST_7, o.immediate == "EINPROGRESS" && o.state_before_close == TCP_SYN_SENT, || {
        format!("the precondition failed: the connect was not pending in SYN_SENT before the close ({o:?})")
    })?;
    expect(ids::KN_RST_7, o.out_rsts_delta == 0, || {
        format!("closing a socket in SYN_SENT sent a reset: OutRsts +{}", o.out_rsts_delta)
    })
}

/// KN-RST-7's probe and check.
pub fn probe_syn_sent_close() -> Probe<SynSentClose> {
    let o = observe_syn_sent_close()?;
    check_syn_sent_close(&o)?;
    Ok(o)
}

/// What closing with output still in the kernel's write queue showed
/// (KN-RST-8).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FlushedClose {
    /// Bytes the closer wrote before its close (until EAGAIN).
    pub written: usize,
    /// Bytes still in the closer's write queue just before the close
    /// (SIOCOUTQ): the precondition, checked, not assumed.
    pub queued_at_close: usize,
    /// Bytes the peer read after the close, and how its reads ended.
    pub peer_read: usize,
    pub peer_end: Result<usize, String>,
    pub abort_on_close_delta: u64,
    pub abort_on_data_delta: u64,
}

/// KN-RST-8, inside a fresh netns: small buffers (the peer's receive, the
/// closer's send), the closer drains its input, writes until the kernel
/// refuses more, and closes; the peer then reads to the end.
pub fn observe_flushed_close() -> Probe<FlushedClose> {
    let ns = Netns::new("rst8")?;
    ns.run(observe_flushed_close_here)?
}

fn observe_flushed_close_here() -> Probe<FlushedClose> {
    use socket2::{Domain, SockAddr, Type};
    let listener = ctx("listen", TcpListener::bind("127.0.0.1:0"))?;
    let addr: SocketAddr = ctx("local_addr", listener.local_addr())?;
    let peer = ctx("socket", Socket::new(Domain::IPV4, Type::STREAM, None))?;
    ctx("peer SO_RCVBUF", peer.set_recv_buffer_size(4096))?;
    ctx("connect", peer.connect(&SockAddr::from(addr)))?;
    let mut peer = TcpStream::from(peer);
    let (mut closer, _) = ctx("accept", listener.accept())?;
    drop(listener);
    ctx("closer SO_SNDBUF", Socket::from(ctx("dup", closer.try_clone())?).set_send_buffer_size(4096))?;
    // The closer's input: written by the peer, read to the last byte.
    let hello = b"portcheck input";
    ctx("peer write", peer.write_all(hello))?;
    let mut buf = [0u8; 64];
    let mut got = 0;
    while got < hello.len() {
        let rev = ctx("poll closer", poll_fd(closer.as_fd(), libc::POLLIN, BOUND))?;
        if rev & libc::POLLIN == 0 {
            return Err(format!("the peer's bytes did not reach the closer within {BOUND:?}"));
        }
        got += ctx("closer read", closer.read(&mut buf))?;
    }
    // Output until the kernel takes no more.
    ctx("O_NONBLOCK", closer.set_nonblocking(true))?;
    let chunk = [0x5au8; 1024];
    let mut written = 0;
    loop {
        match closer.write(&chunk) {
            Ok(n) => written += n,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
            Err(e) => return Err(format!("closer write: {e}")),
        }
    }
    let (queued, _) = ctx("SIOCOUTQ on the closer", send_queue(std::os::fd::AsRawFd::as_raw_fd(&closer)))?;
    let close0 = tcp_ext_counter("TCPAbortOnClose")?;
    let data0 = tcp_ext_counter("TCPAbortOnData")?;
    drop(closer); // close(2)
    let mut peer_read = 0;
    let peer_end = loop {
        let rev = ctx("poll peer", poll_fd(peer.as_fd(), libc::POLLIN | libc::POLLRDHUP, BOUND))?;
        if rev == 0 {
            return Err(format!("the peer's read made no progress within {BOUND:?} after {peer_read} bytes"));
        }
        let mut big = [0u8; 16384];
        match peer.read(&mut big) {
            Ok(0) => break Ok(0),
            Ok(n) => peer_read += n,
            Err(e) => break Err(io_errno_name(&e)),
        }
    };
    Ok(FlushedClose {
        written,
        queued_at_close: queued,
        peer_read,
        peer_end,
        abort_on_close_delta: tcp_ext_counter("TCPAbortOnClose")? - close0,
        abort_on_data_delta: tcp_ext_counter("TCPAbortOnData")? - data0,
    })
}

/// KN-RST-8: output was queued at the close, and the peer read all of it,
/// then EOF, with no abort counted.
pub fn check_flushed_close(o: &FlushedClose) -> Probe<()> {
    expect(ids::KN_RST_8, o.queued_at_close > 0, || {
        format!("the precondition failed: nothing was in the closer's write queue at the close ({o:?})")
    })?;
    expect(ids::KN_RST_8, o.peer_read == o.written && o.peer_end == Ok(0), || {
        format!(
            "the peer read {} of {} bytes, then {:?} (expected every byte, then EOF)",
            o.peer_read, o.written, o.peer_end
        )
    })?;
    expect(ids::KN_RST_8, o.abort_on_close_delta == 0 && o.abort_on_data_delta == 0, || {
        format!(
            "no abort expected, TCPAbortOnClose +{} TCPAbortOnData +{}",
            o.abort_on_close_delta, o.abort_on_data_delta
        )
    })
}

/// KN-RST-8's probe and check.
pub fn probe_flushed_close() -> Probe<FlushedClose> {
    let o = observe_flushed_close()?;
    check_flushed_close(&o)?;
    Ok(o)
}

/// What shutdown(SHUT_RDWR) with output still in the kernel's write queue
/// showed (KN-RST-10).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ShutdownRdwr {
    /// Bytes the closer wrote before its shutdown (until EAGAIN).
    pub written: usize,
    /// Bytes still in the closer's write queue just before the shutdown
    /// (SIOCOUTQ): the precondition, checked, not assumed.
    pub queued_at_shutdown: usize,
    /// A write right after the shutdown (MSG_NOSIGNAL): `Ok(n)` or the errno.
    pub write_after: Result<usize, String>,
    /// Bytes the peer read after the shutdown, and how its reads ended.
    pub peer_read: usize,
    pub peer_end: Result<usize, String>,
    pub abort_on_close_delta: u64,
    pub abort_on_data_delta: u64,
    pub out_rsts_delta: u64,
}

/// KN-RST-10, inside a fresh netns: as KN-RST-8 (small buffers, input
/// drained, output until EAGAIN), but the closer calls shutdown(SHUT_RDWR)
/// and keeps its fd until the peer has read to the end.
pub fn observe_shutdown_rdwr() -> Probe<ShutdownRdwr> {
    let ns = Netns::new("rst10")?;
    ns.run(observe_shutdown_rdwr_here)?
}

/// A loopback pair (peer, closer) with the peer's receive buffer and the
/// closer's send buffer small, and the closer's input (written by the
/// peer) read to the last byte.
fn small_buffered_pair() -> Probe<(TcpStream, TcpStream)> {
    use socket2::{Domain, SockAddr, Type};
    let listener = ctx("listen", TcpListener::bind("127.0.0.1:0"))?;
    let addr: SocketAddr = ctx("local_addr", listener.local_addr())?;
    let peer = ctx("socket", Socket::new(Domain::IPV4, Type::STREAM, None))?;
    ctx("peer SO_RCVBUF", peer.set_recv_buffer_size(4096))?;
    ctx("connect", peer.connect(&SockAddr::from(addr)))?;
    let mut peer = TcpStream::from(peer);
    let (mut closer, _) = ctx("accept", listener.accept())?;
    drop(listener);
    ctx("closer SO_SNDBUF", Socket::from(ctx("dup", closer.try_clone())?).set_send_buffer_size(4096))?;
    let hello = b"portcheck input";
    ctx("peer write", peer.write_all(hello))?;
    let mut buf = [0u8; 64];
    let mut got = 0;
    while got < hello.len() {
        let rev = ctx("poll closer", poll_fd(closer.as_fd(), libc::POLLIN, BOUND))?;
        if rev & libc::POLLIN == 0 {
            return Err(format!("the peer's bytes did not reach the closer within {BOUND:?}"));
        }
        got += ctx("closer read", closer.read(&mut buf))?;
    }
    Ok((peer, closer))
}

/// Writes until the kernel takes no more (non-blocking); returns the bytes
/// written.
fn fill_write_queue(closer: &mut TcpStream) -> Probe<usize> {
    ctx("O_NONBLOCK", closer.set_nonblocking(true))?;
    let chunk = [0x5au8; 1024];
    let mut written = 0;
    loop {
        match closer.write(&chunk) {
            Ok(n) => written += n,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return Ok(written),
            Err(e) => return Err(format!("closer write: {e}")),
        }
    }
}

/// Reads the peer to its end: (bytes, how it ended), polling with a bound
/// per step.
fn read_to_end(peer: &mut TcpStream) -> Probe<(usize, Result<usize, String>)> {
    let mut n_read = 0;
    loop {
        let rev = ctx("poll peer", poll_fd(peer.as_fd(), libc::POLLIN | libc::POLLRDHUP, BOUND))?;
        if rev == 0 {
            return Err(format!("the peer's read made no progress within {BOUND:?} after {n_read} bytes"));
        }
        let mut big = [0u8; 16384];
        match peer.read(&mut big) {
            Ok(0) => return Ok((n_read, Ok(0))),
            Ok(n) => n_read += n,
            Err(e) => return Ok((n_read, Err(io_errno_name(&e)))),
        }
    }
}

fn observe_shutdown_rdwr_here() -> Probe<ShutdownRdwr> {
    let (mut peer, mut closer) = small_buffered_pair()?;
    let written = fill_write_queue(&mut closer)?;
    let (queued, _) = ctx("SIOCOUTQ on the closer", send_queue(std::os::fd::AsRawFd::as_raw_fd(&closer)))?;
    let close0 = tcp_ext_counter("TCPAbortOnClose")?;
    let data0 = tcp_ext_counter("TCPAbortOnData")?;
    let rsts0 = tcp_counter("OutRsts")?;
    ctx("shutdown(SHUT_RDWR)", closer.shutdown(std::net::Shutdown::Both))?;
    let closer = Socket::from(closer);
    let write_after = closer.send_with_flags(b"late", libc::MSG_NOSIGNAL).map_err(|e| io_errno_name(&e));
    let (peer_read, peer_end) = read_to_end(&mut peer)?;
    let o = ShutdownRdwr {
        written,
        queued_at_shutdown: queued,
        write_after,
        peer_read,
        peer_end,
        abort_on_close_delta: tcp_ext_counter("TCPAbortOnClose")? - close0,
        abort_on_data_delta: tcp_ext_counter("TCPAbortOnData")? - data0,
        out_rsts_delta: tcp_counter("OutRsts")? - rsts0,
    };
    drop(closer);
    Ok(o)
}

/// KN-RST-10: output was queued at the shutdown; the peer read all of it,
/// then EOF; the late write failed with EPIPE; no abort, no RST.
pub fn check_shutdown_rdwr(o: &ShutdownRdwr) -> Probe<()> {
    expect(ids::KN_RST_10, o.queued_at_shutdown > 0, || {
        format!("the precondition failed: nothing was in the closer's write queue at the shutdown ({o:?})")
    })?;
    expect(ids::KN_RST_10, o.peer_read == o.written && o.peer_end == Ok(0), || {
        format!(
            "after shutdown(SHUT_RDWR) the peer read {} of {} bytes, then {:?} (expected every byte, then EOF)",
            o.peer_read, o.written, o.peer_end
        )
    })?;
    expect(ids::KN_RST_10, o.write_after == Err("EPIPE".into()), || {
        format!("a write after shutdown(SHUT_RDWR) returned {:?} (expected EPIPE)", o.write_after)
    })?;
    expect(ids::KN_RST_10, o.abort_on_close_delta == 0 && o.abort_on_data_delta == 0 && o.out_rsts_delta == 0, || {
        format!(
            "no abort and no RST expected, TCPAbortOnClose +{} TCPAbortOnData +{} OutRsts +{}",
            o.abort_on_close_delta, o.abort_on_data_delta, o.out_rsts_delta
        )
    })
}

/// KN-RST-10's probe and check.
pub fn probe_shutdown_rdwr() -> Probe<ShutdownRdwr> {
    let o = observe_shutdown_rdwr()?;
    check_shutdown_rdwr(&o)?;
    Ok(o)
}

/// A TCP segment seen on `lo` (IPv4, addresses are loopback).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Segment {
    pub sport: u16,
    pub dport: u16,
    pub seq: u32,
    pub ack: u32,
    /// The TCP flags byte (FIN 0x01, SYN 0x02, RST 0x04, ACK 0x10).
    pub flags: u8,
}

const FIN: u8 = 0x01;
const RST: u8 = 0x04;
const ACK: u8 = 0x10;

/// An AF_PACKET socket on the calling thread's netns's `lo`: every TCP
/// segment delivered there, once each (the received copy). Closed on drop.
struct LoCapture {
    fd: std::os::fd::OwnedFd,
}

impl LoCapture {
    fn open() -> Probe<LoCapture> {
        use std::os::fd::FromRawFd;
        let proto = (libc::ETH_P_IP as u16).to_be();
        // SAFETY: plain socket(2); the fd is owned below.
        let fd = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, proto as i32) };
        if fd < 0 {
            return Err(format!("socket(AF_PACKET): {}", std::io::Error::last_os_error()));
        }
        // SAFETY: a fresh fd.
        let fd = unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) };
        // SAFETY: a NUL-terminated name.
        let ifindex = unsafe { libc::if_nametoindex(c"lo".as_ptr()) };
        if ifindex == 0 {
            return Err(format!("if_nametoindex(lo): {}", std::io::Error::last_os_error()));
        }
        // SAFETY: zeroed sockaddr_ll is valid; filled below.
        let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        sll.sll_family = libc::AF_PACKET as u16;
        sll.sll_protocol = proto;
        sll.sll_ifindex = ifindex as i32;
        // SAFETY: the pointer and length describe `sll`.
        let r = unsafe {
            libc::bind(
                std::os::fd::AsRawFd::as_raw_fd(&fd),
                (&sll as *const libc::sockaddr_ll).cast(),
                std::mem::size_of::<libc::sockaddr_ll>() as u32,
            )
        };
        if r < 0 {
            return Err(format!("bind AF_PACKET to lo: {}", std::io::Error::last_os_error()));
        }
        Ok(LoCapture { fd })
    }

    /// The next TCP segment received on lo, or None when none arrives
    /// within `bound`.
    fn next(&self, bound: Duration) -> Probe<Option<Segment>> {
        let deadline = std::time::Instant::now() + bound;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            let rev = ctx("poll capture", poll_fd(self.fd.as_fd(), libc::POLLIN, left))?;
            if rev & libc::POLLIN == 0 {
                return Ok(None);
            }
            let mut buf = [0u8; 2048];
            // SAFETY: zeroed sockaddr_ll is valid; the pointers describe the buffers.
            let mut from: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
            let mut len = std::mem::size_of::<libc::sockaddr_ll>() as u32;
            let n = unsafe {
                libc::recvfrom(
                    std::os::fd::AsRawFd::as_raw_fd(&self.fd),
                    buf.as_mut_ptr().cast(),
                    buf.len(),
                    libc::MSG_DONTWAIT,
                    (&mut from as *mut libc::sockaddr_ll).cast(),
                    &mut len,
                )
            };
            if n < 0 {
                let e = std::io::Error::last_os_error();
                if e.kind() == std::io::ErrorKind::WouldBlock {
                    continue;
                }
                return Err(format!("recvfrom(AF_PACKET): {e}"));
            }
            // lo shows each segment twice: sent (PACKET_OUTGOING) and received.
            if from.sll_pkttype == libc::PACKET_OUTGOING {
                continue;
            }
            if let Some(s) = parse_ipv4_tcp(&buf[..n as usize]) {
                return Ok(Some(s));
            }
        }
    }

    /// The first segment matching `want` within `bound` (others skipped).
    fn find(&self, bound: Duration, want: impl Fn(&Segment) -> bool) -> Probe<Option<Segment>> {
        let deadline = std::time::Instant::now() + bound;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.next(left)? {
                None => return Ok(None),
                Some(s) if want(&s) => return Ok(Some(s)),
                Some(_) => {}
            }
        }
    }
}

fn parse_ipv4_tcp(p: &[u8]) -> Option<Segment> {
    if p.len() < 20 || p[0] >> 4 != 4 || p[9] != libc::IPPROTO_TCP as u8 {
        return None;
    }
    let ihl = usize::from(p[0] & 0x0f) * 4;
    let t = p.get(ihl..ihl + 20)?;
    let u16at = |i: usize| u16::from_be_bytes([t[i], t[i + 1]]);
    let u32at = |i: usize| u32::from_be_bytes([t[i], t[i + 1], t[i + 2], t[i + 3]]);
    Some(Segment { sport: u16at(0), dport: u16at(2), seq: u32at(4), ack: u32at(8), flags: t[13] })
}

/// Sends one bare TCP segment (no options, no payload) from
/// 127.0.0.1:`s.sport` to 127.0.0.1:`s.dport` through a raw socket, as the
/// peer's address and port would.
fn inject(s: &Segment) -> Probe<()> {
    use std::os::fd::FromRawFd;
    let mut h = [0u8; 20];
    h[0..2].copy_from_slice(&s.sport.to_be_bytes());
    h[2..4].copy_from_slice(&s.dport.to_be_bytes());
    h[4..8].copy_from_slice(&s.seq.to_be_bytes());
    h[8..12].copy_from_slice(&s.ack.to_be_bytes());
    h[12] = 5 << 4;
    h[13] = s.flags;
    h[14..16].copy_from_slice(&1024u16.to_be_bytes());
    // Checksum over the pseudo-header (127.0.0.1 twice, protocol 6, length 20) and the header.
    let mut sum: u32 = 0x7f00 + 0x0001 + 0x7f00 + 0x0001 + 6 + 20;
    for w in h.chunks(2) {
        sum += u32::from(u16::from_be_bytes([w[0], w[1]]));
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    h[16..18].copy_from_slice(&(!(sum as u16)).to_be_bytes());
    // SAFETY: plain socket(2); the fd is owned below.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, libc::IPPROTO_TCP) };
    if fd < 0 {
        return Err(format!("socket(SOCK_RAW): {}", std::io::Error::last_os_error()));
    }
    // SAFETY: a fresh fd.
    let fd = unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) };
    let to = libc::sockaddr_in {
        sin_family: libc::AF_INET as u16,
        sin_port: 0,
        sin_addr: libc::in_addr { s_addr: u32::from(std::net::Ipv4Addr::LOCALHOST).to_be() },
        sin_zero: [0; 8],
    };
    // SAFETY: the pointers and lengths describe `h` and `to`.
    let n = unsafe {
        libc::sendto(
            std::os::fd::AsRawFd::as_raw_fd(&fd),
            h.as_ptr().cast(),
            h.len(),
            0,
            (&to as *const libc::sockaddr_in).cast(),
            std::mem::size_of::<libc::sockaddr_in>() as u32,
        )
    };
    if n != h.len() as isize {
        return Err(format!("sendto(SOCK_RAW): {}", std::io::Error::last_os_error()));
    }
    Ok(())
}

/// TCP states of the calling thread's netns's sockets whose local port is
/// `port` (`/proc/thread-self/net/tcp`, `st` in hex: 06 TIME_WAIT, 09
/// LAST_ACK).
fn tcp_states_on_port(port: u16) -> Probe<Vec<u8>> {
    let text = ctx("read /proc/thread-self/net/tcp", std::fs::read_to_string("/proc/thread-self/net/tcp"))?;
    let mut v = Vec::new();
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split_whitespace().collect();
        let (Some(local), Some(st)) = (f.get(1), f.get(3)) else { continue };
        let lport = local.rsplit(':').next().and_then(|p| u16::from_str_radix(p, 16).ok());
        if lport == Some(port) {
            if let Ok(s) = u8::from_str_radix(st, 16) {
                v.push(s);
            }
        }
    }
    Ok(v)
}

/// What a close after the peer's FIN showed (KN-RST-9).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RemoteFinThenClose {
    /// The closer's read after the peer's FIN: `Ok(0)` is EOF.
    pub closer_read: Result<usize, String>,
    /// `tcpi_state` just before the close: 8 is CLOSE_WAIT.
    pub state_before_close: u8,
    /// The closer's segment after close(), seen on lo: its flags (FIN, not RST).
    pub close_segment_flags: Option<u8>,
    /// The peer's read after the close.
    pub peer_read: Result<usize, String>,
    /// The peer's port's states once the closer's tuple is gone (6 = TIME_WAIT).
    pub peer_states: Vec<u8>,
    /// Whether the closer's tuple left /proc/net/tcp (LAST_ACK ended by the
    /// peer's ACK) within the bound.
    pub closer_gone: bool,
    pub out_rsts_after_close: u64,
    /// The later segment (ACK from the peer's address and port) and the
    /// closer port's answer seen on lo.
    pub later_segment: Option<Segment>,
    pub answer: Option<Segment>,
    pub out_rsts_after_segment: u64,
}

/// KN-RST-9, inside a fresh netns (its own counters and lo): the peer
/// shuts down its side (FIN), the closer reads EOF and closes; then a
/// segment from the peer's address and port arrives at the closer's port.
pub fn observe_remote_fin_then_close() -> Probe<RemoteFinThenClose> {
    let ns = Netns::new("rst9")?;
    ns.run(observe_remote_fin_then_close_here)?
}

fn observe_remote_fin_then_close_here() -> Probe<RemoteFinThenClose> {
    let cap = LoCapture::open()?;
    let listener = ctx("listen", TcpListener::bind("127.0.0.1:0"))?;
    let addr: SocketAddr = ctx("local_addr", listener.local_addr())?;
    let mut peer = ctx("connect", TcpStream::connect(addr))?;
    let (mut closer, _) = ctx("accept", listener.accept())?;
    drop(listener); // nothing left on the port once the closer is gone
    let (cport, pport) = (addr.port(), ctx("peer local_addr", peer.local_addr())?.port());
    ctx("peer shutdown(SHUT_WR)", peer.shutdown(std::net::Shutdown::Write))?;
    let rev = ctx("poll closer", poll_fd(closer.as_fd(), libc::POLLIN | libc::POLLRDHUP, BOUND))?;
    if rev & libc::POLLRDHUP == 0 {
        return Err(format!("the peer's FIN did not reach the closer within {BOUND:?} (revents {})", poll_flags(rev)));
    }
    let mut buf = [0u8; 64];
    let closer_read = closer.read(&mut buf).map_err(|e| io_errno_name(&e));
    let closer = Socket::from(closer);
    let state_before_close = tcp_state(&closer)?;
    let rsts0 = tcp_counter("OutRsts")?;
    drop(closer); // close(2)
    let seg = cap.find(BOUND, |s| s.sport == cport && s.dport == pport && s.flags & (FIN | RST) != 0)?;
    let rev = ctx("poll peer", poll_fd(peer.as_fd(), libc::POLLIN | libc::POLLRDHUP, BOUND))?;
    let peer_read = if rev == 0 {
        Err("nothing within the bound".into())
    } else {
        peer.read(&mut buf).map_err(|e| io_errno_name(&e))
    };
    // LAST_ACK ends with the peer's ACK: wait (bounded) until the closer's
    // tuple is gone, so the later segment finds no socket.
    let deadline = std::time::Instant::now() + BOUND;
    let closer_gone = loop {
        if tcp_states_on_port(cport)?.is_empty() {
            break true;
        }
        if std::time::Instant::now() > deadline {
            break false;
        }
        std::thread::yield_now();
    };
    let peer_states = tcp_states_on_port(pport)?;
    let out_rsts_after_close = tcp_counter("OutRsts")? - rsts0;
    // The packetdrill script's last segment: a bare ACK in the peer's
    // sequence space (its FIN's seq + 1, acknowledging the closer's FIN).
    let later_segment =
        seg.map(|f| Segment { sport: pport, dport: cport, seq: f.ack, ack: f.seq.wrapping_add(1), flags: ACK });
    let mut answer = None;
    let rsts1 = tcp_counter("OutRsts")?;
    if let (Some(l), true) = (later_segment, closer_gone) {
        inject(&l)?;
        answer = cap.find(BOUND, |s| s.sport == cport && s.dport == pport)?;
    }
    Ok(RemoteFinThenClose {
        closer_read,
        state_before_close,
        close_segment_flags: seg.map(|s| s.flags),
        peer_read,
        peer_states,
        closer_gone,
        out_rsts_after_close,
        later_segment,
        answer,
        out_rsts_after_segment: tcp_counter("OutRsts")? - rsts1,
    })
}

/// KN-RST-9: EOF, CLOSE_WAIT, a FIN (no RST) at close, the peer reads EOF
/// and holds TIME_WAIT, no OutRsts; the later segment draws exactly one RST.
pub fn check_remote_fin_then_close(o: &RemoteFinThenClose) -> Probe<()> {
    const TCP_TIME_WAIT: u8 = 6;
    const TCP_CLOSE_WAIT: u8 = 8;
    expect(ids::KN_RST_9, o.closer_read == Ok(0) && o.state_before_close == TCP_CLOSE_WAIT, || {
        format!(
            "the precondition failed: after the peer's FIN the closer read {:?} in tcpi_state {} (expected EOF in CLOSE_WAIT, 8)",
            o.closer_read, o.state_before_close
        )
    })?;
    expect(ids::KN_RST_9, o.close_segment_flags.is_some_and(|f| f & FIN != 0 && f & RST == 0), || {
        format!("close() after the peer's FIN: expected a FIN on lo, saw flags {:?}", o.close_segment_flags)
    })?;
    expect(ids::KN_RST_9, o.peer_read == Ok(0) && o.out_rsts_after_close == 0, || {
        format!(
            "after the close the peer read {:?} (expected EOF) and OutRsts rose by {} (expected 0)",
            o.peer_read, o.out_rsts_after_close
        )
    })?;
    expect(ids::KN_RST_9, o.closer_gone && o.peer_states == vec![TCP_TIME_WAIT], || {
        format!(
            "expected the closer's tuple gone (LAST_ACK acknowledged: {}) and the peer's in TIME_WAIT (states {:?})",
            o.closer_gone, o.peer_states
        )
    })?;
    expect(ids::KN_RST_9, o.answer.is_some_and(|a| a.flags & RST != 0) && o.out_rsts_after_segment == 1, || {
        format!(
            "a segment from the peer after the connection closed: answer {:?}, OutRsts +{} (expected one RST)",
            o.answer, o.out_rsts_after_segment
        )
    })
}

/// KN-RST-9's probe and check.
pub fn probe_remote_fin_then_close() -> Probe<RemoteFinThenClose> {
    let o = observe_remote_fin_then_close()?;
    check_remote_fin_then_close(&o)?;
    Ok(o)
}

/// What closing a listener with connections still in its accept queue
/// showed (KN-RST-11).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ListenerClosed {
    /// Connections the clients completed and the listener never accepted.
    pub queued: usize,
    /// Each client's first read after the close, then its second.
    pub client_reads: Vec<(Result<usize, String>, Result<usize, String>)>,
    pub out_rsts_delta: u64,
}

/// KN-RST-11, inside a fresh netns: `queued` clients connect (their
/// handshakes complete into the accept queue, seen as the listener being
/// readable), nobody accepts, the listener is closed; then every client
/// waits (bounded) for readiness and reads twice.
pub fn observe_listener_closed() -> Probe<ListenerClosed> {
    let ns = Netns::new("rst11")?;
    ns.run(observe_listener_closed_here)?
}

fn observe_listener_closed_here() -> Probe<ListenerClosed> {
    const QUEUED: usize = 2;
    let listener = ctx("listen", TcpListener::bind("127.0.0.1:0"))?;
    let addr: SocketAddr = ctx("local_addr", listener.local_addr())?;
    let mut clients = Vec::new();
    for _ in 0..QUEUED {
        clients.push(ctx("connect", TcpStream::connect(addr))?);
    }
    let rev = ctx("poll listener", poll_fd(listener.as_fd(), libc::POLLIN, BOUND))?;
    if rev & libc::POLLIN == 0 {
        return Err(format!("no connection reached the accept queue within {BOUND:?}"));
    }
    let rsts0 = tcp_counter("OutRsts")?;
    drop(listener); // close(2) with the connections unaccepted
    let out_rsts_delta = tcp_counter("OutRsts")? - rsts0;
    let mut client_reads = Vec::new();
    for c in &mut clients {
        let rev = ctx("poll client", poll_fd(c.as_fd(), libc::POLLIN, BOUND))?;
        if rev == 0 {
            return Err(format!("a client saw nothing within {BOUND:?} of the listener's close"));
        }
        let mut buf = [0u8; 64];
        let first = c.read(&mut buf).map_err(|e| io_errno_name(&e));
        let second = c.read(&mut buf).map_err(|e| io_errno_name(&e));
        client_reads.push((first, second));
    }
    Ok(ListenerClosed { queued: QUEUED, client_reads, out_rsts_delta })
}

/// KN-RST-11: every queued connection was reset: each client's read fails
/// with ECONNRESET (then reads EOF), one RST each.
pub fn check_listener_closed(o: &ListenerClosed) -> Probe<()> {
    let reset = (Err("ECONNRESET".to_string()), Ok(0));
    expect(ids::KN_RST_11, o.client_reads.len() == o.queued && o.client_reads.iter().all(|r| *r == reset), || {
        format!("after the listener's close the clients read {:?} (expected ECONNRESET, then EOF)", o.client_reads)
    })?;
    expect(ids::KN_RST_11, o.out_rsts_delta == o.queued as u64, || {
        format!("closing the listener: OutRsts +{} for {} queued connections", o.out_rsts_delta, o.queued)
    })
}

/// KN-RST-11's probe and check.
pub fn probe_listener_closed() -> Probe<ListenerClosed> {
    let o = observe_listener_closed()?;
    check_listener_closed(&o)?;
    Ok(o)
}
