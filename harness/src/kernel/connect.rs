//! KN-CONN-*: non-blocking connect and how its outcome is learned.
//!
//! `connect(2)` on a non-blocking TCP socket returns EINPROGRESS
//! (`__inet_stream_connect`, net/ipv4/af_inet.c) unless the route lookup in
//! `tcp_v4_connect` fails at once. Completion is signalled by *writability*,
//! and the outcome is in `SO_ERROR`: a socket whose SYN was refused is
//! writable too (POLLOUT|POLLERR|POLLHUP), so "writable == connected" is
//! wrong. Seed: yufeng, "非阻塞connect的一个细节" (2010), and inet_drv.c,
//! which reads SO_ERROR after the write event. The runtime's
//! [`connect_result`] (and the naive check it replaces) are checked here.

use super::netns::Netns;
use super::rst::tcp_state;
use super::{ctx, errno_name, expect, ids, poll_fd, poll_flags, poll_now, so_error, Probe};
pub use native::connect::{connect_result, naive_connected, ConnectOutcome};
use nix::errno::Errno;
use serde::Serialize;
use socket2::{Domain, SockAddr, Socket, Type};
use std::io;
use std::net::{SocketAddr, TcpListener};
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

/// Failure bound for completions expected on loopback.
pub const LOOPBACK_BOUND: Duration = Duration::from_secs(5);
/// Failure bound for the dropped-SYN timeout (TCP_SYNCNT=1 gives ~3 s).
pub const TIMEOUT_BOUND: Duration = Duration::from_secs(15);

/// connect(2)'s own result: `Ok` when connected at once, else its errno
/// (`EINPROGRESS` for a connect under way).
pub type Immediate = Result<(), Errno>;

fn immediate_name(i: &Immediate) -> String {
    match i {
        Ok(()) => "0".to_string(),
        Err(e) => errno_name(*e as i32),
    }
}

/// Starts a non-blocking connect; returns the socket and connect's
/// immediate result.
pub fn start(addr: SocketAddr, setup: impl FnOnce(&Socket) -> io::Result<()>) -> Probe<(Socket, Immediate)> {
    let s = ctx("socket", Socket::new(Domain::for_address(addr), Type::STREAM, None))?;
    ctx("O_NONBLOCK", s.set_nonblocking(true))?;
    ctx("socket options", setup(&s))?;
    let immediate = s.connect(&SockAddr::from(addr)).map_err(|e| Errno::from_raw(e.raw_os_error().unwrap_or(0)));
    Ok((s, immediate))
}

/// One observed non-blocking connect.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ConnectObservation {
    pub case: String,
    /// connect(2)'s own return: `0`, `EINPROGRESS`, or an immediate error.
    pub immediate: String,
    /// poll(POLLOUT) revents at completion (empty when connect failed at once).
    pub revents: String,
    /// SO_ERROR read after completion.
    pub so_error: String,
    /// What `connect_result` concluded (from a second, identical connect
    /// when `so_error` above was read by hand).
    pub outcome: ConnectOutcome,
    /// Time from connect(2) to completion, in ms (rounded to 100 ms so
    /// snapshots are stable).
    pub elapsed_ms_rounded: u64,
}

fn complete(case: &str, s: &Socket, immediate: Immediate, bound: Duration, t0: Instant) -> Probe<ConnectObservation> {
    if immediate != Err(Errno::EINPROGRESS) {
        let outcome = match immediate {
            Ok(()) => ConnectOutcome::Connected,
            Err(e) => ConnectOutcome::Failed(e),
        };
        return Ok(ConnectObservation {
            case: case.into(),
            immediate: immediate_name(&immediate),
            revents: String::new(),
            so_error: String::new(),
            outcome,
            elapsed_ms_rounded: 0,
        });
    }
    let rev = ctx("poll POLLOUT", poll_fd(s.as_fd(), libc::POLLOUT, bound))?;
    let elapsed = t0.elapsed();
    let rev = if rev != 0 { settled_revents(s, rev, t0 + bound)? } else { rev };
    let err = ctx("SO_ERROR", so_error(s.as_fd()))?;
    let outcome = if rev == 0 {
        ConnectOutcome::Pending
    } else if err == 0 {
        ConnectOutcome::Connected
    } else {
        ConnectOutcome::Failed(Errno::from_raw(err))
    };
    Ok(ConnectObservation {
        case: case.into(),
        immediate: immediate_name(&immediate),
        revents: poll_flags(rev),
        so_error: errno_name(err),
        outcome,
        elapsed_ms_rounded: (elapsed.as_millis() as u64 + 50) / 100 * 100,
    })
}

/// `tcpi_state` SYN_SENT: the connect has not ended.
const TCP_SYN_SENT: u8 = 2;

/// The poll flags once the connect has ended. A failed connect wakes the
/// poller when the error is reported, a moment before the socket moves to
/// CLOSE (tcp_done_with_error(): sk_err, sk_error_report(), then
/// tcp_done()): a poll between the two sees POLLERR alone, without the
/// POLLOUT|POLLHUP of the closed socket (seen under load: KN-FP-1's ARP
/// case, 2026-12-07). So: wait until the socket has left SYN_SENT (the
/// window is a few instructions of the same softirq), then poll again.
/// `deadline` bounds the wait; past it the first flags are kept.
fn settled_revents(s: &Socket, first: libc::c_short, deadline: Instant) -> Probe<libc::c_short> {
    while tcp_state(s)? == TCP_SYN_SENT {
        if Instant::now() > deadline {
            return Ok(first);
        }
        std::thread::yield_now();
    }
    ctx("poll POLLOUT again", poll_now(s.as_fd(), libc::POLLOUT))
}

/// A loopback port with nothing listening: bound (so nobody else takes it)
/// but not listening, so a SYN to it is answered with RST.
fn closed_port() -> Probe<(Socket, SocketAddr)> {
    let s = ctx("socket", Socket::new(Domain::IPV4, Type::STREAM, None))?;
    ctx("bind", s.bind(&SockAddr::from("127.0.0.1:0".parse::<SocketAddr>().unwrap())))?;
    let a = ctx("local_addr", s.local_addr())?.as_socket().ok_or("not inet")?;
    Ok((s, a))
}

/// KN-CONN-1: closed loopback port → EINPROGRESS, then writable with
/// SO_ERROR = ECONNREFUSED.
pub fn closed_loopback() -> Probe<ConnectObservation> {
    let (_hold, addr) = closed_port()?;
    let t0 = Instant::now();
    let (s, imm) = start(addr, |_| Ok(()))?;
    let o = complete("closed loopback port", &s, imm, LOOPBACK_BOUND, t0)?;
    expect(ids::KN_CONN_1, o.immediate == "EINPROGRESS", || {
        format!("connect to a closed loopback port returned {} (expected EINPROGRESS)", o.immediate)
    })?;
    expect(ids::KN_CONN_1, o.revents.contains("POLLOUT"), || {
        format!("expected POLLOUT after the refusal, got {}", o.revents)
    })?;
    expect(ids::KN_CONN_1, o.so_error == "ECONNREFUSED", || {
        format!("expected SO_ERROR = ECONNREFUSED, got {}", o.so_error)
    })?;
    Ok(o)
}

/// KN-CONN-2: the naive "writable == connected" check is wrong: the
/// refused socket is writable, `connect_result` says ECONNREFUSED.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NaiveObservation {
    pub naive_says_connected: bool,
    pub connect_result: ConnectOutcome,
}

pub fn naive_is_wrong() -> Probe<NaiveObservation> {
    let (_hold, addr) = closed_port()?;
    let (s, imm) = start(addr, |_| Ok(()))?;
    if imm != Err(Errno::EINPROGRESS) {
        return Err(super::violation(ids::KN_CONN_2, format!("expected EINPROGRESS, got {}", immediate_name(&imm))));
    }
    let naive = ctx("poll", naive_connected(s.as_fd(), LOOPBACK_BOUND))?;
    let outcome = ctx("connect_result", connect_result(s.as_fd(), LOOPBACK_BOUND))?;
    let o = NaiveObservation { naive_says_connected: naive, connect_result: outcome };
    expect(ids::KN_CONN_2, o.naive_says_connected, || {
        "the refused socket was expected to be writable (that is what makes the naive check wrong)".into()
    })?;
    expect(ids::KN_CONN_2, o.connect_result == ConnectOutcome::Failed(Errno::ECONNREFUSED), || {
        format!("connect_result should report ECONNREFUSED, got {:?}", o.connect_result)
    })?;
    Ok(o)
}

/// KN-CONN-3: listening loopback port → EINPROGRESS, then POLLOUT with
/// SO_ERROR = 0; `connect_result` says Connected.
pub fn listening_loopback() -> Probe<ConnectObservation> {
    let l = ctx("listen", TcpListener::bind("127.0.0.1:0"))?;
    let addr = ctx("local_addr", l.local_addr())?;
    let t0 = Instant::now();
    let (s, imm) = start(addr, |_| Ok(()))?;
    let o = complete("listening loopback port", &s, imm, LOOPBACK_BOUND, t0)?;
    expect(ids::KN_CONN_3, o.immediate == "EINPROGRESS", || {
        format!("connect to a listening loopback port returned {} (expected EINPROGRESS)", o.immediate)
    })?;
    expect(ids::KN_CONN_3, o.so_error == "0" && o.outcome == ConnectOutcome::Connected, || {
        format!("expected SO_ERROR 0 (connected), got {} / {:?}", o.so_error, o.outcome)
    })?;
    // A second socket through connect_result agrees.
    let (s2, _) = start(addr, |_| Ok(()))?;
    let r = ctx("connect_result", connect_result(s2.as_fd(), LOOPBACK_BOUND))?;
    expect(ids::KN_CONN_3, r == ConnectOutcome::Connected, || format!("connect_result said {r:?}"))?;
    Ok(o)
}

/// KN-CONN-4: in a netns with no route to the destination (only `lo`):
/// ENETUNREACH, immediately from connect(2) (`ip_route_connect` fails in
/// `tcp_v4_connect` before any SYN).
pub fn no_route() -> Probe<ConnectObservation> {
    let ns = Netns::new("noroute")?;
    let o = ns.run(|| {
        let t0 = Instant::now();
        let (s, imm) = start("10.77.0.1:9".parse().unwrap(), |_| Ok(()))?;
        complete("no route (netns with only lo)", &s, imm, LOOPBACK_BOUND, t0)
    })??;
    expect(ids::KN_CONN_4, o.outcome == ConnectOutcome::Failed(Errno::ENETUNREACH), || {
        format!("expected ENETUNREACH, got immediate {} / outcome {:?}", o.immediate, o.outcome)
    })?;
    Ok(o)
}

/// KN-CONN-6: route types that fail at once: `unreachable` → EHOSTUNREACH,
/// `blackhole` → EINVAL, `prohibit` → EACCES (`fib_props[]` in
/// net/ipv4/fib_semantics.c), all immediate from connect(2), no SYN sent.
pub fn route_types() -> Probe<Vec<ConnectObservation>> {
    let ns = Netns::new("rtypes")?;
    ns.ip(&["route", "add", "unreachable", "10.78.1.0/24"])?;
    ns.ip(&["route", "add", "blackhole", "10.78.2.0/24"])?;
    ns.ip(&["route", "add", "prohibit", "10.78.3.0/24"])?;
    let obs = ns.run(|| -> Probe<Vec<ConnectObservation>> {
        let mut v = Vec::new();
        for (case, dst) in [
            ("route type unreachable", "10.78.1.1:9"),
            ("route type blackhole", "10.78.2.1:9"),
            ("route type prohibit", "10.78.3.1:9"),
        ] {
            let t0 = Instant::now();
            let (s, imm) = start(dst.parse().unwrap(), |_| Ok(()))?;
            v.push(complete(case, &s, imm, LOOPBACK_BOUND, t0)?);
        }
        Ok(v)
    })??;
    for (o, want) in obs.iter().zip(["EHOSTUNREACH", "EINVAL", "EACCES"]) {
        expect(ids::KN_CONN_6, o.immediate == want, || {
            format!("{}: expected an immediate {want}, got {} / {:?}", o.case, o.immediate, o.outcome)
        })?;
    }
    Ok(obs)
}

/// How the dropped-SYN case was set up and what governed its timeout.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DroppedSynObservation {
    pub connect: ConnectObservation,
    /// The contrast: a destination whose ARP requests go unanswered.
    pub arp_failure: ConnectObservation,
    pub tcp_syncnt: i32,
    /// Whether `net.ipv4.tcp_syn_linear_timeouts` exists (6.6+) and was set
    /// to 0 in the probe's netns (it would add linear retransmits).
    pub syn_linear_timeouts_zeroed: bool,
}

/// A fresh netns in which every SYN to [`SYN_SINK`] (port 9) is silently
/// dropped: it leaves a veth whose peer end discards every frame, to a
/// permanent neighbour entry with a bogus MAC (no ARP failure, no ICMP);
/// 10.79.0.0/24 has no other host. A connect there stays in SYN_SENT.
pub fn netns_dropping_syns(name: &str) -> Probe<(Netns, SocketAddr)> {
    let ns = Netns::new(name)?;
    ns.ip(&["link", "add", "pcd0", "type", "veth", "peer", "name", "pcd1"])?;
    ns.ip(&["addr", "add", "10.79.0.1/24", "dev", "pcd0"])?;
    ns.ip(&["link", "set", "pcd0", "up"])?;
    ns.ip(&["link", "set", "pcd1", "up"])?;
    ns.ip(&["neigh", "add", SYN_SINK, "lladdr", "02:00:5e:00:53:99", "nud", "permanent", "dev", "pcd0"])?;
    Ok((ns, SocketAddr::new(SYN_SINK.parse().expect("an address"), 9)))
}

/// The address [`netns_dropping_syns`] swallows SYNs for.
const SYN_SINK: &str = "10.79.0.2";

/// KN-CONN-5: SYNs silently dropped (a veth whose peer discards every frame
/// because the neighbour entry is a permanent, bogus MAC: no ARP failure,
/// no ICMP) → EINPROGRESS, and after TCP_SYNCNT retransmissions SO_ERROR =
/// ETIMEDOUT (`tcp_write_timeout` → `tcp_write_err`, net/ipv4/tcp_timer.c:
/// `sk_err = sk_err_soft ? : ETIMEDOUT`). An ARP failure instead would
/// report EHOSTUNREACH (ICMP host unreachable from `arp_error_report`).
pub fn dropped_syn() -> Probe<DroppedSynObservation> {
    let (ns, _) = netns_dropping_syns("synDrop")?;
    let zeroed = ns.sysctl("net/ipv4/tcp_syn_linear_timeouts", "0")?;
    let syncnt = 1;
    let (o, arp) = ns.run(move || -> Probe<(ConnectObservation, ConnectObservation)> {
        let opts = |s: &Socket| super::setsockopt_int(s.as_fd(), libc::IPPROTO_TCP, libc::TCP_SYNCNT, syncnt);
        let t0 = Instant::now();
        let (s, imm) = start("10.79.0.2:9".parse().unwrap(), opts)?;
        // Started together, so the two waits overlap: 10.79.0.3 has no
        // neighbour entry and nobody answers its ARP requests.
        // TCP_SYNCNT 4 here (timeout ~31 s) so the neighbour failure (~3 s:
        // mcast_solicit 3 x retrans_time 1 s) is what ends it.
        let (s2, imm2) = start("10.79.0.3:9".parse().unwrap(), |s: &Socket| {
            super::setsockopt_int(s.as_fd(), libc::IPPROTO_TCP, libc::TCP_SYNCNT, 4)
        })?;
        let o = complete("SYN silently dropped (veth, bogus permanent neighbour)", &s, imm, TIMEOUT_BOUND, t0)?;
        let a = complete("ARP unanswered (veth peer without the address)", &s2, imm2, TIMEOUT_BOUND, t0)?;
        Ok((o, a))
    })??;
    expect(ids::KN_CONN_5, o.immediate == "EINPROGRESS", || format!("expected EINPROGRESS, got {}", o.immediate))?;
    expect(ids::KN_CONN_5, o.outcome == ConnectOutcome::Failed(Errno::ETIMEDOUT), || {
        format!(
            "expected SO_ERROR = ETIMEDOUT within {TIMEOUT_BOUND:?}, got {:?} (revents {}) after {} ms",
            o.outcome, o.revents, o.elapsed_ms_rounded
        )
    })?;
    expect(ids::KN_CONN_5, arp.outcome == ConnectOutcome::Failed(Errno::EHOSTUNREACH), || {
        format!(
            "unanswered ARP: expected SO_ERROR = EHOSTUNREACH within {TIMEOUT_BOUND:?}, got {:?} (immediate {}) after {} ms",
            arp.outcome, arp.immediate, arp.elapsed_ms_rounded
        )
    })?;
    Ok(DroppedSynObservation { connect: o, arp_failure: arp, tcp_syncnt: syncnt, syn_linear_timeouts_zeroed: zeroed })
}

/// What a *blocking* connect to a closed loopback port did (KN-CONN-7).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BlockingRefused {
    /// connect(2)'s own result on a blocking socket: `0` or the errno name.
    pub first: String,
    /// SO_ERROR read right after (the error was returned, not left pending).
    pub so_error_after: String,
    /// A second connect(2) on the same socket.
    pub second: String,
}

/// KN-CONN-7: a blocking connect to a loopback port nobody listens on
/// fails in the call with ECONNREFUSED (LTP connect01). The call is bounded
/// by SO_SNDTIMEO (a hang fails with EINPROGRESS, not forever): loopback
/// answers the SYN with RST at once.
pub fn blocking_refused() -> Probe<BlockingRefused> {
    let (_hold, addr) = closed_port()?;
    let s = ctx("socket", Socket::new(Domain::IPV4, Type::STREAM, None))?;
    ctx("SO_SNDTIMEO", s.set_write_timeout(Some(LOOPBACK_BOUND)))?;
    let name = |r: io::Result<()>| match r {
        Ok(()) => "0".to_string(),
        Err(e) => super::io_errno_name(&e),
    };
    let first = name(s.connect(&SockAddr::from(addr)));
    let so_error_after = errno_name(ctx("SO_ERROR", so_error(s.as_fd()))?);
    let second = name(s.connect(&SockAddr::from(addr)));
    let o = BlockingRefused { first, so_error_after, second };
    expect(ids::KN_CONN_7, o.first == "ECONNREFUSED", || {
        format!("blocking connect to a closed loopback port returned {} (expected ECONNREFUSED)", o.first)
    })?;
    expect(ids::KN_CONN_7, o.so_error_after == "0", || {
        format!("SO_ERROR after the failed blocking connect should be 0 (consumed), got {}", o.so_error_after)
    })?;
    expect(ids::KN_CONN_7, o.second == "ECONNREFUSED", || {
        format!("a second blocking connect on the refused socket returned {} (expected ECONNREFUSED)", o.second)
    })?;
    Ok(o)
}
