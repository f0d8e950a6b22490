//! Variant otp-inet, DIFF-INET-5: a setopts rejected with einval keeps the
//! options applied before the invalid one, `{active,true}` among them, but
//! the inet driver returns before it turns the socket's read readiness on
//! (OTP 25.2.3 `inet_set_opts`). Choices are given explicitly.

use reference::choice::{Activity, Choice};
use reference::model::Model;
use reference::observation::{PeerRead, Posix, Reply};
use reference::op::{Op, Setup};
use reference::options::{ActiveSetting, Opt};
use reference::units::Bytes;
use reference::variant::Variant;

fn failed_setopts_made_active(variant: Variant) -> Model {
    let mut m = Model::new(&Setup::default()).expect("setup").into_variant(variant);
    let p = m
        .step(&Op::SetOpts { opts: vec![Opt::LowMsgqWatermark(0), Opt::Active(ActiveSetting::True)] }, &[])
        .expect("OPT-3: einval");
    assert_eq!(p.observation.reply, Reply::SetOpts(Err(Posix::Einval)), "OPT-3: {{low_msgq_watermark,0}} is invalid");
    m.step(&Op::PeerWrite { len: Bytes(1), tag: 4 }, &[]).expect("the peer writes a byte");
    m
}

fn read_one() -> [Choice; 2] {
    [Choice::Ran(Activity::Input), Choice::Read { got: Bytes(1) }]
}

/// DIFF-INET-5: active, but deaf: the byte stays in the kernel, and closing
/// the socket with it unread resets the peer (CL-3).
#[test]
fn diff_inet_5_a_rejected_setopts_leaves_the_socket_deaf() {
    let mut m = failed_setopts_made_active(Variant::OtpInet);
    assert!(m.step(&Op::Quiesce, &read_one()).is_err(), "DIFF-INET-5: the driver read although its readiness is off");
    m.step(&Op::Quiesce, &[]).expect("DIFF-INET-5: nothing to run");
    m.step(&Op::Close, &[]).expect("close");
    let p = m.step(&Op::PeerRead { max: Bytes(10) }, &[Choice::PeerGot { got: Bytes(0) }]).expect("the peer reads");
    assert_eq!(p.observation.reply, Reply::Peer(PeerRead::Reset), "CL-3: unread input, RST");
}

/// DIFF-INET-5: a later setopts that changes the active mode turns the
/// readiness on again; the byte is read and delivered.
#[test]
fn diff_inet_5_changing_the_active_mode_ends_it() {
    let mut m = failed_setopts_made_active(Variant::OtpInet);
    m.step(&Op::SetOpts { opts: vec![Opt::Active(ActiveSetting::True)] }, &[]).expect("the same mode");
    assert!(m.step(&Op::Quiesce, &read_one()).is_err(), "DIFF-INET-5: {{active,true}} again changes nothing");
    m.step(&Op::SetOpts { opts: vec![Opt::Active(ActiveSetting::Once)] }, &[]).expect("another mode");
    m.step(&Op::Quiesce, &read_one()).expect("DIFF-INET-5: readiness follows the mode again (RX-2)");
}

/// The reference (OPT-3 and RX-5): what the rejected setopts applied is in
/// effect, readiness included: the byte is read.
#[test]
fn opt_3_the_reference_reads_after_a_partly_applied_setopts() {
    let mut m = failed_setopts_made_active(Variant::Reference);
    m.step(&Op::Quiesce, &read_one()).expect("RX-5: active, so the driver reads");
}
