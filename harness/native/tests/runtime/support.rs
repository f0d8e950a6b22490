//! Helpers shared by the runtime's tests.
#![allow(dead_code)]

use native::process::Command;
use native::{Bytes, SendFlags};
use std::io::{self, Read};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::fd::RawFd;
use std::sync::mpsc;
use std::time::Duration;

/// Failure bound for a scenario run on its own thread (a hang fails the
/// test instead of the test run timing out). Not a timing assertion.
pub const BOUND: Duration = Duration::from_secs(20);

/// A listener on a loopback port of its own, and its address.
pub fn listener() -> (TcpListener, SocketAddr) {
    let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind loopback");
    let a = l.local_addr().expect("addr");
    (l, a)
}

/// Run `f` on its own thread; its result, or a failure once `BOUND` passes.
pub fn bounded<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(BOUND).unwrap_or_else(|e| panic!("{what}: no result within the failure bound {BOUND:?} ({e})"))
}

/// A `port_command` of `len` bytes (tag 1, no flags).
pub fn cmd(len: usize) -> Command {
    Command { len: Bytes(len), tag: 1, flags: SendFlags::default() }
}

/// The event masks the kernel's epoll instances hold for `fd` (from
/// /proc/self/fdinfo of each epoll watching it): what the port asked to be
/// woken for; none when it is in no poller.
pub fn epoll_interests(fd: RawFd) -> Vec<u32> {
    let mut found = vec![];
    for e in std::fs::read_dir("/proc/self/fdinfo").unwrap().flatten() {
        let Ok(info) = std::fs::read_to_string(e.path()) else { continue };
        for line in info.lines().filter(|l| l.starts_with("tfd:")) {
            let w: Vec<&str> = line.split_whitespace().collect();
            // tfd: <fd> events: <hex> data: <hex> ...
            if w.len() >= 4 && w[1] == fd.to_string() && w[2] == "events:" {
                found.push(u32::from_str_radix(w[3], 16).unwrap());
            }
        }
    }
    found
}

/// Wait (bounded) until `fd` has `events` ready.
pub fn wait_fd(fd: RawFd, events: libc::c_short) {
    let mut p = libc::pollfd { fd, events, revents: 0 };
    // SAFETY: one valid pollfd.
    let rc = unsafe { libc::poll(&mut p, 1, BOUND.as_millis() as libc::c_int) };
    assert!(rc > 0, "fd {fd} not ready for {events:#x} within {BOUND:?}");
}

/// Everything the peer can read right now.
pub fn peer_read_all(peer: &mut TcpStream) -> usize {
    let mut buf = vec![0u8; 65536];
    let mut n = 0;
    loop {
        match peer.read(&mut buf) {
            Ok(0) => return n,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return n,
            Err(e) => panic!("peer read: {e}"),
        }
    }
}
