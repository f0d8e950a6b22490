//! DIFF-INET-3: on OTP's inet driver gen_tcp:close waits for the queue to
//! empty, and the port keeps its table slot until its output is flushed.

use crate::support::{model, send, wrote};
use reference::choice::Choice;
use reference::op::Op;
use reference::variant::Variant;

/// DIFF-INET-3: on OTP's inet driver, gen_tcp:close with queued output
/// waits for the queue to empty, and only then may the close go on; with
/// nothing queued it closes at once.
#[test]
fn otp_close_waits_for_the_queue() {
    use reference::choice::Activity;
    let mut m = model(vec![]).into_variant(Variant::OtpInet);
    m.step(&Op::Close, &[]).unwrap();
    assert!(!m.socket_open() && !m.close_pending(), "nothing queued: closed at once");
    let mut m = model(vec![]).into_variant(Variant::OtpInet);
    m.step(&send(0, 5000, 1), &[wrote(5000, 0)]).unwrap();
    m.step(&Op::Close, &[]).unwrap();
    assert!(m.socket_open() && !m.close_pending(), "DIFF-INET-3: waiting for the queue");
    m.step(&Op::AwaitIo, &[Choice::Ran(Activity::Output), wrote(5000, 5000)]).unwrap();
    assert!(m.close_pending(), "the queue is empty: the close may go on");
}

/// DIFF-INET-3: the closer's `{empty_out_q,S}` notice counts from the close
/// on — a queue that emptied before gen_tcp:close was called is no notice —
/// and once given it stands, even after output was queued again.
#[test]
fn otp_close_notice_counts_from_the_close() {
    use reference::choice::Activity;
    let mut m = model(vec![]).into_variant(Variant::OtpInet);
    m.step(&send(0, 5000, 1), &[wrote(5000, 0)]).unwrap();
    m.step(&Op::AwaitIo, &[Choice::Ran(Activity::Output), wrote(5000, 5000)]).unwrap();
    m.step(&send(0, 3000, 2), &[wrote(3000, 0)]).unwrap();
    m.step(&Op::Close, &[]).unwrap();
    assert!(!m.close_pending(), "DIFF-INET-3: the queue that emptied before the close is no notice");
    m.step(&Op::AwaitIo, &[Choice::Ran(Activity::Output), wrote(3000, 3000)]).unwrap();
    m.step(&send(1, 100, 3), &[wrote(100, 0)]).unwrap();
    assert!(m.close_pending(), "DIFF-INET-3: the notice stands after the queue refilled");
    let closed = m.step(&Op::Quiesce, &[Choice::Ran(Activity::PendingClose)]).unwrap();
    let flushed = m.step(&Op::AwaitIo, &[Choice::Ran(Activity::Output), wrote(100, 100)]).unwrap();
    assert_eq!(
        flushed.observation.ports + 1,
        closed.observation.ports,
        "DIFF-INET-3: closed with 100 queued, the port keeps its slot until they are flushed"
    );
}
