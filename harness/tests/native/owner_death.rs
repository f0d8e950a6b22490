//! CL-6: the owner of the port under test dies (`Op::KillOwner`) over a
//! real loopback connection, in lockstep with the model: with nothing
//! queued the port ends at once as a killed one (CL-5), and the owner's
//! messages go with the owner.

use crate::support::*;
use harness::executor::run_case_reading_the_end;
use harness::sut::native::{NativeFactory, PlantedBug};
use reference::observation::{PeerRead, Reply};
use reference::op::Op;
use reference::options::{ActiveSetting, Opt};
use reference::rules::ids;
use reference::units::Bytes;

/// The peer's 5 bytes reach the port (and, `active`, the owner's
/// mailbox); the owner dies; the mailbox; the peer reads the end.
fn owner_dies(active: bool, bug: Option<PlantedBug>) -> harness::executor::CaseOutcome {
    let options = if active { vec![Opt::Active(ActiveSetting::True)] } else { vec![] };
    let ops = [
        Op::PeerWrite { len: Bytes(5), tag: 1 },
        Op::Quiesce,
        Op::KillOwner,
        Op::Mailbox,
        Op::PeerRead { max: Bytes(4096) },
    ];
    run_case_reading_the_end(&NativeFactory::new(bug), &setup(options), &ops)
}

/// The peer's last read: a reset over the input the port had not read
/// (passive, CL-3), EOF when the driver had read it (active); the
/// active data in the owner's mailbox is gone with the owner.
#[rstest::rstest]
#[case::input_unread(false, PeerRead::Reset)]
#[case::input_in_the_owners_mailbox(true, PeerRead::Eof)]
fn the_owners_death_ends_the_port_and_its_messages(#[case] active: bool, #[case] end: PeerRead) {
    let out = owner_dies(active, None);
    assert!(out.passed(), "the model disagrees: {}", out.failure.map(|f| f.to_string()).unwrap_or_default());
    assert_eq!(out.skipped_ops, 0);
    assert!(out.touched.contains_key(&ids::CL_6));
    let observed = |op: &Op| out.trace.iter().find(|t| t.op == *op).and_then(|t| t.observed.clone()).expect("observed");
    assert_eq!(observed(&Op::KillOwner).ports, observed(&Op::Quiesce).ports - 1, "CL-6: out of the table at once");
    assert_eq!(observed(&Op::Mailbox).reply, Reply::Mailbox(vec![]), "CL-6: the owner's messages are gone");
    let last = out.trace.iter().rev().find_map(|t| match (&t.op, &t.observed) {
        (Op::PeerRead { .. }, Some(o)) => match &o.reply {
            Reply::Peer(r) => Some(r.clone()),
            _ => None,
        },
        _ => None,
    });
    assert_eq!(last, Some(end));
}

/// The planted port-outlives-owner leaves the port open and in the table:
/// the kill's step shows it, under CL-6.
#[test]
fn a_port_that_outlives_its_owner_is_caught_under_cl6() {
    let out = owner_dies(false, Some(PlantedBug::PortOutlivesOwner));
    let f = out.failure.expect("the leak is caught");
    assert_eq!(f.rule(), Some(ids::CL_6), "{f}");
}
