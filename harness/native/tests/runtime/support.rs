//! Helpers shared by the runtime's tests.
#![allow(dead_code)]

use native::process::Command;
use native::{Bytes, SendFlags};
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
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
