//! Receive Packet Steering through sysfs: CPU lists (`0-3,8`) ↔ the
//! kernel's mask format, and applying a CPU set to every
//! `queues/rx-*/rps_cpus` of a device under a configurable sysfs root.
//!
//! - `cpuset`: [`CpuSet`], CPU lists and the kernel's mask format
//!   (`show_rps_map()`/`bitmap_parse()`).
//! - here: [`Sysfs::apply`], reading and writing every `rps_cpus` of a
//!   device.
//!
//! Seed: yufeng, "MYSQL数据库网卡软中断不平衡问题及解决方案" (2012), which
//! spread NET_RX with `echo f > /sys/class/net/em1/queues/rx-$i/rps_cpus`.
//!
//! Never point [`Sysfs`] at the host's `/sys` with [`Mode::Write`] in a
//! test: use a netns's own sysfs (`kernel::netns::Netns::run_with_sysfs`).

mod cpuset;

pub use cpuset::{CpuSet, ListError, MaskError};

use serde::{Deserialize, Serialize};
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// Dry run (read and report only) or write.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Mode {
    DryRun,
    Write,
}

/// Errors that stop an apply as a whole.
#[derive(Debug)]
pub enum RpsError {
    NoDevice(PathBuf),
    NoRxQueues(PathBuf),
    /// The wanted CPU set does not fit `nr_cpu_ids`.
    CpuOutOfRange {
        cpus: String,
        nr_cpu_ids: u32,
    },
    Io(PathBuf, io::Error),
    BadCpuList(PathBuf, ListError),
}

impl fmt::Display for RpsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RpsError::NoDevice(p) => write!(f, "no such device: {}", p.display()),
            RpsError::NoRxQueues(p) => {
                write!(f, "device has no queues/rx-*/rps_cpus: {}", p.display())
            }
            RpsError::CpuOutOfRange { cpus, nr_cpu_ids } => {
                write!(f, "CPUs {cpus} do not fit nr_cpu_ids = {nr_cpu_ids}")
            }
            RpsError::Io(p, e) => write!(f, "{}: {e}", p.display()),
            RpsError::BadCpuList(p, e) => write!(f, "{}: {e}", p.display()),
        }
    }
}

impl std::error::Error for RpsError {}

/// One rx queue's mask before and after.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueChange {
    /// `rx-0`, `rx-1`, …
    pub queue: String,
    /// The file's text before (trimmed).
    pub before: String,
    /// The CPUs it named, or why it could not be parsed.
    pub before_cpus: Result<String, String>,
    /// What was (or would be) written.
    pub wanted: String,
    /// The file's text after the write (None in a dry run or when the
    /// write failed).
    pub after: Option<String>,
    pub after_cpus: Option<Result<String, String>>,
    /// The write's errno name, if it failed.
    pub write_error: Option<String>,
    /// Whether the queue's CPU set changed (dry run: would change).
    pub changed: bool,
}

/// What an apply did to a device.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplyReport {
    pub device: String,
    pub mode: Mode,
    pub nr_cpu_ids: u32,
    pub wanted_list: String,
    pub wanted_mask: String,
    pub queues: Vec<QueueChange>,
}

impl ApplyReport {
    /// One line per queue: `rx-0: 0 -> 2 (changed)`.
    pub fn summary(&self) -> String {
        let mut s = format!(
            "{} {:?}: want CPUs {{{}}} = mask {} (nr_cpu_ids {})\n",
            self.device, self.mode, self.wanted_list, self.wanted_mask, self.nr_cpu_ids
        );
        for q in &self.queues {
            let after = match (&q.after, &q.write_error) {
                (_, Some(e)) => format!("write failed: {e}"),
                (Some(a), None) => a.clone(),
                (None, None) => format!("{} (dry run)", q.wanted),
            };
            s += &format!(
                "  {}: {} -> {}{}\n",
                q.queue,
                q.before,
                after,
                if q.changed { " (changed)" } else { " (unchanged)" }
            );
        }
        s
    }

    pub fn changed_queues(&self) -> usize {
        self.queues.iter().filter(|q| q.changed).count()
    }
}

/// A sysfs tree: the real `/sys`, a netns's own sysfs mount, or a fake
/// tree in a temp dir.
#[derive(Clone, Debug)]
pub struct Sysfs {
    root: PathBuf,
}

fn read_trim(p: &Path) -> Result<String, RpsError> {
    std::fs::read_to_string(p).map(|s| s.trim().to_string()).map_err(|e| RpsError::Io(p.to_path_buf(), e))
}

impl Sysfs {
    pub fn new(root: impl Into<PathBuf>) -> Sysfs {
        Sysfs { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `nr_cpu_ids`: one more than the highest CPU in
    /// `devices/system/cpu/possible`.
    pub fn nr_cpu_ids(&self) -> Result<u32, RpsError> {
        let p = self.root.join("devices/system/cpu/possible");
        let set = CpuSet::parse_list(&read_trim(&p)?).map_err(|e| RpsError::BadCpuList(p.clone(), e))?;
        Ok(set.max().map_or(0, |m| m + 1))
    }

    /// `devices/system/cpu/online`.
    pub fn online(&self) -> Result<CpuSet, RpsError> {
        let p = self.root.join("devices/system/cpu/online");
        CpuSet::parse_list(&read_trim(&p)?).map_err(|e| RpsError::BadCpuList(p, e))
    }

    /// The device's rx queues with an `rps_cpus` file, in numeric order.
    pub fn rx_queues(&self, dev: &str) -> Result<Vec<(String, PathBuf)>, RpsError> {
        let d = self.root.join("class/net").join(dev);
        if !d.exists() {
            return Err(RpsError::NoDevice(d));
        }
        let qdir = d.join("queues");
        let mut v: Vec<(u32, String, PathBuf)> = Vec::new();
        if let Ok(rd) = std::fs::read_dir(&qdir) {
            for e in rd {
                let e = e.map_err(|e| RpsError::Io(qdir.clone(), e))?;
                let name = e.file_name().to_string_lossy().into_owned();
                let Some(n) = name.strip_prefix("rx-").and_then(|n| n.parse::<u32>().ok()) else {
                    continue;
                };
                let f = e.path().join("rps_cpus");
                if f.exists() {
                    v.push((n, name, f));
                }
            }
        }
        if v.is_empty() {
            return Err(RpsError::NoRxQueues(qdir));
        }
        v.sort();
        Ok(v.into_iter().map(|(_, n, p)| (n, p)).collect())
    }

    /// Applies `cpus` to every rx queue of `dev`: reads each mask, writes
    /// the kernel-format mask (in [`Mode::Write`]), reads it back, and
    /// reports what changed. A queue whose write fails is reported with the
    /// errno; the others are still applied.
    pub fn apply(&self, dev: &str, cpus: &CpuSet, mode: Mode) -> Result<ApplyReport, RpsError> {
        let nbits = self.nr_cpu_ids()?;
        let wanted =
            cpus.to_mask(nbits).map_err(|_| RpsError::CpuOutOfRange { cpus: cpus.to_list(), nr_cpu_ids: nbits })?;
        self.apply_raw(dev, &wanted, Some(cpus), mode)
    }

    /// Writes `mask` text as given (possibly malformed, to see what the
    /// kernel does with it) to every rx queue of `dev`.
    pub fn apply_raw(&self, dev: &str, mask: &str, cpus: Option<&CpuSet>, mode: Mode) -> Result<ApplyReport, RpsError> {
        let nbits = self.nr_cpu_ids()?;
        let show = |t: &str| CpuSet::parse_mask(t, nbits).map(|c| c.to_list()).map_err(|e| e.to_string());
        let mut queues = Vec::new();
        for (queue, path) in self.rx_queues(dev)? {
            let before = read_trim(&path)?;
            let before_cpus = show(&before);
            let (after, after_cpus, write_error, changed) = match mode {
                Mode::DryRun => {
                    let would = show(mask);
                    let changed = would.is_err() || would != before_cpus;
                    (None, None, None, changed)
                }
                Mode::Write => match std::fs::write(&path, format!("{mask}\n")) {
                    Ok(()) => {
                        let a = read_trim(&path)?;
                        let ac = show(&a);
                        let changed = ac != before_cpus;
                        (Some(a), Some(ac), None, changed)
                    }
                    Err(e) => {
                        let name = match e.raw_os_error() {
                            Some(libc::EINVAL) => "EINVAL".to_string(),
                            Some(libc::EOVERFLOW) => "EOVERFLOW".to_string(),
                            Some(libc::EPERM) => "EPERM".to_string(),
                            Some(n) => format!("errno {n}"),
                            None => e.to_string(),
                        };
                        (None, None, Some(name), false)
                    }
                },
            };
            queues.push(QueueChange {
                queue,
                before,
                before_cpus,
                wanted: mask.to_string(),
                after,
                after_cpus,
                write_error,
                changed,
            });
        }
        Ok(ApplyReport {
            device: dev.to_string(),
            mode,
            nr_cpu_ids: nbits,
            wanted_list: cpus.map(|c| c.to_list()).unwrap_or_else(|| format!("raw {mask:?}")),
            wanted_mask: mask.to_string(),
            queues,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(s: &str) -> CpuSet {
        CpuSet::parse_list(s).unwrap()
    }

    /// A fake sysfs: `devices/system/cpu/{possible,online}` and one device
    /// with the given rx queues.
    fn fake(ncpu: u32, dev: &str, queues: &[(&str, &str)]) -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        let cpu = d.path().join("devices/system/cpu");
        std::fs::create_dir_all(&cpu).unwrap();
        let list = if ncpu == 1 { "0".to_string() } else { format!("0-{}", ncpu - 1) };
        std::fs::write(cpu.join("possible"), format!("{list}\n")).unwrap();
        std::fs::write(cpu.join("online"), format!("{list}\n")).unwrap();
        let q = d.path().join("class/net").join(dev).join("queues");
        std::fs::create_dir_all(&q).unwrap();
        for (name, mask) in queues {
            std::fs::create_dir_all(q.join(name)).unwrap();
            if !name.starts_with("tx-") {
                std::fs::write(q.join(name).join("rps_cpus"), format!("{mask}\n")).unwrap();
            }
        }
        d
    }

    /// A fake sysfs tree for 1, 2, 33, 64 and 256 CPUs (one mask digit,
    /// this machine kind, a one-digit group before a full one, two full
    /// groups, eight groups).
    #[rstest::rstest]
    fn apply_on_fake_trees(#[values(1, 2, 33, 64, 256)] ncpu: u32) {
        let zero = CpuSet::new().to_mask(ncpu).unwrap();
        let t = fake(ncpu, "eth0", &[("rx-0", &zero), ("rx-1", &zero), ("rx-10", &zero), ("tx-0", "")]);
        let s = Sysfs::new(t.path());
        assert_eq!(s.nr_cpu_ids().unwrap(), ncpu);
        let want: CpuSet = [0, ncpu - 1].into_iter().collect();
        let dry = s.apply("eth0", &want, Mode::DryRun).unwrap();
        assert_eq!(dry.queues.len(), 3);
        assert_eq!(dry.queues.iter().map(|q| q.queue.as_str()).collect::<Vec<_>>(), ["rx-0", "rx-1", "rx-10"]);
        assert!(dry.queues.iter().all(|q| q.changed && q.after.is_none()));
        // Dry run wrote nothing.
        let rx0 = t.path().join("class/net/eth0/queues/rx-0/rps_cpus");
        assert_eq!(std::fs::read_to_string(&rx0).unwrap().trim(), zero);
        let w = s.apply("eth0", &want, Mode::Write).unwrap();
        assert_eq!(w.changed_queues(), 3, "{}", w.summary());
        for q in &w.queues {
            assert_eq!(q.after.as_deref(), Some(want.to_mask(ncpu).unwrap().as_str()));
            assert_eq!(q.after_cpus, Some(Ok(want.to_list())));
        }
        // Applying again changes nothing.
        let again = s.apply("eth0", &want, Mode::Write).unwrap();
        assert_eq!(again.changed_queues(), 0);
        // A CPU beyond nr_cpu_ids is refused before touching anything.
        let too_big: CpuSet = [ncpu].into_iter().collect();
        assert!(matches!(s.apply("eth0", &too_big, Mode::Write), Err(RpsError::CpuOutOfRange { .. })));
    }

    #[test]
    fn malformed_and_missing() {
        let t = fake(2, "eth0", &[("rx-0", "zz"), ("rx-1", "4")]);
        let s = Sysfs::new(t.path());
        let r = s.apply("eth0", &set("1"), Mode::DryRun).unwrap();
        assert_eq!(r.queues[0].before_cpus, Err("EINVAL".into()));
        assert_eq!(r.queues[1].before_cpus, Err("EOVERFLOW".into()));
        assert!(r.summary().contains("rx-0: zz -> 2 (dry run) (changed)"), "{}", r.summary());
        // Missing device, device without queues.
        assert!(matches!(s.apply("nope", &set("1"), Mode::DryRun), Err(RpsError::NoDevice(_))));
        let t2 = fake(2, "eth1", &[("tx-0", "")]);
        let s2 = Sysfs::new(t2.path());
        assert!(matches!(s2.apply("eth1", &set("1"), Mode::DryRun), Err(RpsError::NoRxQueues(_))));
        std::fs::remove_dir_all(t2.path().join("class/net/eth1/queues")).unwrap();
        assert!(matches!(s2.apply("eth1", &set("1"), Mode::DryRun), Err(RpsError::NoRxQueues(_))));
        // No cpu/possible: an I/O error naming the file.
        std::fs::remove_file(t.path().join("devices/system/cpu/possible")).unwrap();
        let e = s.apply("eth0", &set("1"), Mode::DryRun).unwrap_err();
        assert!(e.to_string().contains("possible"), "{e}");
    }
}
