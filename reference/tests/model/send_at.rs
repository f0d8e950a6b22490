//! How a generated `SendAt` resolves: to the send that brings the driver
//! queue to a watermark + delta (WM-3's edge, WM-4's), or the msgq to
//! a msgq watermark + delta (MQ-3's, MQ-4's), clamped to 0..=SEND_AT_MAX.

use crate::support::{model, send, wrote};
use reference::model::Model;
use reference::op::{Mark, Op, SendFlags};
use reference::options::Opt;
use reference::units::{Bytes, SenderId};

fn send_at(mark: Mark, delta: i8) -> Op {
    Op::SendAt { sender: SenderId(0), mark, delta, tag: 1, flags: SendFlags::default() }
}

/// `SendAt` resolves to the send that brings the driver queue to
/// high_watermark + delta (WM-3's edge), or the msgq to high_msgq + delta
/// (MQ-3's), clamped to 0..=SEND_AT_MAX.
#[test]
fn send_at_resolves_relative_to_the_mark() {
    let mut m = model(vec![Opt::HighWatermark(5000), Opt::LowWatermark(100), Opt::HighMsgqWatermark(3000)]);
    let len = |m: &Model, op: Op| match m.resolve(&op) {
        Op::Send { len, .. } => len.0,
        other => panic!("resolved to {other:?}"),
    };
    assert_eq!(len(&m, send_at(Mark::High, 0)), 5000);
    m.step(&send(1, 1200, 1), &[wrote(1200, 0)]).unwrap();
    assert_eq!(m.queued(), Bytes(1200), "WM-2: nothing taken, all queued");
    assert_eq!(len(&m, send_at(Mark::High, 0)), 3800);
    assert_eq!(len(&m, send_at(Mark::High, 7)), 3807);
    assert_eq!(len(&m, send_at(Mark::High, -7)), 3793);
    assert_eq!(len(&m, send_at(Mark::HighMsgq, 3)), 3003);
    let m = model(vec![Opt::HighWatermark(10), Opt::LowWatermark(5)]);
    assert_eq!(len(&m, send_at(Mark::High, -100)), 0, "clamped at 0");
    let m = model(vec![Opt::HighWatermark(1 << 20), Opt::LowWatermark(5)]);
    assert_eq!(len(&m, send_at(Mark::High, 0)), reference::model::SEND_AT_MAX.0, "clamped at SEND_AT_MAX");
    assert_eq!(m.resolve(&send(0, 5, 9)), send(0, 5, 9), "a plain send stays as it is");
}

/// The low marks too (issue 15): a send that brings the driver queue to
/// low_watermark + delta (WM-4's `<=` as later writes drain it), or the
/// msgq to low_msgq + delta (MQ-4's `<`).
#[test]
fn send_at_resolves_relative_to_the_low_marks() {
    let mut m = model(vec![Opt::HighWatermark(5000), Opt::LowWatermark(2000), Opt::LowMsgqWatermark(300)]);
    let len = |m: &Model, op: Op| match m.resolve(&op) {
        Op::Send { len, .. } => len.0,
        other => panic!("resolved to {other:?}"),
    };
    assert_eq!(len(&m, send_at(Mark::Low, 0)), 2000);
    m.step(&send(1, 1200, 1), &[wrote(1200, 0)]).unwrap();
    assert_eq!(len(&m, send_at(Mark::Low, 1)), 801);
    assert_eq!(len(&m, send_at(Mark::LowMsgq, -1)), 299);
}
