//! The environment a run happened in, saved with every trace so a replay on
//! another kernel or OTP says so instead of silently differing.

use harness::sut::Runtime;
use serde::{Deserialize, Serialize};
use std::process::Command;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Environment {
    pub kernel_release: String,
    /// SO_SNDBUF / SO_RCVBUF the kernel reports after asking for 1 byte.
    pub min_sndbuf: usize,
    pub min_rcvbuf: usize,
    /// OTP release, when the system under test is the BEAM.
    pub otp_release: Option<String>,
    /// The full OTP version and the ERTS version, when the system under
    /// test said (its `ready` line's `runtime`); absent in traces saved
    /// before they were kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub otp_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub erts: Option<String>,
}

impl Environment {
    /// This machine, with the release of the `erl` on PATH when `with_otp`.
    pub fn current(with_otp: bool) -> Environment {
        let otp_release = if with_otp { otp_release() } else { None };
        Environment { otp_release, ..Environment::kernel_only() }
    }

    /// This machine, with the runtime a system under test reported (its
    /// factory's [`SutFactory::runtime`](harness::sut::SutFactory::runtime)),
    /// which is the `erl` the run uses, not necessarily the one on PATH.
    pub fn with_runtime(runtime: Option<&Runtime>) -> Environment {
        Environment {
            otp_release: runtime.map(|r| r.otp_release.clone()),
            otp_version: runtime.and_then(|r| r.otp_version.clone()),
            erts: runtime.map(|r| r.erts.clone()),
            ..Environment::kernel_only()
        }
    }

    fn kernel_only() -> Environment {
        let kernel_release = std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map(|s| s.trim().to_string())
            .unwrap_or_else(|_| "unknown".into());
        let (min_sndbuf, min_rcvbuf) = min_buffers().unwrap_or((0, 0));
        Environment { kernel_release, min_sndbuf, min_rcvbuf, otp_release: None, otp_version: None, erts: None }
    }

    /// The OTP release as people name it: `27.3.4.1 (erts 15.2.7)` when
    /// the full version is known, else the major release.
    pub fn otp(&self) -> Option<String> {
        let rel = self.otp_version.as_ref().or(self.otp_release.as_ref())?;
        Some(match &self.erts {
            Some(e) => format!("{rel} (erts {e})"),
            None => rel.clone(),
        })
    }

    /// Differences that make a replay's result not comparable.
    pub fn differences(&self, other: &Environment) -> Vec<String> {
        let mut d = vec![];
        if self.kernel_release != other.kernel_release {
            d.push(format!("kernel {} (saved) vs {} (here)", self.kernel_release, other.kernel_release));
        }
        if (self.min_sndbuf, self.min_rcvbuf) != (other.min_sndbuf, other.min_rcvbuf) {
            d.push(format!(
                "minimum buffers {}/{} (saved) vs {}/{} (here)",
                self.min_sndbuf, self.min_rcvbuf, other.min_sndbuf, other.min_rcvbuf
            ));
        }
        if self.otp_release.is_some() && self.otp_release != other.otp_release {
            d.push(format!("OTP {:?} (saved) vs {:?} (here)", self.otp_release, other.otp_release));
        } else if self.otp_version.is_some() && other.otp_version.is_some() && self.otp() != other.otp() {
            d.push(format!(
                "OTP {} (saved) vs {} (here)",
                self.otp().unwrap_or_default(),
                other.otp().unwrap_or_default()
            ));
        }
        d
    }
}

/// The machine a benchmark ran on, as one line: kernel release, CPU count
/// and CPU model.
pub fn machine() -> String {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into());
    let n = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    format!("machine: kernel {}, {} cpus, {}", release.trim(), n, cpu)
}

fn min_buffers() -> std::io::Result<(usize, usize)> {
    let s = std::net::UdpSocket::bind("127.0.0.1:0")?;
    use std::os::fd::AsRawFd;
    let fd = s.as_raw_fd();
    let get = |opt| -> usize {
        let one: libc::c_int = 1;
        let mut v: libc::c_int = 0;
        let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
        // SAFETY: fd is a valid socket for the lifetime of `s`; pointers are to locals of the right size.
        unsafe {
            libc::setsockopt(fd, libc::SOL_SOCKET, opt, &one as *const _ as *const libc::c_void, len);
            libc::getsockopt(fd, libc::SOL_SOCKET, opt, &mut v as *mut _ as *mut libc::c_void, &mut len);
        }
        v as usize
    };
    Ok((get(libc::SO_SNDBUF), get(libc::SO_RCVBUF)))
}

fn otp_release() -> Option<String> {
    let out = Command::new("erl")
        .args(["-noshell", "-eval", "io:format(\"~s\", [erlang:system_info(otp_release)]), halt()."])
        .output()
        .ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}
