//! The seed article's experiments ("gen_tcp发送缓冲区以及水位线问题分析",
//! 2013), run in lockstep on the native runtime with the model predicting
//! every step, and recorded as snapshots: which send blocks, the queue after
//! each send, and what unblocks it. The numbers depend on the kernel's share
//! of the first write (KN-BUF-1 in snapshots/kernel_fingerprint.snap).

use harness::executor::{run_case, CaseOutcome};
use harness::sut::native::NativeFactory;
use reference::observation::{Reply, SenderStatus};
use reference::op::{Op, SendFlags, Setup};
use reference::options::Opt;
use reference::units::{Bytes, SenderId};
use serde::Serialize;

#[derive(Serialize)]
struct SendRow {
    send: usize,
    sender: u8,
    len: usize,
    returned: String,
    queue_after: usize,
    statuses: Vec<SenderStatus>,
}

#[derive(Serialize)]
struct Scenario {
    options: Vec<Opt>,
    sends: Vec<SendRow>,
    /// The first step at which the blocked sender got its reply, and the
    /// queue size then (WM-4: <= low_watermark).
    unblocked_at_queue: Option<usize>,
    unblocked_result: Option<String>,
    /// Did the peer get exactly what was sent (ST-1)?
    passed: bool,
}

fn send(s: u8, len: usize, tag: u16) -> Op {
    Op::Send { sender: SenderId(s), len: Bytes(len), tag, flags: SendFlags::default() }
}

fn summarize(options: Vec<Opt>, out: &CaseOutcome) -> Scenario {
    let mut sends = vec![];
    let mut unblocked = None;
    for t in &out.trace {
        let Some(o) = &t.observed else { continue };
        if let Op::Send { sender, len, .. } = &t.op {
            let returned = match &o.reply {
                Reply::Sent(Some(r)) => format!("{r:?}"),
                _ => format!("blocked ({:?})", o.senders[sender.0 as usize]),
            };
            sends.push(SendRow {
                send: sends.len() + 1,
                sender: sender.0,
                len: len.0,
                returned,
                queue_after: o.queue.0,
                statuses: o.senders.clone(),
            });
        }
        if unblocked.is_none() {
            if let Some((_, r)) = o.completed.iter().find(|(s, _)| *s == SenderId(0)) {
                unblocked = Some((o.queue.0, format!("{r:?}")));
            }
        }
    }
    Scenario {
        options,
        sends,
        unblocked_at_queue: unblocked.as_ref().map(|u| u.0),
        unblocked_result: unblocked.map(|u| u.1),
        passed: out.passed(),
    }
}

fn run(options: Vec<Opt>, ops: Vec<Op>) -> Scenario {
    let setup = Setup { options: options.clone(), senders: 2, ..Setup::default() };
    let out = run_case(&NativeFactory::new(None), &setup, &ops);
    assert!(out.passed(), "the model and the native runtime disagree:\n{}", suite::trace::lines(&out));
    summarize(options, &out)
}

fn snapshot(name: &str, s: &Scenario) {
    insta::with_settings!({
        snapshot_path => "../../snapshots",
        prepend_module_to_snapshot => false,
        description => "Seed scenario on the native runtime, every step predicted by the model. Regenerate with `make snapshots` and review.",
    }, {
        insta::assert_yaml_snapshot!(name, s);
    });
}

/// The 20,000/10,000 variant with 5,000-byte sends: the kernel takes part of
/// the first send, the queue grows by 5,000 a send, and the send that brings
/// it to >= 20,000 blocks (WM-3); the other sender is suspended (SND-1).
#[test]
fn seed_watermark_20000_10000() {
    let options = vec![Opt::HighWatermark(20000), Opt::LowWatermark(10000)];
    let mut ops: Vec<Op> = (0..5).map(|i| send(0, 5000, i)).collect();
    ops.push(send(1, 100, 99));
    let s = run(options, ops);
    assert_eq!(
        s.sends.iter().filter(|r| r.returned.starts_with("blocked")).count(),
        2,
        "one send waits, one is suspended"
    );
    snapshot("seed_watermark_20000_10000", &s);
}

/// `{high_watermark,2},{low_watermark,1}` with 1-byte sends, as in the
/// article ("the 7th byte blocks"). Each 1-byte write is its own skb whose
/// truesize counts against SO_SNDBUF, so the kernel refuses a byte after a
/// handful; that byte is queued unchecked (WM-2), and the next send brings
/// the queue to 2 >= high and waits (WM-3) until the peer reads (WM-4).
#[test]
fn seed_high_watermark_2_one_byte_sends() {
    let options = vec![Opt::HighWatermark(2), Opt::LowWatermark(1)];
    let mut ops: Vec<Op> = (0..40).map(|i| send(0, 1, i)).collect();
    ops.push(Op::PeerRead { max: Bytes(1) });
    ops.push(Op::Quiesce);
    let s = run(options, ops);
    let blocked = s
        .sends
        .iter()
        .position(|r| r.returned.starts_with("blocked"))
        .expect("a 1-byte send blocks once the kernel is full");
    assert!(blocked >= 1, "the first byte goes straight to the kernel");
    assert_eq!(
        s.sends[blocked - 1].queue_after,
        1,
        "the byte before the blocked one was queued (the kernel refused it)"
    );
    assert_eq!(s.sends[blocked].queue_after, 2, "queued_before 1 + 1 >= high 2");
    assert_eq!(s.unblocked_result.as_deref(), Some("Ok"));
    println!("send {} of 1 byte blocked (the article saw the 7th)", blocked + 1);
    snapshot("seed_high_watermark_2_one_byte_sends", &s);
}

/// send_timeout: the blocked send returns {error,timeout} and the data is
/// still delivered (TO-1; the executor's drain checks ST-1).
#[test]
fn seed_send_timeout_data_still_delivered() {
    let options = vec![
        Opt::HighWatermark(4096),
        Opt::LowWatermark(1024),
        Opt::SendTimeout(reference::options::Timeout::After(reference::units::Millis(50))),
    ];
    let ops = vec![send(0, 8192, 1), send(0, 8192, 2), Op::AdvanceTime { by: reference::units::Millis(50) }];
    let s = run(options, ops);
    assert_eq!(s.unblocked_result.as_deref(), Some("Error(Timeout)"));
    snapshot("seed_send_timeout_data_still_delivered", &s);
}

/// Accept into a full port table: system_limit and the accepted fd closed
/// (PT-2, the 2011 enfile article).
#[test]
fn seed_accept_into_full_table() {
    let setup = Setup { table_capacity: 3, ..Setup::default() };
    let out = run_case(&NativeFactory::new(None), &setup, &[Op::Accept, Op::Accept]);
    assert!(out.passed(), "{}", suite::trace::lines(&out));
    let replies: Vec<_> =
        out.trace.iter().filter(|t| t.op == Op::Accept).map(|t| t.observed.as_ref().unwrap().reply.clone()).collect();
    insta::with_settings!({ snapshot_path => "../../snapshots", prepend_module_to_snapshot => false }, {
        insta::assert_yaml_snapshot!("seed_accept_into_full_table", replies);
    });
}
