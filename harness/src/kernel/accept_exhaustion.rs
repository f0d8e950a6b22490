//! KN-EMFILE-*, KN-ENFILE-1: accept at the fd limit.
//!
//! `accept` reserves the new fd (`get_unused_fd_flags`) before it dequeues
//! a connection (net/socket.c), so at RLIMIT_NOFILE it fails with EMFILE
//! even when the queue is empty, and a waiting connection stays queued.
//! Seed: yufeng, "gen_tcp接受链接时enfile的问题分析及解决" (2011).
//!
//! Runs in a forked child (RLIMIT_NOFILE is per process; the test binary's
//! other threads must keep their fds): the child lowers its soft limit,
//! fills every free slot with /dev/null, and drives [`AcceptLoop`]s.

use super::fd_limit::Exhaustion;
use super::{ctx, errno_name, expect, ids, in_child, poll_fd, Probe};
use native::accept_loop::{AcceptLoop, Stats, Strategy};
use serde::{Deserialize, Serialize};
use socket2::{Domain, SockAddr, Socket, Type};
use std::io::{self, Read};
use std::net::{SocketAddr, TcpListener};
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::time::Duration;

/// Window in which the naive loop's spinning is counted.
pub const NAIVE_WINDOW: Duration = Duration::from_millis(100);
/// Window in which the pausing loop's wakeups are counted.
pub const PAUSE_WINDOW: Duration = Duration::from_millis(500);
pub const PAUSE_BACKOFF_MS: u64 = 50;
/// The pausing loop may wake once per backoff plus a little slack.
pub const PAUSE_WAKEUP_BOUND: u64 = PAUSE_WINDOW.as_millis() as u64 / PAUSE_BACKOFF_MS + 4;
/// Failure bound for "the connection is accepted once an fd is free".
pub const ACCEPT_BOUND: Duration = Duration::from_secs(2);

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmfileObservation {
    pub rlimit_nofile: u64,
    /// /dev/null fds opened to use up every free slot below the limit.
    pub fillers: usize,
    /// accept at the limit with nothing queued.
    pub accept_empty_queue: String,
    /// accept at the limit with a connection waiting.
    pub accept_with_waiting_connection: String,
    /// The listener still polls POLLIN after EMFILE (connection queued).
    pub listener_readable_while_exhausted: bool,
    pub naive_window_ms: u64,
    pub naive: Stats,
    pub pause_window_ms: u64,
    pub pause_backoff_ms: u64,
    pub pause_wakeup_bound: u64,
    /// The pausing loop's stats for the exhausted window only.
    pub pause: Stats,
    /// Still queued after both loops ran while exhausted.
    pub still_queued_after_loops: bool,
    /// After one fd was freed, the waiting connection was accepted.
    pub accepted_after_release: bool,
    /// ... and it is the same connection (peer address = client's address).
    pub accepted_peer_matches: bool,
    /// Data sent by the client before it was accepted arrives.
    pub data_intact: bool,
    /// A later connection is accepted too: the listener was not lost.
    pub listener_alive_after: bool,
    pub shed: Stats,
    /// What the shed connection's client reads.
    pub shed_client_read: String,
}

fn raw_accept(l: &AcceptLoop) -> String {
    // SAFETY: accept4 on a valid listener.
    let fd = unsafe {
        libc::accept4(l.listener().as_raw_fd(), std::ptr::null_mut(), std::ptr::null_mut(), libc::SOCK_CLOEXEC)
    };
    if fd < 0 {
        return errno_name(io::Error::last_os_error().raw_os_error().unwrap_or(0));
    }
    // SAFETY: fresh fd; closed at once.
    drop(unsafe { OwnedFd::from_raw_fd(fd) });
    "0 (accepted)".into()
}

fn new_client() -> io::Result<Socket> {
    Socket::new(Domain::IPV4, Type::STREAM, None)
}

fn child_body() -> Probe<EmfileObservation> {
    let listener = ctx("listen", TcpListener::bind("127.0.0.1:0"))?;
    let addr: SocketAddr = ctx("local_addr", listener.local_addr())?;
    let lfd = OwnedFd::from(listener);
    let mut naive = ctx("naive loop", AcceptLoop::new(ctx("dup", lfd.try_clone())?, Strategy::Naive))?;
    let mut shed = ctx("shed loop", AcceptLoop::new(ctx("dup", lfd.try_clone())?, Strategy::ReserveAndShed))?;
    let mut pause = ctx("pause loop", AcceptLoop::new(lfd, Strategy::PauseAccept { backoff_ms: PAUSE_BACKOFF_MS }))?;
    let (c1, c2, c3) = (ctx("socket", new_client())?, ctx("socket", new_client())?, ctx("socket", new_client())?);

    let mut fillers = ctx("exhaust fds", Exhaustion::start(8))?;
    let limit = fillers.limit;
    let n_fillers = fillers.fillers();

    let accept_empty_queue = raw_accept(&pause);
    ctx("client connect", c1.connect(&SockAddr::from(addr)))?;
    ctx("client send", c1.send(b"ping"))?;
    let rev = ctx("poll listener", poll_fd(pause.listener(), libc::POLLIN, ACCEPT_BOUND))?;
    if rev & libc::POLLIN == 0 {
        return Err("the connection did not reach the accept queue".into());
    }
    let accept_with_waiting_connection = raw_accept(&pause);
    let readable = ctx("poll", poll_fd(pause.listener(), libc::POLLIN, Duration::ZERO))? & libc::POLLIN != 0;

    let got = ctx("naive loop", naive.run_for(NAIVE_WINDOW))?;
    if !got.is_empty() {
        return Err("the naive loop accepted while exhausted".into());
    }
    let got = ctx("pause loop", pause.run_for(PAUSE_WINDOW))?;
    if !got.is_empty() {
        return Err("the pausing loop accepted while exhausted".into());
    }
    let pause_in_window = pause.stats;
    let still_queued = ctx("poll", poll_fd(pause.listener(), libc::POLLIN, Duration::ZERO))? & libc::POLLIN != 0;

    // Free one fd, tell the loop, and the waiting connection is accepted.
    fillers.release_one();
    ctx("fd_released", pause.fd_released())?;
    let mut got = ctx("pause loop", pause.run_until_accept(ACCEPT_BOUND))?;
    let accepted_after_release = got.len() == 1;
    let mut accepted_peer_matches = false;
    let mut data_intact = false;
    if let Some(conn) = got.pop() {
        let s = Socket::from(conn);
        let peer = s.peer_addr().ok().and_then(|a| a.as_socket());
        let mine = c1.local_addr().ok().and_then(|a| a.as_socket());
        accepted_peer_matches = peer.is_some() && peer == mine;
        let mut f = std::fs::File::from(OwnedFd::from(s));
        let _ = poll_fd(f.as_fd(), libc::POLLIN, ACCEPT_BOUND);
        let mut b = [0u8; 8];
        data_intact = matches!(f.read(&mut b), Ok(4)) && &b[..4] == b"ping";
        // Keep the slot in use: we are at the limit again.
        fillers.hold(OwnedFd::from(f));
    }

    // The listener is still there: a new connection is accepted once an fd
    // is free (the pausing loop may be paused again, fd_released resumes).
    ctx("client2 connect", c2.connect(&SockAddr::from(addr)))?;
    fillers.release_one();
    ctx("fd_released", pause.fd_released())?;
    let got = ctx("pause loop", pause.run_until_accept(ACCEPT_BOUND))?;
    let listener_alive_after = got.len() == 1;
    got.into_iter().for_each(|fd| fillers.hold(fd)); // at the limit again

    // libuv's trick sheds the connection instead of spinning.
    ctx("client3 connect", c3.connect(&SockAddr::from(addr)))?;
    let _ = poll_fd(shed.listener(), libc::POLLIN, ACCEPT_BOUND);
    let got = ctx("shed loop", shed.run_for(Duration::from_millis(200)))?;
    drop(got);
    let mut f3 = std::fs::File::from(OwnedFd::from(c3));
    let _ = poll_fd(f3.as_fd(), libc::POLLIN, ACCEPT_BOUND);
    let mut b = [0u8; 8];
    let shed_client_read = match f3.read(&mut b) {
        Ok(n) => format!("{n}"),
        Err(e) => super::io_errno_name(&e),
    };
    drop(fillers);
    drop(c2);

    Ok(EmfileObservation {
        rlimit_nofile: limit,
        fillers: n_fillers,
        accept_empty_queue,
        accept_with_waiting_connection,
        listener_readable_while_exhausted: readable,
        naive_window_ms: NAIVE_WINDOW.as_millis() as u64,
        naive: naive.stats,
        pause_window_ms: PAUSE_WINDOW.as_millis() as u64,
        pause_backoff_ms: PAUSE_BACKOFF_MS,
        pause_wakeup_bound: PAUSE_WAKEUP_BOUND,
        pause: pause_in_window,
        still_queued_after_loops: still_queued,
        accepted_after_release,
        accepted_peer_matches,
        data_intact,
        listener_alive_after,
        shed: shed.stats,
        shed_client_read,
    })
}

/// Runs the scenario in a forked child and returns what it saw.
pub fn observe() -> Probe<EmfileObservation> {
    in_child(Duration::from_secs(20), child_body)
}

/// KN-EMFILE-1: EMFILE while a connection waits; it stays queued and is
/// accepted (the same one, data intact) once an fd is freed.
pub fn check_emfile(o: &EmfileObservation) -> Probe<()> {
    expect(ids::KN_EMFILE_1, o.accept_with_waiting_connection == "EMFILE", || {
        format!(
            "accept at RLIMIT_NOFILE with a waiting connection: expected EMFILE, got {}",
            o.accept_with_waiting_connection
        )
    })?;
    expect(ids::KN_EMFILE_1, o.accept_empty_queue == "EMFILE", || {
        format!(
            "accept at RLIMIT_NOFILE with an empty queue: expected EMFILE (fd reserved first), got {}",
            o.accept_empty_queue
        )
    })?;
    expect(ids::KN_EMFILE_1, o.listener_readable_while_exhausted && o.still_queued_after_loops, || {
        "the connection should stay queued (listener POLLIN) while exhausted".into()
    })?;
    expect(ids::KN_EMFILE_1, o.accepted_after_release && o.accepted_peer_matches && o.data_intact, || {
        format!(
            "after freeing one fd: accepted {}, same peer {}, data intact {}",
            o.accepted_after_release, o.accepted_peer_matches, o.data_intact
        )
    })
}

/// KN-EMFILE-2: the naive loop spins; the pausing loop's wakeups stay
/// under the bound, and it keeps both the listener and the connection; the
/// shedding loop does not spin either.
pub fn check_loop(o: &EmfileObservation) -> Probe<()> {
    expect(ids::KN_EMFILE_2, o.naive.wakeups > 2 * o.pause_wakeup_bound, || {
        format!(
            "a naive level-triggered loop was expected to spin (listener stays readable), but woke only {} times in {} ms",
            o.naive.wakeups, o.naive_window_ms
        )
    })?;
    expect(ids::KN_EMFILE_2, o.pause.wakeups <= o.pause_wakeup_bound, || {
        format!(
            "pausing accept loop woke {} times in {} ms while exhausted (bound {})",
            o.pause.wakeups, o.pause_window_ms, o.pause_wakeup_bound
        )
    })?;
    expect(ids::KN_EMFILE_2, o.accepted_after_release && o.listener_alive_after, || {
        format!(
            "pausing loop lost something: connection accepted {}, listener alive {}",
            o.accepted_after_release, o.listener_alive_after
        )
    })?;
    expect(ids::KN_EMFILE_2, o.shed.shed == 1 && o.shed.wakeups <= 3, || {
        format!(
            "reserve-and-shed loop: shed {} connections with {} wakeups (expected 1, <= 3)",
            o.shed.shed, o.shed.wakeups
        )
    })
}

/// Why KN-ENFILE-1 is always skipped.
pub fn enfile_skip_reason() -> String {
    // SAFETY: geteuid cannot fail.
    let root = unsafe { libc::geteuid() } == 0;
    let file_max = std::fs::read_to_string("/proc/sys/fs/file-max").unwrap_or_default();
    if root {
        format!(
            "ENFILE needs fs.file-max (now {}) reached, but root (CAP_SYS_ADMIN) bypasses it in alloc_empty_file(), \
             and file-max is global: lowering it would break every other process on the machine",
            file_max.trim()
        )
    } else {
        format!(
            "ENFILE needs fs.file-max (now {}) reached; lowering it needs root and is global to the machine",
            file_max.trim()
        )
    }
}
