//! Accepting into a full port table (PT-2, PT-3, PT-4).

use crate::support::{setup, Case, R};
use harness::sut::beam::Backend;
use reference::observation::{AcceptOutcome, Posix, Reply};
use reference::op::{Op, Setup};

/// The 2011 seed: accept into a full table fails with system_limit and the
/// accepted fd is closed, so the client sees EOF (PT-2); opening a port
/// fails too (PT-3); closing an accepted port frees its slot (PT-4).
pub fn accept_full_table(b: Backend) -> R {
    let mut c = Case::new(b, Setup { table_capacity: 3, ..setup(vec![], 2) })?;
    let s = c.step(Op::Accept);
    let s = match s {
        Ok(s) => s,
        Err(e) => {
            ensure!(b == Backend::Socket, "{e}");
            println!("  accept: {e}");
            // Still show what open_extra does with a full table.
            let s = c.step(Op::OpenExtra)?;
            println!("  open_extra -> {:?} (ports {})", s.observation.reply, s.observation.ports);
            return Ok(());
        }
    };
    ensure!(matches!(s.observation.reply, Reply::Accept(AcceptOutcome::Accepted(_))), "{:?}", s.observation.reply);
    ensure!(s.observation.ports == 3, "ports {}", s.observation.ports);
    let s = c.step(Op::Accept)?;
    ensure!(
        s.observation.reply == Reply::Accept(AcceptOutcome::Failed { error: Posix::SystemLimit, peer_eof: true }),
        "PT-2: {:?}",
        s.observation.reply
    );
    let s = c.step(Op::OpenExtra)?;
    ensure!(s.observation.reply == Reply::Opened(Err(Posix::SystemLimit)), "PT-3: {:?}", s.observation.reply);
    let s = c.step(Op::CloseAccepted)?;
    ensure!(s.observation.reply == Reply::Closed(Ok(())), "{:?}", s.observation.reply);
    ensure!(s.observation.ports == 2, "PT-4: ports {} after close", s.observation.ports);
    let s = c.step(Op::Accept)?;
    ensure!(
        matches!(s.observation.reply, Reply::Accept(AcceptOutcome::Accepted(_))),
        "PT-4: {:?}",
        s.observation.reply
    );
    Ok(())
}

/// PT-3/PT-4 repeated on the node's real port table (`port_SUITE:
/// iter_max_ports` opens ports until failure 10 times and asserts the
/// same maximum each time; `gen_tcp_misc_SUITE:iter_max_socks` the same
/// for sockets): every round accepts until `system_limit`, then closes
/// every port it accepted. Each round must accept exactly the slots the
/// table has free (PT-1: `table_capacity` less the listener and the port
/// under test), and closing them must give every slot back (PT-4), so the
/// next round finds the same number. The ports are gen_tcp's, opened by
/// accept: each takes a slot of the same table open_port fills.
pub fn accept_full_table_repeatedly(b: Backend) -> R {
    const ROUNDS: usize = 10;
    let capacity = 6;
    let mut c = Case::new(b, Setup { table_capacity: capacity, ..setup(vec![], 1) })?;
    let in_use = c.step(Op::QueueSize)?.observation.ports;
    let free = capacity - in_use;
    ensure!(free > 0, "PT-1: no free slot in a table of {capacity} with {in_use} ports");
    for round in 0..ROUNDS {
        let mut accepted = 0;
        loop {
            let s = c.step(Op::Accept)?;
            match s.observation.reply {
                Reply::Accept(AcceptOutcome::Accepted(_)) => accepted += 1,
                Reply::Accept(AcceptOutcome::Failed { error: Posix::SystemLimit, peer_eof: true }) => break,
                r => return Err(format!("round {round}: PT-2: accept {} -> {r:?}", accepted + 1)),
            }
            ensure!(accepted <= free, "round {round}: PT-3: {accepted} accepted, {free} slots were free");
        }
        ensure!(accepted == free, "round {round}: PT-3: {accepted} accepted before system_limit, {free} slots free");
        for _ in 0..accepted {
            let s = c.step(Op::CloseAccepted)?;
            ensure!(s.observation.reply == Reply::Closed(Ok(())), "round {round}: {:?}", s.observation.reply);
        }
        let ports = c.step(Op::QueueSize)?.observation.ports;
        ensure!(
            ports == in_use,
            "round {round}: PT-4: {ports} ports after closing every accepted one, {in_use} before"
        );
    }
    Ok(())
}
