//! An epoll accept loop that does not spin when the process is out of file
//! descriptors (KN-EMFILE-2).
//!
//! At RLIMIT_NOFILE, `accept` fails with EMFILE *before* dequeuing (the fd
//! is reserved first, net/socket.c), so the connection stays queued and the
//! level-triggered listener stays readable: a naive loop wakes up again at
//! once, forever. Two known remedies:
//!
//! - [`Strategy::PauseAccept`] (nginx `ngx_disable_accept_events`): on
//!   EMFILE drop accept interest and re-arm it on a timer, or at once when
//!   the application says it released an fd ([`AcceptLoop::fd_released`]).
//!   Loses nothing: the connection waits in the kernel's queue.
//! - [`Strategy::ReserveAndShed`] (libuv `uv__emfile_trick`, the libev
//!   manual): keep a spare fd; on EMFILE close it, accept and immediately
//!   close the waiting connections, reopen the spare. Does not spin, but
//!   sheds the connections it cannot serve.
//!
//! [`Strategy::Naive`] exists to show the spin.

use serde::{Deserialize, Serialize};
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Strategy {
    /// Level-triggered, retry at once (spins while exhausted).
    Naive,
    /// Drop accept interest on EMFILE/ENFILE for `backoff_ms`, or until
    /// `fd_released`.
    PauseAccept { backoff_ms: u64 },
    /// libuv's reserved-fd trick: shed waiting connections while exhausted.
    ReserveAndShed,
}

/// What the loop did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    /// epoll_wait returns with at least one event.
    pub wakeups: u64,
    pub accepted: u64,
    /// accept calls that failed with EMFILE or ENFILE.
    pub exhausted: u64,
    /// times accept interest was dropped / restored (PauseAccept).
    pub pauses: u64,
    pub resumes: u64,
    /// connections accepted and closed at once (ReserveAndShed).
    pub shed: u64,
}

const LISTENER_TOKEN: u64 = 1;
const TIMER_TOKEN: u64 = 2;

/// An epoll loop over one non-blocking listener.
pub struct AcceptLoop {
    ep: OwnedFd,
    timer: OwnedFd,
    listener: OwnedFd,
    strategy: Strategy,
    paused: bool,
    reserve: Option<OwnedFd>,
    /// At most this many connections are accepted per turn; the rest stay
    /// queued in the kernel (the listener is level-triggered, so the next
    /// turn sees them).
    batch: usize,
    pub stats: Stats,
}

fn cvt(r: libc::c_int) -> io::Result<libc::c_int> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

fn open_reserve() -> io::Result<OwnedFd> {
    // SAFETY: plain open of /dev/null.
    let fd = cvt(unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) })?;
    // SAFETY: fresh fd.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

impl AcceptLoop {
    /// Takes the listener (made non-blocking here). Allocates the epoll fd,
    /// a timerfd and (for ReserveAndShed) the spare fd now, while fds are
    /// available.
    pub fn new(listener: OwnedFd, strategy: Strategy) -> io::Result<AcceptLoop> {
        // SAFETY: plain syscalls; the fds become owned at once.
        let ep = unsafe { OwnedFd::from_raw_fd(cvt(libc::epoll_create1(libc::EPOLL_CLOEXEC))?) };
        let timer = unsafe {
            OwnedFd::from_raw_fd(cvt(libc::timerfd_create(
                libc::CLOCK_MONOTONIC,
                libc::TFD_CLOEXEC | libc::TFD_NONBLOCK,
            ))?)
        };
        // SAFETY: fcntl on a valid fd.
        unsafe {
            let fl = cvt(libc::fcntl(listener.as_raw_fd(), libc::F_GETFL))?;
            cvt(libc::fcntl(listener.as_raw_fd(), libc::F_SETFL, fl | libc::O_NONBLOCK))?;
        }
        let reserve = match strategy {
            Strategy::ReserveAndShed => Some(open_reserve()?),
            _ => None,
        };
        let l = AcceptLoop {
            ep,
            timer,
            listener,
            strategy,
            paused: false,
            reserve,
            batch: usize::MAX,
            stats: Stats::default(),
        };
        l.ctl(libc::EPOLL_CTL_ADD, l.timer.as_raw_fd(), TIMER_TOKEN)?;
        l.ctl(libc::EPOLL_CTL_ADD, l.listener.as_raw_fd(), LISTENER_TOKEN)?;
        Ok(l)
    }

    /// Accept at most `n` (at least 1) connections per turn, leaving the
    /// others queued in the kernel: a runtime that creates one port per
    /// `accept` call takes one fd at a time.
    pub fn with_batch_limit(mut self, n: usize) -> AcceptLoop {
        self.batch = n.max(1);
        self
    }

    pub fn listener(&self) -> BorrowedFd<'_> {
        self.listener.as_fd()
    }

    pub fn is_paused(&self) -> bool {
        self.paused
    }

    fn ctl(&self, op: libc::c_int, fd: RawFd, token: u64) -> io::Result<()> {
        let mut ev = libc::epoll_event { events: libc::EPOLLIN as u32, u64: token };
        // SAFETY: valid epoll fd and event.
        cvt(unsafe { libc::epoll_ctl(self.ep.as_raw_fd(), op, fd, &mut ev) }).map(drop)
    }

    fn arm_timer(&self, after: Duration) -> io::Result<()> {
        let spec = libc::itimerspec {
            it_interval: libc::timespec { tv_sec: 0, tv_nsec: 0 },
            it_value: libc::timespec { tv_sec: after.as_secs() as i64, tv_nsec: after.subsec_nanos() as i64 },
        };
        // SAFETY: valid timerfd and spec.
        cvt(unsafe { libc::timerfd_settime(self.timer.as_raw_fd(), 0, &spec, std::ptr::null_mut()) }).map(drop)
    }

    fn pause(&mut self, backoff: Duration) -> io::Result<()> {
        if !self.paused {
            self.ctl(libc::EPOLL_CTL_DEL, self.listener.as_raw_fd(), LISTENER_TOKEN)?;
            self.paused = true;
            self.stats.pauses += 1;
        }
        self.arm_timer(backoff)
    }

    fn resume(&mut self) -> io::Result<()> {
        if self.paused {
            self.arm_timer(Duration::ZERO)?; // disarm
            self.ctl(libc::EPOLL_CTL_ADD, self.listener.as_raw_fd(), LISTENER_TOKEN)?;
            self.paused = false;
            self.stats.resumes += 1;
        }
        Ok(())
    }

    /// The application released an fd: restore accept interest now rather
    /// than at the end of the backoff.
    pub fn fd_released(&mut self) -> io::Result<()> {
        self.resume()
    }

    fn accept_one(&self) -> io::Result<OwnedFd> {
        // SAFETY: accept4 on a valid listener; null address is allowed.
        let fd = cvt(unsafe {
            libc::accept4(
                self.listener.as_raw_fd(),
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK,
            )
        })?;
        // SAFETY: fresh fd.
        Ok(unsafe { OwnedFd::from_raw_fd(fd) })
    }

    /// One `epoll_wait` (up to `timeout`) and its handling; returns the
    /// connections accepted.
    pub fn turn(&mut self, timeout: Duration) -> io::Result<Vec<OwnedFd>> {
        let mut evs = [libc::epoll_event { events: 0, u64: 0 }; 4];
        // Rounded up: a sub-millisecond wait must not become a busy poll.
        let ms = timeout.as_nanos().div_ceil(1_000_000).min(i32::MAX as u128) as i32;
        // SAFETY: valid epoll fd and buffer.
        let n = unsafe { libc::epoll_wait(self.ep.as_raw_fd(), evs.as_mut_ptr(), evs.len() as i32, ms) };
        if n < 0 {
            let e = io::Error::last_os_error();
            return if e.kind() == io::ErrorKind::Interrupted { Ok(Vec::new()) } else { Err(e) };
        }
        if n == 0 {
            return Ok(Vec::new());
        }
        self.stats.wakeups += 1;
        let mut out = Vec::new();
        for ev in &evs[..n as usize] {
            match ev.u64 {
                TIMER_TOKEN => {
                    let mut b = [0u8; 8];
                    // SAFETY: reading the expiration count from the timerfd.
                    unsafe { libc::read(self.timer.as_raw_fd(), b.as_mut_ptr().cast(), 8) };
                    self.retry_while_paused(&mut out)?;
                }
                LISTENER_TOKEN => self.on_readable(&mut out)?,
                _ => {}
            }
        }
        Ok(out)
    }

    fn on_readable(&mut self, out: &mut Vec<OwnedFd>) -> io::Result<()> {
        loop {
            if out.len() >= self.batch {
                return Ok(());
            }
            match self.accept_one() {
                Ok(fd) => {
                    self.stats.accepted += 1;
                    out.push(fd);
                }
                Err(e) => match e.raw_os_error() {
                    Some(libc::EAGAIN) => return Ok(()),
                    Some(libc::EINTR) | Some(libc::ECONNABORTED) => continue,
                    Some(libc::EMFILE) | Some(libc::ENFILE) => {
                        self.stats.exhausted += 1;
                        return match self.strategy {
                            Strategy::Naive => Ok(()),
                            Strategy::PauseAccept { backoff_ms } => self.pause(Duration::from_millis(backoff_ms)),
                            Strategy::ReserveAndShed => self.shed(),
                        };
                    }
                    _ => return Err(e),
                },
            }
        }
    }

    /// The backoff expired: try accepting right away (one wakeup per
    /// backoff, not two); re-arm the timer if still exhausted, otherwise
    /// restore accept interest.
    fn retry_while_paused(&mut self, out: &mut Vec<OwnedFd>) -> io::Result<()> {
        if !self.paused {
            return Ok(());
        }
        loop {
            if out.len() >= self.batch {
                // Accepting worked again: restore accept interest.
                return self.resume();
            }
            match self.accept_one() {
                Ok(fd) => {
                    self.stats.accepted += 1;
                    out.push(fd);
                }
                Err(e) => match e.raw_os_error() {
                    Some(libc::EINTR) | Some(libc::ECONNABORTED) => continue,
                    Some(libc::EMFILE) | Some(libc::ENFILE) => {
                        self.stats.exhausted += 1;
                        let Strategy::PauseAccept { backoff_ms } = self.strategy else {
                            return Ok(());
                        };
                        return self.arm_timer(Duration::from_millis(backoff_ms));
                    }
                    Some(libc::EAGAIN) => return self.resume(),
                    _ => return Err(e),
                },
            }
        }
    }

    /// libuv's trick: use the spare fd slot to accept and close everything
    /// waiting, then take the spare back.
    fn shed(&mut self) -> io::Result<()> {
        let Some(spare) = self.reserve.take() else {
            return Ok(());
        };
        drop(spare);
        loop {
            match self.accept_one() {
                Ok(fd) => {
                    drop(fd);
                    self.stats.shed += 1;
                }
                Err(e) if e.raw_os_error() == Some(libc::EINTR) => continue,
                Err(_) => break,
            }
        }
        self.reserve = Some(open_reserve()?);
        Ok(())
    }

    /// Runs turns until `window` has passed; returns everything accepted.
    pub fn run_for(&mut self, window: Duration) -> io::Result<Vec<OwnedFd>> {
        let end = Instant::now() + window;
        let mut out = Vec::new();
        loop {
            let left = end.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(out);
            }
            out.extend(self.turn(left)?);
        }
    }

    /// Runs turns until something is accepted or `bound` passes.
    pub fn run_until_accept(&mut self, bound: Duration) -> io::Result<Vec<OwnedFd>> {
        let end = Instant::now() + bound;
        loop {
            let left = end.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(Vec::new());
            }
            let got = self.turn(left)?;
            if !got.is_empty() {
                return Ok(got);
            }
        }
    }
}
