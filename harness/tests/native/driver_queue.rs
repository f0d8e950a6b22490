//! The tcp driver through the adapter, at the boundaries `make mutants`
//! found untested: how many read syscalls active delivery makes (RX-5),
//! close with scheduled tasks (SND-6, MQ-4) and with the driver still busy
//! (CL-1, SND-1), the planted bugs high-gt and low-lt exactly as documented
//! (WM-3, WM-4), a closed port flushing after its send timer, and a
//! scheduled nosuspend send on a busy driver (MQ-6).
//!
//! No sleeps: every wait is a readiness wait with a failure bound.

use crate::support::*;
use harness::sut::native::PlantedBug;
use reference::choice::{Activity, Choice};
use reference::observation::{OwnerMsg, Posix, Reply, SendResult, SenderStatus};
use reference::op::{Op, SendFlags, Setup};
use reference::options::{ActiveSetting, Opt, Timeout};
use reference::units::{payload, Bytes, Millis, SenderId};

/// RX-5 with the driver's input buffer of 1460 bytes: active delivery reads
/// until the kernel holds nothing more, and asks FIONREAD rather than make
/// one more read that would fail with EAGAIN.
#[test]
fn active_delivery_reads_exactly_what_arrived() {
    let mut c = start(&setup(vec![Opt::Active(ActiveSetting::True)]));
    c.apply(Op::PeerWrite { len: Bytes(100), tag: 1 });
    let s = c.apply(Op::Quiesce);
    assert_eq!(s.choices, vec![Choice::Ran(Activity::Input), Choice::Read { got: Bytes(100) }]);
    assert_eq!(c.apply(Op::Mailbox).observation.reply, Reply::Mailbox(vec![OwnerMsg::Tcp(payload(1, Bytes(100)))]));

    c.apply(Op::PeerWrite { len: Bytes(3000), tag: 2 });
    let s = c.apply(Op::Quiesce);
    let r = |n| Choice::Read { got: Bytes(n) };
    assert_eq!(s.choices, vec![Choice::Ran(Activity::Input), r(1460), r(1460), r(80)]);
    let whole = payload(2, Bytes(3000));
    assert_eq!(
        c.apply(Op::Mailbox).observation.reply,
        Reply::Mailbox(vec![
            OwnerMsg::Tcp(whole[..1460].to_vec()),
            OwnerMsg::Tcp(whole[1460..2920].to_vec()),
            OwnerMsg::Tcp(whole[2920..].to_vec()),
        ])
    );
    // Nothing left: a later quiescence reads nothing.
    assert!(c.apply(Op::Quiesce).choices.is_empty());
}

/// SND-6 and MQ-4 at close: scheduled tasks are aborted with
/// `{error, closed}`; msgq-busy ends with them, so the sender suspended on
/// it resumes, retries on the closed port and gets `{error, closed}` too.
#[test]
fn close_aborts_scheduled_tasks_and_resumes_the_suspended() {
    let s = Setup { options: vec![Opt::HighMsgqWatermark(100), Opt::LowMsgqWatermark(50)], ..Setup::default() };
    let mut c = start(&s);
    c.apply(Op::ContendLock);
    let st = c.send(0, 150, 1);
    assert_eq!(st.observation.reply, Reply::Sent(None), "MQ-1: scheduled");
    assert!(st.observation.busy.unwrap().msgq, "MQ-3: 150 > 100");
    let st = c.send(1, 5, 2);
    assert_eq!(st.observation.senders[1], SenderStatus::Suspended);
    let st = c.apply(Op::Close);
    assert_eq!(st.observation.completed, vec![(SenderId(0), reference::observation::SendResult::Error(Posix::Closed))]);
    assert_eq!(st.observation.msgq, Some(Bytes(0)));
    let st = c.apply(Op::Quiesce);
    assert_eq!(st.choices, vec![Choice::Ran(Activity::Resume(SenderId(1)))]);
    assert_eq!(st.observation.completed, vec![(SenderId(1), SendResult::Error(Posix::Closed))]);
    assert_eq!(st.observation.senders, vec![SenderStatus::Idle, SenderStatus::Idle]);
    c.apply(Op::ReleaseLock);
}

/// Sizes are exact with delay_send: sends onto the queue make no syscall
/// until the flush (DS-1), so the queue holds precisely what was sent.
fn delayed(high: i64, low: i64, bug: Option<PlantedBug>) -> Case {
    start_with(&setup(vec![Opt::DelaySend(true), Opt::HighWatermark(high), Opt::LowWatermark(low)]), bug)
}

/// WM-3 is `queued_before + size >= high`; the planted bug high-gt is
/// exactly `>`: it differs at equality and nowhere else.
#[test]
fn high_gt_differs_from_wm3_only_at_equality() {
    let mut c = delayed(100, 10, None);
    assert_eq!(c.send(0, 60, 1).observation.reply, Reply::Sent(Some(SendResult::Ok)));
    let s = c.send(1, 40, 2);
    assert_eq!(s.observation.reply, Reply::Sent(None), "WM-3: 60 + 40 >= 100");
    assert!(s.observation.busy.unwrap().driver);

    let mut c = delayed(100, 10, Some(PlantedBug::HighGtInsteadOfGe));
    c.send(0, 60, 1);
    let s = c.send(1, 39, 2);
    assert_eq!(s.observation.reply, Reply::Sent(Some(SendResult::Ok)), "99 is below high either way");
    let s = c.send(1, 1, 3);
    assert_eq!(s.observation.reply, Reply::Sent(Some(SendResult::Ok)), "the bug: 100 is not > 100");
    assert_eq!(s.observation.queue, Bytes(100));
    let s = c.send(0, 1, 4);
    assert_eq!(s.observation.reply, Reply::Sent(None), "the bug: 101 > 100");
    assert!(s.observation.busy.unwrap().driver);
}

/// WM-4 is `remaining <= low`; the planted bug low-lt is exactly `<`: a
/// queue flushed to 0 clears busy when low > 0 and never when low is 0.
#[test]
fn low_lt_differs_from_wm4_only_at_equality() {
    for (low, bug, clears) in [
        (10, None, true),
        (0, None, true),
        (10, Some(PlantedBug::LowLtInsteadOfLe), true),
        (0, Some(PlantedBug::LowLtInsteadOfLe), false),
    ] {
        let mut c = delayed(100, low, bug);
        c.send(0, 60, 1);
        assert_eq!(c.send(1, 40, 2).observation.reply, Reply::Sent(None));
        // DS-2: the flush writes all 100 bytes (a fresh socket takes them).
        let s = c.apply(Op::Quiesce);
        assert_eq!(
            s.choices,
            vec![Choice::Ran(Activity::DelayFlush), Choice::Wrote { requested: Bytes(100), accepted: Bytes(100) }]
        );
        assert_eq!(s.observation.queue, Bytes(0));
        let want = if clears { vec![(SenderId(1), SendResult::Ok)] } else { vec![] };
        assert_eq!(s.observation.completed, want, "low {low}, bug {bug:?}");
        assert_eq!(s.observation.busy.unwrap().driver, !clears, "low {low}, bug {bug:?}");
    }
}

/// TO-1 then DS-2 on a port closed with output pending (CL-1): the send
/// timer fires before the delayed flush; the flush then writes the queue and
/// the socket closes, so the peer gets every byte, then EOF. With the
/// planted bug drop-on-send-timeout the timeout throws the queue away
/// instead, the flush finds nothing to write, and the socket stays open:
/// the peer sees neither data nor EOF.
#[test]
fn a_closed_port_flushes_after_its_send_timer() {
    for bug in [None, Some(PlantedBug::DropOnSendTimeout)] {
        let opts = vec![
            Opt::DelaySend(true),
            Opt::HighWatermark(100),
            Opt::LowWatermark(10),
            Opt::SendTimeout(Timeout::After(Millis(10))),
        ];
        let mut c = start_with(&setup(opts), bug);
        c.send(0, 60, 1);
        assert_eq!(c.send(1, 40, 2).observation.reply, Reply::Sent(None), "WM-3: busy");
        assert_eq!(c.apply(Op::Close).observation.reply, Reply::Closed(Ok(())));
        let s = c.apply(Op::AdvanceTime { by: Millis(10) });
        assert_eq!(s.observation.completed, vec![(SenderId(1), SendResult::Error(Posix::Timeout))], "TO-1");
        let ran: Vec<_> = s.choices.iter().filter(|c| matches!(c, Choice::Ran(_))).collect();
        assert_eq!(ran, vec![&Choice::Ran(Activity::SendTimeout), &Choice::Ran(Activity::DelayFlush)]);
        if bug.is_none() {
            c.apply(Op::AwaitPeer);
        }
        let peer = c.apply(Op::PeerRead { max: Bytes(1000) }).observation.reply;
        match bug {
            None => {
                let mut want = payload(1, Bytes(60));
                want.extend(payload(2, Bytes(40)));
                assert_eq!(peer, Reply::Peer(reference::observation::PeerRead::Data(want)));
                c.apply(Op::AwaitPeer);
                let eof = c.apply(Op::PeerRead { max: Bytes(1000) }).observation.reply;
                assert_eq!(eof, Reply::Peer(reference::observation::PeerRead::Eof), "CL-1: then EOF");
            }
            Some(_) => {
                assert_eq!(peer, Reply::Peer(reference::observation::PeerRead::WouldBlock), "dropped, not closed");
            }
        }
    }
}

/// MQ-6 (which the generated cases do not reach): a scheduled nosuspend
/// send that finds the driver busy when it runs is aborted and replies
/// false. Task A, run first, makes the driver busy (WM-3 onto a queue left
/// by a partial direct write); task B is nosuspend and runs next.
#[test]
fn a_scheduled_nosuspend_send_on_a_busy_driver_is_aborted() {
    let mut c = start(&setup(vec![Opt::HighWatermark(100), Opt::LowWatermark(10)]));
    let s = c.send(0, 200_000, 1);
    assert_eq!(s.observation.reply, Reply::Sent(Some(SendResult::Ok)), "WM-2");
    assert!(s.observation.queue > Bytes(100));
    c.apply(Op::ContendLock);
    assert_eq!(c.send(0, 10, 2).observation.reply, Reply::Sent(None), "MQ-1: scheduled");
    let nosuspend = SendFlags { nosuspend: true, force: false };
    assert_eq!(c.send_flags(1, 10, 3, nosuspend).observation.reply, Reply::Sent(None), "MQ-1: scheduled");
    c.apply(Op::ReleaseLock);
    let s = c.apply(Op::Quiesce);
    assert_eq!(s.choices[..2], [Choice::Ran(Activity::Task), Choice::Ran(Activity::Task)], "{:?}", s.choices);
    assert_eq!(s.observation.completed.first(), Some(&(SenderId(1), SendResult::False)), "MQ-6");
    assert_eq!(s.observation.senders[0], SenderStatus::Waiting, "SND-5: task A made the port busy");
    assert_eq!(s.observation.msgq, Some(Bytes(0)));
}

/// `close` while sends wait as port tasks (msgq busy) and the driver queue
/// is busy too: the aborted tasks clear msgq busy, but the closed port is
/// still flushing its queue (CL-1) and stays busy, so a suspended sender
/// stays suspended (SND-1); it resumes once the flush leaves busy (SND-4).
/// Only when msgq busy was the last reason does close resume it at once.
#[test]
fn close_with_the_driver_still_busy_resumes_no_one() {
    let seen = bounded("close with both busy", || {
        let s = Setup {
            senders: 3,
            options: vec![Opt::HighMsgqWatermark(100), Opt::LowMsgqWatermark(50)],
            ..Setup::default()
        };
        let mut c = start(&s);
        // The peer reads nothing: past what the kernel's buffers hold, the
        // send stays queued (WM-2), and the next one makes the port busy (WM-3).
        c.send(0, 64 << 20, 1);
        let busy = c.send(0, 10, 2).observation.busy.expect("native shows busy");
        c.apply(Op::ContendLock);
        let forced = c.send_flags(1, 200, 3, SendFlags { force: true, nosuspend: false }).observation;
        let third = c.send(2, 10, 4).observation;
        let closed = c.apply(Op::Close).observation;
        // Whatever close made runnable runs now.
        let after = c.apply(Op::Quiesce).observation;
        (busy, forced, third, closed, after)
    });
    let (busy, forced, third, closed, after) = seen;
    assert!(busy.driver, "WM-3: the driver queue is busy: {busy:?}");
    assert!(forced.busy.is_some_and(|b| b.msgq), "MQ-3: the forced send waits as a task over high_msgq: {forced:?}");
    assert_eq!(third.senders[2], SenderStatus::Suspended, "SND-1");
    assert_eq!(closed.reply, Reply::Closed(Ok(())));
    assert!(closed.busy.is_some_and(|b| b.driver && !b.msgq), "CL-1: still flushing, the tasks aborted: {closed:?}");
    assert_eq!(closed.senders[2], SenderStatus::Suspended, "SND-1: the driver queue is still busy");
    assert_eq!(after.senders[2], SenderStatus::Suspended, "SND-4: nothing left busy, no one resumed: {after:?}");
    assert!(after.completed.is_empty(), "no send finished: {after:?}");
}
