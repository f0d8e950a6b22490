//! Running a process out of file descriptors on purpose (KN-EMFILE-*), and
//! counting its open fds (PT-2).
//!
//! RLIMIT_NOFILE bounds the fd *numbers* a process may allocate, and it is
//! per process: lower it only in a forked child (see [`super::in_child`]),
//! never in a test binary whose other threads need fds. Counting
//! `/proc/self/fd` is only exact in a process where nothing else opens or
//! closes fds meanwhile: such a child, again.

use std::io;
use std::os::fd::{FromRawFd, OwnedFd};

/// The highest fd number open in this process (at least 2).
pub fn highest_open_fd() -> io::Result<i32> {
    let mut hi = 2;
    for e in std::fs::read_dir("/proc/self/fd")? {
        if let Some(n) = e?.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) {
            hi = hi.max(n);
        }
    }
    Ok(hi)
}

/// How many fds this process has open. The directory fd `read_dir` itself
/// holds while listing `/proc/self/fd` is listed too and not counted.
pub fn open_fd_count() -> io::Result<usize> {
    let mut n = 0usize;
    for e in std::fs::read_dir("/proc/self/fd")? {
        e?;
        n += 1;
    }
    Ok(n.saturating_sub(1))
}

/// The process is out of fds: the soft RLIMIT_NOFILE sits just above the
/// highest fd that was open, and every free slot below it holds a
/// `/dev/null` filler, so the next fd allocation (accept, open, socket)
/// fails with EMFILE. Dropping it closes the fillers (the lowered limit
/// stays: use it in a child that exits afterwards).
#[derive(Debug)]
pub struct Exhaustion {
    /// The soft RLIMIT_NOFILE now in force.
    pub limit: u64,
    fillers: Vec<OwnedFd>,
}

impl Exhaustion {
    /// Lowers the soft limit to `highest_open_fd() + 1 + headroom` and fills
    /// every free slot. Call it in a forked child only.
    pub fn start(headroom: u64) -> io::Result<Exhaustion> {
        let limit = highest_open_fd()? as u64 + 1 + headroom;
        let (_, hard) = nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE)?;
        let limit = limit.min(hard);
        nix::sys::resource::setrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE, limit, hard)?;
        let mut ex = Exhaustion { limit, fillers: Vec::new() };
        loop {
            // SAFETY: plain open of /dev/null.
            let fd = unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) };
            if fd < 0 {
                let e = io::Error::last_os_error();
                return if e.raw_os_error() == Some(libc::EMFILE) { Ok(ex) } else { Err(e) };
            }
            // SAFETY: a fresh fd, owned from here on.
            ex.fillers.push(unsafe { OwnedFd::from_raw_fd(fd) });
        }
    }

    /// How many fillers it holds.
    pub fn fillers(&self) -> usize {
        self.fillers.len()
    }

    /// Frees one slot by closing a filler; false if none is left.
    pub fn release_one(&mut self) -> bool {
        self.fillers.pop().is_some()
    }

    /// Frees one slot by closing a filler and returns the fd number freed.
    pub fn release_one_fd(&mut self) -> Option<i32> {
        self.fillers.pop().map(|fd| std::os::fd::AsRawFd::as_raw_fd(&fd))
    }

    /// Keeps `fd` open as a filler (the slot it took stays used).
    pub fn hold(&mut self, fd: OwnedFd) {
        self.fillers.push(fd);
    }
}
