//! Thin, checked wrappers over the few raw syscalls mio and socket2 do not
//! offer: waiting on one fd's readiness with a bound (one EINTR-safe poll
//! loop), FIONREAD and the send queue's ioctls, int socket options and
//! SO_ERROR, and errno names. The kernel probes use them too.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::time::{Duration, Instant};

/// Readiness to wait for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Want {
    Read,
    Write,
}

/// Polls one fd for `events` until any of them (or an error/hangup) is
/// reported or `bound` passes; returns the revents (0 when `bound` passed).
/// A signal (EINTR) does not end the wait. This is a failure bound, not a
/// delay: it returns as soon as the fd is ready.
pub fn poll_fd(fd: BorrowedFd<'_>, events: libc::c_short, bound: Duration) -> io::Result<libc::c_short> {
    let deadline = Instant::now() + bound;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let mut p = libc::pollfd { fd: fd.as_raw_fd(), events, revents: 0 };
        let ms = left.as_millis().min(i32::MAX as u128) as libc::c_int;
        // SAFETY: one valid pollfd, count 1.
        let n = unsafe { libc::poll(&mut p, 1, ms) };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        if n > 0 || left.is_zero() {
            return Ok(p.revents);
        }
    }
}

/// Non-blocking poll: the readiness right now.
pub fn poll_now(fd: BorrowedFd<'_>, events: libc::c_short) -> io::Result<libc::c_short> {
    poll_fd(fd, events, Duration::ZERO)
}

/// Wait until `fd` is ready for `want` or `bound` passes. Returns whether it
/// became ready (errors and hang-ups count as ready: the next syscall reports
/// them).
pub fn wait_ready(fd: &impl AsFd, want: Want, bound: Duration) -> io::Result<bool> {
    let events = match want {
        Want::Read => libc::POLLIN,
        Want::Write => libc::POLLOUT,
    };
    Ok(poll_fd(fd.as_fd(), events, bound)? != 0)
}

/// `POLLIN|POLLOUT|…` as text.
pub fn poll_flags(revents: libc::c_short) -> String {
    let names = [
        (libc::POLLIN, "POLLIN"),
        (libc::POLLPRI, "POLLPRI"),
        (libc::POLLOUT, "POLLOUT"),
        (libc::POLLERR, "POLLERR"),
        (libc::POLLHUP, "POLLHUP"),
        (libc::POLLNVAL, "POLLNVAL"),
        (libc::POLLRDHUP, "POLLRDHUP"),
    ];
    let v: Vec<&str> = names.iter().filter(|(b, _)| revents & b != 0).map(|(_, n)| *n).collect();
    if v.is_empty() {
        "0".into()
    } else {
        v.join("|")
    }
}

/// `getsockopt(SOL_SOCKET, SO_ERROR)` (reading it clears it).
pub fn so_error(fd: BorrowedFd<'_>) -> io::Result<i32> {
    getsockopt_int(fd, libc::SOL_SOCKET, libc::SO_ERROR)
}

/// An int socket option.
pub fn getsockopt_int(fd: BorrowedFd<'_>, level: i32, opt: i32) -> io::Result<i32> {
    let mut v: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: v and len are valid for the call.
    let r = unsafe { libc::getsockopt(fd.as_raw_fd(), level, opt, (&mut v as *mut i32).cast(), &mut len) };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(v)
}

/// Sets an int socket option.
pub fn setsockopt_int(fd: BorrowedFd<'_>, level: i32, opt: i32, v: i32) -> io::Result<()> {
    // SAFETY: v is a valid int for the call.
    let r = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            opt,
            (&v as *const i32).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Symbolic name of an errno value (`ECONNRESET`), for reports and
/// snapshots.
pub fn errno_name(e: i32) -> String {
    let name = match e {
        0 => "0",
        libc::EPERM => "EPERM",
        libc::ENOENT => "ENOENT",
        libc::EINTR => "EINTR",
        libc::EBADF => "EBADF",
        libc::EAGAIN => "EAGAIN",
        libc::EACCES => "EACCES",
        libc::EINVAL => "EINVAL",
        libc::ENFILE => "ENFILE",
        libc::EMFILE => "EMFILE",
        libc::EPIPE => "EPIPE",
        libc::EOVERFLOW => "EOVERFLOW",
        libc::ENETUNREACH => "ENETUNREACH",
        libc::ECONNRESET => "ECONNRESET",
        libc::ETIMEDOUT => "ETIMEDOUT",
        libc::ECONNREFUSED => "ECONNREFUSED",
        libc::EHOSTUNREACH => "EHOSTUNREACH",
        libc::EINPROGRESS => "EINPROGRESS",
        libc::EALREADY => "EALREADY",
        libc::EISCONN => "EISCONN",
        libc::ENOTCONN => "ENOTCONN",
        libc::EADDRNOTAVAIL => "EADDRNOTAVAIL",
        _ => return format!("errno {e}"),
    };
    name.to_string()
}

/// The errno name of an `io::Error` (or its text when it has none).
pub fn io_errno_name(e: &io::Error) -> String {
    match e.raw_os_error() {
        Some(n) => errno_name(n),
        None => e.to_string(),
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

#[cfg(test)]
mod tests {
    //! The wrappers against real loopback sockets. Where a wait must be
    //! interrupted or fed while it blocks, the test first waits until the
    //! waiting thread is inside poll(2) (`/proc/self/task/<tid>/syscall`);
    //! no sleeps.
    use super::*;
    use std::io::Write;
    use std::net::{Ipv4Addr, TcpListener, TcpStream};
    use std::os::unix::thread::JoinHandleExt;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::mpsc;

    const BOUND: Duration = Duration::from_secs(10);

    fn pair() -> (TcpStream, TcpStream) {
        let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let c = TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let (s, _) = l.accept().unwrap();
        (c, s)
    }

    /// Until thread `tid` blocks in poll/ppoll, unless `done` says it
    /// already returned (then that result, which the caller fails on).
    fn until_in_poll<T>(tid: libc::pid_t, done: &mpsc::Receiver<T>) -> Option<T> {
        let polls: &[&str] = if cfg!(target_arch = "x86_64") { &["7", "271"] } else { &["73"] };
        let deadline = Instant::now() + BOUND;
        loop {
            if let Ok(r) = done.try_recv() {
                return Some(r);
            }
            let s = std::fs::read_to_string(format!("/proc/self/task/{tid}/syscall")).unwrap_or_default();
            if polls.contains(&s.split_whitespace().next().unwrap_or("")) {
                return None;
            }
            assert!(Instant::now() < deadline, "thread {tid} never blocked in poll");
            std::thread::yield_now();
        }
    }

    /// Runs `f` on a thread; its tid, its pthread and where its result comes.
    fn waiter<T: Send + 'static>(
        f: impl FnOnce() -> T + Send + 'static,
    ) -> (libc::pid_t, std::thread::JoinHandle<()>, mpsc::Receiver<T>) {
        let (tid_tx, tid_rx) = mpsc::channel();
        let (tx, rx) = mpsc::channel();
        let h = std::thread::spawn(move || {
            // SAFETY: gettid has no preconditions.
            tid_tx.send(unsafe { libc::gettid() }).unwrap();
            let _ = tx.send(f());
        });
        (tid_rx.recv().unwrap(), h, rx)
    }

    static HANDLED: AtomicBool = AtomicBool::new(false);

    extern "C" fn on_usr1(_: libc::c_int) {
        HANDLED.store(true, Ordering::SeqCst);
    }

    /// Interrupt `h`'s poll with a signal whose handler runs (poll(2) is
    /// never restarted: it fails with EINTR).
    fn interrupt(h: &std::thread::JoinHandle<()>) {
        // SAFETY: a handler that only stores to an atomic; no SA_RESTART.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_usr1 as extern "C" fn(libc::c_int) as libc::sighandler_t;
            libc::sigemptyset(&mut sa.sa_mask);
            assert_eq!(libc::sigaction(libc::SIGUSR1, &sa, std::ptr::null_mut()), 0);
        }
        HANDLED.store(false, Ordering::SeqCst);
        // SAFETY: the thread is alive, blocked in poll.
        assert_eq!(unsafe { libc::pthread_kill(h.as_pthread_t(), libc::SIGUSR1) }, 0);
        let deadline = Instant::now() + BOUND;
        while !HANDLED.load(Ordering::SeqCst) {
            assert!(Instant::now() < deadline, "the handler never ran");
            std::thread::yield_now();
        }
    }

    #[test]
    fn wait_ready_says_whether_the_fd_became_ready() {
        let (mut c, s) = pair();
        assert!(!wait_ready(&s, Want::Read, Duration::from_millis(20)).unwrap(), "nothing sent: not readable");
        assert!(wait_ready(&c, Want::Write, BOUND).unwrap(), "a fresh socket is writable");
        c.write_all(b"x").unwrap();
        assert!(wait_ready(&s, Want::Read, BOUND).unwrap());
        assert_eq!(bytes_readable(s.as_raw_fd()).unwrap(), 1);
        assert!(bytes_readable(-1).is_err(), "EBADF is an error, not 0 bytes");
    }

    /// The bound is how long the wait may last: data that comes while it
    /// blocks ends it, and so does nothing else, a signal included.
    #[test]
    fn wait_ready_waits_through_a_signal_until_data_comes() {
        let (mut c, s) = pair();
        let (tid, h, done) = waiter(move || wait_ready(&s, Want::Read, BOUND).map_err(|e| e.to_string()));
        assert_eq!(until_in_poll(tid, &done), None, "returned before anything happened");
        interrupt(&h);
        // The handler ran, so the first poll is over: blocked again means
        // it went on waiting.
        assert_eq!(until_in_poll(tid, &done), None, "EINTR ended the wait");
        c.write_all(b"x").unwrap();
        assert_eq!(done.recv_timeout(BOUND).unwrap(), Ok(true));
        h.join().unwrap();

        // wait_any_readable takes the signal as "nothing ready yet".
        let (_c, s) = pair();
        let fd = s.as_raw_fd();
        let (tid, h, done) = waiter(move || wait_any_readable(&[fd], BOUND).map_err(|e| e.to_string()));
        assert_eq!(until_in_poll(tid, &done), None, "returned before anything happened");
        interrupt(&h);
        assert_eq!(done.recv_timeout(BOUND).unwrap(), Ok(false));
        h.join().unwrap();
        drop(s);
    }

    #[test]
    fn errno_names() {
        assert_eq!(errno_name(libc::ECONNRESET), "ECONNRESET");
        assert_eq!(errno_name(0), "0");
        assert_eq!(errno_name(9999), "errno 9999");
    }

    /// Reports and snapshots name every errno the runtime and the probes
    /// meet by its POSIX constant, so they read the same on every kernel.
    #[test]
    fn errno_names_are_the_posix_constants() {
        let named = [
            (libc::EPERM, "EPERM"),
            (libc::ENOENT, "ENOENT"),
            (libc::EINTR, "EINTR"),
            (libc::EBADF, "EBADF"),
            (libc::EAGAIN, "EAGAIN"),
            (libc::EACCES, "EACCES"),
            (libc::EINVAL, "EINVAL"),
            (libc::ENFILE, "ENFILE"),
            (libc::EMFILE, "EMFILE"),
            (libc::EPIPE, "EPIPE"),
            (libc::EOVERFLOW, "EOVERFLOW"),
            (libc::ENETUNREACH, "ENETUNREACH"),
            (libc::ECONNRESET, "ECONNRESET"),
            (libc::ETIMEDOUT, "ETIMEDOUT"),
            (libc::ECONNREFUSED, "ECONNREFUSED"),
            (libc::EHOSTUNREACH, "EHOSTUNREACH"),
            (libc::EINPROGRESS, "EINPROGRESS"),
            (libc::EALREADY, "EALREADY"),
            (libc::EISCONN, "EISCONN"),
            (libc::ENOTCONN, "ENOTCONN"),
            (libc::EADDRNOTAVAIL, "EADDRNOTAVAIL"),
        ];
        for (e, name) in named {
            assert_eq!(errno_name(e), name, "errno {e}");
            assert_eq!(io_errno_name(&io::Error::from_raw_os_error(e)), name);
        }
    }

    /// Readiness in diagnostics: the set flags by name in ascending bit
    /// order, `0` for none.
    #[test]
    fn poll_flags_name_exactly_the_flags_set() {
        assert_eq!(poll_flags(0), "0");
        assert_eq!(poll_flags(libc::POLLIN), "POLLIN");
        assert_eq!(poll_flags(libc::POLLOUT | libc::POLLIN), "POLLIN|POLLOUT");
        // A refused connect's revents (connect.rs).
        assert_eq!(poll_flags(libc::POLLHUP | libc::POLLERR | libc::POLLOUT), "POLLOUT|POLLERR|POLLHUP");
        assert_eq!(poll_flags(libc::POLLRDHUP | libc::POLLPRI | libc::POLLNVAL), "POLLPRI|POLLNVAL|POLLRDHUP");
    }

    /// poll_now is the readiness at this moment: a fresh connected socket
    /// is writable and not readable; once a byte arrives it is readable.
    #[test]
    fn poll_now_reports_the_present_readiness() {
        let (mut c, s) = pair();
        assert_eq!(poll_now(s.as_fd(), libc::POLLIN | libc::POLLOUT).unwrap(), libc::POLLOUT);
        c.write_all(b"x").unwrap();
        assert!(wait_ready(&s, Want::Read, BOUND).unwrap());
        assert_eq!(poll_now(s.as_fd(), libc::POLLIN | libc::POLLOUT).unwrap(), libc::POLLIN | libc::POLLOUT);
    }

    /// Int socket options: what is set reads back, and a fd that is not a
    /// socket is an error (ENOTSOCK), never a value.
    #[test]
    fn int_socket_options_read_back_and_fail_on_a_non_socket() {
        let (c, _s) = pair();
        assert_eq!(getsockopt_int(c.as_fd(), libc::SOL_SOCKET, libc::SO_TYPE).unwrap(), libc::SOCK_STREAM);
        for on in [1, 0] {
            setsockopt_int(c.as_fd(), libc::SOL_SOCKET, libc::SO_KEEPALIVE, on).unwrap();
            assert_eq!(getsockopt_int(c.as_fd(), libc::SOL_SOCKET, libc::SO_KEEPALIVE).unwrap(), on);
        }
        let f = std::fs::File::open("/dev/null").unwrap();
        let e = getsockopt_int(f.as_fd(), libc::SOL_SOCKET, libc::SO_TYPE).unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::ENOTSOCK));
        let e = setsockopt_int(f.as_fd(), libc::SOL_SOCKET, libc::SO_KEEPALIVE, 1).unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::ENOTSOCK));
        assert_eq!(so_error(f.as_fd()).unwrap_err().raw_os_error(), Some(libc::ENOTSOCK));
    }

    #[test]
    fn wait_any_readable_says_whether_one_is() {
        let (mut c, s) = pair();
        let (_c2, s2) = pair();
        let fds = [s2.as_raw_fd(), s.as_raw_fd()];
        assert!(!wait_any_readable(&fds, Duration::ZERO).unwrap());
        c.write_all(b"x").unwrap();
        assert!(wait_any_readable(&fds, BOUND).unwrap());
    }

    /// TIOCOUTQ/SIOCOUTQNSD: nothing on a fresh socket; a socket whose peer
    /// does not read holds what it could not send; a bad fd is an error.
    #[test]
    fn send_queue_reports_what_the_kernel_holds() {
        let (c, _s) = pair();
        assert_eq!(send_queue(c.as_raw_fd()).unwrap(), (0, 0));
        let sock = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        // The peer's window: 2 KiB, so most of what is written stays unsent.
        let l = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        let clamp: libc::c_int = 2048;
        // SAFETY: setsockopt with a valid c_int and its size.
        let rc = unsafe {
            libc::setsockopt(
                l.as_raw_fd(),
                libc::IPPROTO_TCP,
                libc::TCP_WINDOW_CLAMP,
                &clamp as *const libc::c_int as *const libc::c_void,
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        assert_eq!(rc, 0);
        l.bind(&std::net::SocketAddr::from((Ipv4Addr::LOCALHOST, 0)).into()).unwrap();
        l.listen(1).unwrap();
        sock.connect(&l.local_addr().unwrap()).unwrap();
        let (_peer, _) = l.accept().unwrap();
        sock.set_nonblocking(true).unwrap();
        let mut sock: TcpStream = sock.into();
        let buf = [0u8; 65536];
        let mut wrote = 0;
        while let Ok(n) = sock.write(&buf) {
            wrote += n;
        }
        let (outq, unsent) = send_queue(sock.as_raw_fd()).unwrap();
        assert!(
            outq > 1000 && outq <= wrote && unsent > 0 && unsent <= outq,
            "wrote {wrote}: outq {outq}, unsent {unsent}"
        );
        assert!(send_queue(-1).is_err());
    }

    /// The unsent count is TCP's alone (SIOCOUTQNSD, tcp_ioctl): a UDP
    /// socket, which does answer TIOCOUTQ, is an error, not "0 unsent".
    #[test]
    fn send_queue_of_a_non_tcp_socket_is_an_error() {
        let u = std::net::UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let mut outq: libc::c_int = -1;
        // SAFETY: TIOCOUTQ writes one c_int through the pointer.
        assert_eq!(unsafe { libc::ioctl(u.as_raw_fd(), libc::TIOCOUTQ, &mut outq) }, 0, "UDP answers TIOCOUTQ");
        assert!(send_queue(u.as_raw_fd()).is_err());
    }
}
