//! The receive side: `{active, N}` and passive recv (RX-1, RX-3, RX-4).

use crate::support::{setup, Case, R};
use harness::sut::beam::Backend;
use reference::observation::{Posix, Reply};
use reference::op::Op;
use reference::options::{Active, ActiveSetting, Opt};
use reference::units::{payload, Bytes};

pub fn active_n(b: Backend) -> R {
    let mut c = Case::new(b, setup(vec![], 2))?;
    let s = c.step(Op::SetOpts { opts: vec![Opt::Active(ActiveSetting::N(2))] })?;
    ensure!(s.observation.reply == Reply::SetOpts(Ok(())), "{:?}", s.observation.reply);
    let s = c.step(Op::Recv)?;
    ensure!(s.observation.reply == Reply::Recv(Err(Posix::Einval)), "RX-1: {:?}", s.observation.reply);
    c.step(Op::PeerWrite { len: Bytes(10), tag: 1 })?;
    c.step(Op::PeerWrite { len: Bytes(10), tag: 2 })?;
    let s = c.step(Op::Mailbox)?;
    println!("  mailbox: {:?}", s.observation.reply);
    let Reply::Mailbox(m) = &s.observation.reply else { return Err("no mailbox".into()) };
    use reference::observation::OwnerMsg;
    ensure!(
        *m == vec![OwnerMsg::Tcp(payload(1, Bytes(10))), OwnerMsg::Tcp(payload(2, Bytes(10))), OwnerMsg::TcpPassive],
        "RX-4: {m:?}"
    );
    let s = c.step(Op::SetOpts { opts: vec![Opt::Active(ActiveSetting::N(32767))] })?;
    ensure!(s.observation.reply == Reply::SetOpts(Ok(())), "{:?}", s.observation.reply);
    let s = c.step(Op::SetOpts { opts: vec![Opt::Active(ActiveSetting::N(1))] })?;
    println!("  active 32767 + 1 -> {:?}", s.observation.reply);
    if b == Backend::Inet {
        ensure!(s.observation.reply == Reply::SetOpts(Err(Posix::Einval)), "RX-3");
        let s = c.step(Op::GetOpts)?;
        ensure!(
            matches!(&s.observation.reply, Reply::Opts(o) if o.active == Active::Count(32767)),
            "{:?}",
            s.observation.reply
        );
    }
    Ok(())
}
