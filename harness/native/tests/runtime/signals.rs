//! The event loop under a signal. A signal handler that runs on the thread
//! blocked in `epoll_wait` makes the call fail with EINTR (epoll_wait(2):
//! never restarted, whatever SA_RESTART says). A production runtime lives
//! in a process that gets signals (SIGCHLD, profilers' SIGPROF): `turn`
//! must take EINTR as a wakeup with nothing ready, not fail.
//!
//! No sleeps: the test waits until the loop's thread is inside
//! `epoll_wait` (its `/proc/self/task/<tid>/syscall`), then signals it.

use crate::support::listener;
use native::SocketOpts;
use native::{ActiveSetting, Opt};
use native::{Runtime, VirtualClock};
use std::os::unix::thread::JoinHandleExt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const BOUND: Duration = Duration::from_secs(10);

static HANDLED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_usr1(_: libc::c_int) {
    HANDLED.store(true, Ordering::SeqCst);
}

/// Whether thread `tid` of this process is blocked in epoll_wait,
/// epoll_pwait or epoll_pwait2 (x86_64 and aarch64 numbers).
fn in_epoll_wait(tid: libc::pid_t) -> bool {
    let Ok(s) = std::fs::read_to_string(format!("/proc/self/task/{tid}/syscall")) else { return false };
    let nr = s.split_whitespace().next().unwrap_or("");
    let waits: &[&str] = if cfg!(target_arch = "x86_64") { &["232", "281", "441"] } else { &["22", "441"] };
    waits.contains(&nr)
}

fn handle_usr1() {
    // SAFETY: a handler that only stores to an atomic; no SA_RESTART.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = on_usr1 as extern "C" fn(libc::c_int) as libc::sighandler_t;
        libc::sigemptyset(&mut sa.sa_mask);
        assert_eq!(libc::sigaction(libc::SIGUSR1, &sa, std::ptr::null_mut()), 0);
    }
}

/// Waits until thread `tid` blocks in epoll_wait, then signals it.
fn interrupt_epoll_wait(tid: libc::pid_t, h: &std::thread::JoinHandle<()>) {
    let deadline = Instant::now() + BOUND;
    while !in_epoll_wait(tid) {
        assert!(Instant::now() < deadline, "the loop's thread never blocked in epoll_wait");
        std::thread::yield_now();
    }
    // SAFETY: the thread is alive (it is blocked in epoll_wait).
    assert_eq!(unsafe { libc::pthread_kill(h.as_pthread_t(), libc::SIGUSR1) }, 0);
}

#[test]
fn a_signal_during_turn_is_a_wakeup_not_an_error() {
    handle_usr1();
    let (l, addr) = listener();
    let (tid_tx, tid_rx) = mpsc::channel();
    let (res_tx, res_rx) = mpsc::channel();
    let h = std::thread::spawn(move || {
        let mut rt = Runtime::new(Box::new(VirtualClock::new()), 4, 1, None).expect("runtime");
        rt.connect(addr, SocketOpts::default(), &[Opt::Active(ActiveSetting::False)]).expect("connect");
        // SAFETY: gettid has no preconditions.
        tid_tx.send(unsafe { libc::gettid() }).unwrap();
        // Nothing will happen on the port: only the signal ends this wait.
        let t0 = Instant::now();
        let r = rt.turn(Some(BOUND)).map_err(|e| e.to_string());
        let _ = res_tx.send((r, t0.elapsed()));
    });
    let (_peer, _) = l.accept().expect("accept");
    let tid = tid_rx.recv_timeout(BOUND).expect("loop thread started");
    interrupt_epoll_wait(tid, &h);
    let (r, waited) = res_rx.recv_timeout(BOUND + BOUND).expect("turn returned");
    assert!(HANDLED.load(Ordering::SeqCst), "the handler ran");
    assert_eq!(r, Ok(()), "EINTR is a wakeup, not a runtime failure");
    assert!(waited < BOUND, "turn returned at the signal, not at its bound ({waited:?})");
    h.join().unwrap();
}

/// The same for the accept loop of a listen port: a signal while it waits
/// for connections is a turn with nothing accepted, not an error.
#[test]
fn a_signal_during_the_accept_loops_wait_is_a_wakeup_not_an_error() {
    use native::accept_loop::{AcceptLoop, Strategy};
    handle_usr1();
    let (l, _) = listener();
    let mut lp = AcceptLoop::new(std::os::fd::OwnedFd::from(l), Strategy::Naive).expect("accept loop");
    let (tid_tx, tid_rx) = mpsc::channel();
    let (res_tx, res_rx) = mpsc::channel();
    let h = std::thread::spawn(move || {
        // SAFETY: gettid has no preconditions.
        tid_tx.send(unsafe { libc::gettid() }).unwrap();
        // Nobody connects: only the signal ends this wait.
        let r = lp.turn(BOUND).map(|got| got.len()).map_err(|e| e.to_string());
        let _ = res_tx.send((r, lp.stats));
    });
    let tid = tid_rx.recv_timeout(BOUND).expect("loop thread started");
    interrupt_epoll_wait(tid, &h);
    let (r, stats) = res_rx.recv_timeout(BOUND + BOUND).expect("turn returned");
    assert!(HANDLED.load(Ordering::SeqCst), "the handler ran");
    assert_eq!(r, Ok(0), "EINTR is a turn with nothing accepted, not a failure");
    assert_eq!(stats.wakeups, 0, "no event woke the loop");
    h.join().unwrap();
}
