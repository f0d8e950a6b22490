//! The driver's input side at end of stream, on the runtime itself: EOF is
//! not data. In active mode it delivers no tcp message, only tcp_closed
//! (PC-3); a passive recv returns {error,closed}, not bytes (PC-1).

use crate::support::listener;
use native::Bytes;
use native::SocketOpts;
use native::{Action, Activity};
use native::{ActiveSetting, Opt};
use native::{OwnerMsg, Posix};
use native::{Runtime, VirtualClock};
use std::io::Write;
use std::net::{Shutdown, TcpStream};
use std::time::Duration;

const BOUND: Duration = Duration::from_secs(5);

fn connected(active: ActiveSetting) -> (Runtime, TcpStream) {
    let (l, addr) = listener();
    let mut rt = Runtime::new(Box::new(VirtualClock::new()), 4, 1, None).expect("runtime");
    rt.connect(addr, SocketOpts::default(), &[Opt::Active(active)]).expect("connect");
    let (peer, _) = l.accept().expect("accept");
    (rt, peer)
}

/// RX-5, PC-3: the peer sends 10 bytes and then FIN; the owner gets the 10
/// bytes, no empty message for the EOF, then tcp_closed.
#[test]
fn eof_in_active_mode_delivers_no_data_message() {
    let (mut rt, mut peer) = connected(ActiveSetting::True);
    peer.write_all(&[1u8; 10]).unwrap();
    rt.await_io(BOUND, None).unwrap();
    assert_eq!(rt.take_mailbox(), vec![OwnerMsg::Tcp(vec![1u8; 10])]);
    rt.take_trace();
    peer.shutdown(Shutdown::Write).unwrap();
    rt.await_io(BOUND, None).unwrap();
    let actions = rt.take_trace().actions;
    assert_eq!(actions, vec![Action::Ran(Activity::Input), Action::Read { got: Bytes(0) }], "the EOF was read");
    assert_eq!(rt.take_mailbox(), vec![OwnerMsg::TcpClosed], "RX-5: EOF is no tcp message; PC-3: tcp_closed");
}

/// PC-1: a passive recv at EOF has no bytes to return: `{error, closed}`,
/// not `{ok, <<>>}` (nor RX-6's timeout).
#[test]
fn recv_at_eof_returns_no_bytes() {
    let (mut rt, peer) = connected(ActiveSetting::False);
    peer.shutdown(Shutdown::Write).unwrap();
    let fd = rt.subject_fd().unwrap();
    let mut p = libc::pollfd { fd, events: libc::POLLIN, revents: 0 };
    // SAFETY: one valid pollfd.
    assert_eq!(unsafe { libc::poll(&mut p, 1, BOUND.as_millis() as i32) }, 1, "EOF readable");
    assert_eq!(rt.recv().unwrap(), Err(Posix::Closed), "PC-1");
}

/// PC-3: data and the FIN arriving together raise one readiness edge; after
/// reading the data the port must still read on to the EOF (no new edge
/// will come) and tell the owner tcp_closed.
#[test]
fn data_and_fin_arriving_together_end_in_tcp_closed() {
    let (mut rt, mut peer) = connected(ActiveSetting::True);
    peer.write_all(&[2u8; 10]).unwrap();
    peer.shutdown(Shutdown::Write).unwrap();
    // Both are in the port's socket before the runtime first polls it.
    let fd = rt.subject_fd().unwrap();
    let mut p = libc::pollfd { fd, events: libc::POLLRDHUP, revents: 0 };
    // SAFETY: one valid pollfd.
    assert_eq!(unsafe { libc::poll(&mut p, 1, BOUND.as_millis() as i32) }, 1, "FIN arrived");
    rt.await_io(BOUND, None).unwrap();
    assert_eq!(rt.take_mailbox(), vec![OwnerMsg::Tcp(vec![2u8; 10]), OwnerMsg::TcpClosed]);
}

/// `gen_tcp_misc_SUITE:no_accept`: the port's connection completed into a
/// listener that never accepts it, and the listener closes. The kernel
/// resets the queued connection (KN-RST-11), which the port reports as
/// the peer's end without show_econnreset (RS-1): an active port tells
/// its owner tcp_closed (PC-3), a passive recv returns {error,closed}
/// (PC-1).
#[test]
fn a_listener_closed_before_accepting_ends_the_port_as_closed() {
    for active in [ActiveSetting::True, ActiveSetting::False] {
        let (l, addr) = listener();
        let mut rt = Runtime::new(Box::new(VirtualClock::new()), 4, 1, None).expect("runtime");
        rt.connect(addr, SocketOpts::default(), &[Opt::Active(active)]).expect("connect");
        let mut q = libc::pollfd { fd: std::os::fd::AsRawFd::as_raw_fd(&l), events: libc::POLLIN, revents: 0 };
        // SAFETY: one valid pollfd.
        assert_eq!(unsafe { libc::poll(&mut q, 1, BOUND.as_millis() as i32) }, 1, "the connection is queued");
        drop(l);
        let fd = rt.subject_fd().unwrap();
        let mut p = libc::pollfd { fd, events: libc::POLLIN, revents: 0 };
        // SAFETY: one valid pollfd.
        assert_eq!(unsafe { libc::poll(&mut p, 1, BOUND.as_millis() as i32) }, 1, "the reset arrived");
        if active == ActiveSetting::True {
            rt.await_io(BOUND, None).unwrap();
            assert_eq!(rt.take_mailbox(), vec![OwnerMsg::TcpClosed], "RS-1, PC-3");
        } else {
            assert_eq!(rt.recv().unwrap(), Err(Posix::Closed), "RS-1, PC-1");
        }
    }
}
