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
