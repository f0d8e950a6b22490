//! KN-RST-1 and KN-RST-5 on the native runtime: closing a port whose
//! socket holds input the owner never read. With the default close mode
//! (`CloseMode::Plain`, as inet_drv) the kernel resets the peer (its read
//! fails with ECONNRESET, `TCPAbortOnClose` +1); with
//! `CloseMode::DrainInput` the runtime discards that input first and the
//! peer reads EOF, with no abort counted.
//!
//! The peer-side trials run in the test's own network namespace. The
//! counter trials need a private netns (the TcpExt counters are per
//! namespace, and other tests abort connections concurrently): without
//! root or `ip` they print `SKIP <id>: <reason>` and count as ignored.

use harness::kernel::netns::{self, Netns};
use harness::kernel::{ctx, expect, ids, io_errno_name, poll_fd, poll_flags, tcp_ext_counter, Probe};
use libtest_mimic::{Arguments, Completion, Trial};
use native::SocketOpts;
use native::{CloseMode, Runtime, VirtualClock};
use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener};
use std::os::fd::{AsFd, BorrowedFd};
use std::time::Duration;

/// Failure bound of every readiness wait.
const BOUND: Duration = Duration::from_secs(5);
/// What the peer sends and the port's owner never reads: one small write,
/// one loopback segment.
const UNREAD: &[u8] = b"input the owner never reads";

/// What one close looked like from both ends.
#[derive(Debug)]
struct Observed {
    /// FIONREAD on the port's socket right before the close.
    held_at_close: usize,
    /// What the runtime read and discarded while closing.
    discarded: usize,
    /// poll() on the peer after the close.
    peer_revents: String,
    /// The peer's first and second read after the close (`Ok(0)` is EOF).
    first_read: Result<usize, String>,
    second_read: Result<usize, String>,
    /// TcpExt deltas across the close, when run in a private netns.
    counters: Option<AbortDeltas>,
}

#[derive(Debug, Clone, Copy)]
struct AbortDeltas {
    on_close: u64,
    on_data: u64,
}

/// Opens a native port to a loopback peer, lets the peer's bytes reach the
/// port's receive queue (POLLIN on the port's socket, then FIONREAD),
/// closes the port in `mode`, and records what the peer reads.
fn observe(mode: CloseMode, count: bool) -> Probe<Observed> {
    let listener = ctx("bind loopback", TcpListener::bind((Ipv4Addr::LOCALHOST, 0)))?;
    let addr = ctx("local_addr", listener.local_addr())?;
    let mut rt = ctx("runtime", Runtime::new(Box::new(VirtualClock::new()), 4, 1, None))?;
    rt.connect(addr, SocketOpts { close_mode: mode, ..SocketOpts::default() }, &[])
        .map_err(|e| format!("connect: {e:?}"))?;
    let (mut peer, _) = ctx("accept", listener.accept())?;
    drop(listener);

    ctx("peer write", peer.write_all(UNREAD))?;
    let fd = rt.subject_fd().ok_or("the port has no socket")?;
    // SAFETY: the port's socket stays open until `rt.close()` below, and
    // `port_fd` is not used after it.
    let port_fd = unsafe { BorrowedFd::borrow_raw(fd) };
    let rev = ctx("poll port", poll_fd(port_fd, libc::POLLIN, BOUND))?;
    if rev & libc::POLLIN == 0 {
        return Err(format!("the peer's bytes did not reach the port within {BOUND:?}"));
    }
    let held_at_close = ctx("FIONREAD", rt.subject_bytes_readable())?.unwrap_or(0);
    if held_at_close != UNREAD.len() {
        return Err(format!("the port holds {held_at_close} bytes, expected {}", UNREAD.len()));
    }

    let before =
        if count { Some((tcp_ext_counter("TCPAbortOnClose")?, tcp_ext_counter("TCPAbortOnData")?)) } else { None };
    rt.close().map_err(|e| format!("close: {e}"))?;

    let rev = ctx("poll peer", poll_fd(peer.as_fd(), libc::POLLIN | libc::POLLRDHUP, BOUND))?;
    let mut buf = [0u8; 64];
    let first_read = peer.read(&mut buf).map_err(|e| io_errno_name(&e));
    let second_read = peer.read(&mut buf).map_err(|e| io_errno_name(&e));
    let counters = match before {
        Some((close0, data0)) => Some(AbortDeltas {
            on_close: tcp_ext_counter("TCPAbortOnClose")? - close0,
            on_data: tcp_ext_counter("TCPAbortOnData")? - data0,
        }),
        None => None,
    };
    Ok(Observed {
        held_at_close,
        discarded: rt.input_discarded_on_close().0,
        peer_revents: poll_flags(rev),
        first_read,
        second_read,
        counters,
    })
}

/// Runs `observe` in a fresh netns (counters are ours alone there).
fn observe_in_netns(mode: CloseMode) -> Probe<Observed> {
    let ns = Netns::new("nclose")?;
    ns.run(move || observe(mode, true))?
}

/// KN-RST-1 through the runtime: plain close with unread input → the peer's
/// first read is ECONNRESET, the next EOF; nothing was discarded.
fn check_plain(o: &Observed) -> Result<(), String> {
    expect(ids::KN_RST_1, o.discarded == 0, || format!("plain close discarded {} bytes", o.discarded))?;
    expect(ids::KN_RST_1, o.first_read == Err("ECONNRESET".into()), || {
        format!(
            "plain close with {} unread bytes: peer's first read expected ECONNRESET, got {:?} (revents {})",
            o.held_at_close, o.first_read, o.peer_revents
        )
    })?;
    expect(ids::KN_RST_1, o.second_read == Ok(0), || {
        format!("after the reset the peer's next read should be EOF, got {:?}", o.second_read)
    })
}

/// KN-RST-5: drain-input close → the runtime discarded exactly what the
/// kernel held, and the peer reads EOF (FIN), twice, without ECONNRESET.
fn check_drain(o: &Observed) -> Result<(), String> {
    expect(ids::KN_RST_5, o.discarded == o.held_at_close, || {
        format!("DrainInput discarded {} of the {} bytes held", o.discarded, o.held_at_close)
    })?;
    expect(ids::KN_RST_5, o.first_read == Ok(0) && o.second_read == Ok(0), || {
        format!(
            "DrainInput close: the peer should read EOF (FIN), got {:?} then {:?} (revents {})",
            o.first_read, o.second_read, o.peer_revents
        )
    })
}

fn counters(o: &Observed) -> Result<AbortDeltas, String> {
    o.counters.ok_or_else(|| "no counters recorded".to_string())
}

fn report(id: &str, o: &Observed) {
    println!("{id} observed: {o:?}");
}

/// A trial needing a private netns: ignored with `SKIP <id>: <reason>`
/// when this process cannot make one.
fn netns_trial(name: &'static str, f: fn() -> Result<(), String>) -> Trial {
    Trial::ignorable_test(name, move || match netns::capability() {
        Err(reason) => {
            println!("SKIP {name}: {reason}");
            Ok(Completion::ignored_with(reason))
        }
        Ok(()) => f().map(|()| Completion::Completed).map_err(Into::into),
    })
}

fn main() {
    // SIGINT/SIGTERM remove the temp dirs and namespaces a trial holds.
    harness::interrupt::on_signal_clean_up();
    let args = Arguments::from_args();
    let trials = vec![
        Trial::test("KN-RST-1/native-plain-close-resets-the-peer", || {
            let o = observe(CloseMode::Plain, false)?;
            report("KN-RST-1", &o);
            Ok(check_plain(&o)?)
        }),
        Trial::test("KN-RST-5/native-drain-input-close-sends-fin", || {
            let o = observe(CloseMode::DrainInput, false)?;
            report("KN-RST-5", &o);
            Ok(check_drain(&o)?)
        }),
        netns_trial("KN-RST-1/native-plain-close-counts-TCPAbortOnClose", || {
            let o = observe_in_netns(CloseMode::Plain)?;
            report("KN-RST-1", &o);
            check_plain(&o)?;
            let d = counters(&o)?;
            expect(ids::KN_RST_1, d.on_close == 1 && d.on_data == 0, || {
                format!("expected TCPAbortOnClose +1, TCPAbortOnData +0; got +{} and +{}", d.on_close, d.on_data)
            })
        }),
        netns_trial("KN-RST-5/native-drain-input-close-counts-no-abort", || {
            let o = observe_in_netns(CloseMode::DrainInput)?;
            report("KN-RST-5", &o);
            check_drain(&o)?;
            let d = counters(&o)?;
            expect(ids::KN_RST_5, d.on_close == 0 && d.on_data == 0, || {
                format!(
                    "expected no abort counted; got TCPAbortOnClose +{} and TCPAbortOnData +{}",
                    d.on_close, d.on_data
                )
            })
        }),
    ];
    libtest_mimic::run(&args, trials).exit();
}
