//! `setup.exit_on_close` false: the port under test connected with
//! `{exit_on_close, false}`, whose peer's FIN closes only its read side
//! (PC-6, PC-7), on the inet driver of OTP 25, 27 and 29. Each trial
//! drives the adapter op by op and checks what each step reports, as
//! measured with harness/beam/probes/probe_exit_on_close_fin.erl: a passive
//! recv after the FIN returns `{error,closed}`, every time; the port stays
//! in the table and its sends reach the peer, which reads no EOF until the
//! port is closed; an active port delivers its bytes, then `{tcp_closed,S}`
//! once, and stays, active as it was (an `{active,N}` count not used by
//! the message); a port that read the end passively tells its owner at the
//! first setopts that leaves it active, and never again. The trials whose
//! ops the model generates then run them in lockstep with the model
//! (`harness::executor::run_case`); the owner's shutdown and the peer's RST
//! on such a port, which the model does not generate, only check that the
//! adapter ends their steps (an active port stays: no exit to wait for).

use crate::support::{factory, inet_factory, lockstep, observed_at, send, setup, Case, R};
use harness::sut::beam::Backend;
use harness::sut::external::unsupported_reason;
use harness::sut::{Step, SutFactory};
use reference::observation::{OwnerMsg, PeerRead, Posix, Reply, SendResult};
use reference::op::{Op, Setup, ShutdownHow};
use reference::options::{Active, ActiveSetting, Opt};
use reference::units::{payload, Bytes};

/// A trial on one release (`None`: OTP 25, the `erl` on PATH).
pub type OnRelease = fn(Option<&str>) -> R;

/// The trials run on every release, by name.
pub const ON_EVERY_RELEASE: [(&str, OnRelease); 7] = [
    (
        "passive_fin_recv_closed_every_time_and_sends_still_reach_the_peer",
        passive_fin_recv_closed_every_time_and_sends_still_reach_the_peer,
    ),
    ("active_fin_delivers_tcp_closed_and_the_port_stays", active_fin_delivers_tcp_closed_and_the_port_stays),
    ("active_n_fin_leaves_the_count_unused", active_n_fin_leaves_the_count_unused),
    ("passive_end_then_active_delivers_tcp_closed_once", passive_end_then_active_delivers_tcp_closed_once),
    (
        "owner_shutdown_read_write_on_an_active_port_ends_its_step",
        owner_shutdown_read_write_on_an_active_port_ends_its_step,
    ),
    ("peer_reset_on_an_active_port_ends_its_step", peer_reset_on_an_active_port_ends_its_step),
    ("node_clean_after_a_case_that_ends_half_closed", node_clean_after_a_case_that_ends_half_closed),
];

/// The setup of these trials: one sender, `{exit_on_close, false}`.
fn half_closing(options: Vec<Opt>) -> Setup {
    Setup { exit_on_close: false, ..setup(options, 1) }
}

fn active(a: ActiveSetting) -> Op {
    Op::SetOpts { opts: vec![Opt::Active(a)] }
}

fn expect_reply(s: &Step, want: Reply, what: &str) -> R {
    ensure!(s.observation.reply == want, "{what}: reply {:?}, expected {want:?}", s.observation.reply);
    Ok(())
}

fn expect_ports(s: &Step, ports: usize, what: &str) -> R {
    ensure!(
        s.observation.ports == ports,
        "{what}: ports {}, expected {ports} (the port under test stays in the table)",
        s.observation.ports
    );
    Ok(())
}

/// After the end: a send of 10 bytes (tag `tag`) returns ok, the peer
/// reads exactly its bytes, then would block (no EOF: the port's socket
/// stays open for writing); the port is still in the table.
fn sends_reach_the_peer(c: &mut Case, tag: u16, ports: usize) -> R {
    let s = c.step(send(0, 10, tag))?;
    expect_reply(&s, Reply::Sent(Some(SendResult::Ok)), "a send after the peer's FIN")?;
    let s = c.step(Op::AwaitPeer)?;
    expect_ports(&s, ports, "await_peer after the send")?;
    let s = c.step(Op::PeerRead { max: Bytes(16384) })?;
    expect_reply(&s, Reply::Peer(PeerRead::Data(payload(tag, Bytes(10)))), "the peer's read of the send")?;
    let s = c.step(Op::PeerRead { max: Bytes(16384) })?;
    expect_reply(&s, Reply::Peer(PeerRead::WouldBlock), "the peer's next read (no EOF before the port's close)")?;
    expect_ports(&s, ports, "after the peer's reads")
}

/// The ops after the end in lockstep: a send, the peer reading it, then
/// nothing more to read.
fn after_end(tag: u16) -> [Op; 4] {
    [send(0, 10, tag), Op::AwaitPeer, Op::PeerRead { max: Bytes(16384) }, Op::PeerRead { max: Bytes(16384) }]
}

/// PC-6 on a passive port: the peer's FIN leaves the port in the table;
/// the recv that reaches it returns `{error,closed}`, and so does the next
/// (never `enotconn`); a send after it returns ok and the peer reads its
/// bytes, with no EOF; the owner gets no message. With the default
/// (exit_on_close true) the second recv finds the socket closed instead:
/// `{error,enotconn}` (the contrast that shows the setup reached the port).
pub fn passive_fin_recv_closed_every_time_and_sends_still_reach_the_peer(rel: Option<&str>) -> R {
    let f = inet_factory(rel)?;
    let mut c = Case::on(f, half_closing(vec![]))?;
    c.step(Op::PeerWrite { len: Bytes(3), tag: 1 })?;
    let ports = c.step(Op::QueueSize)?.observation.ports;
    let s = c.step(Op::PeerShutdown)?;
    expect_reply(&s, Reply::None, "peer_shutdown")?;
    expect_ports(&s, ports, "the peer's FIN")?;
    let s = c.step(Op::Recv)?;
    expect_reply(&s, Reply::Recv(Ok(payload(1, Bytes(3)))), "the recv of the bytes before the FIN")?;
    for i in 0..2 {
        let s = c.step(Op::Recv)?;
        expect_reply(&s, Reply::Recv(Err(Posix::Closed)), &format!("recv {i} after the FIN"))?;
        expect_ports(&s, ports, "a recv after the FIN")?;
    }
    sends_reach_the_peer(&mut c, 7, ports)?;
    let s = c.step(Op::Recv)?;
    expect_reply(&s, Reply::Recv(Err(Posix::Closed)), "a recv after the send")?;
    let s = c.step(Op::Mailbox)?;
    expect_reply(&s, Reply::Mailbox(vec![]), "the passive owner's mailbox")?;

    let mut c = Case::on(f, setup(vec![], 1))?;
    c.step(Op::PeerShutdown)?;
    let s = c.step(Op::Recv)?;
    expect_reply(&s, Reply::Recv(Err(Posix::Closed)), "exit_on_close true: the recv that reads the FIN")?;
    let s = c.step(Op::Recv)?;
    expect_reply(&s, Reply::Recv(Err(Posix::Enotconn)), "exit_on_close true: the next recv")?;

    let mut ops = vec![Op::PeerWrite { len: Bytes(3), tag: 1 }, Op::PeerShutdown, Op::Recv, Op::Recv, Op::Recv];
    ops.extend(after_end(7));
    ops.push(Op::Recv);
    let out = lockstep(f, &half_closing(vec![]), &ops)?;
    ensure!(
        observed_at(&out, 4)?.reply == Reply::Recv(Err(Posix::Closed)),
        "lockstep: the second recv after the FIN: {:?}",
        observed_at(&out, 4)?.reply
    );
    Ok(())
}

/// PC-7 on an `{active,true}` port: the bytes, then `{tcp_closed,S}`
/// once; the port stays in the table, active; a send reaches the peer,
/// and no second message comes. With the default the port leaves the
/// table with the end (PC-3).
pub fn active_fin_delivers_tcp_closed_and_the_port_stays(rel: Option<&str>) -> R {
    let f = inet_factory(rel)?;
    let mut c = Case::on(f, half_closing(vec![]))?;
    let s = c.step(active(ActiveSetting::True))?;
    expect_reply(&s, Reply::SetOpts(Ok(())), "setopts active true")?;
    c.step(Op::PeerWrite { len: Bytes(2), tag: 1 })?;
    let ports = c.step(Op::QueueSize)?.observation.ports;
    let s = c.step(Op::PeerShutdown)?;
    expect_ports(&s, ports, "the peer's FIN on the active port")?;
    let s = c.step(Op::Mailbox)?;
    expect_reply(
        &s,
        Reply::Mailbox(vec![OwnerMsg::Tcp(payload(1, Bytes(2))), OwnerMsg::TcpClosed]),
        "the active owner's mailbox after the FIN",
    )?;
    let s = c.step(Op::GetOpts)?;
    let Reply::Opts(o) = &s.observation.reply else { return Err(format!("get_opts: {:?}", s.observation.reply)) };
    ensure!(o.active == Active::Always, "get_opts after the FIN: active {:?}, expected it as it was", o.active);
    sends_reach_the_peer(&mut c, 7, ports)?;
    let s = c.step(Op::Mailbox)?;
    expect_reply(&s, Reply::Mailbox(vec![]), "the mailbox after the send")?;

    let mut c = Case::on(f, setup(vec![], 1))?;
    c.step(active(ActiveSetting::True))?;
    let ports = c.step(Op::QueueSize)?.observation.ports;
    let s = c.step(Op::PeerShutdown)?;
    expect_ports(&s, ports - 1, "exit_on_close true: the active port's exit")?;

    let mut ops = vec![
        active(ActiveSetting::True),
        Op::PeerWrite { len: Bytes(2), tag: 1 },
        Op::PeerShutdown,
        Op::Mailbox,
        Op::GetOpts,
    ];
    ops.extend(after_end(7));
    ops.push(Op::Mailbox);
    let out = lockstep(f, &half_closing(vec![]), &ops)?;
    ensure!(
        observed_at(&out, 3)?.reply == Reply::Mailbox(vec![OwnerMsg::Tcp(payload(1, Bytes(2))), OwnerMsg::TcpClosed]),
        "lockstep: the mailbox after the FIN: {:?}",
        observed_at(&out, 3)?.reply
    );
    Ok(())
}

/// PC-7 on an `{active,3}` port: one message of bytes uses one of the
/// count, `{tcp_closed,S}` none: it stays 2 (a setopts `{active,2}` then
/// reads back 4).
pub fn active_n_fin_leaves_the_count_unused(rel: Option<&str>) -> R {
    let f = inet_factory(rel)?;
    let mut c = Case::on(f, half_closing(vec![]))?;
    c.step(active(ActiveSetting::N(3)))?;
    c.step(Op::PeerWrite { len: Bytes(2), tag: 1 })?;
    let ports = c.step(Op::QueueSize)?.observation.ports;
    let s = c.step(Op::PeerShutdown)?;
    expect_ports(&s, ports, "the peer's FIN on the {active,3} port")?;
    let s = c.step(Op::Mailbox)?;
    expect_reply(
        &s,
        Reply::Mailbox(vec![OwnerMsg::Tcp(payload(1, Bytes(2))), OwnerMsg::TcpClosed]),
        "the {active,3} owner's mailbox after the FIN",
    )?;
    let count = |c: &mut Case| -> Result<Active, String> {
        match c.step(Op::GetOpts)?.observation.reply {
            Reply::Opts(o) => Ok(o.active),
            r => Err(format!("get_opts: {r:?}")),
        }
    };
    let a = count(&mut c)?;
    ensure!(a == Active::Count(2), "after one message and the FIN: active {a:?}, expected a count of 2");
    let s = c.step(active(ActiveSetting::N(2)))?;
    expect_reply(&s, Reply::SetOpts(Ok(())), "setopts {active,2}")?;
    let a = count(&mut c)?;
    ensure!(a == Active::Count(4), "after setopts {{active,2}}: active {a:?}, expected a count of 4");
    let s = c.step(Op::Mailbox)?;
    expect_reply(&s, Reply::Mailbox(vec![]), "the mailbox after the setopts (no second tcp_closed)")?;
    expect_ports(&s, ports, "after the setopts")?;

    let ops = [
        active(ActiveSetting::N(3)),
        Op::PeerWrite { len: Bytes(2), tag: 1 },
        Op::PeerShutdown,
        Op::Mailbox,
        Op::GetOpts,
        active(ActiveSetting::N(2)),
        Op::GetOpts,
        Op::Mailbox,
    ];
    let out = lockstep(f, &half_closing(vec![]), &ops)?;
    ensure!(
        matches!(&observed_at(&out, 6)?.reply, Reply::Opts(o) if o.active == Active::Count(4)),
        "lockstep: get_opts after {{active,2}}: {:?}",
        observed_at(&out, 6)?.reply
    );
    Ok(())
}

/// PC-7: a port that read the end passively (recv `{error,closed}`) tells
/// its owner at the first setopts that leaves it active
/// (`{active,once}`: one `{tcp_closed,S}`); no later setopts does, once
/// or true; the port stays in the table throughout.
pub fn passive_end_then_active_delivers_tcp_closed_once(rel: Option<&str>) -> R {
    let f = inet_factory(rel)?;
    let mut c = Case::on(f, half_closing(vec![]))?;
    let ports = c.step(Op::QueueSize)?.observation.ports;
    c.step(Op::PeerShutdown)?;
    let s = c.step(Op::Recv)?;
    expect_reply(&s, Reply::Recv(Err(Posix::Closed)), "the recv that reads the FIN")?;
    let s = c.step(Op::Mailbox)?;
    expect_reply(&s, Reply::Mailbox(vec![]), "the mailbox after the passive end")?;
    let s = c.step(active(ActiveSetting::Once))?;
    expect_reply(&s, Reply::SetOpts(Ok(())), "setopts active once after the end")?;
    let s = c.step(Op::Mailbox)?;
    expect_reply(&s, Reply::Mailbox(vec![OwnerMsg::TcpClosed]), "the mailbox after the first active setopts")?;
    for a in [ActiveSetting::Once, ActiveSetting::True] {
        let s = c.step(active(a))?;
        expect_reply(&s, Reply::SetOpts(Ok(())), &format!("setopts {a:?} after the end was told"))?;
        let s = c.step(Op::Mailbox)?;
        expect_reply(&s, Reply::Mailbox(vec![]), &format!("the mailbox after setopts {a:?}: no second tcp_closed"))?;
        expect_ports(&s, ports, "after the setopts")?;
    }
    sends_reach_the_peer(&mut c, 5, ports)?;

    let mut ops = vec![
        Op::PeerShutdown,
        Op::Recv,
        active(ActiveSetting::Once),
        Op::Mailbox,
        active(ActiveSetting::True),
        Op::Mailbox,
    ];
    ops.extend(after_end(5));
    let out = lockstep(f, &half_closing(vec![]), &ops)?;
    ensure!(
        observed_at(&out, 3)?.reply == Reply::Mailbox(vec![OwnerMsg::TcpClosed]),
        "lockstep: the mailbox after the first active setopts: {:?}",
        observed_at(&out, 3)?.reply
    );
    Ok(())
}

/// The owner's `shutdown(S, read_write)` on an active half-closing port
/// ends its own input as the peer's FIN does (SD-4): the port delivers
/// `{tcp_closed,S}` and stays, so the adapter's step cannot wait for an
/// exit; neither can a peer_shutdown after the message was taken. (Not
/// generated on such a port: no lockstep.)
pub fn owner_shutdown_read_write_on_an_active_port_ends_its_step(rel: Option<&str>) -> R {
    let f = inet_factory(rel)?;
    let mut c = Case::on(f, half_closing(vec![]))?;
    c.step(active(ActiveSetting::True))?;
    let ports = c.step(Op::QueueSize)?.observation.ports;
    let s = c.step(Op::Shutdown { how: ShutdownHow::ReadWrite })?;
    expect_reply(&s, Reply::Shutdown(Ok(())), "shutdown read_write")?;
    expect_ports(&s, ports, "shutdown read_write on the half-closing port")?;
    let s = c.step(Op::Mailbox)?;
    expect_reply(&s, Reply::Mailbox(vec![OwnerMsg::TcpClosed]), "the mailbox after shutdown read_write")?;
    let s = c.step(Op::PeerShutdown)?;
    expect_ports(&s, ports, "the peer's FIN after the owner's shutdown")?;
    let s = c.step(Op::Mailbox)?;
    expect_reply(&s, Reply::Mailbox(vec![]), "the mailbox after the peer's FIN (told once)")?;
    Ok(())
}

/// The peer's RST on an active half-closing port: the port delivers
/// `{tcp_closed,S}` (after `{tcp_error,S,econnreset}` with
/// show_econnreset) and stays in the table, so the adapter's step cannot
/// wait for an exit. (Not generated on such a port: no lockstep.)
pub fn peer_reset_on_an_active_port_ends_its_step(rel: Option<&str>) -> R {
    let f = inet_factory(rel)?;
    for show in [false, true] {
        println!("  show_econnreset {show}");
        let mut c = Case::on(f, Setup { show_econnreset: show, ..half_closing(vec![]) })?;
        c.step(active(ActiveSetting::True))?;
        let ports = c.step(Op::QueueSize)?.observation.ports;
        let s = c.step(Op::PeerReset)?;
        expect_ports(&s, ports, "the peer's RST on the half-closing port")?;
        let want = if show {
            vec![OwnerMsg::TcpError(Posix::Econnreset), OwnerMsg::TcpClosed]
        } else {
            vec![OwnerMsg::TcpClosed]
        };
        let s = c.step(Op::Mailbox)?;
        expect_reply(&s, Reply::Mailbox(want), "the mailbox after the peer's RST")?;
    }
    Ok(())
}

/// A case that ends with the port half-closed and its `{tcp_closed,S}`
/// still in the owner's mailbox (the peer_shutdown's step looked for it):
/// `reset` answers clean (the port closed, the message flushed), and the
/// next case on the same node, with the default exit_on_close, starts as
/// on a fresh one: its port counted as before, its mailbox empty, and the
/// peer's FIN takes its active port out of the table (PC-3). Then the same
/// through the executor's node pool: no dirty reset.
pub fn node_clean_after_a_case_that_ends_half_closed(rel: Option<&str>) -> R {
    let f = inet_factory(rel)?;
    let mut c = Case::on(f, half_closing(vec![]))?;
    c.step(active(ActiveSetting::True))?;
    let ports = c.step(Op::QueueSize)?.observation.ports;
    let s = c.step(Op::PeerShutdown)?;
    expect_ports(&s, ports, "the peer's FIN on the half-closing port")?;
    c.sut().reset().map_err(|e| format!("reset after a half-closed case: {e}"))?;
    c.sut().next_case(&setup(vec![], 1)).map_err(|e| e.to_string())?;
    println!("  next case on the same node, exit_on_close true");
    let s = c.step(Op::Mailbox)?;
    expect_reply(&s, Reply::Mailbox(vec![]), "the next case's mailbox")?;
    expect_ports(&s, ports, "the next case's first step")?;
    c.step(active(ActiveSetting::True))?;
    let s = c.step(Op::PeerShutdown)?;
    ensure!(
        s.observation.ports + 1 == ports,
        "the next case: ports {} after the FIN, {ports} before",
        s.observation.ports
    );
    let s = c.step(Op::Mailbox)?;
    expect_reply(&s, Reply::Mailbox(vec![OwnerMsg::TcpClosed]), "the next case's mailbox after the FIN")?;
    c.sut().reset().map_err(|e| format!("reset after the next case: {e}"))?;

    let dirty = f.pool().stats().dirty;
    let ops = [active(ActiveSetting::True), Op::PeerWrite { len: Bytes(2), tag: 1 }, Op::PeerShutdown];
    lockstep(f, &half_closing(vec![]), &ops)?;
    let ops = [active(ActiveSetting::True), Op::Mailbox, Op::QueueSize];
    let out = lockstep(f, &setup(vec![], 1), &ops)?;
    ensure!(
        observed_at(&out, 1)?.reply == Reply::Mailbox(vec![]),
        "the case after a half-closed one saw {:?}",
        observed_at(&out, 1)?.reply
    );
    let stats = f.pool().stats();
    ensure!(stats.dirty == dirty, "{} dirty reset(s) in the pool: {stats:?}", stats.dirty - dirty);
    Ok(())
}

/// The socket backend declares no `exit_on_close` (its half-close was not
/// measured): a hello that asks for `{exit_on_close, false}` anyway (a
/// replayed trace) is answered `unsupported`, with a reason.
pub fn socket_backend_unsupported() -> R {
    let f = factory(Backend::Socket)?;
    ensure!(!f.abilities().exit_on_close, "the socket backend's factory declares exit_on_close");
    let mut c = Case::new(Backend::Socket, setup(vec![], 1))?;
    ensure!(!c.sut().ready().abilities().exit_on_close, "the socket backend's ready declares exit_on_close");
    ensure!(
        f.abilities().adapt_setup(half_closing(vec![])).exit_on_close,
        "the socket backend's abilities keep exit_on_close false in a generated setup"
    );
    match f.spawn(&half_closing(vec![])) {
        Err(e) if unsupported_reason(&e).is_some() => println!("  {e}"),
        Err(e) => return Err(format!("socket backend, exit_on_close false: not unsupported: {e}")),
        Ok(_) => return Err("socket backend, exit_on_close false: the hello was answered ready".into()),
    }
    Ok(())
}
