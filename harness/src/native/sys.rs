//! Thin, checked wrappers over the few raw syscalls mio and socket2 do not
//! offer: waiting on one fd's readiness with a bound, and FIONREAD.

use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::time::{Duration, Instant};

/// Readiness to wait for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Want {
    Read,
    Write,
}

/// Wait until `fd` is ready for `want` or `bound` passes. Returns whether it
/// became ready (errors and hang-ups count as ready: the next syscall reports
/// them). This is a failure bound, not a delay: it returns as soon as the fd
/// is ready.
pub fn wait_ready(fd: &impl AsRawFd, want: Want, bound: Duration) -> io::Result<bool> {
    let deadline = Instant::now() + bound;
    let events = match want {
        Want::Read => libc::POLLIN,
        Want::Write => libc::POLLOUT,
    };
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let mut pfd = libc::pollfd { fd: fd.as_raw_fd(), events, revents: 0 };
        let ms = left.as_millis().min(i32::MAX as u128) as libc::c_int;
        // SAFETY: one valid pollfd, count 1.
        let rc = unsafe { libc::poll(&mut pfd, 1, ms) };
        if rc < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        if rc > 0 {
            return Ok(true);
        }
        if left.is_zero() {
            return Ok(false);
        }
    }
}

/// Bytes in the socket's receive queue (FIONREAD).
pub fn bytes_readable(fd: RawFd) -> io::Result<usize> {
    let mut n: libc::c_int = 0;
    // SAFETY: FIONREAD writes one c_int through the pointer.
    let rc = unsafe { libc::ioctl(fd, libc::FIONREAD, &mut n) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(n.max(0) as usize)
}

/// Wait until any of `fds` is readable or `bound` passes; returns whether one
/// became ready.
pub fn wait_any_readable(fds: &[RawFd], bound: Duration) -> io::Result<bool> {
    let mut pfds: Vec<libc::pollfd> =
        fds.iter().map(|&fd| libc::pollfd { fd, events: libc::POLLIN, revents: 0 }).collect();
    let ms = bound.as_millis().min(i32::MAX as u128) as libc::c_int;
    // SAFETY: `pfds` is a valid array of `pfds.len()` pollfds.
    let rc = unsafe { libc::poll(pfds.as_mut_ptr(), pfds.len() as libc::nfds_t, ms) };
    if rc < 0 {
        let e = io::Error::last_os_error();
        return if e.kind() == io::ErrorKind::Interrupted { Ok(false) } else { Err(e) };
    }
    Ok(rc > 0)
}

/// Bytes in the socket's send queue (TIOCOUTQ) and of those not yet sent
/// (SIOCOUTQNSD), for diagnostics.
pub fn send_queue(fd: RawFd) -> io::Result<(usize, usize)> {
    const SIOCOUTQNSD: libc::c_ulong = 0x894B;
    let mut outq: libc::c_int = 0;
    let mut unsent: libc::c_int = 0;
    // SAFETY: both ioctls write one c_int through the pointer.
    unsafe {
        if libc::ioctl(fd, libc::TIOCOUTQ, &mut outq) < 0 {
            return Err(io::Error::last_os_error());
        }
        if libc::ioctl(fd, SIOCOUTQNSD as _, &mut unsent) < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok((outq.max(0) as usize, unsent.max(0) as usize))
}
