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
fn tcp_state(s: &Socket) -> Probe<u8> {
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
