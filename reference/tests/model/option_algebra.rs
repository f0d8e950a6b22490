//! The option algebra (`reference::options::setopts`): quickcheck laws
//! (OPT-1..OPT-5, PT-1), the values measured on OTP 25, and `{active, N}`
//! (RX-3, RX-4): N adds to the current count, the sum must stay in int16,
//! and a sum at or below zero goes passive with a tcp_passive notice.

use quickcheck::{quickcheck, TestResult};
use reference::options::{port_table_size, setopts, Active, ActiveSetting, Opt, PortOptions};
use reference::rules::ids;
use reference::units::Bytes;

fn with(high: u16, low: u16) -> PortOptions {
    let o = PortOptions::default();
    PortOptions { high: Bytes(high as usize), low: Bytes(low as usize), ..o }
}

quickcheck! {
    /// OPT-1: after setting high v, high = max(v,0) and low <= high.
    fn opt1_high_clamps_low(h: u16, l: u16, v: i32) -> TestResult {
        if l > h { return TestResult::discard(); }
        let o = setopts(with(h, l), &[Opt::HighWatermark(v as i64)]).unwrap().options;
        let v = (v.max(0)) as usize;
        TestResult::from_bool(o.high == Bytes(v) && o.low == Bytes((l as usize).min(v)))
    }

    /// OPT-2: after setting low v, low = max(v,0) and high >= low.
    fn opt2_low_raises_high(h: u16, l: u16, v: i32) -> TestResult {
        if l > h { return TestResult::discard(); }
        let o = setopts(with(h, l), &[Opt::LowWatermark(v as i64)]).unwrap().options;
        let v = (v.max(0)) as usize;
        TestResult::from_bool(o.low == Bytes(v) && o.high == Bytes((h as usize).max(v)))
    }

    /// OPT-3: a msgq value of 0 or -1 rejects the list and changes nothing;
    /// any other negative one is accepted as no limit (MSGQ_UNLIMITED, as OTP 25
    /// reads it back), raising the other limit through OPT-4 when needed.
    fn opt3_msgq_zero_rejected_negative_unlimited(v: i32, high: bool) -> bool {
        let opt = |v: i32| if high { Opt::HighMsgqWatermark(v as i64) } else { Opt::LowMsgqWatermark(v as i64) };
        let zero = setopts(PortOptions::default(), &[Opt::HighWatermark(5), opt(0)]).is_err()
            && setopts(PortOptions::default(), &[Opt::HighWatermark(5), opt(-1)]).is_err();
        let neg = -(v.unsigned_abs().max(2) as i64).min(i32::MAX as i64) as i32;
        let o = setopts(PortOptions::default(), &[opt(neg)]).unwrap().options;
        let set = if high { o.high_msgq } else { o.low_msgq };
        zero && set == reference::options::MSGQ_UNLIMITED && o.low_msgq <= o.high_msgq
    }

    /// OPT-4: msgq limits keep low <= high whatever order they are set in.
    fn opt4_msgq_order(a: u16, b: u16) -> bool {
        let (a, b) = (a as i64 + 1, b as i64 + 1);
        let o = setopts(PortOptions::default(), &[Opt::HighMsgqWatermark(a), Opt::LowMsgqWatermark(b)]).unwrap().options;
        // Applied back to front: low b first, then high a (OPT-5).
        o.high_msgq == Bytes(a as usize) && o.low_msgq == Bytes((b.min(a)) as usize)
    }

    /// OPT-5: the first listed option wins a conflict.
    fn opt5_first_wins(a: u16, b: u16) -> bool {
        let o = setopts(PortOptions::default(), &[Opt::HighWatermark(a as i64), Opt::HighWatermark(b as i64)]).unwrap().options;
        o.high == Bytes(a as usize)
    }

    /// PT-1: a power of two within [1024, 2^27-1], or the maximum itself.
    fn pt1_table_size(req: Option<u32>, rl: u32) -> bool {
        let n = port_table_size(req.map(u64::from), u64::from(rl));
        (1024..=(1 << 27) - 1).contains(&n) && (n.is_power_of_two() || n == (1 << 27) - 1)
            && req.is_none_or(|r| n >= u64::from(r).min((1 << 27) - 1))
    }
}

/// The values measured on OTP 25.2.3 (notes, [25✓]).
#[test]
fn measured_on_otp_25() {
    let o = setopts(PortOptions::default(), &[Opt::HighWatermark(1000)]).unwrap().options;
    assert_eq!((o.high, o.low), (Bytes(1000), Bytes(1000)));
    let o = setopts(PortOptions::default(), &[Opt::LowWatermark(5000)]).unwrap().options;
    assert_eq!((o.high, o.low), (Bytes(8192), Bytes(5000)));
    let o = setopts(PortOptions::default(), &[Opt::HighWatermark(-5)]).unwrap().options;
    assert_eq!((o.high, o.low), (Bytes(0), Bytes(0)));
    let o = setopts(PortOptions::default(), &[Opt::HighWatermark(100), Opt::LowWatermark(200)]).unwrap().options;
    assert_eq!((o.high, o.low), (Bytes(100), Bytes(100)));
    for (req, want) in [(100, 1024), (1025, 2048), (5000, 8192), (200_000_000, (1 << 27) - 1)] {
        assert_eq!(port_table_size(Some(req), 20000), want, "ERL_MAX_PORTS={req}");
    }
}

fn active(list: &[i32]) -> Result<(Active, bool), reference::rules::RuleId> {
    let mut o = PortOptions::default();
    let mut notice = false;
    for &n in list {
        let a = setopts(o, &[Opt::Active(ActiveSetting::N(n))]).map_err(|r| r.rule)?;
        o = a.options;
        notice |= a.went_passive;
    }
    Ok((o.active, notice))
}

#[test]
fn rx3_n_adds_to_the_current_count() {
    assert_eq!(active(&[5]), Ok((Active::Count(5), false)));
    assert_eq!(active(&[5, 3]), Ok((Active::Count(8), false)), "RX-3: 5 + 3");
    assert_eq!(active(&[5, -2]), Ok((Active::Count(3), false)));
    assert_eq!(active(&[5, -5]), Ok((Active::Passive, true)), "RX-4: the count reaches 0");
}

#[test]
fn rx3_the_sum_must_stay_in_int16() {
    assert_eq!(active(&[32767]), Ok((Active::Count(32767), false)));
    assert_eq!(active(&[32767, 1]), Err(ids::RX_3), "RX-3: 32768 is out of int16");
    assert_eq!(active(&[-32768]), Ok((Active::Passive, true)), "RX-4: <= 0 is passive");
    assert_eq!(active(&[1, -32768]), Ok((Active::Passive, true)), "-32767 is in range");
    assert_eq!(active(&[10, 32767]), Err(ids::RX_3));
}
