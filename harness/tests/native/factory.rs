//! The native factory's name: what reports and failure files call the
//! system under test.

use harness::sut::native::{NativeFactory, PlantedBug};
use harness::sut::SutFactory;

/// The factory's name is what reports and failure files call the system:
/// `native`, or `native+<bug>` with a planted bug.
#[test]
fn the_factory_names_the_system_and_its_bug() {
    assert_eq!(NativeFactory::new(None).name(), "native");
    for b in PlantedBug::ALL {
        assert_eq!(NativeFactory::new(Some(*b)).name(), format!("native+{}", b.name()));
    }
}
