//! The port-task queue through its public API (MQ-3..MQ-6, and the planted
//! msgq-busy-ge bug exactly as documented).

use crate::support::cmd;
use native::bugs::{Faults, PlantedBug};
use native::port_task::{MsgqLimits, Task, TaskQueue};
use native::process::Command;
use native::{Bytes, SendFlags, SenderId};

fn task(sender: u8, len: usize) -> Task {
    Task { sender: SenderId(sender), cmd: cmd(len) }
}

const LIMITS: MsgqLimits = MsgqLimits { high: Bytes(100), low: Bytes(50) };

/// MQ-3 (busy strictly above high) and MQ-4 (clear strictly below low).
#[test]
fn task_queue_busy_and_unbusy_at_the_limits() {
    let mut q = TaskQueue::default();
    q.schedule(task(0, 60), LIMITS, Faults(None));
    q.schedule(task(1, 40), LIMITS, Faults(None));
    assert_eq!(q.size(), Bytes(100));
    assert!(!q.is_busy(), "MQ-3: 100 is not > 100");
    q.schedule(task(2, 1), LIMITS, Faults(None));
    assert!(q.is_busy(), "MQ-3: 101 > 100");

    let t = q.take(q.next_runnable(false).unwrap());
    assert_eq!(t, task(0, 60));
    assert!(q.done(&t, LIMITS), "MQ-4: 41 < 50 clears msgq-busy");
    assert!(!q.is_busy());
    assert_eq!(q.size(), Bytes(41));
}

#[test]
fn task_queue_unbusies_strictly_below_low() {
    let mut q = TaskQueue::default();
    for (s, len) in [(0, 50), (1, 51)] {
        q.schedule(task(s, len), LIMITS, Faults(None));
    }
    assert!(q.is_busy());
    let t = q.take(0);
    assert_eq!(t.sender, SenderId(0));
    assert!(!q.done(&t, LIMITS), "MQ-4: 51 is not < 50");
    assert!(q.is_busy());
    let t = q.take(0);
    assert!(q.done(&t, LIMITS), "MQ-4: 0 < 50");
    assert!(!q.is_busy());
    assert!(q.is_empty());
}

/// The planted bug msgq-busy-ge is exactly `size >= high_msgq`.
#[test]
fn planted_msgq_busy_ge_is_busy_at_equality_only_from_there() {
    let bug = Faults(Some(PlantedBug::MsgqBusyAtGe));
    let mut q = TaskQueue::default();
    q.schedule(task(0, 99), LIMITS, bug);
    assert!(!q.is_busy(), "99 < 100: not busy even with the bug");
    q.schedule(task(1, 1), LIMITS, bug);
    assert!(q.is_busy(), "the bug: 100 >= 100");
}

/// A port that goes away aborts every task, in order, and its msgq empties.
#[test]
fn abort_all_returns_every_task_in_order() {
    let mut q = TaskQueue::default();
    q.schedule(task(1, 70), LIMITS, Faults(None));
    q.schedule(task(0, 40), LIMITS, Faults(None));
    assert!(q.is_busy());
    let aborted = q.abort_all();
    assert_eq!(aborted, vec![task(1, 70), task(0, 40)]);
    assert!(q.is_empty());
    assert_eq!(q.size(), Bytes(0));
    assert!(!q.is_busy());
    assert_eq!(q.abort_all(), vec![]);
}

/// MQ-5/MQ-6/SND-3: with the driver busy only forced and nosuspend tasks run.
#[test]
fn which_task_runs_on_a_busy_driver() {
    let mut q = TaskQueue::default();
    let plain = task(0, 1);
    let nosuspend =
        Task { sender: SenderId(1), cmd: Command { flags: SendFlags { nosuspend: true, force: false }, ..cmd(1) } };
    let force =
        Task { sender: SenderId(2), cmd: Command { flags: SendFlags { nosuspend: false, force: true }, ..cmd(1) } };
    q.schedule(plain, LIMITS, Faults(None));
    assert_eq!(q.next_runnable(true), None);
    assert_eq!(q.next_runnable(false), Some(0));
    q.schedule(nosuspend, LIMITS, Faults(None));
    q.schedule(force, LIMITS, Faults(None));
    assert_eq!(q.next_runnable(true), Some(1));
    assert!(nosuspend.aborts_on_busy_driver());
    assert!(!force.aborts_on_busy_driver());
    assert!(!plain.aborts_on_busy_driver());
}
