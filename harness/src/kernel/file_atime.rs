//! KN-ATIME-*: a regular file's st_atime under O_NOATIME and under the
//! mount's atime policy (KN-PIPE-2..4 are the FIFO side of the same rules).
//!
//! `file_accessed()` (include/linux/fs.h) skips `touch_atime()` for an fd
//! opened with O_NOATIME; `atime_needs_update()` (fs/inode.c) never updates
//! under MNT_NOATIME, always under strictatime, and under relatime only an
//! atime not newer than mtime/ctime or a day old. `may_open()` (fs/namei.c)
//! refuses O_NOATIME to a non-owner without CAP_FOWNER. Peers: LTP open12,
//! openat02, open02, mount03.
//!
//! Everything runs in a forked child ([`super::in_child`]) that first makes
//! itself a private mount namespace (`unshare(CLONE_NEWNS)`, `/` made
//! rprivate), so the tmpfs mounts it makes on the parent's temp dir are seen
//! by nobody else and never propagate to the host; they go with the child
//! (and are unmounted by a guard before that). The privilege drop for
//! KN-ATIME-3 comes last, in the same child.
//!
//! No waiting for the clock: atime is set explicitly (to 2000-01-01, or an
//! hour ahead for the relatime case) before each read.

use super::{ctx, errno_name, expect, ids, in_child, Probe};
use nix::mount::{mount, umount2, MntFlags, MsFlags};
use serde::{Deserialize, Serialize};
use std::ffi::CString;
use std::io::{self, Read};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// 2000-01-01T00:00:00Z.
const PAST: libc::timespec = libc::timespec { tv_sec: 946_684_800, tv_nsec: 0 };

/// A tmpfs mounted in the child's private mount namespace; unmounted on
/// drop.
struct Tmpfs {
    dir: PathBuf,
}

impl Tmpfs {
    fn mount(dir: &Path, flags: MsFlags) -> Probe<Tmpfs> {
        mount(
            Some("tmpfs"),
            dir,
            Some("tmpfs"),
            flags | MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
            Some("mode=0755,size=1m"),
        )
        .map_err(|e| format!("mount tmpfs ({flags:?}) on {}: {e}", dir.display()))?;
        Ok(Tmpfs { dir: dir.to_path_buf() })
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = umount2(&self.dir, MntFlags::MNT_DETACH);
    }
}

fn cpath(p: &Path) -> Probe<CString> {
    CString::new(p.as_os_str().as_bytes()).map_err(|e| e.to_string())
}

fn atime_of(p: &Path) -> Probe<(i64, i64)> {
    let c = cpath(p)?;
    // SAFETY: zeroed stat is valid; the pointers are valid.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    if unsafe { libc::stat(c.as_ptr(), &mut st) } < 0 {
        return Err(format!("stat {}: {}", p.display(), io::Error::last_os_error()));
    }
    Ok((st.st_atime, st.st_atime_nsec))
}

/// Sets atime to `atime` and mtime to [`PAST`] (ctime becomes now).
fn set_times(p: &Path, atime: libc::timespec) -> Probe<()> {
    let c = cpath(p)?;
    let ts = [atime, PAST];
    // SAFETY: a valid path and two timespecs.
    if unsafe { libc::utimensat(libc::AT_FDCWD, c.as_ptr(), ts.as_ptr(), 0) } < 0 {
        return Err(format!("utimensat {}: {}", p.display(), io::Error::last_os_error()));
    }
    Ok(())
}

/// An hour from now: newer than mtime (2000) and ctime (now), and not a
/// day old, so relatime would leave it.
fn an_hour_ahead() -> libc::timespec {
    let mut now = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: valid out-pointer.
    unsafe { libc::clock_gettime(libc::CLOCK_REALTIME, &mut now) };
    libc::timespec { tv_sec: now.tv_sec + 3600, tv_nsec: 0 }
}

fn own(fd: i32, what: &str) -> Result<OwnedFd, String> {
    if fd < 0 {
        return Err(format!("{what}: {}", io::Error::last_os_error()));
    }
    // SAFETY: a fresh fd.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// How a file is opened for the read.
#[derive(Clone, Copy)]
enum Opener {
    Open,
    /// openat(dirfd of the file's directory, its name).
    OpenAt,
}

/// Sets the file's atime to `atime`, opens it (O_RDONLY plus `extra`),
/// reads it, and says whether atime changed.
fn read_changes_atime(file: &Path, atime: libc::timespec, how: Opener, extra: i32) -> Probe<bool> {
    set_times(file, atime)?;
    let before = atime_of(file)?;
    let flags = libc::O_RDONLY | libc::O_CLOEXEC | extra;
    let fd = match how {
        Opener::Open => {
            let c = cpath(file)?;
            // SAFETY: a valid path.
            own(unsafe { libc::open(c.as_ptr(), flags) }, "open")?
        }
        Opener::OpenAt => {
            let dir = cpath(file.parent().ok_or("no parent")?)?;
            let name = CString::new(file.file_name().ok_or("no name")?.as_bytes()).map_err(|e| e.to_string())?;
            // SAFETY: valid paths; the dir fd is owned.
            let d = own(
                unsafe { libc::open(dir.as_ptr(), libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC) },
                "open dir",
            )?;
            // SAFETY: a valid dirfd and name.
            own(unsafe { libc::openat(d.as_raw_fd(), name.as_ptr(), flags) }, "openat")?
        }
    };
    let mut f = std::fs::File::from(fd);
    let mut buf = [0u8; 64];
    let n = ctx("read", f.read(&mut buf))?;
    if n == 0 {
        return Err("read returned 0 bytes from a non-empty file".into());
    }
    drop(f);
    Ok(atime_of(file)? != before)
}

/// What the child saw.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileAtimeObservation {
    /// On a strictatime tmpfs, atime set to 2000: does a read change it?
    pub strict_open_noatime: bool,
    pub strict_open_plain: bool,
    pub strict_openat_noatime: bool,
    pub strict_openat_plain: bool,
    /// Mount policies (a plain open): atime 2000 (older than mtime) on a
    /// MS_NOATIME mount; atime an hour ahead (newer than mtime and ctime)
    /// on MS_STRICTATIME and, as the control, MS_RELATIME mounts.
    pub noatime_mount_old_atime: bool,
    pub strict_mount_recent_atime: bool,
    pub relatime_mount_recent_atime: bool,
    /// uid/gid 65534 opening a root-owned 0644 file: with O_NOATIME, and
    /// without (`ok` or the errno name).
    pub non_owner_open_noatime: String,
    pub non_owner_open_plain: String,
}

fn write_file(p: &Path) -> Probe<()> {
    std::fs::write(p, b"portcheck atime probe\n").map_err(|e| format!("write {}: {e}", p.display()))?;
    std::fs::set_permissions(p, std::os::unix::fs::PermissionsExt::from_mode(0o644))
        .map_err(|e| format!("chmod {}: {e}", p.display()))
}

fn errno() -> i32 {
    io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

/// Drops to uid/gid 65534 (raw syscalls: this thread only, the child has no
/// other) and opens `file` with and without O_NOATIME.
fn non_owner_opens(file: &Path) -> Probe<(String, String)> {
    let c = cpath(file)?;
    // SAFETY: plain syscalls; the child exits after this.
    unsafe {
        if libc::syscall(libc::SYS_setgroups, 0, std::ptr::null::<libc::gid_t>()) != 0
            || libc::syscall(libc::SYS_setresgid, 65534, 65534, 65534) != 0
            || libc::syscall(libc::SYS_setresuid, 65534, 65534, 65534) != 0
        {
            return Err(format!("dropping to uid 65534: {}", io::Error::last_os_error()));
        }
        let res = |fd: i32| {
            if fd < 0 {
                errno_name(errno())
            } else {
                libc::close(fd);
                "ok".to_string()
            }
        };
        let noatime = res(libc::open(c.as_ptr(), libc::O_RDONLY | libc::O_NOATIME | libc::O_CLOEXEC));
        let plain = res(libc::open(c.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC));
        Ok((noatime, plain))
    }
}

fn child_body(base: &Path) -> Probe<FileAtimeObservation> {
    use nix::sched::{unshare, CloneFlags};
    unshare(CloneFlags::CLONE_NEWNS).map_err(|e| format!("unshare(CLONE_NEWNS): {e}"))?;
    // Nothing mounted here propagates anywhere, nothing from outside arrives.
    mount::<str, str, str, str>(None, "/", None, MsFlags::MS_REC | MsFlags::MS_PRIVATE, None)
        .map_err(|e| format!("mount --make-rprivate /: {e}"))?;
    let (strict_dir, noatime_dir, relatime_dir) = (base.join("strict"), base.join("noatime"), base.join("relatime"));
    for d in [&strict_dir, &noatime_dir, &relatime_dir] {
        std::fs::create_dir(d).map_err(|e| format!("mkdir {}: {e}", d.display()))?;
    }
    let strict = Tmpfs::mount(&strict_dir, MsFlags::MS_STRICTATIME)?;
    let noatime = Tmpfs::mount(&noatime_dir, MsFlags::MS_NOATIME)?;
    let relatime = Tmpfs::mount(&relatime_dir, MsFlags::MS_RELATIME)?;
    let (sf, nf, rf) = (strict.dir.join("file"), noatime.dir.join("file"), relatime.dir.join("file"));
    for f in [&sf, &nf, &rf] {
        write_file(f)?;
    }
    let strict_open_noatime = read_changes_atime(&sf, PAST, Opener::Open, libc::O_NOATIME)?;
    let strict_open_plain = read_changes_atime(&sf, PAST, Opener::Open, 0)?;
    let strict_openat_noatime = read_changes_atime(&sf, PAST, Opener::OpenAt, libc::O_NOATIME)?;
    let strict_openat_plain = read_changes_atime(&sf, PAST, Opener::OpenAt, 0)?;
    let noatime_mount_old_atime = read_changes_atime(&nf, PAST, Opener::Open, 0)?;
    let strict_mount_recent_atime = read_changes_atime(&sf, an_hour_ahead(), Opener::Open, 0)?;
    let relatime_mount_recent_atime = read_changes_atime(&rf, an_hour_ahead(), Opener::Open, 0)?;
    drop(noatime);
    drop(relatime);
    let (non_owner_open_noatime, non_owner_open_plain) = non_owner_opens(&sf)?;
    // Unprivileged now: the mount cannot be undone by us; it goes with this
    // child's mount namespace when the child exits.
    std::mem::forget(strict);
    Ok(FileAtimeObservation {
        strict_open_noatime,
        strict_open_plain,
        strict_openat_noatime,
        strict_openat_plain,
        noatime_mount_old_atime,
        strict_mount_recent_atime,
        relatime_mount_recent_atime,
        non_owner_open_noatime,
        non_owner_open_plain,
    })
}

/// Runs the reads in a forked child with its own mount namespace, on tmpfs
/// mounts over a temp dir of the parent's (removed after the child is gone).
pub fn observe() -> Probe<FileAtimeObservation> {
    let base = tempfile::Builder::new().prefix("portcheck-atime-").tempdir().map_err(|e| format!("tempdir: {e}"))?;
    // World-searchable, so the unprivileged part can reach the file.
    std::fs::set_permissions(base.path(), std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .map_err(|e| format!("chmod tempdir: {e}"))?;
    let path = base.path().to_path_buf();
    let r = in_child(Duration::from_secs(20), move || child_body(&path));
    // The child (and its mount namespace) is gone: only empty dirs remain.
    drop(base);
    r
}

/// KN-ATIME-1: open(O_NOATIME) read leaves atime; the plain open's read
/// updates it (strictatime).
pub fn check_open(o: &FileAtimeObservation) -> Probe<()> {
    expect(ids::KN_ATIME_1, !o.strict_open_noatime && o.strict_open_plain, || {
        format!(
            "strictatime tmpfs, open(): read with O_NOATIME changed atime: {}, without: {} (expected false, true)",
            o.strict_open_noatime, o.strict_open_plain
        )
    })
}

/// KN-ATIME-2: the same through openat(dirfd, name).
pub fn check_openat(o: &FileAtimeObservation) -> Probe<()> {
    expect(ids::KN_ATIME_2, !o.strict_openat_noatime && o.strict_openat_plain, || {
        format!(
            "strictatime tmpfs, openat(): read with O_NOATIME changed atime: {}, without: {} (expected false, true)",
            o.strict_openat_noatime, o.strict_openat_plain
        )
    })
}

/// KN-ATIME-3: a non-owner's open(O_NOATIME) is EPERM, its plain open is not.
pub fn check_non_owner(o: &FileAtimeObservation) -> Probe<()> {
    expect(ids::KN_ATIME_3, o.non_owner_open_noatime == "EPERM" && o.non_owner_open_plain == "ok", || {
        format!(
            "uid 65534 on a root-owned 0644 file: open(O_RDONLY|O_NOATIME) -> {} (expected EPERM), open(O_RDONLY) -> {} (expected ok)",
            o.non_owner_open_noatime, o.non_owner_open_plain
        )
    })
}

/// KN-ATIME-4: MS_NOATIME never, MS_STRICTATIME always; the relatime
/// control shows the strictatime case is one relatime would skip.
pub fn check_mount(o: &FileAtimeObservation) -> Probe<()> {
    expect(ids::KN_ATIME_4, !o.noatime_mount_old_atime, || {
        "MS_NOATIME mount: a read updated an atime older than mtime".to_string()
    })?;
    expect(ids::KN_ATIME_4, o.strict_mount_recent_atime && o.strict_open_plain, || {
        format!(
            "MS_STRICTATIME mount: a read updated an old atime: {}, an atime newer than mtime and ctime: {} (expected both)",
            o.strict_open_plain, o.strict_mount_recent_atime
        )
    })?;
    expect(ids::KN_ATIME_4, !o.relatime_mount_recent_atime, || {
        "control failed: on the MS_RELATIME mount a read updated an atime newer than mtime and ctime and under a day old, so the strictatime case does not tell the policies apart".to_string()
    })
}

fn probe(check: fn(&FileAtimeObservation) -> Probe<()>) -> Probe<FileAtimeObservation> {
    let o = observe()?;
    check(&o)?;
    Ok(o)
}

/// KN-ATIME-1's probe.
pub fn probe_open() -> Probe<FileAtimeObservation> {
    probe(check_open)
}

/// KN-ATIME-2's probe.
pub fn probe_openat() -> Probe<FileAtimeObservation> {
    probe(check_openat)
}

/// KN-ATIME-3's probe.
pub fn probe_non_owner() -> Probe<FileAtimeObservation> {
    probe(check_non_owner)
}

/// KN-ATIME-4's probe.
pub fn probe_mount() -> Probe<FileAtimeObservation> {
    probe(check_mount)
}
