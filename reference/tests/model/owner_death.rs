//! The port's owner dies (CL-6), as measured on OTP 25.2.3, 27.3.4.1 and
//! 29.1.2 (harness/beam/probes/probe_owner_handover.erl): with nothing
//! queued the port ends at once, as a killed one (CL-5), and the owner's
//! messages go with the owner.

use crate::support::{model, send, wrote};
use reference::choice::{Activity, Choice};
use reference::observation::{Posix, Reply, SendResult};
use reference::op::Op;
use reference::options::{ActiveSetting, Opt};
use reference::rules::ids;
use reference::units::Bytes;

/// CL-6: the port leaves the table at once under CL-6; later a send and
/// a recv answer as on a closed port, a setopts einval.
#[test]
fn the_owners_death_ends_an_idle_port_at_once() {
    let mut m = model(vec![]);
    let ports = m.step(&Op::QueueSize, &[]).expect("queue").observation.ports;
    let p = m.step(&Op::KillOwner, &[]).expect("CL-6");
    assert_eq!(p.observation.ports, ports - 1);
    assert_eq!(p.why.ports, ids::CL_6);
    let p = m.step(&send(0, 10, 1), &[]).expect("SND-6");
    assert_eq!(p.observation.reply, Reply::Sent(Some(SendResult::Error(Posix::Closed))));
    let p = m.step(&Op::Recv, &[]).expect("a recv on the ended port");
    assert_eq!(p.observation.reply, Reply::Recv(Err(Posix::Closed)));
    let p = m.step(&Op::SetOpts { opts: vec![Opt::HighWatermark(100)] }, &[]).expect("a setopts");
    assert_eq!(p.observation.reply, Reply::SetOpts(Err(Posix::Einval)));
    assert!(!m.enabled(&Op::KillOwner), "the owner dies once");
}

/// CL-6: an active port's data the owner had not taken dies with the
/// owner: the mailbox is empty afterwards.
#[test]
fn the_owners_messages_die_with_it() {
    let mut m = model(vec![Opt::Active(ActiveSetting::True)]);
    m.step(&Op::PeerWrite { len: Bytes(8), tag: 7 }, &[]).expect("PeerWrite");
    m.step(&Op::Quiesce, &[Choice::Ran(Activity::Input), Choice::Read { got: Bytes(8) }]).expect("RX-5");
    m.step(&Op::KillOwner, &[]).expect("CL-6");
    let p = m.step(&Op::Mailbox, &[]).expect("the mailbox");
    assert_eq!(p.observation.reply, Reply::Mailbox(vec![]));
}

/// Not generated with output queued (ERTS flushes it first: measured, not
/// modelled) or a sender waiting on the port.
#[test]
fn the_owner_dies_only_over_an_empty_queue_with_nobody_waiting() {
    let mut m = model(vec![Opt::HighWatermark(64), Opt::LowWatermark(16)]);
    m.step(&send(0, 1000, 1), &[wrote(1000, 900)]).expect("WM-2: 100 queued");
    assert!(!m.enabled(&Op::KillOwner), "output queued");
    m.step(&send(1, 10, 2), &[]).expect("WM-3: S1 blocked");
    assert!(!m.enabled(&Op::KillOwner), "a caller waiting");
}
