//! PT-2..PT-4 and OPT-6: the table capacity is exact; accept into a full
//! table closes the accepted fd (the client sees EOF, and the process's fd
//! count is unchanged); opening into a full table fails; closing frees a
//! slot; accepted ports inherit the listener's options.

use crate::support::*;
use harness::kernel::fd_limit::open_fd_count;
use harness::kernel::{in_child, poll_fd, Probe};
use harness::sut::native::PlantedBug;
use native::{Accepted, SocketOpts};
use native::{Runtime, VirtualClock};
use reference::observation::{AcceptOutcome, Posix, Reply};
use reference::op::{Op, Setup};
use reference::options::{Active, ActiveSetting, Opt, PortOptions};
use reference::units::Bytes;
use serde::{Deserialize, Serialize};
use std::io::Read;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsFd;
use std::time::Duration;

fn three_slots(bug: Option<PlantedBug>) -> Case {
    let s = Setup {
        table_capacity: 3,
        listener_options: vec![Opt::HighWatermark(300), Opt::Active(ActiveSetting::Once)],
        ..Setup::default()
    };
    start_with(&s, bug)
}

#[test]
fn accepted_port_inherits_and_full_table_refuses() {
    let mut c = three_slots(None);
    let s = c.apply(Op::Accept);
    let want = PortOptions { high: Bytes(300), low: Bytes(300), active: Active::Once, ..PortOptions::default() };
    assert_eq!(s.observation.reply, Reply::Accept(AcceptOutcome::Accepted(want)));
    assert_eq!(s.observation.ports, 3);
    let s = c.apply(Op::Accept);
    assert_eq!(s.observation.reply, Reply::Accept(AcceptOutcome::Failed { error: Posix::SystemLimit, peer_eof: true }));
    assert_eq!(s.observation.ports, 3);
    assert_eq!(c.apply(Op::OpenExtra).observation.reply, Reply::Opened(Err(Posix::SystemLimit)));
    let s = c.apply(Op::CloseAccepted);
    assert_eq!(s.observation.ports, 2);
    let s = c.apply(Op::OpenExtra);
    assert_eq!(s.observation.reply, Reply::Opened(Ok(())));
    assert_eq!(s.observation.ports, 3);
}

#[test]
fn closing_the_port_under_test_frees_its_slot() {
    let mut c = three_slots(None);
    c.apply(Op::Accept);
    let s = c.apply(Op::Close);
    assert_eq!(s.observation.reply, Reply::Closed(Ok(())));
    assert_eq!(s.observation.ports, 2);
    assert_eq!(c.apply(Op::OpenExtra).observation.reply, Reply::Opened(Ok(())));
}

#[test]
fn planted_bug_leaves_the_refused_fd_open() {
    let mut c = three_slots(Some(PlantedBug::LeakAcceptedFd));
    c.apply(Op::Accept);
    let s = c.apply(Op::Accept);
    assert_eq!(
        s.observation.reply,
        Reply::Accept(AcceptOutcome::Failed { error: Posix::SystemLimit, peer_eof: false })
    );
}

#[test]
fn a_table_too_small_for_the_case_is_a_setup_error() {
    let s = Setup { table_capacity: 1, ..Setup::default() };
    use harness::sut::SutFactory;
    assert!(harness::sut::native::NativeFactory::new(None).start(&s).is_err());
}

/// Failure bound of the readiness waits in the fd-count scenario.
const BOUND: Duration = Duration::from_secs(5);
/// How long the refused client waits for EOF. A closed fd sends FIN at once
/// on loopback; only a leaked fd makes this wait run out.
const EOF_BOUND: Duration = Duration::from_millis(250);

/// An accept into a full table, seen from the process's fd table.
#[derive(Debug, Serialize, Deserialize)]
struct RefusedAccept {
    system_limit: bool,
    /// Open fds (`/proc/self/fd`) right before and after the accept, with
    /// the connection already queued.
    fds_before: usize,
    fds_after: usize,
    ports_before: usize,
    ports_after: usize,
    /// The client read EOF.
    peer_eof: bool,
}

/// Wraps an I/O error with what was being done.
fn err(what: &'static str) -> impl Fn(std::io::Error) -> String {
    move |e| format!("{what}: {e}")
}

/// Runs in a forked child, where no other thread opens or closes fds, so
/// the count of `/proc/self/fd` is exact.
fn refused_accept(bug: Option<PlantedBug>) -> Probe<RefusedAccept> {
    let loopback = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
    let peer_listener = TcpListener::bind(loopback).map_err(err("peer listener"))?;
    let peer_addr = peer_listener.local_addr().map_err(err("peer addr"))?;
    // Two slots: the listen port and the port under test fill the table.
    let mut rt = Runtime::new(Box::new(VirtualClock::new()), 2, 1, bug).map_err(err("runtime"))?;
    let addr = rt.listen(loopback, &[]).map_err(|e| format!("listen: {e:?}"))?;
    rt.connect(peer_addr, SocketOpts::default(), &[]).map_err(|e| format!("connect: {e:?}"))?;
    let (_peer, _) = peer_listener.accept().map_err(err("peer accept"))?;
    let mut client = TcpStream::connect(addr).map_err(err("client connect"))?;
    let listener = rt.listener_fd().ok_or("no listen port")?;
    if poll_fd(listener, libc::POLLIN, BOUND).map_err(err("poll listener"))? & libc::POLLIN == 0 {
        return Err("the client's connection was not queued".into());
    }
    let ports_before = rt.snapshot().ports;
    let fds_before = open_fd_count().map_err(err("count fds"))?;
    let outcome = rt.accept(BOUND).map_err(|e| e.to_string())?;
    let fds_after = open_fd_count().map_err(err("count fds"))?;
    let ports_after = rt.snapshot().ports;
    let rev = poll_fd(client.as_fd(), libc::POLLIN, EOF_BOUND).map_err(err("poll client"))?;
    let peer_eof = rev & libc::POLLIN != 0 && matches!(client.read(&mut [0u8; 1]), Ok(0));
    Ok(RefusedAccept {
        system_limit: outcome == Accepted::SystemLimit,
        fds_before,
        fds_after,
        ports_before,
        ports_after,
        peer_eof,
    })
}

/// PT-2: `system_limit`, the table unchanged, the accepted fd closed (the
/// fd count is what it was before the accept) and the client sees EOF.
fn check_pt2(o: &RefusedAccept) -> Result<(), String> {
    if o.system_limit && o.ports_after == o.ports_before && o.fds_after == o.fds_before && o.peer_eof {
        Ok(())
    } else {
        Err(format!(
            "PT-2: accept into a full table: system_limit {}, ports {} -> {}, open fds {} -> {}, client saw EOF {}",
            o.system_limit, o.ports_before, o.ports_after, o.fds_before, o.fds_after, o.peer_eof
        ))
    }
}

#[test]
fn pt_2_refused_accept_leaves_the_fd_count_unchanged() {
    let o = in_child(Duration::from_secs(20), || refused_accept(None)).unwrap_or_else(|e| panic!("{e}"));
    println!("PT-2 observed: {o:?}");
    check_pt2(&o).unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn pt_2_planted_leak_is_caught_by_the_fd_count() {
    let bug = PlantedBug::LeakAcceptedFd;
    let o = in_child(Duration::from_secs(20), || refused_accept(Some(bug))).unwrap_or_else(|e| panic!("{e}"));
    println!("{bug} observed: {o:?}");
    let e = check_pt2(&o).expect_err("the leaked fd must be caught");
    assert_eq!(o.fds_after, o.fds_before + 1, "{e}");
    assert!(!o.peer_eof, "{e}");
}

/// One round of filling the table by accept until `system_limit`, then
/// closing every accepted port: how many were accepted, and the open fds
/// once they and their clients are closed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Round {
    accepted: usize,
    fds_after: usize,
}

/// Runs in a forked child (exact fd counts, as `refused_accept`).
fn repeated_exhaustion(capacity: usize, rounds: usize, bug: Option<PlantedBug>) -> Probe<(usize, Vec<Round>)> {
    let loopback = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
    let mut rt = Runtime::new(Box::new(VirtualClock::new()), capacity, 1, bug).map_err(err("runtime"))?;
    let addr = rt.listen(loopback, &[]).map_err(|e| format!("listen: {e:?}"))?;
    let fds_before = open_fd_count().map_err(err("count fds"))?;
    let mut out = vec![];
    for _ in 0..rounds {
        let mut clients = vec![];
        let accepted = loop {
            clients.push(TcpStream::connect(addr).map_err(err("client connect"))?);
            let listener = rt.listener_fd().ok_or("no listen port")?;
            if poll_fd(listener, libc::POLLIN, BOUND).map_err(err("poll listener"))? & libc::POLLIN == 0 {
                return Err("the client's connection was not queued".into());
            }
            match rt.accept(BOUND).map_err(|e| e.to_string())? {
                Accepted::Port(_) => continue,
                Accepted::SystemLimit => break clients.len() - 1,
            }
        };
        while rt.close_accepted().map_err(|e| e.to_string())? {}
        drop(clients);
        out.push(Round { accepted, fds_after: open_fd_count().map_err(err("count fds"))? });
    }
    Ok((fds_before, out))
}

/// PT-3/PT-4 repeated (`gen_tcp_misc_SUITE:iter_max_socks`, which opens
/// sockets until failure 20 times and asserts the same count each time):
/// with the listen port in a table of 6, every round accepts exactly the 5
/// free slots (PT-1: the capacity is exact) and, its ports closed (PT-4),
/// leaves the process with the fds it had before the first round.
#[test]
fn pt_4_repeated_exhaustion_accepts_the_same_count_and_leaks_nothing() {
    let (capacity, rounds) = (6, 20);
    let (fds_before, out) = in_child(Duration::from_secs(60), || repeated_exhaustion(capacity, rounds, None))
        .unwrap_or_else(|e| panic!("{e}"));
    let want = Round { accepted: capacity - 1, fds_after: fds_before };
    for (i, r) in out.iter().enumerate() {
        assert_eq!(r, &want, "round {i} of {rounds}: {out:?}");
    }
    assert_eq!(out.len(), rounds);
}

/// The same rounds with the planted fd leak of a refused accept: each
/// round leaves one more fd open, which the comparison above would catch.
#[test]
fn pt_4_repeated_exhaustion_shows_a_leaked_fd_per_round() {
    let bug = Some(PlantedBug::LeakAcceptedFd);
    let (fds_before, out) =
        in_child(Duration::from_secs(60), || repeated_exhaustion(6, 3, bug)).unwrap_or_else(|e| panic!("{e}"));
    let fds: Vec<usize> = out.iter().map(|r| r.fds_after).collect();
    assert_eq!(fds, vec![fds_before + 1, fds_before + 2, fds_before + 3], "{out:?}");
}
