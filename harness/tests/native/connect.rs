//! KN-CONN-1..3 through the native runtime's connect path: a nonblocking
//! connect to a closed loopback port returns EINPROGRESS and then polls
//! writable, so only SO_ERROR tells the runtime it was refused. Opening a
//! port there must fail with exactly ECONNREFUSED and open nothing; the
//! planted bug `writable-is-connected` (writable taken for connected) must
//! be caught by the same check. The lockstep property cannot catch it:
//! its cases always connect to a listening peer.

use harness::sut::native::BugTable;
use native::{OpenError, SocketOpts};
use native::{PlantedBug, Runtime, VirtualClock};
use socket2::{Domain, Socket, Type};
use std::net::{Ipv4Addr, SocketAddr, TcpListener};

/// A loopback port nobody listens on: bound (so nobody else takes it while
/// the test runs) but not listening, so a SYN to it is answered with RST.
fn closed_port() -> (Socket, SocketAddr) {
    let s = Socket::new(Domain::IPV4, Type::STREAM, None).expect("socket");
    s.bind(&SocketAddr::from((Ipv4Addr::LOCALHOST, 0)).into()).expect("bind loopback");
    let a = s.local_addr().expect("local_addr").as_socket().expect("inet");
    (s, a)
}

fn runtime(bug: Option<PlantedBug>) -> Runtime {
    Runtime::new(Box::new(VirtualClock::new()), 4, 1, bug).expect("runtime")
}

/// Which way of opening a port the check goes through.
#[derive(Clone, Copy, Debug)]
enum Opening {
    /// `Runtime::connect`: the port under test.
    PortUnderTest,
    /// `Runtime::open_extra`: one more connected port.
    ExtraPort,
}

/// KN-CONN-2 on the runtime: opening a port to a closed loopback port fails
/// with exactly the errno SO_ERROR held (ECONNREFUSED), and no port is
/// left in the table. `Err` starts with the rule ID.
fn refused_connect_is_reported(bug: Option<PlantedBug>, how: Opening) -> Result<String, String> {
    let (_hold, addr) = closed_port();
    let mut rt = runtime(bug);
    let r = match how {
        Opening::PortUnderTest => rt.connect(addr, SocketOpts::default(), &[]),
        Opening::ExtraPort => rt.open_extra(addr),
    };
    let ports = rt.snapshot().ports;
    let observed = match &r {
        Ok(()) => format!("opened a port ({ports} in the table)"),
        Err(OpenError::Io(e)) => format!("{e} (errno {:?}), {ports} ports in the table", e.raw_os_error()),
        Err(OpenError::SystemLimit) => "system_limit".to_string(),
    };
    match r {
        Err(OpenError::Io(e)) if e.raw_os_error() == Some(libc::ECONNREFUSED) && ports == 0 => Ok(observed),
        _ => Err(format!(
            "KN-CONN-2: {how:?} to closed loopback port {addr}: expected ECONNREFUSED (SO_ERROR) and no port, got: {observed}"
        )),
    }
}

#[test]
fn kn_conn_2_refused_port_under_test_reports_econnrefused() {
    let observed = refused_connect_is_reported(None, Opening::PortUnderTest).unwrap_or_else(|e| panic!("{e}"));
    println!("KN-CONN-2 observed: {observed}");
}

#[test]
fn kn_conn_2_refused_extra_port_reports_econnrefused() {
    let observed = refused_connect_is_reported(None, Opening::ExtraPort).unwrap_or_else(|e| panic!("{e}"));
    println!("KN-CONN-2 observed: {observed}");
}

/// KN-CONN-3: the same path connects to a listening loopback port.
#[test]
fn kn_conn_3_listening_port_opens_the_port() {
    let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind loopback");
    let addr = l.local_addr().expect("addr");
    let mut rt = runtime(None);
    rt.connect(addr, SocketOpts::default(), &[]).unwrap_or_else(|e| panic!("KN-CONN-3: connect to {addr}: {e:?}"));
    rt.open_extra(addr).unwrap_or_else(|e| panic!("KN-CONN-3: open_extra to {addr}: {e:?}"));
    assert_eq!(rt.snapshot().ports, 2, "KN-CONN-3: both ports are in the table");
}

/// The planted bug takes "writable" for "connected": the check above
/// catches it on both ways of opening a port, under KN-CONN-2.
#[test]
fn kn_conn_2_planted_writable_is_connected_is_caught() {
    let bug = PlantedBug::WritableIsConnected;
    assert_eq!(bug.rule().0, "KN-CONN-2");
    for how in [Opening::PortUnderTest, Opening::ExtraPort] {
        match refused_connect_is_reported(Some(bug), how) {
            Ok(observed) => panic!("planted bug {bug} not caught ({how:?}): {observed}"),
            Err(e) => {
                println!("{bug} caught: {e}");
                assert!(e.starts_with("KN-CONN-2:") && e.contains("opened a port"), "{e}");
            }
        }
    }
}
