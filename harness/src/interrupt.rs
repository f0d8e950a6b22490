//! Clean interruption: what a run leaves on the host (the BEAM adapter's
//! temp dir, a network namespace) is registered here while it exists, and
//! [`on_signal_clean_up`] makes SIGINT and SIGTERM remove it before the
//! process ends with that signal. `Drop` cannot do it: a signal ends the
//! process without unwinding. Leftovers of a SIGKILL are removed by the next
//! run instead (`kernel::netns` and `sut::beam` sweep names carrying a dead
//! pid).
//!
//! Child processes need no entry: the external systems under test read
//! their stdin to EOF, which the kernel delivers when this process is gone,
//! and are started with `PR_SET_PDEATHSIG` (`sut::external::child`).

use nix::sys::signal::{SigSet, Signal};
use std::path::PathBuf;
use std::sync::Mutex;

/// Something to remove if the process is interrupted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Leftover {
    /// A directory (removed recursively).
    Dir(PathBuf),
    /// A named network namespace (`ip netns del`).
    Netns(String),
}

static LEFTOVERS: Mutex<Vec<Leftover>> = Mutex::new(Vec::new());

/// Registers `l` until [`forget`] (the owner's `Drop`) is called.
pub fn remember(l: Leftover) {
    LEFTOVERS.lock().unwrap_or_else(|e| e.into_inner()).push(l);
}

/// `l` was removed by its owner.
pub fn forget(l: &Leftover) {
    LEFTOVERS.lock().unwrap_or_else(|e| e.into_inner()).retain(|x| x != l);
}

/// What is registered now.
pub fn registered() -> Vec<Leftover> {
    LEFTOVERS.lock().unwrap_or_else(|e| e.into_inner()).clone()
}

/// Removes everything registered; returns what could not be removed.
pub fn remove_all() -> Vec<String> {
    remove(std::mem::take(&mut *LEFTOVERS.lock().unwrap_or_else(|e| e.into_inner())))
}

fn remove(leftovers: Vec<Leftover>) -> Vec<String> {
    let mut failed = vec![];
    for l in leftovers {
        let r = match &l {
            Leftover::Dir(d) => std::fs::remove_dir_all(d).map_err(|e| e.to_string()),
            Leftover::Netns(n) => std::process::Command::new("ip")
                .args(["netns", "del", n])
                .status()
                .map_err(|e| e.to_string())
                .and_then(|s| if s.success() { Ok(()) } else { Err(format!("ip netns del {n}: {s}")) }),
        };
        if let Err(e) = r {
            failed.push(format!("{l:?}: {e}"));
        }
    }
    failed
}

/// Call first thing in `main`, before any thread is started: blocks SIGINT
/// and SIGTERM in every thread and starts one that waits for them, removes
/// what is registered and then ends the process with the same signal (so
/// the parent sees an interrupted process, not an exit code). Children get
/// the default mask back (Rust's `Command` resets it before `exec`).
pub fn on_signal_clean_up() {
    let mut set = SigSet::empty();
    set.add(Signal::SIGINT);
    set.add(Signal::SIGTERM);
    if set.thread_block().is_err() {
        return;
    }
    std::thread::spawn(move || {
        let Ok(sig) = set.wait() else { return };
        for e in remove_all() {
            eprintln!("portcheck: interrupted: could not remove {e}");
        }
        // Default disposition, unblocked, raised again: the process ends
        // by this signal.
        unsafe {
            libc::signal(sig as libc::c_int, libc::SIG_DFL);
        }
        let _ = set.thread_unblock();
        let _ = nix::sys::signal::raise(sig);
        std::process::exit(128 + sig as i32);
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_forgotten_dir_is_not_registered_and_a_removed_one_is_gone() {
        let kept = tempfile::tempdir().unwrap().keep();
        let gone = tempfile::tempdir().unwrap().keep();
        remember(Leftover::Dir(gone.clone()));
        remember(Leftover::Dir(kept.clone()));
        forget(&Leftover::Dir(kept.clone()));
        let now = registered();
        assert!(now.contains(&Leftover::Dir(gone.clone())) && !now.contains(&Leftover::Dir(kept.clone())));
        // Only this test's entry: other tests of this binary may register too.
        forget(&Leftover::Dir(gone.clone()));
        assert!(remove(vec![Leftover::Dir(gone.clone())]).is_empty());
        assert!(!gone.exists() && kept.exists());
        std::fs::remove_dir_all(kept).unwrap();
    }
}
