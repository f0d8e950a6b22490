//! Kernel probes: small experiments on the running kernel that check the
//! Linux behaviours the port runtimes rely on. Every probe names the rule
//! it checks (`KN-…`, catalogued in `reference::rules`), returns what it
//! observed, and releases every fd, child, netns and temp dir it made, also
//! when it fails (RAII guards).
//!
//! Conventions:
//! - a probe returns `Ok(observation)` or `Err(message)`; messages that
//!   report a broken expectation start with the rule ID (`KN-RST-1: …`);
//! - no `sleep` for synchronisation: readiness is awaited with `poll` and a
//!   bound, and the bound is only a failure bound;
//! - timestamps are set to the past explicitly before an action so a change
//!   is visible without waiting for the clock.

pub mod accept_exhaustion;
pub mod connect;
pub mod fd_exhaustion;
pub mod fd_limit;
pub mod file_atime;
pub mod fingerprint;
pub mod netns;
pub mod pipe_atime;
pub mod rps;
pub mod rps_default_mask;
pub mod rps_probe;
pub mod rst;
pub mod sockbuf;
pub mod softirqs;

/// The runtime's syscall helpers the probes use too: the probes check the
/// kernel behaviour the runtime's fixes rely on, with the runtime's own
/// tools.
pub use native::sys::{
    bytes_readable, errno_name, getsockopt_int, io_errno_name, poll_fd, poll_flags, poll_now, send_queue,
    setsockopt_int, so_error,
};
use reference::rules::RuleId;
use std::io;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::time::{Duration, Instant};

/// The rule IDs the probes check (`ids::KN_*`), from the one catalogue in
/// `reference/src/rules/` (no copy here to keep in sync).
pub use reference::rules::ids;

/// A probe's result: the observation, or a message (starting with the rule
/// ID when an expectation was broken).
pub type Probe<T> = Result<T, String>;

/// `"<rule>: <msg>"`, the form every broken expectation is reported in.
pub fn violation(rule: RuleId, msg: impl std::fmt::Display) -> String {
    format!("{rule}: {msg}")
}

/// Checks `cond`, else reports a violation of `rule`.
pub fn expect(rule: RuleId, cond: bool, msg: impl FnOnce() -> String) -> Probe<()> {
    if cond {
        Ok(())
    } else {
        Err(violation(rule, msg()))
    }
}

/// Wraps an I/O error with what was being done (setup failures, not
/// violations).
pub fn ctx<T>(what: &str, r: io::Result<T>) -> Probe<T> {
    r.map_err(|e| format!("{what}: {e}"))
}

/// The running kernel's release, parsed from `uname -r`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct KernelRelease {
    pub raw: String,
    pub major: u32,
    pub minor: u32,
    pub patch: u32,
}

impl KernelRelease {
    /// Parses `6.18.44-fc-v669`, `6.15`, `5.10.0-28-amd64`, `6.16-rc1`.
    pub fn parse(raw: &str) -> Option<KernelRelease> {
        let raw = raw.trim();
        let mut nums = raw.split(|c: char| !c.is_ascii_digit()).take(3).map(|s| s.parse::<u32>().ok());
        let major = nums.next()??;
        let minor = nums.next()??;
        // The patch level is present only when the third field follows a dot.
        let rest = &raw[raw.find('.')? + 1..];
        let rest = rest.trim_start_matches(|c: char| c.is_ascii_digit());
        let patch = match rest.strip_prefix('.') {
            Some(p) => p.split(|c: char| !c.is_ascii_digit()).next().and_then(|s| s.parse().ok()).unwrap_or(0),
            None => 0,
        };
        Some(KernelRelease { raw: raw.to_string(), major, minor, patch })
    }

    /// The running kernel (`uname(2)`).
    pub fn running() -> Probe<KernelRelease> {
        let u = nix::sys::utsname::uname().map_err(|e| format!("uname: {e}"))?;
        let raw = u.release().to_string_lossy().into_owned();
        KernelRelease::parse(&raw).ok_or_else(|| format!("cannot parse kernel release {raw:?}"))
    }

    /// Is this release at least `major.minor`?
    pub fn at_least(&self, major: u32, minor: u32) -> bool {
        (self.major, self.minor) >= (major, minor)
    }

    /// `major.minor`, the granularity behaviour is keyed on.
    pub fn major_minor(&self) -> String {
        format!("{}.{}", self.major, self.minor)
    }
}

/// One counter from a `/proc/net/netstat`-style file (pairs of lines: a
/// header `TcpExt: A B C` and values `TcpExt: 1 2 3`).
pub fn parse_netstat(text: &str, group: &str, name: &str) -> Option<u64> {
    let lines: Vec<&str> = text.lines().collect();
    for pair in lines.chunks(2) {
        let [head, vals] = pair else { continue };
        let (Some(h), Some(v)) = (head.strip_prefix(group), vals.strip_prefix(group)) else {
            continue;
        };
        let (Some(h), Some(v)) = (h.strip_prefix(':'), v.strip_prefix(':')) else {
            continue;
        };
        for (k, val) in h.split_whitespace().zip(v.split_whitespace()) {
            if k == name {
                return val.parse().ok();
            }
        }
    }
    None
}

/// A `TcpExt` counter of the calling *thread's* network namespace
/// (`/proc/thread-self/net/netstat`; `/proc/self/net` would be the thread
/// group leader's namespace).
pub fn tcp_ext_counter(name: &str) -> Probe<u64> {
    let text = ctx("read /proc/thread-self/net/netstat", std::fs::read_to_string("/proc/thread-self/net/netstat"))?;
    parse_netstat(&text, "TcpExt", name).ok_or_else(|| format!("TcpExt {name} not in /proc/thread-self/net/netstat"))
}

/// A Tcp MIB counter (`/proc/thread-self/net/snmp`, e.g. `OutRsts`) of the
/// calling thread's netns.
pub fn tcp_counter(name: &str) -> Probe<u64> {
    let text = ctx("read /proc/thread-self/net/snmp", std::fs::read_to_string("/proc/thread-self/net/snmp"))?;
    parse_netstat(&text, "Tcp", name).ok_or_else(|| format!("Tcp {name} not in /proc/thread-self/net/snmp"))
}

/// A unique, short tag for names made by this test run (netns names, veth
/// names): pid plus a per-process counter.
pub fn unique_tag() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static SEQ: AtomicU32 = AtomicU32::new(0);
    let n = SEQ.fetch_add(1, Ordering::Relaxed);
    format!("{}x{n}", std::process::id())
}

/// The number of CPUs the kernel can ever have (`nr_cpu_ids`): one more
/// than the highest CPU in `/sys/devices/system/cpu/possible`.
pub fn nr_cpu_ids() -> Probe<u32> {
    let s = ctx("read cpu/possible", std::fs::read_to_string("/sys/devices/system/cpu/possible"))?;
    let set = crate::kernel::rps::CpuSet::parse_list(s.trim()).map_err(|e| format!("cpu/possible {s:?}: {e}"))?;
    set.max().map(|m| m + 1).ok_or_else(|| "cpu/possible is empty".to_string())
}

/// Online CPUs.
pub fn online_cpus() -> Probe<crate::kernel::rps::CpuSet> {
    let s = ctx("read cpu/online", std::fs::read_to_string("/sys/devices/system/cpu/online"))?;
    crate::kernel::rps::CpuSet::parse_list(s.trim()).map_err(|e| format!("cpu/online {s:?}: {e}"))
}

/// Pins the calling thread to one CPU.
pub fn pin_thread_to_cpu(cpu: u32) -> Probe<()> {
    let mut set = nix::sched::CpuSet::new();
    set.set(cpu as usize).map_err(|e| format!("CpuSet::set({cpu}): {e}"))?;
    nix::sched::sched_setaffinity(nix::unistd::Pid::from_raw(0), &set)
        .map_err(|e| format!("sched_setaffinity(cpu {cpu}): {e}"))
}

/// Kills and reaps a forked child if it is still around.
pub struct ChildGuard(pub Option<libc::pid_t>);

impl ChildGuard {
    /// Waits for the child with a bound (polling a pidfd); returns its
    /// wait status.
    pub fn wait(&mut self, bound: Duration) -> Probe<i32> {
        let pid = self.0.ok_or("no child")?;
        // SAFETY: pidfd_open on our own child.
        let pfd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) } as i32;
        if pfd < 0 {
            return Err(format!("pidfd_open: {}", io::Error::last_os_error()));
        }
        // SAFETY: fresh fd.
        let pfd = unsafe { OwnedFd::from_raw_fd(pfd) };
        let rev = ctx("poll pidfd", poll_fd(pfd.as_fd(), libc::POLLIN, bound))?;
        if rev == 0 {
            return Err(format!("child {pid} did not exit within {bound:?}"));
        }
        let mut status = 0;
        // SAFETY: reaping our own child.
        if unsafe { libc::waitpid(pid, &mut status, 0) } < 0 {
            return Err(format!("waitpid: {}", io::Error::last_os_error()));
        }
        self.0 = None;
        Ok(status)
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if let Some(pid) = self.0.take() {
            // SAFETY: our own child, not yet reaped.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
                libc::waitpid(pid, std::ptr::null_mut(), 0);
            }
        }
    }
}

/// Runs `f` in a forked child and returns its result (sent back as JSON
/// through a pipe). The child should avoid locks another thread may hold
/// (no printing); it exits with `_exit` after `f`. Bounded by `bound`; the
/// child is killed and reaped on every path out of here.
pub fn in_child<T, F>(bound: Duration, f: F) -> Probe<T>
where
    T: serde::Serialize + serde::de::DeserializeOwned,
    F: FnOnce() -> Probe<T>,
{
    use std::io::Read;
    let mut fds = [0; 2];
    // SAFETY: valid out-array.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } < 0 {
        return Err(format!("pipe2: {}", io::Error::last_os_error()));
    }
    // SAFETY: fresh fds, owned from here on.
    let (rd, wr) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    // SAFETY: the child only runs `f` and exits; see the doc comment.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(format!("fork: {}", io::Error::last_os_error()));
    }
    if pid == 0 {
        drop(rd);
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
            .unwrap_or_else(|_| Err("child panicked".to_string()));
        let json = serde_json::to_vec(&r).unwrap_or_else(|e| format!("{{\"Err\":\"encode: {e}\"}}").into_bytes());
        let mut off = 0;
        while off < json.len() {
            // SAFETY: writing our buffer to our pipe.
            let n = unsafe { libc::write(wr.as_raw_fd(), json[off..].as_ptr().cast(), json.len() - off) };
            if n <= 0 {
                break;
            }
            off += n as usize;
        }
        // SAFETY: leave without running the parent's destructors.
        unsafe { libc::_exit(0) }
    }
    let mut child = ChildGuard(Some(pid));
    drop(wr);
    let deadline = Instant::now() + bound;
    let mut file = std::fs::File::from(rd);
    let mut buf = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let rev = ctx("poll child pipe", poll_fd(file.as_fd(), libc::POLLIN, left))?;
        if rev == 0 {
            return Err(format!("child {pid} gave no result within {bound:?}"));
        }
        let mut chunk = [0u8; 4096];
        let n = ctx("read child pipe", file.read(&mut chunk))?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let status = child.wait(bound)?;
    if !(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0) {
        return Err(format!("child exited with status {status:#x}"));
    }
    let r: Probe<T> =
        serde_json::from_slice(&buf).map_err(|e| format!("child result {:?}: {e}", String::from_utf8_lossy(&buf)))?;
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn release_parsing() {
        let r = KernelRelease::parse("6.18.44-fc-v669").unwrap();
        assert_eq!((r.major, r.minor, r.patch), (6, 18, 44));
        assert!(r.at_least(6, 15));
        assert!(!r.at_least(6, 19));
        assert_eq!(r.major_minor(), "6.18");
        let r = KernelRelease::parse("6.16-rc1").unwrap();
        assert_eq!((r.major, r.minor, r.patch), (6, 16, 0));
        let r = KernelRelease::parse("5.10.0-28-amd64").unwrap();
        assert_eq!((r.major, r.minor, r.patch), (5, 10, 0));
        assert!(!r.at_least(6, 15));
        let r = KernelRelease::parse("2.6.32-131.21.1.tb399.el6.x86_64").unwrap();
        assert_eq!((r.major, r.minor, r.patch), (2, 6, 32));
        assert!(KernelRelease::parse("linux").is_none());
    }

    #[test]
    fn netstat_parsing() {
        let text = "TcpExt: SyncookiesSent TCPAbortOnData TCPAbortOnClose\n\
                    TcpExt: 0 7 3\n\
                    IpExt: InNoRoutes\n\
                    IpExt: 9\n";
        assert_eq!(parse_netstat(text, "TcpExt", "TCPAbortOnClose"), Some(3));
        assert_eq!(parse_netstat(text, "TcpExt", "TCPAbortOnData"), Some(7));
        assert_eq!(parse_netstat(text, "IpExt", "InNoRoutes"), Some(9));
        assert_eq!(parse_netstat(text, "TcpExt", "Nope"), None);
    }
}
