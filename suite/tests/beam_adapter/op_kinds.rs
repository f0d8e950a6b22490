//! Every op kind through the adapter, the rules small enough to check in
//! one short case each, and what `Setup::parallelism` starts.

use crate::support::{factory, send, setup, Case, R};
use harness::sut::beam::Backend;
use harness::sut::external::unsupported_reason;
use harness::sut::SystemUnderTest;
use reference::observation::{AcceptOutcome, PeerRead, Posix, Reply, SendResult, SenderStatus};
use reference::op::{Op, Setup};
use reference::options::{Active, ActiveSetting, Opt, PortOptions, Timeout};
use reference::units::{payload, Bytes, Millis};

pub fn op_kinds(b: Backend) -> R {
    let mut c = Case::new(b, setup(vec![], 2))?;
    let s = c.step(send(0, 100, 1))?;
    ensure!(s.observation.reply == Reply::Sent(Some(SendResult::Ok)), "{:?}", s.observation.reply);
    ensure!(s.observation.senders == vec![SenderStatus::Idle; 2], "{:?}", s.observation.senders);
    let s = c.step(Op::QueueSize)?;
    ensure!(s.observation.reply == Reply::QueueSize(Bytes(0)), "{:?}", s.observation.reply);
    let s = c.step(Op::PeerRead { max: Bytes(40) })?;
    ensure!(s.observation.reply == Reply::Peer(PeerRead::Data(payload(1, Bytes(100))[..40].to_vec())), "partial read");
    ensure!(s.choices == vec![reference::choice::Choice::PeerGot { got: Bytes(40) }], "{:?}", s.choices);
    let s = c.step(Op::PeerRead { max: Bytes(1000) })?;
    ensure!(s.observation.reply == Reply::Peer(PeerRead::Data(payload(1, Bytes(100))[40..].to_vec())), "rest");
    let s = c.step(Op::PeerRead { max: Bytes(1000) })?;
    ensure!(s.observation.reply == Reply::Peer(PeerRead::WouldBlock), "{:?}", s.observation.reply);
    ensure!(s.choices == vec![reference::choice::Choice::PeerGot { got: Bytes(0) }], "{:?}", s.choices);

    // Options: OPT-1/2 clamping, OPT-5 first-listed wins, OPT-3 einval.
    let s = c.step(Op::SetOpts { opts: vec![Opt::HighWatermark(1000)] })?;
    ensure!(s.observation.reply == Reply::SetOpts(Ok(())), "{:?}", s.observation.reply);
    let s = c.step(Op::SetOpts { opts: vec![Opt::HighMsgqWatermark(0)] })?;
    match b {
        Backend::Inet => {
            ensure!(s.observation.reply == Reply::SetOpts(Err(Posix::Einval)), "OPT-3: {:?}", s.observation.reply)
        }
        // Observed: gen_tcp_socket ignores the msgq watermarks, 0 included.
        Backend::Socket => ensure!(s.observation.reply == Reply::SetOpts(Ok(())), "{:?}", s.observation.reply),
    }
    let s = c.step(Op::SetOpts {
        opts: vec![Opt::SendTimeout(Timeout::After(Millis(300))), Opt::SendTimeout(Timeout::Infinity)],
    })?;
    ensure!(s.observation.reply == Reply::SetOpts(Ok(())), "{:?}", s.observation.reply);
    match c.sut().apply(&Op::GetOpts) {
        Ok(s) => {
            let Reply::Opts(o) = s.observation.reply else { return Err(format!("{:?}", s.observation.reply)) };
            println!("  getopts: {o:?}");
            ensure!(b == Backend::Inet, "socket backend answered getopts: {o:?}");
            let want = PortOptions {
                high: Bytes(1000),
                low: Bytes(1000),
                send_timeout: Timeout::After(Millis(300)),
                ..PortOptions::default()
            };
            ensure!(o == want, "getopts {o:?}, expected {want:?}");
        }
        Err(e) => {
            println!("  getopts: {e}");
            ensure!(b == Backend::Socket && unsupported_reason(&e).is_some(), "{e}");
        }
    }

    // Receive side.
    let s = c.step(Op::Recv)?;
    ensure!(s.observation.reply == Reply::Recv(Err(Posix::Timeout)), "{:?}", s.observation.reply);
    c.step(Op::PeerWrite { len: Bytes(10), tag: 9 })?;
    let s = c.step(Op::Recv)?;
    ensure!(s.observation.reply == Reply::Recv(Ok(payload(9, Bytes(10)))), "{:?}", s.observation.reply);
    let s = c.step(Op::Mailbox)?;
    ensure!(s.observation.reply == Reply::Mailbox(vec![]), "{:?}", s.observation.reply);
    c.step(Op::Quiesce)?;
    c.step(send(1, 10, 4))?;
    let s = c.step(Op::AwaitPeer)?;
    ensure!(s.observation.reply == Reply::None, "{:?}", s.observation.reply);
    let s = c.step(Op::PeerRead { max: Bytes(100) })?;
    ensure!(s.observation.reply == Reply::Peer(PeerRead::Data(payload(4, Bytes(10)))), "{:?}", s.observation.reply);
    let s = c.step(Op::ContendLock);
    ensure!(s.as_ref().err().is_some_and(|e| e.contains("unsupported")), "contend_lock: {s:?}");
    Ok(())
}

/// OPT-6 (listener inheritance), RX-2 (active once), WM-5 (zero-length
/// send), SND-6/CL-2 and PT-4 (close with nothing queued).
pub fn small_rules(b: Backend) -> R {
    let listener = vec![
        Opt::HighWatermark(30000),
        Opt::LowWatermark(20000),
        Opt::HighMsgqWatermark(9000),
        Opt::DelaySend(true),
        Opt::SendTimeout(Timeout::After(Millis(700))),
        Opt::SendTimeoutClose(true),
        Opt::Active(ActiveSetting::Once),
    ];
    let mut c = Case::new(b, Setup { listener_options: listener, table_capacity: 4, ..setup(vec![], 2) })?;
    match c.step(Op::Accept) {
        Ok(s) => {
            let want = PortOptions {
                high: Bytes(30000),
                low: Bytes(20000),
                high_msgq: Bytes(9000),
                low_msgq: Bytes(4096),
                delay_send: true,
                send_timeout: Timeout::After(Millis(700)),
                send_timeout_close: true,
                active: Active::Once,
            };
            ensure!(
                s.observation.reply == Reply::Accept(AcceptOutcome::Accepted(want)),
                "OPT-6: {:?}",
                s.observation.reply
            );
        }
        Err(e) => ensure!(b == Backend::Socket && e.contains("unsupported"), "{e}"),
    }
    let s = c.step(send(0, 0, 1))?;
    ensure!(
        s.observation.reply == Reply::Sent(Some(SendResult::Ok)) && s.observation.queue.0 == 0,
        "WM-5: {:?}",
        s.observation
    );
    c.step(Op::SetOpts { opts: vec![Opt::Active(ActiveSetting::Once)] })?;
    c.step(Op::PeerWrite { len: Bytes(5), tag: 1 })?;
    c.step(Op::PeerWrite { len: Bytes(5), tag: 2 })?;
    let s = c.step(Op::Mailbox)?;
    use reference::observation::OwnerMsg;
    ensure!(
        s.observation.reply == Reply::Mailbox(vec![OwnerMsg::Tcp(payload(1, Bytes(5)))]),
        "RX-2: {:?}",
        s.observation.reply
    );
    let s = c.step(Op::Recv)?;
    ensure!(
        s.observation.reply == Reply::Recv(Ok(payload(2, Bytes(5)))),
        "passive after once: {:?}",
        s.observation.reply
    );
    let before = c.step(Op::QueueSize)?.observation.ports;
    let s = c.step(Op::Close)?;
    ensure!(s.observation.reply == Reply::Closed(Ok(())), "{:?}", s.observation.reply);
    if b == Backend::Inet {
        ensure!(s.observation.ports == before - 1, "PT-4: ports {} -> {}", before, s.observation.ports);
    }
    let s = c.step(send(1, 10, 3))?;
    ensure!(
        s.observation.reply == Reply::Sent(Some(SendResult::Error(Posix::Closed))),
        "SND-6: {:?}",
        s.observation.reply
    );
    Ok(())
}

/// `parallelism: true` starts the node with `+spp true` (gen_tcp has no
/// per-socket option); the socket backend has no port to make parallel.
pub fn parallelism_setup(b: Backend) -> R {
    let f = factory(b)?;
    let setup = Setup { parallelism: true, ..setup(vec![], 2) };
    ensure!(f.command(&setup).contains("+spp true"), "{}", f.command(&setup));
    match f.spawn(&setup) {
        Ok(sut) => {
            ensure!(b == Backend::Inet, "socket backend accepted parallelism");
            let p = sut.ready().info.get("port_parallelism").cloned();
            ensure!(p.as_deref() == Some("true"), "{p:?}");
        }
        Err(e) => {
            println!("  {e}");
            ensure!(b == Backend::Socket && unsupported_reason(&e).is_some(), "{e}");
        }
    }
    Ok(())
}
