//! RAII network namespaces for probes that must not touch the host's
//! network: created with `ip netns add` under a name unique to this test
//! run, entered per *thread* with `setns(2)`, deleted (`ip netns del`) in
//! `Drop`, also when the probe fails or panics.
//!
//! Danger (kernel-facts.md): `unshare -n` alone keeps the host's /sys, so
//! `/sys/class/net/lo` would be the *host's* lo. [`Netns::run_with_sysfs`]
//! does what `ip netns exec` does: a private mount namespace with a fresh
//! sysfs mounted from inside the netns; the probe gets that mount's path and
//! never writes the host's `/sys/class/net`.

use super::Probe;
use std::fs::File;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Whether this process can make a [`Netns`]: `ip netns add` needs root
/// (CAP_SYS_ADMIN for unshare/mount) and iproute2's `ip` on PATH. `Err`
/// says what is missing, for a `SKIP <id>: <reason>` line.
pub fn capability() -> Result<(), String> {
    if !nix::unistd::geteuid().is_root() {
        return Err("needs root (effective uid 0)".into());
    }
    let on_path = std::env::var_os("PATH").is_some_and(|p| std::env::split_paths(&p).any(|d| d.join("ip").is_file()));
    if !on_path {
        return Err("needs `ip` (iproute2) on PATH".into());
    }
    Ok(())
}

/// A named network namespace that exists as long as this value.
pub struct Netns {
    name: String,
    file: Option<File>,
}

impl Netns {
    /// `ip netns add portcheck-<pid>x<seq>-<tag>`, with `lo` up.
    pub fn new(tag: &str) -> Probe<Netns> {
        remove_orphans();
        let name = format!("portcheck-{}-{tag}", super::unique_tag());
        ip(&["netns", "add", &name])?;
        // From here on the guard owns the namespace: an early return deletes it.
        crate::interrupt::remember(crate::interrupt::Leftover::Netns(name.clone()));
        let mut ns = Netns { name, file: None };
        let path = format!("/run/netns/{}", ns.name);
        ns.file = Some(File::open(&path).map_err(|e| format!("open {path}: {e}"))?);
        ns.ip(&["link", "set", "lo", "up"])?;
        Ok(ns)
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// `ip -n <name> <args…>`.
    pub fn ip(&self, args: &[&str]) -> Probe<String> {
        let mut v = vec!["-n", self.name.as_str()];
        v.extend_from_slice(args);
        ip(&v)
    }

    /// Writes a per-netns sysctl under `/proc/sys/` from inside the netns
    /// (e.g. `net/ipv4/tcp_syn_linear_timeouts`). Returns false when the
    /// file does not exist on this kernel.
    pub fn sysctl(&self, key: &str, value: &str) -> Probe<bool> {
        let key = key.to_string();
        let value = value.to_string();
        self.run(move || {
            let p = PathBuf::from("/proc/sys").join(&key);
            if !p.exists() {
                return Ok(false);
            }
            std::fs::write(&p, &value).map_err(|e| format!("write {}: {e}", p.display()))?;
            Ok(true)
        })?
    }

    /// Runs `f` on a fresh thread whose network namespace is this one; the
    /// sockets it creates live in this netns. The calling thread is not
    /// affected. A panic in `f` is re-raised here.
    pub fn run<T: Send, F: FnOnce() -> T + Send>(&self, f: F) -> Probe<T> {
        let fd = self.file.as_ref().expect("netns file").as_fd();
        std::thread::scope(|s| {
            let h = s.spawn(move || -> Probe<T> {
                nix::sched::setns(fd, nix::sched::CloneFlags::CLONE_NEWNET)
                    .map_err(|e| format!("setns(CLONE_NEWNET): {e}"))?;
                Ok(f())
            });
            match h.join() {
                Ok(r) => r,
                Err(p) => std::panic::resume_unwind(p),
            }
        })
    }

    /// Like [`Netns::run`], but the thread also gets a private mount
    /// namespace with a sysfs mounted from inside this netns (what `ip netns
    /// exec` does); `f` receives that sysfs's root. The mount disappears
    /// with the thread's mount namespace; the host's /sys is untouched.
    pub fn run_with_sysfs<T: Send, F: FnOnce(&Path) -> T + Send>(&self, f: F) -> Probe<T> {
        let dir = tempfile::Builder::new().prefix("portcheck-sysfs-").tempdir().map_err(|e| format!("tempdir: {e}"))?;
        let mnt = dir.path().to_path_buf();
        let r = self.run(move || -> Probe<T> {
            use nix::mount::{mount, MsFlags};
            use nix::sched::{unshare, CloneFlags};
            // A per-thread fs_struct first (threads share CLONE_FS), then the
            // private mount namespace.
            unshare(CloneFlags::CLONE_FS).map_err(|e| format!("unshare(CLONE_FS): {e}"))?;
            unshare(CloneFlags::CLONE_NEWNS).map_err(|e| format!("unshare(CLONE_NEWNS): {e}"))?;
            // Keep our mounts from propagating back to the host.
            mount::<str, str, str, str>(None, "/", None, MsFlags::MS_REC | MsFlags::MS_SLAVE, None)
                .map_err(|e| format!("mount --make-rslave /: {e}"))?;
            mount::<str, Path, str, str>(Some("sysfs"), mnt.as_path(), Some("sysfs"), MsFlags::empty(), None)
                .map_err(|e| format!("mount sysfs on {}: {e}", mnt.display()))?;
            Ok(f(&mnt))
        })?;
        // The thread has exited, its mount namespace (and the sysfs mount in
        // it) is gone; `dir` is removed here.
        drop(dir);
        r
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        // Close our reference first so the namespace can actually go away.
        self.file.take();
        if let Err(e) = ip(&["netns", "del", &self.name]) {
            eprintln!("warning: could not delete netns {}: {e}", self.name);
        }
        crate::interrupt::forget(&crate::interrupt::Leftover::Netns(self.name.clone()));
    }
}

/// Deletes the namespaces an earlier test process of ours created and could
/// not delete: one killed in flight (nextest's fail-fast, a timeout, a
/// SIGKILL) never runs `Drop`. A namespace is ours by its name,
/// `portcheck-<pid>x<n>-<tag>` (`unique_tag`), and orphaned when no process
/// `<pid>` is alive; anyone else's is never touched.
fn remove_orphans() {
    let Ok(entries) = std::fs::read_dir("/run/netns") else { return };
    for name in entries.flatten().filter_map(|e| e.file_name().into_string().ok()) {
        let Some(pid) = orphan_pid(&name) else { continue };
        if !Path::new(&format!("/proc/{pid}")).exists() {
            if let Err(e) = ip(&["netns", "del", &name]) {
                eprintln!("warning: could not delete the orphaned netns {name}: {e}");
            }
        }
    }
}

/// The pid in `portcheck-<pid>x<n>-<tag>`, if `name` has that form.
fn orphan_pid(name: &str) -> Option<u32> {
    let rest = name.strip_prefix("portcheck-")?;
    let (pid, after) = rest.split_once('x')?;
    let (seq, _tag) = after.split_once('-')?;
    seq.parse::<u32>().ok()?;
    pid.parse().ok()
}

/// Runs `ip <args…>`, returning stdout or an error naming the command.
pub fn ip(args: &[&str]) -> Probe<String> {
    let out = Command::new("ip").args(args).output().map_err(|e| format!("ip {}: {e}", args.join(" ")))?;
    if !out.status.success() {
        return Err(format!(
            "ip {} failed ({}): {}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// A veth pair whose ends live in two probe namespaces (`a` in `ns_a`, `b`
/// in `ns_b`), addressed `addr_a`/`addr_b` in one /24, both up. Deleting
/// either namespace destroys the pair; `Drop` deletes it explicitly too.
pub struct VethPair<'a> {
    pub ns_a: &'a Netns,
    pub ns_b: &'a Netns,
    pub a: String,
    pub b: String,
    pub addr_a: String,
    pub addr_b: String,
}

impl<'a> VethPair<'a> {
    pub fn new(ns_a: &'a Netns, ns_b: &'a Netns, addr_a: &str, addr_b: &str) -> Probe<VethPair<'a>> {
        let (a, b) = ("pcva".to_string(), "pcvb".to_string());
        ns_a.ip(&["link", "add", &a, "type", "veth", "peer", "name", &b, "netns", ns_b.name()])?;
        let pair = VethPair { ns_a, ns_b, a, b, addr_a: addr_a.to_string(), addr_b: addr_b.to_string() };
        ns_a.ip(&["addr", "add", &format!("{addr_a}/24"), "dev", &pair.a])?;
        ns_b.ip(&["addr", "add", &format!("{addr_b}/24"), "dev", &pair.b])?;
        ns_a.ip(&["link", "set", &pair.a, "up"])?;
        ns_b.ip(&["link", "set", &pair.b, "up"])?;
        Ok(pair)
    }
}

impl Drop for VethPair<'_> {
    fn drop(&mut self) {
        // Best effort: the namespace's deletion removes it anyway.
        let _ = self.ns_a.ip(&["link", "del", &self.a]);
    }
}

#[cfg(test)]
mod tests {
    use super::orphan_pid;

    /// Only names made by `Netns::new` (`portcheck-<pid>x<n>-<tag>`) are
    /// taken for ours: anything else is never deleted.
    #[test]
    fn orphan_pid_reads_only_our_names() {
        assert_eq!(orphan_pid("portcheck-4066x0-nclose"), Some(4066));
        assert_eq!(orphan_pid("portcheck-12x7-rps-veth"), Some(12));
        assert_eq!(orphan_pid("portcheck-12-nclose"), None);
        assert_eq!(orphan_pid("portcheck-12xa-nclose"), None);
        assert_eq!(orphan_pid("portcheck-12x3"), None);
        assert_eq!(orphan_pid("other-4066x0-nclose"), None);
        assert_eq!(orphan_pid("cni-4066x0-x"), None);
    }
}
