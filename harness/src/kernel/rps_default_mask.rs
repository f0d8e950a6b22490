//! KN-RPS-4: `net.core.rps_default_mask`, the rps_cpus a device's rx
//! queues get when they are created (`rx_queue_default_mask()`,
//! net/core/net-sysfs.c), kept per network namespace
//! (`net->core.rps_default_mask`). Peer: selftests
//! net/rps_default_mask.sh.
//!
//! Only namespaces this probe creates are touched: the sysctl is written
//! from a thread inside netns A (`/proc/sys/net` is the reading thread's
//! netns), the devices are veth pairs made in A and B, and rps_cpus is read
//! through a sysfs mounted privately from inside each netns
//! ([`Netns::run_with_sysfs`]). The host's sysctl is read before and after,
//! never written. A kernel without the sysctl is a SKIP, not a failure.

use super::netns::Netns;
use super::rps::CpuSet;
use super::{expect, ids, nr_cpu_ids, Probe};
use serde::Serialize;
use std::path::Path;

const SYSCTL: &str = "/proc/sys/net/core/rps_default_mask";

/// What the two namespaces showed (CPU lists, `""` for none).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RpsDefaultMask {
    /// A: the sysctl when the netns is new, and after writing CPU 0's mask.
    pub a_default_new: String,
    pub a_default_after_write: String,
    /// A: lo (there before the write) and a veth made after it.
    pub a_lo_after_write: String,
    pub a_veth_made_after_write: String,
    /// B (never written): the sysctl and a veth made after A's write.
    pub b_default: String,
    pub b_veth: String,
    /// The host's sysctl, read (never written) before and after.
    pub host_unchanged: bool,
}

fn read_trim(p: &Path) -> Probe<String> {
    std::fs::read_to_string(p).map(|s| s.trim().to_string()).map_err(|e| format!("read {}: {e}", p.display()))
}

fn cpus(mask: &str, n: u32) -> Probe<String> {
    CpuSet::parse_mask(mask, n).map(|c| c.to_list()).map_err(|e| format!("unparsable mask {mask:?}: {e}"))
}

fn rps_cpus(sys: &Path, dev: &str, n: u32) -> Probe<String> {
    cpus(&read_trim(&sys.join(format!("class/net/{dev}/queues/rx-0/rps_cpus")))?, n)
}

/// The devices the mounted sysfs shows: a safety net that it is the
/// probe's own netns (only `expected`), never the host's.
fn only_devices(sys: &Path, expected: &[&str]) -> Probe<()> {
    let mut devs: Vec<String> = std::fs::read_dir(sys.join("class/net"))
        .map_err(|e| format!("class/net: {e}"))?
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect();
    devs.sort();
    if devs != expected {
        return Err(format!("refusing to go on: the mounted sysfs shows devices {devs:?}, not just the probe's netns"));
    }
    Ok(())
}

/// Why KN-RPS-4 cannot run here, if it cannot: the sysctl is missing.
pub fn skip_reason() -> Option<String> {
    (!Path::new(SYSCTL).exists()).then(|| format!("{SYSCTL} does not exist on this kernel"))
}

/// Runs the probe; call only when [`skip_reason`] is None.
pub fn observe() -> Probe<RpsDefaultMask> {
    let n = nr_cpu_ids()?;
    let host_before = read_trim(Path::new(SYSCTL))?;
    let ns_a = Netns::new("rpsdA")?;
    let ns_b = Netns::new("rpsdB")?;
    let one = CpuSet::from_iter([0]).to_mask(n).map_err(|e| format!("mask for CPU 0: {e:?}"))?;
    let a = ns_a.run_with_sysfs(|sys| -> Probe<(String, String, String, String)> {
        only_devices(sys, &["lo"])?;
        let sysctl = Path::new(SYSCTL);
        let new = cpus(&read_trim(sysctl)?, n)?;
        std::fs::write(sysctl, &one).map_err(|e| format!("write {SYSCTL} in the probe's netns: {e}"))?;
        let after = cpus(&read_trim(sysctl)?, n)?;
        ns_a.ip(&["link", "add", "pcda", "type", "veth", "peer", "name", "pcdb"])?;
        let lo = rps_cpus(sys, "lo", n)?;
        let veth = rps_cpus(sys, "pcda", n)?;
        Ok((new, after, lo, veth))
    })??;
    let b = ns_b.run_with_sysfs(|sys| -> Probe<(String, String)> {
        only_devices(sys, &["lo"])?;
        let d = cpus(&read_trim(Path::new(SYSCTL))?, n)?;
        ns_b.ip(&["link", "add", "pcdc", "type", "veth", "peer", "name", "pcdd"])?;
        Ok((d, rps_cpus(sys, "pcdc", n)?))
    })??;
    // The veths go with their namespaces.
    drop(ns_a);
    drop(ns_b);
    let host_after = read_trim(Path::new(SYSCTL))?;
    Ok(RpsDefaultMask {
        a_default_new: a.0,
        a_default_after_write: a.1,
        a_lo_after_write: a.2,
        a_veth_made_after_write: a.3,
        b_default: b.0,
        b_veth: b.1,
        host_unchanged: host_before == host_after,
    })
}

/// KN-RPS-4: 0 in a new netns; new devices take the written default, old
/// ones keep theirs; the other netns is unaffected.
pub fn check(o: &RpsDefaultMask) -> Probe<()> {
    expect(ids::KN_RPS_4, o.host_unchanged, || "the host's rps_default_mask changed during the probe".to_string())?;
    expect(ids::KN_RPS_4, o.a_default_new.is_empty() && o.b_default.is_empty(), || {
        format!("a new netns's rps_default_mask should be 0: A {:?}, B {:?}", o.a_default_new, o.b_default)
    })?;
    expect(ids::KN_RPS_4, o.a_default_after_write == "0" && o.a_veth_made_after_write == "0", || {
        format!(
            "after writing CPU 0's mask in A: the sysctl reads CPUs {{{}}}, a veth made then has rps_cpus {{{}}} (expected {{0}} both)",
            o.a_default_after_write, o.a_veth_made_after_write
        )
    })?;
    expect(ids::KN_RPS_4, o.a_lo_after_write.is_empty(), || {
        format!("lo existed before the write and should keep rps_cpus 0, has {{{}}}", o.a_lo_after_write)
    })?;
    expect(ids::KN_RPS_4, o.b_veth.is_empty(), || {
        format!("A's default leaked into B: a veth made in B has rps_cpus {{{}}}", o.b_veth)
    })
}

/// KN-RPS-4's probe: `Ok(None)` when the sysctl is missing (SKIP).
pub fn probe() -> Probe<Option<RpsDefaultMask>> {
    if skip_reason().is_some() {
        return Ok(None);
    }
    let o = observe()?;
    check(&o)?;
    Ok(Some(o))
}
