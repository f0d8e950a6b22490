//! The epoll accept loop (`native::accept_loop`) on its own and through the
//! runtime's listen port: what it accepts and hands over, and what it does
//! when the process is out of file descriptors (KN-EMFILE-1/2): accept(2)
//! fails with EMFILE before it dequeues, so the connection stays queued
//! and the level-triggered listener stays readable.
//!
//! Out-of-fds scenarios run in a forked child (RLIMIT_NOFILE is per process
//! and the test binary's other threads need their fds), which lowers its
//! limit and fills every free slot; the child's panic or a hang past
//! `CHILD_BOUND` fails the test. Synchronisation is by readiness (the
//! listener polls POLLIN once a connection is queued) and by the loop's
//! own timer; timeouts are failure bounds only.

use crate::support::listener;
use native::accept_loop::{AcceptLoop, Strategy};
use native::sys::poll_fd;
use native::{AcceptPolicy, Bytes, Runtime, SendFlags, SenderId, SocketOpts, VirtualClock};
use std::io::Read;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::time::{Duration, Instant};

/// Failure bound of each wait.
const BOUND: Duration = Duration::from_secs(5);
/// Failure bound of a forked scenario.
const CHILD_BOUND: Duration = Duration::from_secs(15);
/// Free slots left above the highest open fd for `/dev/null` fillers, so
/// a scenario can release some (two are released by the most demanding).
const FILLERS_ABOVE: libc::rlim_t = 4;

fn accept_loop(strategy: Strategy) -> (AcceptLoop, SocketAddr) {
    let (l, addr) = listener();
    (AcceptLoop::new(OwnedFd::from(l), strategy).expect("accept loop"), addr)
}

/// Waits (bounded) until a connection is queued on `listener`.
fn await_queued(listener: BorrowedFd<'_>) {
    let rev = poll_fd(listener, libc::POLLIN, BOUND).expect("poll listener");
    assert_ne!(rev & libc::POLLIN, 0, "no connection reached the accept queue within {BOUND:?}");
}

fn fd_flags(fd: BorrowedFd<'_>) -> (bool, bool) {
    // SAFETY: fcntl queries on a valid fd.
    let (fl, fdfl) =
        unsafe { (libc::fcntl(fd.as_raw_fd(), libc::F_GETFL), libc::fcntl(fd.as_raw_fd(), libc::F_GETFD)) };
    assert!(fl >= 0 && fdfl >= 0, "fcntl on {}", fd.as_raw_fd());
    (fl & libc::O_NONBLOCK != 0, fdfl & libc::FD_CLOEXEC != 0)
}

/// The fds open in this process (read only in a forked child, where no
/// other thread opens any), without the one that listed them.
fn open_fds() -> Vec<i32> {
    let mut fds: Vec<i32> = std::fs::read_dir("/proc/self/fd")
        .expect("/proc/self/fd")
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    // SAFETY: F_GETFD only asks whether the fd is (still) open.
    fds.retain(|&fd| unsafe { libc::fcntl(fd, libc::F_GETFD) } >= 0);
    fds.sort_unstable();
    fds
}

/// The process is out of fds: the soft RLIMIT_NOFILE sits `FILLERS_ABOVE`
/// slots above the highest open fd and every free slot below it holds a
/// `/dev/null` filler. Only in a forked child (the lowered limit stays).
///
/// The slots above the highest fd guarantee fillers to release even when
/// the open fds are contiguous (a fresh CI machine: no gaps below the
/// highest, so a limit of highest + 1 left none and `release_one` failed).
struct Exhaustion {
    fillers: Vec<OwnedFd>,
}

impl Exhaustion {
    fn start() -> Exhaustion {
        let highest = open_fds().into_iter().max().unwrap_or(2);
        let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
        // SAFETY: valid out-pointer.
        assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) }, 0);
        lim.rlim_cur = (highest as libc::rlim_t + 1 + FILLERS_ABOVE).min(lim.rlim_max);
        // SAFETY: valid limit.
        assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) }, 0);
        let mut fillers = Vec::new();
        let exhausted = loop {
            // SAFETY: plain open of /dev/null.
            let fd = unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) };
            if fd < 0 {
                assert_eq!(std::io::Error::last_os_error().raw_os_error(), Some(libc::EMFILE));
                break Exhaustion { fillers };
            }
            // SAFETY: a fresh fd, owned from here on.
            fillers.push(unsafe { OwnedFd::from_raw_fd(fd) });
        };
        assert!(
            exhausted.fillers.len() >= FILLERS_ABOVE as usize,
            "only {} fillers under the limit {}",
            exhausted.fillers.len(),
            lim.rlim_cur
        );
        exhausted
    }

    /// Frees one slot without telling anyone.
    fn release_one(&mut self) {
        self.fillers.pop().expect("a filler to release");
    }
}

/// Runs `f` in a forked child; the test fails if it panics, or has not
/// finished within `CHILD_BOUND` (then it is killed).
fn in_child(f: impl FnOnce()) {
    let mut fds = [0; 2];
    // SAFETY: valid out-array.
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    // SAFETY: fresh fds, owned from here on.
    let (rd, wr) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    // SAFETY: the child runs `f`, reports and leaves with _exit.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork: {}", std::io::Error::last_os_error());
    if pid == 0 {
        drop(rd);
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
        let msg = match &r {
            Ok(()) => String::new(),
            Err(p) => p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "panic".into()),
        };
        // SAFETY: writing our buffer to our pipe (short writes only shorten the message).
        unsafe { libc::write(wr.as_raw_fd(), msg.as_ptr().cast(), msg.len()) };
        // SAFETY: leave without running the parent's destructors.
        unsafe { libc::_exit(i32::from(r.is_err())) }
    }
    drop(wr);
    let deadline = Instant::now() + CHILD_BOUND;
    let mut out = Vec::new();
    let mut file = std::fs::File::from(rd);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let ready = poll_fd(file.as_fd(), libc::POLLIN, left).expect("poll child pipe") != 0;
        let mut chunk = [0u8; 4096];
        let n = if ready { file.read(&mut chunk).expect("read child pipe") } else { 0 };
        if !ready {
            // SAFETY: our child, not yet reaped.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
                libc::waitpid(pid, std::ptr::null_mut(), 0);
            }
            panic!("the scenario did not finish within {CHILD_BOUND:?}");
        }
        if n == 0 {
            break;
        }
        out.extend_from_slice(&chunk[..n]);
    }
    let mut status = 0;
    // SAFETY: our child; its pipe closed, so it is exiting.
    assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
    let msg = String::from_utf8_lossy(&out);
    assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0, "in the child: {msg} (status {status:#x})");
}

/// The connection the loop handed over is the client's (by its address).
fn peer_of(fd: &OwnedFd) -> SocketAddr {
    TcpStream::from(fd.try_clone().expect("dup")).peer_addr().expect("getpeername")
}

/// Reads until the peer's end: the connection was closed by the loop.
fn reads_end(mut c: &TcpStream) -> bool {
    c.set_read_timeout(Some(BOUND)).unwrap();
    let mut b = [0u8; 16];
    match c.read(&mut b) {
        Ok(n) => n == 0,
        Err(e) => e.kind() == std::io::ErrorKind::ConnectionReset,
    }
}

/// Accepted connections go to ports that a nonblocking event loop drives
/// and that must not leak into exec'd children: nonblocking, close-on-exec.
#[test]
fn accepted_connections_are_nonblocking_and_close_on_exec() {
    let (mut lp, addr) = accept_loop(Strategy::Naive);
    let c = TcpStream::connect(addr).unwrap();
    let got = lp.run_until_accept(BOUND).unwrap();
    assert_eq!(got.len(), 1, "the queued connection is accepted");
    assert_eq!(peer_of(&got[0]), c.local_addr().unwrap());
    assert_eq!(fd_flags(got[0].as_fd()), (true, true), "(O_NONBLOCK, FD_CLOEXEC)");
    assert_eq!((lp.stats.accepted, lp.stats.exhausted), (1, 0));
}

/// run_for hands over every connection accepted during its window, in the
/// order they were queued.
#[test]
fn run_for_returns_every_connection_accepted_in_its_window() {
    let (mut lp, addr) = accept_loop(Strategy::Naive);
    let c1 = TcpStream::connect(addr).unwrap();
    let c2 = TcpStream::connect(addr).unwrap();
    await_queued(lp.listener());
    let got = lp.run_for(Duration::from_millis(50)).unwrap();
    let peers: Vec<SocketAddr> = got.iter().map(peer_of).collect();
    assert_eq!(peers, vec![c1.local_addr().unwrap(), c2.local_addr().unwrap()]);
    assert_eq!(lp.stats.accepted, 2);
}

/// Every fd the loop holds (epoll, timer, the spare of ReserveAndShed) is
/// close-on-exec: none leaks into an exec'd child.
#[test]
fn the_loops_own_fds_are_close_on_exec() {
    in_child(|| {
        let (l, _) = listener();
        let before = open_fds();
        let lp = AcceptLoop::new(OwnedFd::from(l), Strategy::ReserveAndShed).unwrap();
        let new: Vec<i32> = open_fds().into_iter().filter(|fd| !before.contains(fd)).collect();
        assert_eq!(new.len(), 3, "epoll, timerfd and the spare: {new:?}");
        for fd in new {
            // SAFETY: an fd the loop holds, alive for this borrow.
            let b = unsafe { BorrowedFd::borrow_raw(fd) };
            assert!(
                fd_flags(b).1,
                "fd {fd} ({:?}) is not close-on-exec",
                std::fs::read_link(format!("/proc/self/fd/{fd}"))
            );
        }
        drop(lp);
    });
}

/// KN-EMFILE-2 with PauseAccept: out of fds the loop stops watching the
/// listener and retries on its timer, each retry that still meets EMFILE
/// pauses again (no error, no spin); a retry after an fd was freed
/// elsewhere accepts the very connection that waited, and resumes.
#[test]
fn pause_accept_retries_on_its_timer_until_an_fd_is_free() {
    in_child(|| {
        let (mut lp, addr) = accept_loop(Strategy::PauseAccept { backoff_ms: 1 });
        let c = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        let mut ex = Exhaustion::start();
        c.connect(&addr.into()).unwrap();
        await_queued(lp.listener());

        assert!(lp.turn(BOUND).unwrap().is_empty(), "no fd to accept into");
        assert!(lp.is_paused());
        assert_eq!((lp.stats.exhausted, lp.stats.pauses, lp.stats.wakeups), (1, 1, 1));

        // The backoff ends (the only event left: the listener is not watched).
        assert!(lp.turn(BOUND).unwrap().is_empty(), "still no fd");
        assert!(lp.is_paused(), "still exhausted: paused again");
        assert_eq!((lp.stats.exhausted, lp.stats.wakeups, lp.stats.accepted), (2, 2, 0));

        // Two slots freed elsewhere: one for the connection, and the next
        // accept finds the queue empty (EAGAIN) instead of EMFILE.
        ex.release_one();
        ex.release_one();
        let got = lp.turn(BOUND).unwrap();
        assert_eq!(got.len(), 1, "the retry accepts the waiting connection");
        assert_eq!(Some(peer_of(&got[0])), c.local_addr().unwrap().as_socket());
        assert!(!lp.is_paused(), "accepting worked: interest restored");
        assert_eq!((lp.stats.accepted, lp.stats.exhausted, lp.stats.resumes), (1, 2, 1));
    });
}

/// KN-EMFILE-2 with ReserveAndShed (libuv's trick): out of fds the loop
/// gives up its spare fd to accept and close every waiting connection, so
/// the listener stops being readable and the loop stops waking; the
/// clients see their connections end.
#[test]
fn reserve_and_shed_closes_the_waiting_connections() {
    in_child(|| {
        let (mut lp, addr) = accept_loop(Strategy::ReserveAndShed);
        let clients = [TcpStream::connect(addr).unwrap(), TcpStream::connect(addr).unwrap()];
        let _ex = Exhaustion::start();
        await_queued(lp.listener());
        // Each turn either sheds what is queued or waits for the next
        // connection's handshake to reach the queue.
        let mut turns = 0;
        while lp.stats.shed < 2 {
            turns += 1;
            assert!(turns <= 100, "{turns} turns, stats {:?}", lp.stats);
            assert!(lp.turn(BOUND).unwrap().is_empty(), "nothing is handed over while out of fds");
        }
        assert_eq!(lp.stats.shed, 2);
        assert_eq!(lp.stats.accepted, 0);
        assert_eq!(lp.stats.exhausted, lp.stats.wakeups, "each wakeup met EMFILE once and shed");
        assert_eq!(poll_fd(lp.listener(), libc::POLLIN, Duration::ZERO).unwrap(), 0, "nothing left queued");
        for c in &clients {
            assert!(reads_end(c), "the shed connection {:?} ended", c.local_addr());
        }
        // The spare is back: the process is out of fds again.
        // SAFETY: plain open of /dev/null; closed at once if it succeeds.
        let fd = unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) };
        let e = std::io::Error::last_os_error();
        assert!(fd < 0 && e.raw_os_error() == Some(libc::EMFILE), "the spare slot was not taken back ({fd}, {e})");
    });
}

/// KN-EMFILE-2 through the runtime: closing a port whose output is still
/// being flushed (CL-1) closes no socket yet, so it releases no fd and a
/// paused accept stays paused (it resumes when an fd is really freed).
#[test]
fn closing_a_port_that_still_flushes_leaves_accept_paused() {
    in_child(|| {
        let mut rt = Runtime::new(Box::new(VirtualClock::new()), 8, 1, None).expect("runtime");
        rt.set_accept_policy(AcceptPolicy { retry_after: Duration::from_secs(3600) });
        let addr = rt.listen(SocketAddr::from(([127, 0, 0, 1], 0)), &[]).expect("listen");
        // The port under test: its peer never reads, so output stays queued.
        let peer_l = TcpListener::bind(("127.0.0.1", 0)).unwrap();
        let sock_opts = SocketOpts { sndbuf: Some(1), ..SocketOpts::default() };
        rt.connect(peer_l.local_addr().unwrap(), sock_opts, &[]).expect("connect");
        let (_peer, _) = peer_l.accept().unwrap();
        rt.send(SenderId(0), Bytes(8 << 20), 1, SendFlags::default()).expect("send");
        assert!(rt.queue_size().unwrap().0 > 0, "WM-2: the rest is queued");

        let client = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        let _ex = Exhaustion::start();
        client.connect(&addr.into()).unwrap();
        await_queued(rt.listener_fd().unwrap());
        assert!(rt.try_accept(Duration::ZERO).unwrap().is_none(), "no fd to accept into");
        let (before, paused) = rt.accept_stats().unwrap();
        assert!(paused);

        rt.close().expect("close");
        assert!(rt.subject_fd().is_some(), "CL-1: the socket stays open to flush");
        let (after, paused) = rt.accept_stats().unwrap();
        assert!(paused, "no fd was released: accept stays paused");
        assert_eq!(after.resumes, before.resumes);
    });
}
