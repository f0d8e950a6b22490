//! Which measured release's rules judge a running OTP release
//! (`OtpRelease::rule_set`), and which DIFF rules each release gets.

use quickcheck::quickcheck;
use reference::rules::{applies_to, ids};
use reference::variant::OtpRelease;

quickcheck! {
    /// A rule set is a measured release, never newer than the running one
    /// (except the oldest measured, for older releases), and judging by it
    /// again changes nothing and warns of nothing.
    fn a_rule_set_is_the_newest_measured_release_not_newer(r: u16) -> bool {
        let set = OtpRelease(r).rule_set();
        let first = OtpRelease::MEASURED[0];
        let again = set.release.rule_set();
        OtpRelease::MEASURED.contains(&set.release)
            && (set.release <= OtpRelease(r) || set.release == first)
            && OtpRelease::MEASURED.iter().all(|m| *m > OtpRelease(r) || *m <= set.release)
            && again.release == set.release
            && again.warning.is_none()
            && set.warning.is_some() != OtpRelease::MEASURED.contains(&OtpRelease(r))
    }

    /// Newer releases never go back to an older rule set.
    fn rule_sets_are_monotone(a: u16, b: u16) -> bool {
        let (lo, hi) = (a.min(b), a.max(b));
        OtpRelease(lo).rule_set().release <= OtpRelease(hi).rule_set().release
    }
}

#[test]
fn each_release_gets_its_own_reply_order_and_setopts_answer() {
    for (r, inet_2, inet_6, sock_11) in [(25, true, false, false), (27, false, true, true), (29, false, true, true)] {
        let r = OtpRelease(r);
        assert_eq!(applies_to(ids::DIFF_INET_2, r), inet_2, "DIFF-INET-2 on OTP {r}");
        assert_eq!(applies_to(ids::DIFF_INET_6, r), inet_6, "DIFF-INET-6 on OTP {r}");
        assert_eq!(applies_to(ids::DIFF_SOCK_11, r), sock_11, "DIFF-SOCK-11 on OTP {r}");
        assert!(applies_to(ids::DIFF_SOCK_10, r), "DIFF-SOCK-10 on OTP {r}: the closed server's answers");
        assert!(applies_to(ids::WM_3, r) && applies_to(ids::DIFF_SOCK_4, r), "common rules on OTP {r}");
    }
    assert_eq!(OtpRelease::parse("27.3.4.1"), Some(OtpRelease(27)));
    assert_eq!(OtpRelease::parse("R16B"), None);
}
