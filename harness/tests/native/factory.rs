//! The native factory's name: what reports and failure files call the
//! system under test.

use harness::sut::native::{NativeFactory, PlantedBug};
use harness::sut::SutFactory;
use reference::op::{Op, Setup};
use std::time::Duration;

/// The factory's name is what reports and failure files call the system:
/// `native`, or `native+<bug>` with a planted bug.
#[test]
fn the_factory_names_the_system_and_its_bug() {
    assert_eq!(NativeFactory::new(None).name(), "native");
    for b in PlantedBug::ALL {
        assert_eq!(NativeFactory::new(Some(*b)).name(), format!("native+{}", b.name()));
    }
}

/// The executor shortens the waits for progress while it shrinks a stall
/// (`with_stall_bound`): the native factory takes the bound, keeps its
/// planted bug, and its runtimes report a stall (AwaitIo, AwaitPeer with
/// nothing to come) as a stall after that bound, naming it.
#[test]
fn a_stall_bound_applies_to_the_waits_for_progress() {
    let bound = Duration::from_millis(30);
    for bug in [None, Some(PlantedBug::ALL[0])] {
        let f = NativeFactory::new(bug).with_stall_bound(bound).expect("the native factory takes a stall bound");
        assert_eq!(f.name(), NativeFactory::new(bug).name(), "the same system");
        let mut sut = f.start(&Setup::default()).expect("starts");
        for op in [Op::AwaitIo, Op::AwaitPeer] {
            let e = sut.apply(&op).expect_err("nothing to wait for");
            assert!(e.is_stall(), "{op:?}: {e}");
            assert!(e.0.contains(&format!("within {bound:?}")), "{op:?}: {e}");
        }
    }
}
