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

/// DIFF-INET-11 then PC-3: on OTP 29 the send timer's close exits an
/// active port; a recv or setopts that reaches the exited port (on a real
/// clock the timer may fire between two steps, just before them) is
/// answered as on any exited port: {error,closed} and {error,einval}
/// (regression beam-inet-1002-case489-exited-otp29: the setopts was
/// predicted ok, and the mismatch then blamed on another path's order).
#[test]
fn pc_3_an_exited_port_answers_recv_closed_and_setopts_einval() {
    let options = vec![
        Opt::SendTimeout(Timeout::After(Millis(1))),
        Opt::SendTimeoutClose(true),
        Opt::HighWatermark(64),
        Opt::LowWatermark(16),
        Opt::Active(ActiveSetting::True),
    ];
    let mut m = Model::new(&Setup { options, table_capacity: 2, ..Setup::default() })
        .expect("setup")
        .into_variant(Variant::OtpInet)
        .with_otp(reference::variant::OtpRelease(29));
    m.step(&send(0, 12000, 1), &[wrote(12000, 6912)]).expect("WM-2: the rest queued");
    m.step(&send(1, 100, 2), &[]).expect("WM-3: busy, the caller blocked");
    let p = m.step(&Op::AdvanceTime { by: Millis(21) }, &[ran(Activity::SendTimeout)]).expect("TO-3, DIFF-INET-11");
    assert_eq!(p.observation.ports, 1, "DIFF-INET-11: the port exited");
    let p = m.step(&Op::Recv, &[]).expect("PC-3");
    assert_eq!((p.observation.reply, p.why.reply), (Reply::Recv(Err(Posix::Closed)), reference::rules::ids::PC_3));
    let o = set_active(&mut m, ActiveSetting::Once);
    assert_eq!(o.reply, Reply::SetOpts(Err(Posix::Einval)), "PC-3: setopts on the exited port");
}
