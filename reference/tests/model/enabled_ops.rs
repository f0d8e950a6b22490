//! The model's surface the executor, the generator and the shrinker read
//! without checking it: which ops are enabled in a state (only those are
//! generated or kept), the variant a model follows, and the accessors.

use crate::support::{model, send, wrote};
use reference::observation::SenderStatus;
use reference::op::Op;
use reference::options::Opt;
use reference::units::{Bytes, SenderId};
use reference::variant::Variant;

#[test]
fn the_model_keeps_its_variant() {
    assert_eq!(model(vec![]).variant(), Variant::Reference);
    assert_eq!(model(vec![]).into_variant(Variant::OtpInet).variant(), Variant::OtpInet);
    assert_eq!(model(vec![]).into_variant(Variant::OtpSocket).variant(), Variant::OtpSocket);
}

/// MQ-1 (lock), PT-4 (close accepted), CL-1/SND-6 (close): ops that make
/// sense only in some states are enabled only there.
#[test]
fn ops_are_enabled_only_where_they_mean_something() {
    let mut m = model(vec![]);
    assert!(!m.enabled(&Op::ReleaseLock), "no lock held");
    assert!(!m.enabled(&Op::CloseAccepted), "PT-4: nothing accepted");
    assert!(m.enabled(&Op::Close) && m.enabled(&Op::ContendLock));
    m.step(&Op::ContendLock, &[]).unwrap();
    assert!(m.enabled(&Op::ReleaseLock) && !m.enabled(&Op::ContendLock));
    assert!(!m.enabled(&Op::Close), "not while another scheduler holds the lock");
    m.step(&Op::ReleaseLock, &[]).unwrap();
    assert!(m.enabled(&Op::Close));
    m.step(&Op::Accept, &[]).unwrap();
    assert!(m.enabled(&Op::CloseAccepted), "PT-4: one accepted port");
    // WM-2 then WM-3: S0 waits on the busy port; the owner may close it
    // then (reference/tests/model/close_waiting.rs).
    m.step(&send(0, 10_000, 1), &[wrote(10_000, 0)]).unwrap();
    assert!(m.enabled(&Op::Close));
    m.step(&send(0, 1, 2), &[]).unwrap();
    assert!(m.enabled(&Op::Close), "a sender waits: the close is generated too");
    assert!(!m.enabled(&send(0, 1, 3)) && m.enabled(&send(1, 1, 3)), "SND-5: S0 waits, S1 may send");
}

#[test]
fn accessors_say_what_the_model_holds() {
    let mut m = model(vec![Opt::HighWatermark(4000), Opt::LowWatermark(1000)]);
    assert_eq!(m.options().high, Bytes(4000));
    assert_eq!(m.options().low, Bytes(1000));
    assert!(m.socket_open());
    assert_eq!(m.idle_senders(), vec![SenderId(0), SenderId(1)]);
    let p = m.step(&send(0, 5000, 1), &[wrote(5000, 0)]).unwrap();
    assert_eq!(m.queued(), Bytes(5000));
    assert_eq!(p.observation.senders, vec![SenderStatus::Idle, SenderStatus::Idle]);
    m.step(&send(0, 1, 2), &[]).unwrap();
    assert_eq!(m.idle_senders(), vec![SenderId(1)], "SND-5: S0 waits");
    let mut m = model(vec![]);
    m.step(&Op::Close, &[]).unwrap();
    assert!(!m.socket_open(), "CL-1: an empty queue closes the socket at once");
}
