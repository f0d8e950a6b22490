//! KN-EMFILE-1/2 through the native runtime's accept path: out of file
//! descriptors, accept(2) fails with EMFILE before it dequeues, so the
//! connection stays queued and the listener stays readable. The runtime
//! must not spin on that readiness, must keep the listener and the waiting
//! connection, and must accept it once an fd is free: at once when the
//! runtime itself released the fd, at the policy's retry when something
//! else in the process did.
//!
//! Each scenario runs in a forked child (RLIMIT_NOFILE is per process and
//! the test binary's other threads need their fds), which lowers its limit
//! and fills every free slot (`harness::kernel::fd_limit::Exhaustion`).
//! Synchronisation is by readiness (the listener polls POLLIN once a
//! connection is queued) and by the runtime's own answers; timeouts are
//! failure bounds only. The wakeup bound comes from the accept policy
//! (`AcceptPolicy::max_wakeups_while_exhausted`), not from a rate.

use crate::support::loopback;
use harness::kernel::fd_limit::Exhaustion;
use harness::kernel::{ctx, expect, getsockopt_int, ids, in_child, poll_fd, Probe};
use harness::sut::native::BugTable;
use native::accept_loop::Stats;
use native::{AcceptPolicy, PlantedBug, Runtime, VirtualClock};
use native::{Accepted, SocketOpts};
use serde::{Deserialize, Serialize};
use socket2::{Domain, SockAddr, Socket, Type};
use std::net::{SocketAddr, TcpListener};
use std::time::{Duration, Instant};

/// Failure bound of each readiness wait and of each child.
const BOUND: Duration = Duration::from_secs(5);
const CHILD_BOUND: Duration = Duration::from_secs(20);
/// Accept attempts (each one poll of the accept path, without waiting)
/// made while the process is out of fds.
const ATTEMPTS_WHILE_EXHAUSTED: u32 = 50;
/// A retry interval longer than any failure bound here: within the test
/// only the runtime's own fd releases resume accept, and the bound on
/// wakeups while exhausted is exactly 1.
const RETRY_NEVER_IN_TEST: Duration = Duration::from_secs(3600);
/// A short retry interval, for the scenario where an fd is freed outside
/// the runtime.
const RETRY_SOON: Duration = Duration::from_millis(20);

fn client() -> Probe<Socket> {
    ctx("client socket", Socket::new(Domain::IPV4, Type::STREAM, None))
}

/// Waits (bounded) until a connection is queued on the runtime's listener.
fn await_queued(rt: &Runtime) -> Probe<()> {
    let l = rt.listener_fd().ok_or("no listen port")?;
    let rev = ctx("poll listener", poll_fd(l, libc::POLLIN, BOUND))?;
    if rev & libc::POLLIN == 0 {
        return Err(format!("no connection reached the accept queue within {BOUND:?}"));
    }
    Ok(())
}

/// The listener still polls POLLIN (a connection waits) and still listens.
fn listener_state(rt: &Runtime) -> Probe<(bool, bool)> {
    let l = rt.listener_fd().ok_or("listen port lost")?;
    let queued = ctx("poll listener", poll_fd(l, libc::POLLIN, Duration::ZERO))? & libc::POLLIN != 0;
    let listening = ctx("SO_ACCEPTCONN", getsockopt_int(l, libc::SOL_SOCKET, libc::SO_ACCEPTCONN))? == 1;
    Ok((queued, listening))
}

fn accept_stats(rt: &Runtime) -> Probe<(Stats, bool)> {
    rt.accept_stats().ok_or_else(|| "no listen port".to_string())
}

fn local(s: &Socket) -> Option<SocketAddr> {
    s.local_addr().ok().and_then(|a| a.as_socket())
}

/// A runtime (virtual clock, table of 8, one sender) listening on loopback
/// with `policy`.
fn listening_runtime(policy: AcceptPolicy, bug: Option<PlantedBug>) -> Probe<(Runtime, SocketAddr)> {
    let mut rt = ctx("runtime", Runtime::new(Box::new(VirtualClock::new()), 8, 1, bug))?;
    rt.set_accept_policy(policy);
    let addr = rt.listen(loopback(), &[]).map_err(|e| format!("listen: {e:?}"))?;
    Ok((rt, addr))
}

/// The runtime's port under test, connected to a peer of the test's: an fd
/// the runtime can release later. Returns the peer's end.
fn connect_subject(rt: &mut Runtime, options: &[native::Opt]) -> Probe<std::net::TcpStream> {
    let peer_listener = ctx("peer listener", TcpListener::bind(loopback()))?;
    let peer_addr = ctx("peer addr", peer_listener.local_addr())?;
    rt.connect(peer_addr, SocketOpts::default(), options).map_err(|e| format!("connect: {e:?}"))?;
    Ok(ctx("peer accept", peer_listener.accept())?.0)
}

/// The exhausted phase, common to both scenarios.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Exhausted {
    rlimit_nofile: u64,
    fillers: usize,
    retry_after_ms: u64,
    attempts: u32,
    /// Attempts that accepted something (there is no fd to accept into).
    accepted: u32,
    elapsed_us: u64,
    /// `AcceptPolicy::max_wakeups_while_exhausted(elapsed)`.
    wakeup_bound: u64,
    stats: Stats,
    paused: bool,
    still_queued: bool,
    listening: bool,
}

/// Out of fds with a connection queued: `attempts` accept attempts that do
/// not wait, then what the accept path did.
fn exhausted_phase(rt: &mut Runtime, ex: &Exhaustion, policy: AcceptPolicy, attempts: u32) -> Probe<Exhausted> {
    let t0 = Instant::now();
    let mut accepted = 0;
    for _ in 0..attempts {
        if rt.try_accept(Duration::ZERO).map_err(|e| e.to_string())?.is_some() {
            accepted += 1;
        }
    }
    let elapsed = t0.elapsed();
    let (stats, paused) = accept_stats(rt)?;
    let (still_queued, listening) = listener_state(rt)?;
    Ok(Exhausted {
        rlimit_nofile: ex.limit,
        fillers: ex.fillers(),
        retry_after_ms: policy.retry_after.as_millis() as u64,
        attempts,
        accepted,
        elapsed_us: elapsed.as_micros() as u64,
        wakeup_bound: policy.max_wakeups_while_exhausted(elapsed),
        stats,
        paused,
        still_queued,
        listening,
    })
}

/// Scenario 1: the runtime releases the fds itself.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct ReleasedByRuntime {
    exhausted: Exhausted,
    /// After the runtime closed its port under test: the waiting
    /// connection was accepted, and it is the one that waited.
    accepted_after_release: bool,
    same_connection: bool,
    /// A second connection while out of fds again: accept paused again,
    /// and after the runtime closed the first accepted port it was accepted.
    second_paused: bool,
    second_accepted_after_release: bool,
    second_same_connection: bool,
    stats_at_end: Stats,
}

fn released_by_runtime(bug: Option<PlantedBug>) -> Probe<ReleasedByRuntime> {
    let policy = AcceptPolicy { retry_after: RETRY_NEVER_IN_TEST };
    let (mut rt, addr) = listening_runtime(policy, bug)?;
    let _peer = connect_subject(&mut rt, &[])?;
    let (c1, c2) = (client()?, client()?);

    let ex = ctx("exhaust fds", Exhaustion::start(4))?;
    ctx("client 1 connect", c1.connect(&SockAddr::from(addr)))?;
    await_queued(&rt)?;
    let exhausted = exhausted_phase(&mut rt, &ex, policy, ATTEMPTS_WHILE_EXHAUSTED)?;

    // The runtime closes its port under test: one fd is free, and the
    // runtime says so to its accept path.
    rt.close().map_err(|e| e.to_string())?;
    let got = rt.accept(BOUND).map_err(|e| e.to_string())?;
    let accepted_after_release = matches!(got, Accepted::Port(_));
    let same_connection = accepted_after_release && rt.accepted_peer() == local(&c1);

    // Out of fds again (the accepted port took the slot): a second client.
    ctx("client 2 connect", c2.connect(&SockAddr::from(addr)))?;
    await_queued(&rt)?;
    let _ = rt.try_accept(Duration::ZERO).map_err(|e| e.to_string())?;
    let second_paused = accept_stats(&rt)?.1;
    rt.close_accepted().map_err(|e| e.to_string())?;
    let got = rt.accept(BOUND).map_err(|e| e.to_string())?;
    let second_accepted_after_release = matches!(got, Accepted::Port(_));
    let second_same_connection = second_accepted_after_release && rt.accepted_peer() == local(&c2);
    let stats_at_end = accept_stats(&rt)?.0;
    drop(ex);
    Ok(ReleasedByRuntime {
        exhausted,
        accepted_after_release,
        same_connection,
        second_paused,
        second_accepted_after_release,
        second_same_connection,
        stats_at_end,
    })
}

/// Scenario 2: an fd is freed elsewhere in the process; the runtime is not
/// told and finds it at its retry.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct FreedElsewhere {
    exhausted: Exhausted,
    accepted: bool,
    same_connection: bool,
    /// From the first attempt to the accept.
    elapsed_us: u64,
    retry_after_us: u64,
    wakeup_bound: u64,
    stats: Stats,
}

fn freed_elsewhere() -> Probe<FreedElsewhere> {
    let policy = AcceptPolicy { retry_after: RETRY_SOON };
    let (mut rt, addr) = listening_runtime(policy, None)?;
    let c1 = client()?;
    let mut ex = ctx("exhaust fds", Exhaustion::start(4))?;
    ctx("client connect", c1.connect(&SockAddr::from(addr)))?;
    await_queued(&rt)?;
    let t0 = Instant::now();
    let exhausted = exhausted_phase(&mut rt, &ex, policy, 1)?;
    if !ex.release_one() {
        return Err("no filler to release".into());
    }
    let got = rt.accept(BOUND).map_err(|e| e.to_string())?;
    let elapsed = t0.elapsed();
    let accepted = matches!(got, Accepted::Port(_));
    let same_connection = accepted && rt.accepted_peer() == local(&c1);
    let stats = accept_stats(&rt)?.0;
    Ok(FreedElsewhere {
        exhausted,
        accepted,
        same_connection,
        elapsed_us: elapsed.as_micros() as u64,
        retry_after_us: policy.retry_after.as_micros() as u64,
        wakeup_bound: policy.max_wakeups_while_exhausted(elapsed),
        stats,
    })
}

/// Scenario 3: while accept is paused, the port under test runs an
/// activity that closes nothing (a delay_send flush): no fd was released,
/// so accept stays paused.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct ActivityWhilePaused {
    exhausted: Exhausted,
    /// The flush wrote the 16 queued bytes: the peer read them.
    peer_got: usize,
    stats_after: Stats,
    paused_after: bool,
}

fn activity_while_paused() -> Probe<ActivityWhilePaused> {
    use native::{Bytes, Opt, SendFlags, SenderId};
    use std::io::Read;
    let policy = AcceptPolicy { retry_after: RETRY_NEVER_IN_TEST };
    let (mut rt, addr) = listening_runtime(policy, None)?;
    let mut peer = connect_subject(&mut rt, &[Opt::DelaySend(true)])?;
    let c1 = client()?;

    let ex = ctx("exhaust fds", Exhaustion::start(4))?;
    ctx("client 1 connect", c1.connect(&SockAddr::from(addr)))?;
    await_queued(&rt)?;
    let exhausted = exhausted_phase(&mut rt, &ex, policy, 1)?;
    // DS-1: queued without a write; the flush runs at quiescence (DS-2).
    rt.send(SenderId(0), Bytes(16), 1, SendFlags::default()).map_err(|e| e.to_string())?;
    rt.quiesce().map_err(|e| e.to_string())?;
    let (stats_after, paused_after) = accept_stats(&rt)?;
    ctx("peer read timeout", peer.set_read_timeout(Some(BOUND)))?;
    let mut buf = [0u8; 16];
    ctx("peer read", peer.read_exact(&mut buf))?;
    drop(ex);
    Ok(ActivityWhilePaused { exhausted, peer_got: buf.len(), stats_after, paused_after })
}

/// KN-EMFILE-2: while out of fds the accept path woke no more often than
/// its policy allows, and it is paused.
fn check_no_spin(e: &Exhausted) -> Result<(), String> {
    expect(ids::KN_EMFILE_2, e.stats.wakeups <= e.wakeup_bound, || {
        format!(
            "the accept path woke {} times during {} attempts in {} µs out of fds (EMFILE {} times); the policy (retry after {} ms) allows {}",
            e.stats.wakeups, e.attempts, e.elapsed_us, e.stats.exhausted, e.retry_after_ms, e.wakeup_bound
        )
    })?;
    expect(ids::KN_EMFILE_2, e.paused && e.stats.exhausted >= 1, || {
        format!("accept should be paused after EMFILE (paused {}, EMFILE {} times)", e.paused, e.stats.exhausted)
    })
}

/// KN-EMFILE-1: nothing was accepted without an fd, and the connection
/// still waits on a listener that still listens.
fn check_kept(e: &Exhausted) -> Result<(), String> {
    expect(ids::KN_EMFILE_1, e.accepted == 0, || format!("{} accepts succeeded without a free fd", e.accepted))?;
    expect(ids::KN_EMFILE_1, e.still_queued && e.listening, || {
        format!("while out of fds: connection still queued {}, listener listening {}", e.still_queued, e.listening)
    })
}

fn run_in_child<T>(f: impl FnOnce() -> Probe<T>) -> T
where
    T: Serialize + serde::de::DeserializeOwned,
{
    in_child(CHILD_BOUND, f).unwrap_or_else(|e| panic!("scenario failed in its child: {e}"))
}

#[test]
fn kn_emfile_2_runtime_accept_pauses_and_loses_nothing() {
    let o = run_in_child(|| released_by_runtime(None));
    println!("KN-EMFILE-2 observed: {}", serde_json::to_string(&o).unwrap());
    let r = check_no_spin(&o.exhausted)
        .and_then(|()| check_kept(&o.exhausted))
        .and_then(|()| {
            expect(ids::KN_EMFILE_2, o.accepted_after_release && o.same_connection, || {
                format!(
                    "after the runtime closed a port: waiting connection accepted {}, the same one {}",
                    o.accepted_after_release, o.same_connection
                )
            })
        })
        .and_then(|()| {
            expect(
                ids::KN_EMFILE_2,
                o.second_paused && o.second_accepted_after_release && o.second_same_connection,
                || {
                    format!(
                        "listener after exhaustion: second connection paused {}, accepted after a release {}, the same one {}",
                        o.second_paused, o.second_accepted_after_release, o.second_same_connection
                    )
                },
            )
        });
    r.unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn kn_emfile_2_runtime_retries_when_an_fd_is_freed_elsewhere() {
    let o = run_in_child(freed_elsewhere);
    println!("KN-EMFILE-2 observed: {}", serde_json::to_string(&o).unwrap());
    let r = check_no_spin(&o.exhausted).and_then(|()| check_kept(&o.exhausted)).and_then(|()| {
        expect(ids::KN_EMFILE_2, o.accepted && o.same_connection, || {
            format!(
                "after an fd was freed elsewhere: accepted {}, the same connection {}",
                o.accepted, o.same_connection
            )
        })
    });
    r.unwrap_or_else(|e| panic!("{e}"));
    // The accept came from the retry timer, not from a spin: no earlier
    // than one retry interval, within the policy's wakeup bound.
    assert!(
        o.elapsed_us >= o.retry_after_us,
        "KN-EMFILE-2: accepted {} µs after the pause, before the {} µs retry",
        o.elapsed_us,
        o.retry_after_us
    );
    assert!(
        o.stats.wakeups <= o.wakeup_bound,
        "KN-EMFILE-2: {} wakeups until the accept, the policy allows {}",
        o.stats.wakeups,
        o.wakeup_bound
    );
}

/// The planted bug retries at once on EMFILE: one wakeup per attempt.
#[test]
fn kn_emfile_2_planted_accept_spins_on_emfile_is_caught() {
    let bug = PlantedBug::AcceptSpinsOnEmfile;
    assert_eq!(bug.rule(), ids::KN_EMFILE_2);
    let o = run_in_child(|| released_by_runtime(Some(bug)));
    println!("{bug} observed: {}", serde_json::to_string(&o.exhausted).unwrap());
    match check_no_spin(&o.exhausted) {
        Ok(()) => panic!("planted bug {bug} not caught: {:?}", o.exhausted),
        Err(e) => {
            println!("{bug} caught: {e}");
            assert!(e.starts_with("KN-EMFILE-2:"), "{e}");
            assert_eq!(o.exhausted.stats.wakeups, u64::from(ATTEMPTS_WHILE_EXHAUSTED), "one wakeup per attempt");
        }
    }
}

/// KN-EMFILE-2: the runtime resumes a paused accept when it closed an fd,
/// not after every activity it runs.
#[test]
fn kn_emfile_2_an_activity_that_closes_nothing_leaves_accept_paused() {
    let o = run_in_child(activity_while_paused);
    println!("KN-EMFILE-2 observed: {}", serde_json::to_string(&o).unwrap());
    check_no_spin(&o.exhausted).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(o.peer_got, 16, "DS-2: the flush ran");
    assert!(
        o.paused_after && o.stats_after.resumes == o.exhausted.stats.resumes,
        "KN-EMFILE-2: a flush that closed nothing resumed accept (paused {}, resumes {} -> {})",
        o.paused_after,
        o.exhausted.stats.resumes,
        o.stats_after.resumes
    );
}
