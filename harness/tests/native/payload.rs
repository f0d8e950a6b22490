//! The native runtime's payload synthesis (`native::payload`) against its
//! definition and against the model's, `reference::units::payload` (ST-1:
//! the peer must receive exactly the bytes of the queued sends; the model
//! computes them from `payload_byte`, the runtime from a precomputed
//! period).

use native::payload::{self as runtime, PERIOD};
use proptest::prelude::*;
use reference::units::{self, payload_byte, Bytes};

/// The runtime's payload of `len` bytes for `tag`.
fn payload(tag: u16, len: Bytes) -> Vec<u8> {
    runtime::payload(tag, native::Bytes(len.0))
}

/// Both define the same byte at every offset (two periods, a few tags).
#[test]
fn the_runtime_defines_the_bytes_as_the_model_does() {
    for tag in [0u16, 1, 131, 255, 256, 4242, u16::MAX] {
        for i in 0..2 * PERIOD {
            assert_eq!(runtime::payload_byte(tag, i), payload_byte(tag, i), "ST-1: byte {i} of tag {tag}");
        }
    }
}

/// ST-1: every tag, a length that covers one period and a part of the next
/// for a few tags, and byte-exact equality with the definition.
#[test]
fn payload_is_the_definition_for_every_tag() {
    for tag in 0..=u16::MAX {
        let got = payload(tag, Bytes(300));
        assert_eq!(got, units::payload(tag, Bytes(300)), "ST-1: payload of tag {tag}");
    }
    for tag in [0u16, 1, 255, 256, 4242, u16::MAX] {
        let len = 2 * PERIOD + 1234;
        let got = payload(tag, Bytes(len));
        assert_eq!(got.len(), len, "ST-1: payload length of tag {tag}");
        for (i, &b) in got.iter().enumerate() {
            assert_eq!(b, payload_byte(tag, i), "ST-1: byte {i} of the payload of tag {tag}");
        }
    }
}

#[test]
fn empty_and_period_sized_payloads() {
    assert!(payload(7, Bytes(0)).is_empty(), "WM-5/ST-1: a zero-length send has no bytes");
    for len in [1, PERIOD - 1, PERIOD, PERIOD + 1, 3 * PERIOD] {
        assert_eq!(payload(9, Bytes(len)), units::payload(9, Bytes(len)), "ST-1: payload of length {len}");
    }
}

/// The runtime reuses one buffer from send to send (`payload_into`): what
/// a longer send left in it never leaks into a shorter one's bytes.
#[test]
fn a_reused_buffer_holds_only_the_new_payload() {
    let mut buf = Vec::new();
    for (tag, len) in [(1u16, PERIOD + 17), (2, 64), (3, 0), (4, 1024), (5, 3), (6, 2 * PERIOD + 5)] {
        let got = runtime::payload_into(tag, native::Bytes(len), &mut buf);
        assert_eq!(got, units::payload(tag, Bytes(len)), "ST-1: payload of tag {tag}, {len} bytes, into a used buffer");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    /// ST-1 on random tags and lengths up to four periods.
    #[test]
    fn payload_matches_the_definition(tag in any::<u16>(), len in 0usize..4 * PERIOD) {
        prop_assert_eq!(payload(tag, Bytes(len)), units::payload(tag, Bytes(len)));
    }
}
