//! The rule a stall is blamed on (`Model::progress_rule`): bytes the
//! kernel took must reach the peer and queued bytes on an open socket must
//! be written (ST-1), a delay_send flush is DS-2's, a closed port's flush
//! CL-1's; with nothing taken or queued nothing is owed.

use crate::support::{model, send, wrote};
use reference::choice::Choice;
use reference::op::Op;
use reference::options::Opt;
use reference::rules::ids;
use reference::units::Bytes;

fn peer_got(n: usize) -> [Choice; 1] {
    [Choice::PeerGot { got: Bytes(n) }]
}

/// ST-1: a port with nothing queued and nothing unread owes no progress,
/// so a runtime that stays idle then is not blamed for a stall.
#[test]
fn st_1_an_idle_port_owes_no_progress() {
    let mut m = model(vec![]);
    assert_eq!(m.progress_rule(), None, "nothing sent yet");
    m.step(&send(0, 100, 1), &[wrote(100, 100)]).expect("WM-2: all taken");
    assert_eq!(m.progress_rule(), Some(ids::ST_1), "ST-1: 100 bytes taken must reach the peer");
    m.step(&Op::PeerRead { max: Bytes(1000) }, &peer_got(99)).expect("ST-1: 99 read");
    assert_eq!(m.progress_rule(), Some(ids::ST_1), "ST-1: one byte still on its way");
    m.step(&Op::PeerRead { max: Bytes(1000) }, &peer_got(1)).expect("ST-1: the last byte");
    assert_eq!(m.progress_rule(), None, "everything arrived: nothing owed");
}

/// ST-1, DS-2, CL-1: queued bytes on an open socket must be written; the
/// rule owed depends on why they wait.
#[test]
fn queued_bytes_are_owed_to_the_rule_that_writes_them() {
    let mut m = model(vec![]);
    m.step(&send(0, 100, 1), &[wrote(100, 40)]).expect("WM-2: 60 queued");
    assert_eq!(m.progress_rule(), Some(ids::ST_1), "ST-1: the queue must be written");
    let mut m = model(vec![Opt::DelaySend(true)]);
    m.step(&send(0, 100, 1), &[]).expect("DS-1: queued, flush armed");
    assert_eq!(m.progress_rule(), Some(ids::DS_2), "DS-2: the armed flush");
    let mut m = model(vec![]);
    m.step(&send(0, 100, 1), &[wrote(100, 40)]).expect("WM-2: 60 queued");
    m.step(&Op::Close, &[]).expect("CL-1: close with output queued");
    assert_eq!(m.progress_rule(), Some(ids::CL_1), "CL-1: the closed port's flush");
}
