//! KN-PIPE-*: timestamps of anonymous pipes and named FIFOs, and O_NOATIME.
//!
//! Since Linux 6.15 (commits 262b2fa99cbe "pipe: introduce struct
//! file_operations pipeanon_fops" and f017b0a4951f "pipe: don't update
//! {a,c,m}time for anonymous pipes") anonymous pipes use
//! `anon_pipe_read`/`anon_pipe_write` and never touch timestamps; FIFOs use
//! `fifo_pipe_read` (→ `file_accessed`) and `fifo_pipe_write` (→
//! `file_update_time`). Before 6.15 anonymous pipes behaved like FIFOs on a
//! strictatime mount. Seed: yufeng, "Linux下pipe使用注意事项" (2011), where
//! `touch_atime` on every pipe read dominated a profile.
//!
//! No waiting for the clock: atime and mtime are set to 2000-01-01 with
//! `futimens` before the action, so any update is visible at once. ctime
//! cannot be set; after `futimens` (which sets ctime to now) the probe spins
//! on `CLOCK_REALTIME_COARSE` (bounded) until the clock has moved past it.

use super::{ctx, errno_name, expect, ids, KernelRelease, Probe};
use serde::Serialize;
use std::ffi::CString;
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::time::{Duration, Instant};

/// 2000-01-01T00:00:00Z.
const PAST: libc::timespec = libc::timespec { tv_sec: 946_684_800, tv_nsec: 0 };

/// The first release where anonymous pipes stopped updating timestamps.
pub const ANON_PIPE_NO_TIMES_SINCE: (u32, u32) = (6, 15);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Times {
    atime: (i64, i64),
    mtime: (i64, i64),
    ctime: (i64, i64),
}

fn times(fd: BorrowedFd<'_>) -> io::Result<Times> {
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: st is a valid out-pointer.
    if unsafe { libc::fstat(fd.as_raw_fd(), &mut st) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(Times {
        atime: (st.st_atime, st.st_atime_nsec),
        mtime: (st.st_mtime, st.st_mtime_nsec),
        ctime: (st.st_ctime, st.st_ctime_nsec),
    })
}

/// Sets atime and mtime to [`PAST`] (ctime becomes "now"), then waits,
/// polling the coarse clock with a bound, until the clock is past the new
/// ctime so that a later ctime update is visible.
fn set_past(fd: BorrowedFd<'_>) -> Probe<Times> {
    let ts = [PAST, PAST];
    // SAFETY: two valid timespecs.
    if unsafe { libc::futimens(fd.as_raw_fd(), ts.as_ptr()) } < 0 {
        return Err(format!("futimens: {}", io::Error::last_os_error()));
    }
    let t = ctx("fstat", times(fd))?;
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        let mut now = libc::timespec { tv_sec: 0, tv_nsec: 0 };
        // SAFETY: valid out-pointer.
        unsafe { libc::clock_gettime(libc::CLOCK_REALTIME_COARSE, &mut now) };
        if (now.tv_sec, now.tv_nsec) > t.ctime {
            return Ok(t);
        }
        if Instant::now() > deadline {
            return Err("coarse clock did not pass the ctime set by futimens within 2 s".into());
        }
        std::hint::spin_loop();
    }
}

/// Which timestamps an action changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Changed {
    pub atime: bool,
    pub mtime: bool,
    pub ctime: bool,
}

impl Changed {
    fn between(a: Times, b: Times) -> Changed {
        Changed { atime: a.atime != b.atime, mtime: a.mtime != b.mtime, ctime: a.ctime != b.ctime }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum PipeKind {
    Anonymous,
    Fifo,
}

/// One write-then-read on a pipe or FIFO.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PipeObservation {
    pub kind: PipeKind,
    /// O_NOATIME set on the reading fd with fcntl(F_SETFL) (by the owner).
    pub reader_noatime: bool,
    pub after_write: Changed,
    pub after_read: Changed,
}

/// What the running kernel is expected to do, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Expectation {
    pub after_write: Changed,
    pub after_read: Changed,
    pub why: String,
}

/// The mount's atime policy for the FIFO's directory.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum AtimePolicy {
    NoAtime,
    /// relatime or strictatime: an atime older than mtime is updated.
    Updates,
}

pub fn atime_policy(dir: &Path) -> Probe<AtimePolicy> {
    let v = nix::sys::statvfs::statvfs(dir).map_err(|e| format!("statvfs {}: {e}", dir.display()))?;
    Ok(if v.flags().contains(nix::sys::statvfs::FsFlags::ST_NOATIME) {
        AtimePolicy::NoAtime
    } else {
        AtimePolicy::Updates
    })
}

/// The expectation for `kind` on `release` (and the FIFO mount's policy).
pub fn expected(kind: PipeKind, reader_noatime: bool, release: &KernelRelease, policy: AtimePolicy) -> Expectation {
    let (maj, min) = ANON_PIPE_NO_TIMES_SINCE;
    match kind {
        PipeKind::Anonymous if release.at_least(maj, min) => Expectation {
            after_write: Changed { atime: false, mtime: false, ctime: false },
            after_read: Changed { atime: false, mtime: false, ctime: false },
            why: format!(
                "kernel {} >= {maj}.{min}: anonymous pipes use anon_pipe_read/anon_pipe_write, which never touch \
                 timestamps (f017b0a4951f, 262b2fa99cbe)",
                release.raw
            ),
        },
        PipeKind::Anonymous => Expectation {
            after_write: Changed { atime: false, mtime: true, ctime: true },
            after_read: Changed { atime: !reader_noatime, mtime: false, ctime: false },
            why: format!(
                "kernel {} < {maj}.{min}: pipe_read -> file_accessed (pipefs: no relatime) unless O_NOATIME; \
                 pipe_write -> file_update_time",
                release.raw
            ),
        },
        PipeKind::Fifo => {
            let reads_atime = !reader_noatime && policy == AtimePolicy::Updates;
            Expectation {
                after_write: Changed { atime: false, mtime: true, ctime: true },
                after_read: Changed { atime: reads_atime, mtime: false, ctime: false },
                why: format!(
                    "FIFO (all kernels): fifo_pipe_write -> file_update_time; fifo_pipe_read -> file_accessed, {}",
                    if reader_noatime {
                        "suppressed by O_NOATIME on the reader"
                    } else if policy == AtimePolicy::NoAtime {
                        "but the mount is noatime"
                    } else {
                        "atime (set to 2000) is older than mtime, so relatime updates it"
                    }
                ),
            }
        }
    }
}

/// Sets O_NOATIME on `fd` with fcntl(F_SETFL); returns the errno (0 = ok)
/// and whether the flag reads back set.
pub fn set_noatime(fd: BorrowedFd<'_>) -> (i32, bool) {
    // SAFETY: plain fcntl calls on a valid fd.
    unsafe {
        let fl = libc::fcntl(fd.as_raw_fd(), libc::F_GETFL);
        let r = libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, fl | libc::O_NOATIME);
        let err = if r < 0 { *libc::__errno_location() } else { 0 };
        let back = libc::fcntl(fd.as_raw_fd(), libc::F_GETFL);
        (err, back >= 0 && back & libc::O_NOATIME != 0)
    }
}

fn pipe_pair() -> Probe<(File, File)> {
    let mut fds = [0; 2];
    // SAFETY: fds is a valid out-array of two ints.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC | libc::O_NONBLOCK) } < 0 {
        return Err(format!("pipe2: {}", io::Error::last_os_error()));
    }
    // SAFETY: both fds are fresh and owned by us from here on.
    Ok(unsafe { (File::from_raw_fd(fds[0]), File::from_raw_fd(fds[1])) })
}

/// Opens a FIFO for reading (non-blocking, so it does not wait for a
/// writer) and then for writing.
fn open_fifo(path: &Path) -> Probe<(File, File)> {
    use std::os::unix::fs::OpenOptionsExt;
    let r = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| format!("open {} O_RDONLY: {e}", path.display()))?;
    let w = std::fs::OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| format!("open {} O_WRONLY: {e}", path.display()))?;
    Ok((r, w))
}

pub fn mkfifo(path: &Path, mode: u32) -> Probe<()> {
    nix::unistd::mkfifo(path, nix::sys::stat::Mode::from_bits_truncate(mode))
        .map_err(|e| format!("mkfifo {}: {e}", path.display()))?;
    // mkfifo applies the umask; set the mode we meant.
    std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(mode))
        .map_err(|e| format!("chmod {}: {e}", path.display()))
}

fn write_then_read(kind: PipeKind, r: &mut File, w: &mut File, noatime: bool) -> Probe<PipeObservation> {
    if noatime {
        let (err, set) = set_noatime(r.as_fd());
        if err != 0 || !set {
            return Err(super::violation(
                ids::KN_PIPE_4,
                format!(
                    "owner's fcntl(F_SETFL, O_NOATIME) on the {kind:?} reader: {} (flag set: {set})",
                    errno_name(err)
                ),
            ));
        }
    }
    // Timestamps are per inode: setting them through either end is the same.
    let t0 = set_past(r.as_fd())?;
    ctx("write", w.write_all(b"x"))?;
    let t1 = ctx("fstat", times(r.as_fd()))?;
    let mut b = [0u8; 1];
    let n = ctx("read", r.read(&mut b))?;
    if n != 1 {
        return Err(format!("read returned {n}, expected the 1 byte written"));
    }
    let t2 = ctx("fstat", times(r.as_fd()))?;
    Ok(PipeObservation {
        kind,
        reader_noatime: noatime,
        after_write: Changed::between(t0, t1),
        after_read: Changed::between(t1, t2),
    })
}

/// A temp dir on a real filesystem (the default temp dir unless
/// `PORTCHECK_FIFO_DIR` names another parent), world-searchable so a child
/// that dropped privileges can reach the FIFO in it.
pub fn fifo_dir() -> Probe<tempfile::TempDir> {
    let mut b = tempfile::Builder::new();
    b.prefix("portcheck-fifo-");
    let d = match std::env::var_os("PORTCHECK_FIFO_DIR") {
        Some(p) => b.tempdir_in(p),
        None => b.tempdir(),
    }
    .map_err(|e| format!("tempdir: {e}"))?;
    std::fs::set_permissions(d.path(), std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .map_err(|e| format!("chmod tempdir: {e}"))?;
    Ok(d)
}

/// Observes a write then a read, and checks it against the expectation
/// for the running kernel (KN-PIPE-1 for anonymous pipes, KN-PIPE-2/3 for
/// FIFOs). Returns the observation and the expectation (with its reason).
pub fn probe(kind: PipeKind, noatime: bool) -> Probe<(PipeObservation, Expectation)> {
    let release = KernelRelease::running()?;
    let (o, policy) = match kind {
        PipeKind::Anonymous => {
            let (mut r, mut w) = pipe_pair()?;
            (write_then_read(kind, &mut r, &mut w, noatime)?, AtimePolicy::Updates)
        }
        PipeKind::Fifo => {
            let dir = fifo_dir()?;
            let path = dir.path().join("fifo");
            mkfifo(&path, 0o600)?;
            let policy = atime_policy(dir.path())?;
            let (mut r, mut w) = open_fifo(&path)?;
            (write_then_read(kind, &mut r, &mut w, noatime)?, policy)
        }
    };
    let e = expected(kind, noatime, &release, policy);
    let rule = match (kind, noatime) {
        (PipeKind::Anonymous, _) => ids::KN_PIPE_1,
        (PipeKind::Fifo, false) => ids::KN_PIPE_2,
        (PipeKind::Fifo, true) => ids::KN_PIPE_3,
    };
    expect(rule, o.after_write == e.after_write && o.after_read == e.after_read, || {
        format!(
            "{kind:?} (reader O_NOATIME: {noatime}) on {}: expected write {:?} / read {:?} ({}), observed write {:?} / read {:?}",
            release.raw, e.after_write, e.after_read, e.why, o.after_write, o.after_read
        )
    })?;
    Ok((o, e))
}

/// KN-PIPE-4: who may set O_NOATIME.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NoatimePermission {
    /// root (the owner) on its own FIFO.
    pub owner_root_on_fifo: String,
    /// uid 65534 on a pipe it created itself (owner, no capabilities).
    pub unprivileged_owner_on_own_pipe: String,
    /// uid 65534 on the root-owned FIFO (mode 0666) via fcntl(F_SETFL).
    pub non_owner_fcntl_on_root_fifo: String,
    /// uid 65534 opening the root-owned FIFO with O_NOATIME.
    pub non_owner_open_noatime_on_root_fifo: String,
}

fn errno() -> i32 {
    // SAFETY: thread-local errno.
    unsafe { *libc::__errno_location() }
}

/// Body of the forked child: only raw syscalls, no allocation, no locks.
/// Drops to uid/gid 65534 and writes four errnos to `out`.
unsafe fn noatime_child(fifo: *const libc::c_char, out: i32) -> ! {
    let mut res: [i32; 4] = [-1; 4];
    let ok = libc::syscall(libc::SYS_setgroups, 0, std::ptr::null::<libc::gid_t>()) == 0
        && libc::syscall(libc::SYS_setresgid, 65534, 65534, 65534) == 0
        && libc::syscall(libc::SYS_setresuid, 65534, 65534, 65534) == 0;
    if ok {
        // Own pipe: created as uid 65534, so 65534 owns it.
        let mut p = [0i32; 2];
        if libc::pipe2(p.as_mut_ptr(), libc::O_CLOEXEC) == 0 {
            let fl = libc::fcntl(p[0], libc::F_GETFL);
            res[1] = if libc::fcntl(p[0], libc::F_SETFL, fl | libc::O_NOATIME) < 0 { errno() } else { 0 };
        } else {
            res[1] = -errno();
        }
        let fd = libc::open(fifo, libc::O_RDONLY | libc::O_NONBLOCK | libc::O_CLOEXEC);
        if fd >= 0 {
            let fl = libc::fcntl(fd, libc::F_GETFL);
            res[2] = if libc::fcntl(fd, libc::F_SETFL, fl | libc::O_NOATIME) < 0 { errno() } else { 0 };
        } else {
            res[2] = -errno();
        }
        let fd2 = libc::open(fifo, libc::O_RDONLY | libc::O_NONBLOCK | libc::O_CLOEXEC | libc::O_NOATIME);
        res[3] = if fd2 < 0 { errno() } else { 0 };
    }
    libc::write(out, res.as_ptr().cast(), std::mem::size_of_val(&res));
    libc::_exit(if ok { 0 } else { 3 })
}

pub fn noatime_permission() -> Probe<NoatimePermission> {
    let dir = fifo_dir()?;
    let path = dir.path().join("root-fifo");
    mkfifo(&path, 0o666)?;
    let (r, _w) = open_fifo(&path)?;
    let (owner_err, owner_set) = set_noatime(r.as_fd());
    let owner = if owner_err == 0 && owner_set { "accepted".to_string() } else { errno_name(owner_err) };

    let cpath = CString::new(path.as_os_str().as_bytes()).map_err(|e| e.to_string())?;
    let (mut rd, wr) = pipe_pair()?;
    // SAFETY: the child runs only async-signal-safe syscalls (noatime_child).
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(format!("fork: {}", io::Error::last_os_error()));
    }
    if pid == 0 {
        // SAFETY: in the child; never returns.
        unsafe { noatime_child(cpath.as_ptr(), wr.as_raw_fd()) }
    }
    let mut child = super::ChildGuard(Some(pid));
    drop(wr);
    let status = child.wait(Duration::from_secs(10))?;
    let mut buf = [0u8; 16];
    let n = rd.read(&mut buf).unwrap_or(0);
    if n != 16 || !libc::WIFEXITED(status) || libc::WEXITSTATUS(status) != 0 {
        return Err(format!("privilege-dropping child failed (status {status:#x}, {n} result bytes)"));
    }
    let v: Vec<i32> = buf.chunks(4).map(|c| i32::from_ne_bytes(c.try_into().unwrap())).collect();
    let show = |e: i32| match e {
        0 => "accepted".to_string(),
        e if e < 0 => format!("setup failed: {}", errno_name(-e)),
        e => errno_name(e),
    };
    let o = NoatimePermission {
        owner_root_on_fifo: owner,
        unprivileged_owner_on_own_pipe: show(v[1]),
        non_owner_fcntl_on_root_fifo: show(v[2]),
        non_owner_open_noatime_on_root_fifo: show(v[3]),
    };
    expect(ids::KN_PIPE_4, o.owner_root_on_fifo == "accepted", || {
        format!("owner's F_SETFL O_NOATIME: {}", o.owner_root_on_fifo)
    })?;
    expect(ids::KN_PIPE_4, o.unprivileged_owner_on_own_pipe == "accepted", || {
        format!("uid 65534 on its own pipe: {}", o.unprivileged_owner_on_own_pipe)
    })?;
    expect(ids::KN_PIPE_4, o.non_owner_fcntl_on_root_fifo == "EPERM", || {
        format!(
            "uid 65534 F_SETFL O_NOATIME on a root-owned FIFO: expected EPERM, got {}",
            o.non_owner_fcntl_on_root_fifo
        )
    })?;
    expect(ids::KN_PIPE_4, o.non_owner_open_noatime_on_root_fifo == "EPERM", || {
        format!(
            "uid 65534 open(O_NOATIME) of a root-owned FIFO: expected EPERM, got {}",
            o.non_owner_open_noatime_on_root_fifo
        )
    })?;
    Ok(o)
}

/// One-byte write/read throughput through a pipe or FIFO (the seed
/// article's `pipe_test`: a writer thread writes 1 byte at a time, a reader
/// reads 1 byte at a time, both blocking).
#[derive(Clone, Debug, Serialize)]
pub struct Throughput {
    pub kind: PipeKind,
    pub reader_noatime: bool,
    pub bytes: usize,
    pub seconds: f64,
    pub mbytes_per_s: f64,
    pub ns_per_byte: f64,
}

impl std::fmt::Display for Throughput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:<9} reader O_NOATIME {:<5}  {:>9} x 1-byte write+read  {:>8.3} s  {:>7.3} MB/s  {:>7.0} ns/byte",
            format!("{:?}", self.kind),
            self.reader_noatime,
            self.bytes,
            self.seconds,
            self.mbytes_per_s,
            self.ns_per_byte
        )
    }
}

fn clear_nonblock(fd: BorrowedFd<'_>) {
    // SAFETY: fcntl on a valid fd.
    unsafe {
        let fl = libc::fcntl(fd.as_raw_fd(), libc::F_GETFL);
        libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, fl & !libc::O_NONBLOCK);
    }
}

/// Measures `n` one-byte writes and reads (used by `benches/fifo_noatime.rs`).
pub fn one_byte_throughput(kind: PipeKind, noatime: bool, n: usize) -> Probe<Throughput> {
    let dir;
    let (mut r, mut w) = match kind {
        PipeKind::Anonymous => pipe_pair()?,
        PipeKind::Fifo => {
            dir = fifo_dir()?;
            let path = dir.path().join("bench-fifo");
            mkfifo(&path, 0o600)?;
            open_fifo(&path)?
        }
    };
    clear_nonblock(r.as_fd());
    clear_nonblock(w.as_fd());
    if noatime {
        let (err, set) = set_noatime(r.as_fd());
        if err != 0 || !set {
            return Err(format!("O_NOATIME on the reader: {}", errno_name(err)));
        }
    }
    let t0 = Instant::now();
    std::thread::scope(|s| -> Probe<()> {
        let reader = s.spawn(move || -> Probe<()> {
            let mut b = [0u8; 1];
            for _ in 0..n {
                if ctx("read", r.read(&mut b))? != 1 {
                    return Err("short read".into());
                }
            }
            Ok(())
        });
        for _ in 0..n {
            ctx("write", w.write_all(b"A"))?;
        }
        reader.join().map_err(|_| "reader panicked".to_string())?
    })?;
    let secs = t0.elapsed().as_secs_f64();
    Ok(Throughput {
        kind,
        reader_noatime: noatime,
        bytes: n,
        seconds: secs,
        mbytes_per_s: n as f64 / secs / 1e6,
        ns_per_byte: secs * 1e9 / n as f64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throughput_runs() {
        for kind in [PipeKind::Anonymous, PipeKind::Fifo] {
            let t = one_byte_throughput(kind, true, 1000).unwrap();
            assert_eq!(t.bytes, 1000);
            assert!(t.seconds > 0.0);
        }
    }

    #[test]
    fn expectation_is_keyed_on_the_release() {
        let new = KernelRelease::parse("6.15.0").unwrap();
        let old = KernelRelease::parse("6.14.11").unwrap();
        let none = Changed { atime: false, mtime: false, ctime: false };
        let e = expected(PipeKind::Anonymous, false, &new, AtimePolicy::Updates);
        assert_eq!((e.after_write, e.after_read), (none, none));
        let e = expected(PipeKind::Anonymous, false, &old, AtimePolicy::Updates);
        assert!(e.after_write.mtime && e.after_read.atime);
        let e = expected(PipeKind::Anonymous, true, &old, AtimePolicy::Updates);
        assert!(e.after_write.mtime && !e.after_read.atime);
        for r in [&new, &old] {
            let e = expected(PipeKind::Fifo, false, r, AtimePolicy::Updates);
            assert!(e.after_write.mtime && e.after_read.atime);
            let e = expected(PipeKind::Fifo, true, r, AtimePolicy::Updates);
            assert!(e.after_write.mtime && !e.after_read.atime);
            let e = expected(PipeKind::Fifo, false, r, AtimePolicy::NoAtime);
            assert!(!e.after_read.atime);
        }
    }
}
