//! The option algebra (`reference::options::setopts`): quickcheck laws
//! (OPT-1..OPT-5, PT-1), the values measured on OTP 25, and `{active, N}`
//! (RX-3, RX-4): N adds to the current count, the sum must stay in int16,
//! and a sum at or below zero goes passive with a tcp_passive notice.

use quickcheck::{quickcheck, TestResult};
use reference::options::{kernel_env_base, port_table_size, setopts, Active, ActiveSetting, Opt, PortOptions};
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

    /// OPT-8: the kernel environment's `{active,_}` has no effect: the
    /// base it gives is the one the same list without it gives, and it
    /// leaves the port's active mode at the default.
    fn opt8_active_in_the_kernel_env_has_no_effect(high: u16, n: i16, delay: bool) -> bool {
        let rest = [Opt::HighWatermark(high as i64), Opt::DelaySend(delay)];
        let with_active: Vec<Opt> = [Opt::Active(ActiveSetting::N(n as i32))].into_iter().chain(rest).collect();
        let a = kernel_env_base(&with_active).unwrap();
        a == kernel_env_base(&rest).unwrap()
            && a.options.active == PortOptions::default().active
            && a.passive_notices == 0
    }

    /// OPT-8 over OPT-7: the call's own options applied over the base win
    /// over the environment's value of the same option.
    fn opt8_the_calls_own_options_override_the_env(env_delay: bool, own_delay: bool, env_high: u16) -> bool {
        let base = kernel_env_base(&[Opt::DelaySend(env_delay), Opt::HighWatermark(env_high as i64)]).unwrap().options;
        let o = setopts(base, &[Opt::DelaySend(own_delay)]).unwrap().options;
        o.delay_send == own_delay && o.high == Bytes(env_high as usize)
    }

    /// PT-1: a power of two within [1024, 2^27-1], or the maximum itself.
    fn pt1_table_size(req: Option<u32>, rl: u32) -> bool {
        let n = port_table_size(req.map(u64::from), u64::from(rl));
        (1024..=(1 << 27) - 1).contains(&n) && (n.is_power_of_two() || n == (1 << 27) - 1)
            && req.is_none_or(|r| n >= u64::from(r).min((1 << 27) - 1))
    }
}

/// Worked watermark examples, measured on OTP 25.2.3 (notes, [25✓]):
/// OPT-1 (high clamps low, negative becomes 0), OPT-2 (low raises high),
/// OPT-5 (a list applies back to front, so the first one listed wins).
#[rstest::rstest]
#[case::high_below_default_low_pulls_it_down(&[Opt::HighWatermark(1000)], (1000, 1000))]
#[case::low_above_default_high_keeps_high(&[Opt::LowWatermark(5000)], (8192, 5000))]
#[case::negative_high_becomes_zero(&[Opt::HighWatermark(-5)], (0, 0))]
#[case::first_listed_wins(&[Opt::HighWatermark(100), Opt::LowWatermark(200)], (100, 100))]
fn watermarks_measured_on_otp_25(#[case] list: &[Opt], #[case] (high, low): (usize, usize)) {
    let o = setopts(PortOptions::default(), list).unwrap().options;
    assert_eq!((o.high, o.low), (Bytes(high), Bytes(low)));
}

/// PT-1, measured on OTP 25.2.3: ERL_MAX_PORTS rounds up to a power of two
/// within [1024, 2^27-1].
#[rstest::rstest]
#[case::below_the_minimum(100, 1024)]
#[case::just_above_a_power(1025, 2048)]
#[case::between_powers(5000, 8192)]
#[case::above_the_maximum(200_000_000, (1 << 27) - 1)]
fn port_table_size_measured_on_otp_25(#[case] requested: u64, #[case] size: u64) {
    assert_eq!(port_table_size(Some(requested), 20000), size, "ERL_MAX_PORTS={requested}");
}

fn active(list: &[i32]) -> Result<(Active, bool), reference::rules::RuleId> {
    let mut o = PortOptions::default();
    let mut notice = false;
    for &n in list {
        let a = setopts(o, &[Opt::Active(ActiveSetting::N(n))]).map_err(|r| r.rule)?;
        o = a.options;
        notice |= a.passive_notices > 0;
    }
    Ok((o.active, notice))
}

/// RX-3: {active,N} adds N to the current count; the sum must stay within
/// int16. RX-4: a count that reaches 0 or less goes passive, with notice.
#[rstest::rstest]
#[case::a_count(&[5], Ok((Active::Count(5), false)))]
#[case::n_adds(&[5, 3], Ok((Active::Count(8), false)))]
#[case::n_subtracts(&[5, -2], Ok((Active::Count(3), false)))]
#[case::reaching_zero_goes_passive(&[5, -5], Ok((Active::Passive, true)))]
#[case::int16_max(&[32767], Ok((Active::Count(32767), false)))]
#[case::sum_above_int16(&[32767, 1], Err(ids::RX_3))]
#[case::int16_min_is_passive(&[-32768], Ok((Active::Passive, true)))]
#[case::sum_in_range(&[1, -32768], Ok((Active::Passive, true)))]
#[case::large_sum_above_int16(&[10, 32767], Err(ids::RX_3))]
fn active_n_counts(#[case] list: &[i32], #[case] want: Result<(Active, bool), reference::rules::RuleId>) {
    assert_eq!(active(list), want);
}

/// RX-4: each {active,N} of one list that leaves the count at zero or
/// below sends its own tcp_passive; measured on OTP 25.2.3, 27 and 29 on
/// both backends ([{active,0},{active,0}] on a passive port: two; three
/// for three), found by the issue-14 campaign (seed 1001 case 257 on OTP 25).
#[rstest::rstest]
#[case::one(&[0], 1)]
#[case::two(&[0, 0], 2)]
#[case::three(&[0, 0, 0], 3)]
#[case::the_second_adds_to_the_first(&[2, -2], 1)]
#[case::a_count_left(&[0, 1], 0)]
fn every_option_that_leaves_the_count_at_zero_sends_its_notice(#[case] ns: &[i32], #[case] notices: u8) {
    let list: Vec<Opt> = ns.iter().map(|&n| Opt::Active(ActiveSetting::N(n))).collect();
    assert_eq!(setopts(PortOptions::default(), &list).expect("valid").passive_notices, notices, "RX-4: {ns:?}");
}

/// OPT-8 in the model: a case whose setup carries a kernel environment
/// predicts the port under test's getopts and the accepted port's options
/// from it (the values measured on OTP 25, 27 and 29 with
/// harness/beam/probes/probe_kernel_defaults.erl: high 20000 from the
/// connect environment, low 1000 from the listen one, each active ignored).
#[test]
fn opt8_the_model_starts_the_ports_from_the_kernel_env() {
    use reference::model::Model;
    use reference::observation::{AcceptOutcome, Reply};
    use reference::op::{KernelEnv, Op, Setup};
    let kernel_env = KernelEnv {
        connect: vec![Opt::HighWatermark(20_000), Opt::Active(ActiveSetting::True)],
        listen: vec![Opt::LowWatermark(1000), Opt::Active(ActiveSetting::Once)],
    };
    let mut m = Model::new(&Setup { kernel_env, ..Setup::default() }).unwrap();
    let d = PortOptions::default();
    let reply = |m: &mut Model, op: Op| m.step(&op, &[]).unwrap().observation.reply;
    assert_eq!(reply(&mut m, Op::GetOpts), Reply::Opts(PortOptions { high: Bytes(20_000), ..d }));
    assert_eq!(
        reply(&mut m, Op::Accept),
        Reply::Accept(AcceptOutcome::Accepted(PortOptions { low: Bytes(1000), ..d }))
    );
}
