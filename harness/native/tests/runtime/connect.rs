//! The native runtime's connect path when connect(2) fails at once rather
//! than with EINPROGRESS (KN-CONN-4): the errno is the outcome; there is
//! no completion to wait for and no SO_ERROR to read. A TCP connect to a
//! multicast address takes that path on any host (`tcp_v4_connect` refuses
//! a multicast or broadcast route with ENETUNREACH before any SYN), so no
//! network namespace is needed.

use native::bugs::Faults;
use native::connect::connect_nonblocking;
use native::{OpenError, SocketOpts};
use native::{Runtime, VirtualClock};
use std::net::{Ipv4Addr, SocketAddr};

const MULTICAST: SocketAddr = SocketAddr::V4(std::net::SocketAddrV4::new(Ipv4Addr::new(224, 0, 0, 1), 9));

#[test]
fn kn_conn_4_an_immediate_enetunreach_is_the_outcome() {
    match connect_nonblocking(MULTICAST, SocketOpts::default(), Faults::default()) {
        Err(e) => assert_eq!(e.raw_os_error(), Some(libc::ENETUNREACH), "KN-CONN-4: {e}"),
        Ok(s) => panic!("KN-CONN-4: connect to {MULTICAST} must fail at once, got a socket {s:?}"),
    }
}

#[test]
fn kn_conn_4_opening_a_port_there_opens_nothing() {
    let mut rt = Runtime::new(Box::new(VirtualClock::new()), 4, 1, None).expect("runtime");
    match rt.connect(MULTICAST, SocketOpts::default(), &[]) {
        Err(OpenError::Io(e)) => assert_eq!(e.raw_os_error(), Some(libc::ENETUNREACH), "KN-CONN-4: {e}"),
        r => panic!("KN-CONN-4: expected ENETUNREACH, got {:?}", r.map(|_| ())),
    }
    match rt.open_extra(MULTICAST) {
        Err(OpenError::Io(e)) => assert_eq!(e.raw_os_error(), Some(libc::ENETUNREACH), "KN-CONN-4: {e}"),
        r => panic!("KN-CONN-4: expected ENETUNREACH, got {r:?}"),
    }
    assert_eq!(rt.snapshot().ports, 0, "KN-CONN-4: no port in the table");
}
