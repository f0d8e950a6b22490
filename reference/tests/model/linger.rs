//! A close that aborts: `{linger, {true, 0}}` at connect (CL-4), as
//! measured on OTP 25.2.3, 27.3.4.1 and 29.1.2's inet driver
//! (harness/beam/probes/probe_linger_close.erl).

use crate::support::{send, wrote};
use reference::choice::Choice;
use reference::model::Model;
use reference::observation::{PeerRead, Posix, Reply};
use reference::op::{Op, Setup};
use reference::rules::ids;
use reference::units::Bytes;
use reference::variant::Variant;

fn lingering(variant: Variant) -> Model {
    Model::new(&Setup { linger_zero: true, ..Setup::default() }).expect("setup").into_variant(variant)
}

fn peer_read(m: &mut Model, got: usize) -> Reply {
    m.step(&Op::PeerRead { max: Bytes(1 << 20) }, &[Choice::PeerGot { got: Bytes(got) }])
        .expect("ST-1")
        .observation
        .reply
}

/// CL-4: the close over a queue returns ok, the port leaves the table at
/// once with its queue dropped, on the reference rules and on OTP's inet
/// driver alike (no DIFF-INET-3 wait); the peer reads what reached it,
/// then the reset.
#[test]
fn a_zero_linger_close_drops_the_queue_and_resets_the_peer() {
    for variant in [Variant::Reference, Variant::OtpInet] {
        let mut m = lingering(variant);
        m.step(&send(0, 10_000, 1), &[wrote(10_000, 3000)]).expect("WM-2");
        let p = m.step(&Op::Close, &[]).expect("CL-4");
        assert_eq!(p.observation.reply, Reply::Closed(Ok(())));
        assert_eq!((p.observation.queue, p.observation.ports, p.why.ports), (Bytes::ZERO, 1, ids::CL_4), "{variant:?}");
        assert!(matches!(peer_read(&mut m, 2000), Reply::Peer(PeerRead::Data(d)) if d.len() == 2000));
        assert_eq!(peer_read(&mut m, 0), Reply::Peer(PeerRead::Reset), "{variant:?}");
    }
}

/// CL-4: the driver's own close of the socket resets too: a passive recv
/// that reads the peer's FIN closes it (PC-1), and the peer, which had not
/// ended its reading side, reads the reset.
#[test]
fn with_a_zero_linger_the_close_at_the_peers_end_resets() {
    let mut m = lingering(Variant::Reference);
    m.step(&Op::PeerShutdown, &[]).expect("PC-1");
    let p = m.step(&Op::Recv, &[Choice::Read { got: Bytes::ZERO }]).expect("PC-1");
    assert_eq!(p.observation.reply, Reply::Recv(Err(Posix::Closed)));
    assert_eq!(peer_read(&mut m, 0), Reply::Peer(PeerRead::Reset));
}

/// Without it the same close on OTP waits for the queue (CL-1,
/// DIFF-INET-3: port_info still shows it), and no shutdown is generated
/// with it (the reset would race the shutdown's FIN).
#[test]
fn without_linger_the_close_flushes_and_with_it_no_shutdown_is_generated() {
    let mut m = Model::new(&Setup::default()).expect("setup").into_variant(Variant::OtpInet);
    m.step(&send(0, 10_000, 1), &[wrote(10_000, 3000)]).expect("WM-2");
    let p = m.step(&Op::Close, &[]).expect("CL-1");
    assert_eq!(p.observation.queue, Bytes(7000));
    let m = lingering(Variant::Reference);
    assert!(!m.enabled(&Op::Shutdown { how: reference::op::ShutdownHow::Write }));
}
