//! The native runtime's bookkeeping types through their public API: the
//! port table (PT-2..PT-4), sender processes and the suspend list (SND-1,
//! SND-4), the port-task queue (MQ-3, MQ-4, and the planted msgq-busy-ge
//! bug exactly as documented). Written to kill mutants `make mutants` found
//! missed: several of these accessors (`PortTable::capacity`, `is_empty`,
//! `get`, `get_mut`, `contains`, `Processes::len`, `is_empty`,
//! `SuspendList::is_empty`) are not called by the runtime itself, so only a
//! test of the type can tell a broken one.

use harness::native::bugs::{Faults, PlantedBug};
use harness::native::port_table::{PortId, PortTable, TableFull};
use harness::native::port_task::{MsgqLimits, Task, TaskQueue};
use harness::native::process::{Command, Processes, SuspendList};
use reference::observation::SenderStatus;
use reference::op::SendFlags;
use reference::units::{Bytes, SenderId};

#[test]
fn port_ids_print_like_erlang_ports() {
    assert_eq!(PortId(0).to_string(), "#Port<0.0>");
    assert_eq!(PortId(17).to_string(), "#Port<0.17>");
}

/// PT-3/PT-4: a table of exactly `capacity` slots; `check_free` refuses
/// before anything is opened once it is full; removing frees the slot.
#[test]
fn port_table_counts_slots_and_finds_entries() {
    let mut t = PortTable::with_capacity(3);
    assert_eq!(t.capacity(), 3);
    assert!(t.is_empty());
    assert_eq!(t.len(), 0);
    assert_eq!(t.check_free(), Ok(()));

    let a = t.insert("a").unwrap();
    let b = t.insert("b").unwrap();
    assert!(!t.is_empty());
    assert_eq!(t.len(), 2);
    assert_eq!(t.capacity(), 3, "capacity does not change with use");
    assert_eq!(t.check_free(), Ok(()));
    assert_eq!(t.get(a), Some(&"a"));
    assert_eq!(t.get(b), Some(&"b"));
    assert!(t.contains(a) && t.contains(b));
    assert!(!t.contains(PortId(2)), "an empty slot holds no port");
    assert!(!t.contains(PortId(99)), "an id past the table holds no port");
    assert_eq!(t.get(PortId(99)), None);

    *t.get_mut(b).unwrap() = "B";
    assert_eq!(t.get(b), Some(&"B"));
    assert!(t.get_mut(PortId(2)).is_none());

    let c = t.insert("c").unwrap();
    assert!(t.is_full());
    assert_eq!(t.check_free(), Err(TableFull), "PT-3: a full table refuses up front");
    assert_eq!(t.insert("d"), Err(TableFull));

    // PT-4
    assert_eq!(t.remove(b), Some("B"));
    assert!(!t.contains(b));
    assert_eq!(t.get(b), None);
    assert_eq!(t.check_free(), Ok(()));
    assert_eq!(t.remove(b), None, "removing twice frees once");
    assert_eq!(t.len(), 2);
    assert_eq!(t.remove(a), Some("a"));
    assert_eq!(t.remove(c), Some("c"));
    assert!(t.is_empty());
}

#[test]
fn a_table_of_one_slot() {
    let mut t = PortTable::with_capacity(1);
    assert_eq!(t.capacity(), 1);
    let a = t.insert(()).unwrap();
    assert_eq!(t.check_free(), Err(TableFull));
    assert!(t.contains(a));
    let empty: PortTable<()> = PortTable::with_capacity(0);
    assert_eq!(empty.capacity(), 0);
    assert!(empty.is_empty() && empty.is_full());
}

fn cmd(len: usize) -> Command {
    Command { len: Bytes(len), tag: 1, flags: SendFlags::default() }
}

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
