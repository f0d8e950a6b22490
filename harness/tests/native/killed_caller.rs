//! SND-8: the caller blocked on a busy port's reply killed
//! (`Op::KillCaller`) over a real loopback connection, in lockstep with
//! the model: its bytes reach the peer, the suspended sender sends, and
//! nobody gets the dead caller's reply.

use crate::support::*;
use harness::executor::run_case_reading_the_end;
use harness::sut::native::{NativeFactory, PlantedBug};
use reference::observation::SendResult;
use reference::op::{Op, SendFlags, Setup};
use reference::options::Opt;
use reference::rules::ids;
use reference::units::{Bytes, SenderId};

const fn send(sender: u8, len: usize, tag: u16) -> Op {
    Op::Send { sender: SenderId(sender), len: Bytes(len), tag, flags: SendFlags { nosuspend: false, force: false } }
}

/// S0 leaves most of 100 KB queued, S1 blocks on its reply, S2 suspends;
/// S1 is killed; the peer reads everything.
fn caller_killed(bug: Option<PlantedBug>) -> harness::executor::CaseOutcome {
    let setup = Setup { senders: 3, ..setup(vec![Opt::HighWatermark(64), Opt::LowWatermark(16)]) };
    let ops = [send(0, 100_000, 1), send(1, 10, 2), send(2, 10, 3), Op::KillCaller { sender: SenderId(1) }];
    run_case_reading_the_end(&NativeFactory::new(bug), &setup, &ops)
}

#[test]
fn a_killed_callers_bytes_are_written_and_its_reply_goes_to_nobody() {
    let out = caller_killed(None);
    assert!(out.passed(), "the model disagrees: {}", out.failure.map(|f| f.to_string()).unwrap_or_default());
    assert_eq!(out.skipped_ops, 0, "the kill met the blocked caller");
    assert!(out.touched.contains_key(&ids::SND_8));
    let done: Vec<_> = out.trace.iter().filter_map(|t| t.observed.as_ref()).flat_map(|o| o.completed.clone()).collect();
    assert!(done.contains(&(SenderId(2), SendResult::Ok)), "SND-4: the suspended sender sent: {done:?}");
    assert!(!done.iter().any(|(s, _)| *s == SenderId(1)), "SND-8: nothing for the killed caller's id: {done:?}");
}

/// The planted killed-caller-answered hands the dead caller's reply to
/// the fresh process in its place: caught under SND-8.
#[test]
fn a_reply_reaching_the_killed_callers_successor_is_caught_under_snd8() {
    let f = caller_killed(Some(PlantedBug::KilledCallerAnswered)).failure.expect("the stray reply is caught");
    assert_eq!(f.rule(), Some(ids::SND_8), "{f}");
}
