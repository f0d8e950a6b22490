//! RX-3 and RX-4 in the option algebra (`reference::options::setopts`),
//! which the quickcheck properties of option_algebra.rs leave out:
//! `{active, N}` adds N to the current count, the sum must stay in int16,
//! and a sum at or below zero goes passive with a tcp_passive notice.

use reference::options::{setopts, Active, ActiveSetting, Opt, PortOptions};
use reference::rules::ids;

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
