//! RX-1..RX-6: passive recv, {active,once}, {active,N} and {active,true}.

use crate::support::*;
use reference::choice::{Activity, Choice};
use reference::observation::{OwnerMsg, Posix, Reply};
use reference::op::Op;
use reference::options::{Active, ActiveSetting, Opt};
use reference::units::{payload, Bytes};

fn opts_of(c: &mut Case) -> reference::options::PortOptions {
    match c.apply(Op::GetOpts).observation.reply {
        Reply::Opts(o) => o,
        r => panic!("getopts replied {r:?}"),
    }
}

#[test]
fn passive_recv_reads_what_arrived_then_times_out() {
    let mut c = start(&setup(vec![]));
    c.apply(Op::PeerWrite { len: Bytes(10), tag: 4 });
    let s = c.apply(Op::Recv);
    assert_eq!(s.observation.reply, Reply::Recv(Ok(payload(4, Bytes(10)))));
    assert_eq!(s.choices, vec![Choice::Read { got: Bytes(10) }]);
    let s = c.apply(Op::Recv);
    assert_eq!(s.observation.reply, Reply::Recv(Err(Posix::Timeout)));
}

#[test]
fn once_delivers_one_message_and_goes_passive_silently() {
    let mut c = start(&setup(vec![Opt::Active(ActiveSetting::Once)]));
    let s = c.apply(Op::Recv);
    assert_eq!(s.observation.reply, Reply::Recv(Err(Posix::Einval)), "RX-1");
    assert!(s.choices.is_empty());
    c.apply(Op::PeerWrite { len: Bytes(100), tag: 1 });
    let s = c.apply(Op::Quiesce);
    assert_eq!(s.choices, vec![Choice::Ran(Activity::Input), Choice::Read { got: Bytes(100) }]);
    assert_eq!(opts_of(&mut c).active, Active::Passive);
    let s = c.apply(Op::Mailbox);
    assert_eq!(s.observation.reply, Reply::Mailbox(vec![OwnerMsg::Tcp(payload(1, Bytes(100)))]));
}

#[test]
fn active_n_counts_down_to_tcp_passive() {
    let mut c = start(&setup(vec![Opt::Active(ActiveSetting::N(2))]));
    c.apply(Op::PeerWrite { len: Bytes(30), tag: 1 });
    c.apply(Op::Quiesce);
    assert_eq!(opts_of(&mut c).active, Active::Count(1));
    c.apply(Op::PeerWrite { len: Bytes(20), tag: 2 });
    c.apply(Op::Quiesce);
    let s = c.apply(Op::Mailbox);
    assert_eq!(
        s.observation.reply,
        Reply::Mailbox(vec![
            OwnerMsg::Tcp(payload(1, Bytes(30))),
            OwnerMsg::Tcp(payload(2, Bytes(20))),
            OwnerMsg::TcpPassive
        ])
    );
    // More input waits for the next activation.
    c.apply(Op::PeerWrite { len: Bytes(5), tag: 3 });
    assert!(c.apply(Op::Quiesce).choices.is_empty());
    c.apply(Op::SetOpts { opts: vec![Opt::Active(ActiveSetting::True)] });
    let s = c.apply(Op::Quiesce);
    assert_eq!(s.choices[..2], [Choice::Ran(Activity::Input), Choice::Read { got: Bytes(5) }]);
}

#[test]
fn setopts_active_n_to_zero_notifies_at_once() {
    let mut c = start(&setup(vec![Opt::Active(ActiveSetting::N(1))]));
    let s = c.apply(Op::SetOpts { opts: vec![Opt::Active(ActiveSetting::N(-1))] });
    assert_eq!(s.observation.reply, Reply::SetOpts(Ok(())));
    assert_eq!(c.apply(Op::Mailbox).observation.reply, Reply::Mailbox(vec![OwnerMsg::TcpPassive]));
    let s = c.apply(Op::SetOpts { opts: vec![Opt::Active(ActiveSetting::N(40000))] });
    assert_eq!(s.observation.reply, Reply::SetOpts(Err(Posix::Einval)));
}
