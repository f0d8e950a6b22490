//! PT-2..PT-4 and OPT-6: the table capacity is exact; accept into a full
//! table closes the accepted fd (the client sees EOF); opening into a full
//! table fails; closing frees a slot; accepted ports inherit the listener's
//! options.

mod native_support;
use native_support::*;
use harness::native::PlantedBug;
use reference::observation::{AcceptOutcome, Posix, Reply};
use reference::op::{Op, Setup};
use reference::options::{Active, ActiveSetting, Opt, PortOptions};
use reference::units::Bytes;

fn three_slots(bug: Option<PlantedBug>) -> Case {
    let s = Setup {
        table_capacity: 3,
        listener_options: vec![Opt::HighWatermark(300), Opt::Active(ActiveSetting::Once)],
        ..Setup::default()
    };
    start_with(&s, bug)
}

#[test]
fn accepted_port_inherits_and_full_table_refuses() {
    let mut c = three_slots(None);
    let s = c.apply(Op::Accept);
    let want = PortOptions { high: Bytes(300), low: Bytes(300), active: Active::Once, ..PortOptions::default() };
    assert_eq!(s.observation.reply, Reply::Accept(AcceptOutcome::Accepted(want)));
    assert_eq!(s.observation.ports, 3);
    let s = c.apply(Op::Accept);
    assert_eq!(
        s.observation.reply,
        Reply::Accept(AcceptOutcome::Failed { error: Posix::SystemLimit, peer_eof: true })
    );
    assert_eq!(s.observation.ports, 3);
    assert_eq!(c.apply(Op::OpenExtra).observation.reply, Reply::Opened(Err(Posix::SystemLimit)));
    let s = c.apply(Op::CloseAccepted);
    assert_eq!(s.observation.ports, 2);
    let s = c.apply(Op::OpenExtra);
    assert_eq!(s.observation.reply, Reply::Opened(Ok(())));
    assert_eq!(s.observation.ports, 3);
}

#[test]
fn closing_the_port_under_test_frees_its_slot() {
    let mut c = three_slots(None);
    c.apply(Op::Accept);
    let s = c.apply(Op::Close);
    assert_eq!(s.observation.reply, Reply::Closed(Ok(())));
    assert_eq!(s.observation.ports, 2);
    assert_eq!(c.apply(Op::OpenExtra).observation.reply, Reply::Opened(Ok(())));
}

#[test]
fn planted_bug_leaves_the_refused_fd_open() {
    let mut c = three_slots(Some(PlantedBug::LeakAcceptedFd));
    c.apply(Op::Accept);
    let s = c.apply(Op::Accept);
    assert_eq!(
        s.observation.reply,
        Reply::Accept(AcceptOutcome::Failed { error: Posix::SystemLimit, peer_eof: false })
    );
}

#[test]
fn a_table_too_small_for_the_case_is_a_setup_error() {
    let s = Setup { table_capacity: 1, ..Setup::default() };
    use harness::sut::SutFactory;
    assert!(harness::native::NativeFactory::new(None).start(&s).is_err());
}
