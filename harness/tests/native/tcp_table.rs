//! The kernel's socket table as the native SUT adapter reads it for PT-2
//! (`harness::sut::native::tcp_table`): an accepted end the runtime keeps open
//! shows ESTABLISHED (no FIN sent), a closed one has sent its FIN by the
//! time `close()` returns.

use harness::sut::native::tcp_table::{self, sent_no_fin, state, state_from_proc, state_in};
use std::io::Read;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, TcpListener, TcpStream};
use std::time::Duration;

fn v4(a: SocketAddr) -> SocketAddrV4 {
    match a {
        SocketAddr::V4(a) => a,
        SocketAddr::V6(a) => panic!("loopback IPv4 expected, got {a}"),
    }
}

/// A loopback connection: (listener, client, server end).
fn pair() -> (TcpListener, TcpStream, TcpStream) {
    let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind loopback");
    let c = TcpStream::connect(l.local_addr().expect("addr")).expect("connect");
    let (s, _) = l.accept().expect("accept");
    (l, c, s)
}

/// PT-2 as the adapter decides it: an accepted end held open has sent no
/// FIN; once closed it has, before `close()` returned, whatever its client
/// has seen yet.
#[test]
fn an_open_end_has_sent_no_fin_and_a_closed_one_has() {
    let (_l, c, s) = pair();
    let (server, client) = (v4(s.local_addr().unwrap()), v4(c.local_addr().unwrap()));
    let st = state(server, client).expect("read /proc/net/tcp");
    assert_eq!(st, Some(tcp_table::ESTABLISHED), "PT-2: the accepted end, open");
    assert!(sent_no_fin(st.unwrap()));
    assert_eq!(state(client, server).unwrap(), Some(tcp_table::ESTABLISHED), "the client end");
    drop(s);
    let st = state(server, client).unwrap().expect("the closed end lingers while its client is open");
    assert!(
        [tcp_table::FIN_WAIT1, tcp_table::FIN_WAIT2].contains(&st),
        "PT-2: a closed end has sent its FIN inside close(): state {st}"
    );
    assert!(!sent_no_fin(st));
    // The client reads the FIN (a failure bound, not a delay)...
    c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    assert_eq!((&c).read(&mut [0u8; 1]).expect("client read"), 0, "EOF at the client");
    // ...and its own end, not closed, has sent none.
    let st = state(client, server).unwrap();
    assert_eq!(st, Some(tcp_table::CLOSE_WAIT));
    assert!(sent_no_fin(tcp_table::CLOSE_WAIT));
}

#[test]
fn states_that_have_sent_a_fin() {
    for st in [tcp_table::ESTABLISHED, tcp_table::SYN_RECV, tcp_table::CLOSE_WAIT] {
        assert!(sent_no_fin(st), "state {st}");
    }
    // FIN_WAIT1, FIN_WAIT2, TIME_WAIT, CLOSE, LAST_ACK, LISTEN, CLOSING
    for st in [4, 5, 6, 7, 9, 10, 11] {
        assert!(!sent_no_fin(st), "state {st}");
    }
}

/// The table's spelling (net/ipv4/tcp_ipv4.c get_tcp4_sock: `%08X:%04X`
/// of the address word as stored, and the port in host order), and that
/// both ends of the address pair must match.
#[test]
fn a_row_is_found_by_both_addresses() {
    let table = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n\
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 11 1 0 100 0 0 10 0\n\
   1: 0100007F:1F90 0100007F:D2F3 06 00000000:00000000 03:00001770 00000000     0        0 0 3 0\n\
   2: 0100007F:1F91 0100007F:D2F4 01 00000000:00000000 00:00000000 00000000     0        0 12 1 0 20 4 30 10 -1\n\
   3: 0100007F:1F90 0100007F:D2F4 04 00000000:00000000 00:00000000 00000000     0        0 0 1 0 20 4 30 10 -1\n";
    let ip = Ipv4Addr::LOCALHOST;
    let at = |p| SocketAddrV4::new(ip, p);
    assert_eq!(state_in(table, at(8080), at(0xD2F4)), Some(tcp_table::FIN_WAIT1));
    assert_eq!(state_in(table, at(8080), at(0xD2F3)), Some(tcp_table::TIME_WAIT));
    assert_eq!(state_in(table, at(8081), at(0xD2F4)), Some(tcp_table::ESTABLISHED));
    assert_eq!(state_in(table, at(8080), SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0)), Some(10));
    assert_eq!(state_in(table, at(8081), at(0xD2F3)), None, "local of one row, remote of another");
    assert_eq!(state_in(table, SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 1), 8080), at(0xD2F4)), None);
    // The header is not a row.
    assert_eq!(state_in("  sl  local_address rem_address   st\n", at(1), at(2)), None);
}

/// `state` asks sock_diag for the one end; it agrees with the whole table
/// (`/proc/net/tcp`) on open, closing, half-closed and gone ends, and does
/// not take the listener on a gone end's address for the end.
#[test]
fn sock_diag_agrees_with_proc_net_tcp() {
    // An end may still be moving (FIN_WAIT1 -> FIN_WAIT2 when the client's
    // ACK is processed, later under load): the two must agree on a state
    // that holds across both reads (sock_diag, /proc, sock_diag again),
    // within a failure bound.
    let agree = |local: SocketAddrV4, remote: SocketAddrV4, what: &str| {
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        loop {
            let d = state(local, remote).expect("sock_diag");
            let p = state_from_proc(local, remote).expect("/proc");
            if d == p && state(local, remote).expect("sock_diag") == d {
                return d;
            }
            assert!(std::time::Instant::now() < deadline, "{what}: sock_diag {d:?}, /proc/net/tcp {p:?}");
            std::thread::yield_now();
        }
    };
    let (l, c, s) = pair();
    let (server, client) = (v4(s.local_addr().unwrap()), v4(c.local_addr().unwrap()));
    assert_eq!(agree(server, client, "open server end"), Some(tcp_table::ESTABLISHED));
    assert_eq!(agree(client, server, "open client end"), Some(tcp_table::ESTABLISHED));
    drop(s);
    assert!(!sent_no_fin(agree(server, client, "closed server end").expect("lingers")));
    c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    assert_eq!((&c).read(&mut [0u8; 1]).expect("client read"), 0, "EOF at the client");
    assert_eq!(agree(client, server, "half-closed client end"), Some(tcp_table::CLOSE_WAIT));
    // No such connection, while a listener holds the local address.
    let nobody = SocketAddrV4::new(Ipv4Addr::LOCALHOST, 1);
    let listening = v4(l.local_addr().unwrap());
    assert_eq!(agree(listening, nobody, "no such end on a listening address"), None);
    // An end closed over unread input resets and is gone at once.
    let (l2, mut c2, s2) = pair();
    let (server2, client2) = (v4(s2.local_addr().unwrap()), v4(c2.local_addr().unwrap()));
    std::io::Write::write_all(&mut c2, b"unread").unwrap();
    let arrived = native::sys::wait_ready(&s2, native::sys::Want::Read, Duration::from_secs(5)).unwrap();
    assert!(arrived, "the bytes reach the server end before it closes");
    drop(s2);
    assert_eq!(agree(server2, client2, "reset end, listener still open"), None);
    drop(l2);
}

/// An address pair no socket holds and no listener covers is answered
/// "no such end" by the kernel (sock_diag's ENOENT), as by the whole
/// table: the local address is held by a socket bound but neither
/// listening nor connected, so nothing can take it meanwhile.
#[test]
fn an_address_pair_no_socket_holds_has_no_state() {
    let bound = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    bound.bind(&SocketAddr::from((Ipv4Addr::LOCALHOST, 0)).into()).unwrap();
    let local = v4(bound.local_addr().unwrap().as_socket().unwrap());
    let remote = SocketAddrV4::new(Ipv4Addr::LOCALHOST, 1);
    assert_eq!(state(local, remote).expect("sock_diag"), None);
    assert_eq!(state_from_proc(local, remote).expect("/proc/net/tcp"), None);
}
