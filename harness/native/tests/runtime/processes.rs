//! Sender processes and the suspend list through their public API (SND-1,
//! SND-4). `Processes::len`, `is_empty` and `SuspendList::is_empty` are not
//! called by the runtime itself, so only a test of the type can tell a
//! broken one.

use crate::support::cmd;
use native::process::{Processes, SuspendList};
use native::{SenderId, SenderStatus};

#[test]
fn processes_know_how_many_there_are() {
    let p = Processes::new(3);
    assert_eq!(p.len(), 3);
    assert!(!p.is_empty());
    assert!(p.exists(SenderId(0)) && p.exists(SenderId(2)));
    assert!(!p.exists(SenderId(3)), "ids run 0..len");
    assert!(!p.exists(SenderId(200)));
    assert_eq!(p.statuses(), vec![SenderStatus::Idle; 3]);

    let none = Processes::new(0);
    assert_eq!(none.len(), 0);
    assert!(none.is_empty());
    assert!(!none.exists(SenderId(0)));

    let one = Processes::new(1);
    assert_eq!(one.len(), 1);
    assert!(!one.is_empty());
}

/// SND-1/SND-4: a suspended process stays suspended until it runs; resumed
/// ones run in the order given.
#[test]
fn suspended_processes_resume_in_order() {
    let mut p = Processes::new(3);
    let mut list = SuspendList::default();
    assert!(list.is_empty());
    p.suspend(SenderId(2), cmd(5));
    list.push(SenderId(2));
    assert!(!list.is_empty());
    p.suspend(SenderId(0), cmd(7));
    list.push(SenderId(0));
    p.set_waiting(SenderId(1));
    assert_eq!(p.statuses(), vec![SenderStatus::Suspended, SenderStatus::Waiting, SenderStatus::Suspended]);

    let resumed = list.drain();
    assert_eq!(resumed, vec![SenderId(2), SenderId(0)]);
    assert!(list.is_empty());
    p.make_runnable(resumed);
    assert_eq!(p.peek_runnable(), Some(SenderId(2)));
    assert_eq!(p.next_runnable(), Some((SenderId(2), cmd(5))));
    assert_eq!(p.status(SenderId(2)), SenderStatus::Suspended, "suspended until it actually runs");
    p.set_idle(SenderId(2));
    assert_eq!(p.next_runnable(), Some((SenderId(0), cmd(7))));
    assert_eq!(p.next_runnable(), None);
}

/// CL-5: a killed port takes the resumed processes that have not retried
/// yet, in the order they would have run, once each and only while still
/// suspended (one killed meanwhile, SND-7, is idle); the run queue is
/// left empty.
#[test]
fn the_resumed_processes_not_yet_run_are_taken_in_order_once() {
    let mut p = Processes::new(4);
    for s in [3, 1, 0] {
        p.suspend(SenderId(s), cmd(5));
    }
    p.make_runnable([SenderId(3), SenderId(2), SenderId(1), SenderId(3), SenderId(0)]);
    p.set_idle(SenderId(0));
    assert_eq!(p.take_resumed(), vec![SenderId(3), SenderId(1)]);
    assert_eq!(p.peek_runnable(), None, "the run queue is empty");
    assert_eq!(p.next_runnable(), None);
    assert_eq!(p.status(SenderId(3)), SenderStatus::Suspended, "answering them is the runtime's");
}
