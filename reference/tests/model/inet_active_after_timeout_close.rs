//! Variant otp-inet, DIFF-INET-7: once send_timeout_close has closed the
//! socket (TO-3), a setopts that leaves the port active sends
//! `{tcp_closed,S}` and exits the port (inet_drv.c `inet_set_opts`, case
//! `INET_LOPT_ACTIVE`, with exit_on_close). Measured on OTP 25, 27 and 29:
//! suite/regressions/beam-inet-17.json.

use crate::support::{ran, send, wrote};
use reference::choice::Activity;
use reference::model::Model;
use reference::observation::{Posix, Reply, SendResult};
use reference::op::{Op, Setup};
use reference::options::{ActiveSetting, Opt, Timeout};
use reference::units::{Millis, SenderId};
use reference::variant::Variant;

/// A port whose send timer fired with send_timeout_close: the socket is
/// closed, the port still open (TO-3).
fn closed_by_send_timeout(variant: Variant) -> Model {
    let options = vec![
        Opt::SendTimeout(Timeout::After(Millis(1))),
        Opt::SendTimeoutClose(true),
        Opt::HighWatermark(64),
        Opt::LowWatermark(16),
    ];
    let mut m =
        Model::new(&Setup { options, table_capacity: 2, ..Setup::default() }).expect("setup").into_variant(variant);
    m.step(&send(0, 12000, 1), &[wrote(12000, 6912)]).expect("WM-2: the rest queued, busy");
    m.step(&send(1, 100, 2), &[]).expect("SND-1: suspended");
    let p = m.step(&Op::AdvanceTime { by: Millis(21) }, &[ran(Activity::SendTimeout)]).expect("TO-1, TO-3");
    assert_eq!(p.observation.completed, vec![(SenderId(1), SendResult::Error(Posix::Timeout))], "TO-1");
    assert_eq!(m.step(&Op::Recv, &[]).expect("recv").observation.reply, Reply::Recv(Err(Posix::Enotconn)), "TO-3");
    m
}

fn set_active(m: &mut Model, setting: ActiveSetting) -> reference::observation::Observation {
    m.step(&Op::SetOpts { opts: vec![Opt::Active(setting)] }, &[]).expect("setopts").observation
}

/// DIFF-INET-7: the setopts answers ok, the port leaves the table, and a
/// later send finds no port.
#[test]
fn diff_inet_7_going_active_on_a_timed_out_socket_exits_the_port() {
    let mut m = closed_by_send_timeout(Variant::OtpInet);
    let before = m.step(&Op::Quiesce, &[]).expect("quiet").observation.ports;
    let o = set_active(&mut m, ActiveSetting::N(1));
    assert_eq!(o.reply, Reply::SetOpts(Ok(())), "DIFF-INET-7: driver_exit, then the control call's ok");
    assert_eq!(o.ports, before - 1, "DIFF-INET-7: the port left the table");
    let p = m.step(&send(0, 5, 3), &[]).expect("a send to the exited port");
    assert_eq!(p.observation.reply, Reply::Sent(Some(SendResult::Error(Posix::Closed))), "SND-6");
    assert!(!m.enabled(&Op::Recv), "no port to receive on");
}

/// DIFF-INET-7: a count that ends at zero leaves the port passive, so the
/// driver does not exit it.
#[test]
fn diff_inet_7_going_passive_keeps_the_port() {
    let mut m = closed_by_send_timeout(Variant::OtpInet);
    let before = m.step(&Op::Quiesce, &[]).expect("quiet").observation.ports;
    let o = set_active(&mut m, ActiveSetting::False);
    assert_eq!((o.reply, o.ports), (Reply::SetOpts(Ok(())), before), "RX-2: passive, the port stays");
}

/// The reference (TO-3): the socket stays closed and the port open.
#[test]
fn to_3_the_reference_keeps_the_port_when_it_goes_active() {
    let mut m = closed_by_send_timeout(Variant::Reference);
    let before = m.step(&Op::Quiesce, &[]).expect("quiet").observation.ports;
    let o = set_active(&mut m, ActiveSetting::True);
    assert_eq!((o.reply, o.ports), (Reply::SetOpts(Ok(())), before), "TO-3: still in the table");
}
