//! The port table through its public API (PT-2..PT-4). Written to kill
//! mutants `make mutants` found missed: several of its accessors
//! (`PortTable::capacity`, `is_empty`, `get`, `get_mut`, `contains`) are not
//! called by the runtime itself, so only a test of the type can tell a
//! broken one.

use native::port_table::{PortId, PortTable, TableFull};

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
