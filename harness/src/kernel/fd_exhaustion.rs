//! KN-EMFILE-3..5: the per-process fd limit on the fd-allocating syscalls
//! other than accept (KN-EMFILE-1 is accept's): pipe() and open().
//!
//! Every fd comes from `alloc_fd()` (fs/file.c), which hands out the lowest
//! free number below `rlimit(RLIMIT_NOFILE)` or fails with EMFILE. pipe()
//! needs two (`__do_pipe_flags`, fs/pipe.c, gives the first back when the
//! second fails), so with one slot free it still fails and leaves the slot
//! free. Peers: LTP pipe06 (EMFILE), pipe07 (exactly (limit - open) / 2
//! pipes), open04 (EMFILE from open).
//!
//! The limit is lowered only in a forked child ([`super::in_child`]): the
//! test process is never short of fds, and the child's fds are released when
//! it exits (and by RAII before that).

use super::fd_limit::{highest_open_fd, open_fd_count, Exhaustion};
use super::{ctx, errno_name, expect, ids, in_child, Probe};
use serde::{Deserialize, Serialize};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::Duration;

/// What the forked child saw.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FdExhaustionObservation {
    /// The soft RLIMIT_NOFILE while every fd below it was in use.
    pub full_limit: u64,
    /// pipe2() with no fd free: `ok` or the errno name.
    pub pipe_at_limit: String,
    /// open("/dev/null") and openat(AT_FDCWD, "/dev/null") with no fd free.
    pub open_at_limit: String,
    pub openat_at_limit: String,
    /// The fd number freed by closing one filler.
    pub freed_fd: i32,
    /// pipe2() with exactly that one fd free.
    pub pipe_one_free: String,
    /// open("/dev/null") after the one-free pipe2(): `fd <n>` or the errno.
    pub open_after_free: String,
    /// LTP pipe07: the soft limit, the fds open below it, the pipes pipe2()
    /// gave before failing, and how the next one failed.
    pub count_limit: u64,
    pub count_open_before: u64,
    pub pipes: u64,
    pub pipe_after_last: String,
    /// After the last pipe, whether one more open() succeeded (an odd
    /// number of free slots leaves one).
    pub open_after_last_pipe: String,
}

fn try_pipe() -> Result<(OwnedFd, OwnedFd), i32> {
    let mut fds = [0; 2];
    // SAFETY: valid out-array of two ints.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } < 0 {
        return Err(std::io::Error::last_os_error().raw_os_error().unwrap_or(0));
    }
    // SAFETY: both fds are fresh and owned from here on.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// open(2) (`at == false`) or openat(AT_FDCWD) of /dev/null.
fn try_open(at: bool) -> Result<OwnedFd, i32> {
    // SAFETY: a NUL-terminated path; the fd is owned below.
    let fd = unsafe {
        if at {
            libc::openat(libc::AT_FDCWD, c"/dev/null".as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC)
        } else {
            libc::open(c"/dev/null".as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC)
        }
    };
    if fd < 0 {
        return Err(std::io::Error::last_os_error().raw_os_error().unwrap_or(0));
    }
    // SAFETY: a fresh fd.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn shown<T>(r: &Result<T, i32>) -> String {
    match r {
        Ok(_) => "ok".into(),
        Err(e) => errno_name(*e),
    }
}

fn set_soft_nofile(limit: u64) -> Probe<()> {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    let (_, hard) = getrlimit(Resource::RLIMIT_NOFILE).map_err(|e| format!("getrlimit: {e}"))?;
    setrlimit(Resource::RLIMIT_NOFILE, limit.min(hard), hard).map_err(|e| format!("setrlimit({limit}): {e}"))
}

/// The child's body: only this thread exists, so the fd table is ours.
fn child_body() -> Probe<FdExhaustionObservation> {
    // 1. Every slot below the limit in use (pipe06, open04).
    // One slot of headroom: step 2 releases a filler, and with contiguous
    // fds (nothing free below the highest) a headroom of 0 leaves none.
    let mut ex = ctx("exhaust fds", Exhaustion::start(1))?;
    let full_limit = ex.limit;
    let p = try_pipe();
    let pipe_at_limit = shown(&p);
    drop(p);
    let o = try_open(false);
    let open_at_limit = shown(&o);
    drop(o);
    let o = try_open(true);
    let openat_at_limit = shown(&o);
    drop(o);
    // 2. One slot free: pipe still fails, and does not keep the slot.
    let freed_fd = ex.release_one_fd().ok_or("no filler to release")?;
    let p = try_pipe();
    let pipe_one_free = shown(&p);
    drop(p);
    let o = try_open(false);
    let open_after_free = match &o {
        Ok(fd) => format!("fd {}", fd.as_raw_fd()),
        Err(e) => errno_name(*e),
    };
    drop(o);
    drop(ex);

    // 3. pipe07: an odd number of free slots below a fresh limit.
    // The fds open now are all below highest + 1; make the free count odd
    // so the slot left over after the last pipe is checked too.
    let count_open_before = ctx("count fds", open_fd_count())? as u64;
    let mut count_limit = ctx("highest fd", highest_open_fd())? as u64 + 1 + 11;
    if (count_limit - count_open_before).is_multiple_of(2) {
        count_limit += 1;
    }
    set_soft_nofile(count_limit)?;
    let mut pipes = Vec::new();
    let pipe_after_last = loop {
        match try_pipe() {
            Ok(p) => pipes.push(p),
            Err(e) => break errno_name(e),
        }
        if pipes.len() > 100_000 {
            return Err("pipe2 never failed (limit not in force?)".into());
        }
    };
    let o = try_open(false);
    let open_after_last_pipe = shown(&o);
    drop(o);
    let n = pipes.len() as u64;
    drop(pipes);
    Ok(FdExhaustionObservation {
        full_limit,
        pipe_at_limit,
        open_at_limit,
        openat_at_limit,
        freed_fd,
        pipe_one_free,
        open_after_free,
        count_limit,
        count_open_before,
        pipes: n,
        pipe_after_last,
        open_after_last_pipe,
    })
}

/// Runs the three scenarios in a forked child with a lowered limit.
pub fn observe() -> Probe<FdExhaustionObservation> {
    in_child(Duration::from_secs(20), child_body)
}

/// KN-EMFILE-3: pipe() at the limit and with one fd free fails with
/// EMFILE; the one free fd stays free.
pub fn check_pipe(o: &FdExhaustionObservation) -> Probe<()> {
    expect(ids::KN_EMFILE_3, o.pipe_at_limit == "EMFILE", || {
        format!(
            "pipe() with every fd below RLIMIT_NOFILE {} in use: expected EMFILE, got {}",
            o.full_limit, o.pipe_at_limit
        )
    })?;
    expect(ids::KN_EMFILE_3, o.pipe_one_free == "EMFILE", || {
        format!("pipe() with one fd free (fd {}): expected EMFILE, got {}", o.freed_fd, o.pipe_one_free)
    })?;
    expect(ids::KN_EMFILE_3, o.open_after_free == format!("fd {}", o.freed_fd), || {
        format!(
            "the failed pipe() should leave fd {} free for the next open(), which got {}",
            o.freed_fd, o.open_after_free
        )
    })
}

/// KN-EMFILE-4: exactly floor((limit - open) / 2) pipes, then EMFILE (and
/// the odd slot left over still opens).
pub fn check_pipe_count(o: &FdExhaustionObservation) -> Probe<()> {
    let free = o.count_limit.saturating_sub(o.count_open_before);
    expect(ids::KN_EMFILE_4, o.pipes == free / 2 && o.pipe_after_last == "EMFILE", || {
        format!(
            "RLIMIT_NOFILE {} with {} fds open: expected {} pipes then EMFILE, got {} then {}",
            o.count_limit,
            o.count_open_before,
            free / 2,
            o.pipes,
            o.pipe_after_last
        )
    })?;
    let odd = free % 2 == 1;
    expect(ids::KN_EMFILE_4, (o.open_after_last_pipe == "ok") == odd, || {
        format!(
            "{free} free slots: after the last pipe an open() should {} but got {}",
            if odd { "take the odd slot" } else { "fail with EMFILE" },
            o.open_after_last_pipe
        )
    })
}

/// KN-EMFILE-5: open() and openat() at the limit fail with EMFILE; with one
/// fd closed, open() succeeds with that number.
pub fn check_open(o: &FdExhaustionObservation) -> Probe<()> {
    expect(ids::KN_EMFILE_5, o.open_at_limit == "EMFILE" && o.openat_at_limit == "EMFILE", || {
        format!(
            "open()/openat() with every fd below RLIMIT_NOFILE {} in use: expected EMFILE, got {} / {}",
            o.full_limit, o.open_at_limit, o.openat_at_limit
        )
    })?;
    expect(ids::KN_EMFILE_5, o.open_after_free == format!("fd {}", o.freed_fd), || {
        format!("after closing fd {} the next open() got {} (expected that fd)", o.freed_fd, o.open_after_free)
    })
}

/// One rule's probe: observe, then `check`.
pub fn probe(check: fn(&FdExhaustionObservation) -> Probe<()>) -> Probe<FdExhaustionObservation> {
    let o = observe()?;
    check(&o)?;
    Ok(o)
}

/// KN-EMFILE-3's probe.
pub fn probe_pipe() -> Probe<FdExhaustionObservation> {
    probe(check_pipe)
}

/// KN-EMFILE-4's probe.
pub fn probe_pipe_count() -> Probe<FdExhaustionObservation> {
    probe(check_pipe_count)
}

/// KN-EMFILE-5's probe.
pub fn probe_open() -> Probe<FdExhaustionObservation> {
    probe(check_open)
}
