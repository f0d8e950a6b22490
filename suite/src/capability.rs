//! What a test needs from the machine, and the honest way to say it is
//! missing: `SKIP <id>: <reason>` on stdout and an ignored (not passed)
//! outcome in the test report.

use std::process::Command;

/// A capability a test may need.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Capability {
    /// Effective uid 0.
    Root,
    /// `ip netns add` works (root and iproute2 present).
    Netns,
    /// An `erl` on PATH.
    Erl,
    /// OTP release `.0` installed by `harness/beam/otp-chroots.sh`
    /// (`/opt/portcheck-otp/<rel>/bin/erl`); its wrapper mounts, so it
    /// needs [`Capability::Root`] too.
    OtpChroot(&'static str),
}

/// Where `harness/beam/otp-chroots.sh` puts release `rel`'s `erl`.
pub fn otp_chroot_erl(rel: &str) -> std::path::PathBuf {
    std::path::PathBuf::from(format!("/opt/portcheck-otp/{rel}/bin/erl"))
}

impl Capability {
    /// `Ok(())` when present, otherwise why not.
    pub fn check(self) -> Result<(), String> {
        match self {
            Capability::Root => {
                if nix_uid_is_root() {
                    Ok(())
                } else {
                    Err("needs root (effective uid 0)".into())
                }
            }
            Capability::Netns => harness::kernel::netns::capability(),
            Capability::Erl => which("erl")
                .map(|_| ())
                .ok_or_else(|| "needs `erl` on PATH (apt-get install -y erlang-nox)".to_string()),
            Capability::OtpChroot(rel) => {
                let erl = otp_chroot_erl(rel);
                if erl.is_file() {
                    Ok(())
                } else {
                    Err(format!(
                        "needs OTP {rel} at {} (as root: bash harness/beam/otp-chroots.sh {rel})",
                        erl.display()
                    ))
                }
            }
        }
    }
}

fn nix_uid_is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// Full path of `prog` on PATH, if any.
pub fn which(prog: &str) -> Option<std::path::PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|d| d.join(prog)).find(|p| p.is_file())
}

/// Checks every capability; on the first missing one prints
/// `SKIP <id>: <reason>` and returns the reason.
pub fn require(id: &str, caps: &[Capability]) -> Result<(), String> {
    for c in caps {
        if let Err(reason) = c.check() {
            println!("SKIP {id}: {reason}");
            return Err(reason);
        }
    }
    Ok(())
}

/// A libtest-mimic trial that is reported as ignored, with `SKIP <id>:
/// <reason>` printed, when a capability is missing.
pub fn trial<F>(id: &'static str, caps: &'static [Capability], f: F) -> libtest_mimic::Trial
where
    F: FnOnce() -> Result<(), String> + Send + 'static,
{
    libtest_mimic::Trial::ignorable_test(id, move || match require(id, caps) {
        Err(reason) => Ok(libtest_mimic::Completion::ignored_with(reason)),
        Ok(()) => f().map(|()| libtest_mimic::Completion::Completed).map_err(Into::into),
    })
}

/// Runs `cmd` and returns its stdout, or an error naming the command.
pub fn run(cmd: &mut Command) -> Result<String, String> {
    let out = cmd.output().map_err(|e| format!("{cmd:?}: {e}"))?;
    if !out.status.success() {
        return Err(format!("{cmd:?} failed ({}): {}", out.status, String::from_utf8_lossy(&out.stderr)));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}
