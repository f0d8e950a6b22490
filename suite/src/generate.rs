//! Random cases: a setup and an op sequence. Ops are generated without
//! looking at the state; the executor skips the ones the model says cannot
//! happen (a sender that is not idle, closing twice...). That keeps every
//! op sequence replayable by value and lets proptest shrink by deleting ops
//! and shrinking numbers, with the precondition re-checked on every
//! candidate — what proptest-state-machine does, without tying the
//! executor (shared with the CLI and the external SUTs) to its traits.

use harness::sut::Abilities;
use proptest::prelude::*;
use reference::op::{Mark, Op, SendFlags, Setup};
use reference::options::{ActiveSetting, Opt, Timeout};
use reference::units::{Bytes, Millis, SenderId};

/// Watermarks from tiny (1–64 bytes, so crossings happen within a few
/// sends) to the defaults.
fn watermark() -> impl Strategy<Value = i64> {
    prop_oneof![4 => 0i64..=64, 3 => 64i64..=4096, 1 => Just(8192i64), 1 => -5i64..=0]
}

fn msgq_watermark() -> impl Strategy<Value = i64> {
    prop_oneof![4 => 1i64..=64, 1 => 64i64..=8192, 1 => -2i64..=0]
}

fn timeout() -> impl Strategy<Value = Timeout> {
    prop_oneof![
        4 => Just(Timeout::Infinity),
        1 => Just(Timeout::After(Millis(0))),
        3 => (1u64..=50).prop_map(|t| Timeout::After(Millis(t))),
    ]
}

fn active() -> impl Strategy<Value = ActiveSetting> {
    prop_oneof![
        2 => Just(ActiveSetting::False),
        1 => Just(ActiveSetting::True),
        1 => Just(ActiveSetting::Once),
        2 => (-3i32..=4).prop_map(ActiveSetting::N),
        1 => prop_oneof![Just(32767i32), Just(-32768i32), Just(40000i32)].prop_map(ActiveSetting::N),
    ]
}

pub fn opt() -> impl Strategy<Value = Opt> {
    prop_oneof![
        3 => watermark().prop_map(Opt::HighWatermark),
        3 => watermark().prop_map(Opt::LowWatermark),
        2 => msgq_watermark().prop_map(Opt::HighMsgqWatermark),
        2 => msgq_watermark().prop_map(Opt::LowMsgqWatermark),
        1 => any::<bool>().prop_map(Opt::DelaySend),
        1 => timeout().prop_map(Opt::SendTimeout),
        1 => any::<bool>().prop_map(Opt::SendTimeoutClose),
        1 => active().prop_map(Opt::Active),
    ]
}

/// Options valid at setup (no einval), as a user would pass them to connect.
fn setup_opts() -> impl Strategy<Value = Vec<Opt>> {
    (
        prop::option::weighted(0.8, (0i64..=64).prop_union(64i64..=4096)),
        prop::option::weighted(0.7, 0i64..=64),
        prop::option::weighted(0.5, 1i64..=64),
        prop::option::weighted(0.5, 1i64..=64),
        prop::option::weighted(0.3, Just(true)),
        prop::option::weighted(0.4, timeout()),
        prop::option::weighted(0.2, Just(true)),
    )
        .prop_map(|(h, l, hq, lq, ds, to, toc)| {
            let mut v = vec![];
            v.extend(h.map(Opt::HighWatermark));
            v.extend(l.map(Opt::LowWatermark));
            v.extend(hq.map(Opt::HighMsgqWatermark));
            v.extend(lq.map(Opt::LowMsgqWatermark));
            v.extend(ds.map(Opt::DelaySend));
            v.extend(to.map(Opt::SendTimeout));
            v.extend(toc.map(Opt::SendTimeoutClose));
            v
        })
}

pub fn setup() -> impl Strategy<Value = Setup> {
    (setup_opts(), any::<bool>(), 2u8..=4, 2usize..=5, prop::collection::vec(opt(), 0..3)).prop_map(
        |(options, parallelism, senders, table_capacity, listener_options)| Setup {
            options,
            parallelism,
            senders,
            table_capacity,
            // Listener options must be valid as a list: keep the longest
            // prefix that setopts accepts (two {active,N} may overflow).
            listener_options: {
                let mut v = listener_options;
                while reference::options::setopts(Default::default(), &v).is_err() {
                    v.pop();
                }
                v
            },
        },
    )
}

fn send_len() -> impl Strategy<Value = Bytes> {
    prop_oneof![1 => Just(0usize), 6 => 1usize..=64, 3 => 64usize..=2048, 1 => 2048usize..=12000].prop_map(Bytes)
}

pub fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        12 => (0u8..4, send_len(), any::<u16>(), prop::bool::weighted(0.15), prop::bool::weighted(0.1)).prop_map(
            |(s, len, tag, nosuspend, force)| Op::Send { sender: SenderId(s), len, tag, flags: SendFlags { nosuspend, force } }
        ),
        4 => (0u8..4, prop_oneof![Just(Mark::High), Just(Mark::HighMsgq)], -1i8..=1, any::<u16>(), prop::bool::weighted(0.1)).prop_map(
            |(s, mark, delta, tag, nosuspend)| Op::SendAt { sender: SenderId(s), mark, delta, tag, flags: SendFlags { nosuspend, force: false } }
        ),
        6 => prop_oneof![1usize..=64, 64usize..=16384].prop_map(|m| Op::PeerRead { max: Bytes(m) }),
        6 => Just(Op::Quiesce),
        2 => (0u64..=60).prop_map(|by| Op::AdvanceTime { by: Millis(by) }),
        2 => prop::collection::vec(opt(), 1..=3).prop_map(|opts| Op::SetOpts { opts }),
        1 => Just(Op::GetOpts),
        1 => Just(Op::QueueSize),
        2 => Just(Op::ContendLock),
        2 => Just(Op::ReleaseLock),
        1 => Just(Op::Accept),
        1 => Just(Op::CloseAccepted),
        1 => Just(Op::OpenExtra),
        2 => (1usize..=512, any::<u16>()).prop_map(|(l, tag)| Op::PeerWrite { len: Bytes(l), tag }),
        1 => Just(Op::Recv),
        1 => Just(Op::Mailbox),
        1 => Just(Op::Close),
    ]
}

/// A whole case, adapted to what the system can do (identical to the
/// unadapted case for a system that can do everything, so seeds replay).
pub fn case(max_ops: usize, abilities: Abilities) -> impl Strategy<Value = (Setup, Vec<Op>)> {
    (
        setup().prop_map(move |s| abilities.adapt_setup(s)),
        prop::collection::vec(op().prop_map(move |o| abilities.adapt(o)), 1..=max_ops),
    )
}
