//! What an activity may do with the kernel's and the clock's choices:
//! output writes until EAGAIN (ST-2) and checks low_watermark only after a
//! write that took bytes (WM-4), input reads part of what arrived (RX-5),
//! and the send timer fires only once due (TO-1).

use crate::support::{model, send, wrote};
use reference::choice::Choice;
use reference::op::Op;
use reference::options::Opt;
use reference::rules::ids;
use reference::units::{Bytes, SenderId};

/// WM-4 in the model: the low-watermark check follows a write from the
/// queue that took bytes, on a busy port only. A write that took nothing
/// leaves busy as it was although the queue is below a raised low; a
/// write on a port that is not busy crosses nothing.
#[test]
fn wm4_follows_a_write_that_took_bytes_on_a_busy_port() {
    use reference::choice::Activity;
    let mut m = model(vec![Opt::HighWatermark(4000), Opt::LowWatermark(1000)]);
    m.step(&send(0, 5000, 1), &[wrote(5000, 0)]).unwrap();
    m.step(&send(0, 10, 2), &[]).unwrap();
    m.step(&Op::SetOpts { opts: vec![Opt::HighWatermark(20000), Opt::LowWatermark(10000)] }, &[]).unwrap();
    let p = m.clone().step(&Op::Quiesce, &[Choice::Ran(Activity::Output), wrote(5010, 0)]).unwrap();
    assert!(p.observation.busy.unwrap().driver && p.observation.completed.is_empty(), "EAGAIN: still busy");
    let p = m.step(&Op::Quiesce, &[Choice::Ran(Activity::Output), wrote(5010, 10)]).unwrap();
    assert!(!p.observation.busy.unwrap().driver, "WM-4: 5000 <= 10000 after a write that took bytes");
    assert_eq!(p.observation.completed, vec![(SenderId(0), reference::observation::SendResult::Ok)]);

    let mut m = model(vec![Opt::HighWatermark(40000), Opt::LowWatermark(20000)]);
    m.step(&send(0, 5000, 1), &[wrote(5000, 0)]).unwrap();
    let p = m.step(&Op::Quiesce, &[Choice::Ran(Activity::Output), wrote(5000, 100)]).unwrap();
    assert!(p.observation.completed.is_empty());
    assert_eq!(m.crossings().get(&ids::WM_4), None, "not busy: WM-4 not crossed");
}

/// ST-2: an output activity may write more than once (until EAGAIN), each
/// write asking for what is left; a write with nothing left is an error.
#[test]
fn an_output_activity_may_write_until_the_queue_is_empty() {
    use reference::choice::Activity;
    let mut m = model(vec![]);
    m.step(&send(0, 5000, 1), &[wrote(5000, 0)]).unwrap();
    let p =
        m.clone().step(&Op::Quiesce, &[Choice::Ran(Activity::Output), wrote(5000, 3000), wrote(2000, 2000)]).unwrap();
    assert_eq!(p.observation.queue, Bytes(0));
    let e = m.step(&Op::Quiesce, &[Choice::Ran(Activity::Output), wrote(5000, 5000), wrote(0, 0)]).unwrap_err();
    assert_eq!(e.rule, ids::ST_2, "{e}");
}

/// RX-5: an input activity may read less than what arrived, one message
/// per read, as the driver's 1460-byte buffer does.
#[test]
fn an_input_activity_reads_part_of_what_arrived() {
    use reference::choice::Activity;
    use reference::observation::{OwnerMsg, Reply};
    let mut m = model(vec![Opt::Active(reference::options::ActiveSetting::True)]);
    m.step(&Op::PeerWrite { len: Bytes(3000), tag: 7 }, &[]).unwrap();
    let read = |n| Choice::Read { got: Bytes(n) };
    m.step(&Op::Quiesce, &[Choice::Ran(Activity::Input), read(1460), read(1460), read(80)]).unwrap();
    let p = m.step(&Op::Mailbox, &[]).unwrap();
    let Reply::Mailbox(msgs) = p.observation.reply else { panic!("a mailbox") };
    let sizes: Vec<usize> = msgs.iter().map(|m| if let OwnerMsg::Tcp(d) = m { d.len() } else { 0 }).collect();
    assert_eq!(sizes, vec![1460, 1460, 80]);
}

/// TO-1 on a virtual clock: the send timer fires only once it is due; a
/// runtime that reports it earlier is refused.
#[test]
fn to_1_no_send_timeout_before_it_is_due() {
    use reference::choice::Activity;
    use reference::options::Timeout;
    use reference::units::Millis;
    let mut m =
        model(vec![Opt::HighWatermark(100), Opt::LowWatermark(50), Opt::SendTimeout(Timeout::After(Millis(5)))]);
    m.step(&send(0, 300, 1), &[wrote(300, 150)]).unwrap();
    m.step(&send(1, 10, 2), &[]).unwrap();
    assert!(
        m.clone().step(&Op::AdvanceTime { by: Millis(4) }, &[Choice::Ran(Activity::SendTimeout)]).is_err(),
        "TO-1: 4 ms of 5"
    );
    m.step(&Op::AdvanceTime { by: Millis(5) }, &[Choice::Ran(Activity::SendTimeout)]).expect("TO-1: due at 5 ms");
}
