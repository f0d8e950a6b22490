//! The world of one case (PROTOCOL.md §4): the port under test connected to
//! a peer socket outside the runtime, a listener, the sender tasks, a port
//! table with `table_capacity` slots.
//!
//! `World::apply` runs one op to a stable state: the sender it involves
//! has returned, waits or is suspended. The port's own activities (output
//! when writable, input to an active owner, the timers that fired,
//! resumed senders) run only when the harness asks the runtime to
//! quiesce (`quiesce`, `await_io`, `advance_time`; `settles: false`), and
//! run then until nothing is left, by readiness and acknowledgement, never
//! by sleeping. Every write, read and activity is reported (§5).

use crate::options::{defaults, set_opts};
use crate::plant::Plant;
use crate::port::{Life, Port, SharedPort};
use crate::port_table::{PortKind, PortTable};
use crate::sender::{self, Roster, SendRequest};
use crate::units::{Bytes, PortId};
use reference::choice::Choice;
use reference::observation::{AcceptOutcome, Busy, Observation, PeerRead, Posix, Reply};
use reference::op::{Op, Setup};
use reference::options::PortOptions;
use reference::units::payload;
use std::collections::BTreeMap;
use std::io;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::{mpsc, Notify};
use tokio::time::{timeout_at, Instant};

/// The port's socket buffer (the kernel doubles it: 9216 effective), small
/// so that a few sends fill the kernel and the driver queue grows.
const PORT_SNDBUF: u32 = 4608;
/// The peer's receive buffer (4608 effective).
const PEER_RCVBUF: u32 = 2304;
/// Every wait of the adapter is bounded by this, well below the harness's
/// 10 s answer bound: a wait that runs out answers `error`.
pub const BOUND: Duration = Duration::from_secs(5);

/// What an op came to.
pub enum Answer {
    Step { observation: Observation, choices: Vec<Choice> },
    Unsupported(String),
}

/// A port accepted from the listener, and the client that connected.
struct AcceptedPort {
    id: PortId,
    _stream: TcpStream,
    _client: TcpStream,
}

pub struct World {
    port: SharedPort,
    settled: Arc<Notify>,
    table: PortTable,
    under_test: PortId,
    listener: TcpListener,
    listener_opts: PortOptions,
    accepted: Vec<AcceptedPort>,
    /// Ports opened by `open_extra`, connected to `outside`.
    extras: Vec<(PortId, TcpStream)>,
    /// A listening socket outside the runtime's table (`open_extra`
    /// connects to it; nothing accepts).
    outside: TcpListener,
    peer: TcpStream,
    /// A reset consumed by `await_peer`'s peek, reported by the next read.
    peer_reset_seen: bool,
    /// Bytes the peer wrote to the port.
    peer_wrote: Bytes,
    senders: Vec<mpsc::UnboundedSender<SendRequest>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    plant: Option<Plant>,
    pub info: BTreeMap<String, String>,
}

fn setup_err(what: &str, e: io::Error) -> String {
    format!("setup: {what}: {e}")
}

impl World {
    /// Build the case's world (§4).
    pub async fn build(setup: &Setup, plant: Option<Plant>) -> Result<World, String> {
        let opts = set_opts(defaults(), &setup.options);
        if opts.einval {
            return Err("setup options rejected: einval".into());
        }
        let listener_opts = set_opts(defaults(), &setup.listener_options);
        if listener_opts.einval {
            return Err("listener options rejected: einval".into());
        }
        let mut table = PortTable::new(setup.table_capacity);
        let loopback = std::net::SocketAddr::from(([127, 0, 0, 1], 0));

        // The peer: outside the runtime's table, a small receive buffer.
        let peer_socket = TcpSocket::new_v4().map_err(|e| setup_err("peer socket", e))?;
        peer_socket.set_recv_buffer_size(PEER_RCVBUF).map_err(|e| setup_err("peer rcvbuf", e))?;
        let peer_rcvbuf = peer_socket.recv_buffer_size().unwrap_or(0);
        peer_socket.bind(loopback).map_err(|e| setup_err("peer bind", e))?;
        let peer_listener = peer_socket.listen(1).map_err(|e| setup_err("peer listen", e))?;
        let peer_addr = peer_listener.local_addr().map_err(|e| setup_err("peer addr", e))?;

        // The port under test.
        let under_test = table.open(PortKind::UnderTest).map_err(|_| "setup: table_capacity < 1".to_string())?;
        let port_socket = TcpSocket::new_v4().map_err(|e| setup_err("port socket", e))?;
        port_socket.set_send_buffer_size(PORT_SNDBUF).map_err(|e| setup_err("port sndbuf", e))?;
        let port_sndbuf = port_socket.send_buffer_size().unwrap_or(0);
        let deadline = Instant::now() + BOUND;
        let (connected, accepted) = tokio::join!(
            timeout_at(deadline, port_socket.connect(peer_addr)),
            timeout_at(deadline, peer_listener.accept())
        );
        let stream =
            connected.map_err(|_| "setup: connect timed out".to_string())?.map_err(|e| setup_err("connect", e))?;
        let (peer, _) =
            accepted.map_err(|_| "setup: accept timed out".to_string())?.map_err(|e| setup_err("peer accept", e))?;
        stream.set_nodelay(true).map_err(|e| setup_err("nodelay", e))?;
        drop(peer_listener);

        // The listener, in the table.
        table.open(PortKind::Listener).map_err(|_| "setup: table_capacity < 2".to_string())?;
        let listener = TcpListener::bind(loopback).await.map_err(|e| setup_err("listen", e))?;
        let outside = TcpListener::bind(loopback).await.map_err(|e| setup_err("outside listener", e))?;

        let settled = Arc::new(Notify::new());
        let n = setup.senders as usize;
        let port = Port::new(stream, opts.options, Roster::new(n, settled.clone()), plant);
        let mut senders = Vec::with_capacity(n);
        let mut tasks = Vec::with_capacity(n);
        for i in 0..n {
            let (tx, rx) = mpsc::unbounded_channel();
            senders.push(tx);
            tasks.push(tokio::spawn(sender::run(reference::units::SenderId(i as u8), port.clone(), rx)));
        }
        let mut info = BTreeMap::new();
        info.insert("runtime".into(), "tokio current_thread".into());
        info.insert("port_sndbuf_effective".into(), port_sndbuf.to_string());
        info.insert("peer_rcvbuf_effective".into(), peer_rcvbuf.to_string());
        info.insert("table_capacity".into(), setup.table_capacity.to_string());
        if let Some(p) = plant {
            info.insert("plant".into(), p.name().into());
        }
        Ok(World {
            port,
            settled,
            table,
            under_test,
            listener,
            listener_opts: listener_opts.options,
            accepted: vec![],
            extras: vec![],
            outside,
            peer,
            peer_reset_seen: false,
            peer_wrote: Bytes::ZERO,
            senders,
            tasks,
            plant,
            info,
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Port> {
        self.port.lock().expect("port lock")
    }

    /// Apply one op, settle, observe.
    pub async fn apply(&mut self, op: &Op) -> Result<Answer, String> {
        let deadline = Instant::now() + BOUND;
        let mut own_sender = None;
        let reply = match op {
            Op::SendAt { .. } => return Err("send_at never appears on the wire (PROTOCOL.md §3.2)".into()),
            Op::PeerShutdown | Op::PeerReset => {
                return Ok(Answer::Unsupported(
                    "the peer's FIN and RST are not implemented (ready.abilities.peer_end is absent)".into(),
                ))
            }
            Op::Shutdown { .. } => {
                return Ok(Answer::Unsupported(
                    "gen_tcp:shutdown/2 is not implemented (ready.abilities.shutdown is absent)".into(),
                ))
            }
            Op::Kill { .. } => {
                return Ok(Answer::Unsupported(
                    "killing a sender is not implemented (ready.abilities.kill is absent)".into(),
                ))
            }
            Op::RecvWait { .. } => {
                return Ok(Answer::Unsupported(
                    "a reader blocked in recv is not implemented (ready.abilities.recv_wait is absent)".into(),
                ))
            }
            Op::KillPort => {
                return Ok(Answer::Unsupported(
                    "killing the port is not implemented (ready.abilities.kill_port is absent)".into(),
                ))
            }
            Op::KillOwner => {
                return Ok(Answer::Unsupported(
                    "killing the port's owner is not implemented (ready.abilities.kill_owner is absent)".into(),
                ))
            }
            Op::KillCaller { .. } => {
                return Ok(Answer::Unsupported(
                    "killing the blocked caller is not implemented (ready.abilities.kill_caller is absent)".into(),
                ))
            }
            Op::ContendLock | Op::ReleaseLock => {
                return Ok(Answer::Unsupported(
                    "no port lock another scheduler could hold: a port's commands run in its caller's task".into(),
                ))
            }
            Op::Send { sender, len, tag, flags } => {
                let tx = self.senders.get(sender.0 as usize).ok_or(format!("no sender {sender}"))?;
                own_sender = Some(*sender);
                self.lock().roster.runnable();
                tx.send(SendRequest { data: payload(*tag, *len), flags: *flags })
                    .map_err(|_| format!("sender {sender} is gone"))?;
                Reply::Sent(None) // the result, once the sender has run (`observe`)
            }
            Op::PeerRead { max } => {
                let (r, got) = self.peer_read(max.0).await;
                self.lock().record(Choice::PeerGot { got: Bytes(got) });
                Reply::Peer(r)
            }
            Op::PeerWrite { len, tag } => {
                self.peer_write(payload(*tag, *len), deadline).await?;
                Reply::None
            }
            Op::Recv => {
                refresh().await;
                Reply::Recv(self.lock().recv())
            }
            Op::Mailbox => Reply::Mailbox(self.lock().take_mailbox()),
            Op::Quiesce => {
                self.settle(deadline).await?;
                Reply::None
            }
            Op::AwaitIo => {
                self.await_io(deadline).await?;
                self.settle(deadline).await?;
                Reply::None
            }
            Op::AwaitPeer => {
                self.await_peer(deadline).await?;
                Reply::None
            }
            Op::AdvanceTime { by } => {
                self.advance_time(Duration::from_millis(by.0)).await?;
                self.settle(deadline).await?;
                Reply::None
            }
            Op::SetOpts { opts } => Reply::SetOpts(self.lock().set_opts(opts)),
            Op::GetOpts => Reply::Opts(self.lock().opts),
            Op::QueueSize => Reply::QueueSize(self.lock().queue_size()),
            Op::Accept => Reply::Accept(self.accept(deadline).await?),
            Op::CloseAccepted => {
                let a = self.accepted.pop().ok_or("close_accepted with no accepted port")?;
                self.table.close(a.id); // PT-4
                Reply::Closed(Ok(()))
            }
            Op::OpenExtra => Reply::Opened(self.open_extra(deadline).await?),
            Op::Close => {
                self.lock().close();
                self.table.close(self.under_test); // CL-2
                Reply::Closed(Ok(()))
            }
        };
        // The op's sender (if any) reaches its stable state.
        self.await_pending(deadline).await?;
        let observation = self.observe(reply, own_sender);
        let choices = self.lock().take_choices();
        Ok(Answer::Step { observation, choices })
    }

    /// The end of a step: what the runtime shows (§3.3).
    fn observe(&mut self, reply: Reply, own_sender: Option<reference::units::SenderId>) -> Observation {
        let ports = self.table.count();
        let mut p = self.lock();
        let mut completed = p.roster.take_completed();
        let reply = match (reply, own_sender) {
            (Reply::Sent(_), Some(s)) => match completed.iter().position(|(c, _)| *c == s) {
                Some(i) => Reply::Sent(Some(completed.remove(i).1)),
                None => Reply::Sent(None),
            },
            (r, _) => r,
        };
        Observation {
            reply,
            senders: p.roster.statuses(),
            completed,
            busy_port_events: p.roster.take_busy_port_events(),
            queue: p.queue_size(),
            busy: Some(Busy { driver: p.busy(), msgq: false }),
            // No port-task queue: sends are never scheduled (MQ-1 without
            // lock contention), so no bytes wait in one.
            msgq: Some(Bytes::ZERO),
            ports,
            // No reader: recv_wait is not among its abilities.
            reader: Default::default(),
        }
    }

    /// Run the runtime until nothing more can happen without the outside
    /// world (SCHED-1): the port writes until the kernel would block,
    /// delivers input to an active owner, and every sender made runnable
    /// (and every due flush) has reached a stable state. A round that
    /// changes nothing ends it.
    async fn settle(&self, deadline: Instant) -> Result<(), String> {
        loop {
            refresh().await;
            let progressed = {
                let mut p = self.lock();
                let timers = p.run_due_timers();
                let wrote = p.output();
                let read = p.deliver_input();
                timers || wrote || read
            };
            let waited = self.await_pending(deadline).await?;
            if !progressed && !waited {
                return Ok(());
            }
        }
    }

    /// Wait (on the roster's acknowledgements) until no sender is runnable
    /// and no flush is due. Returns whether there was anything to wait for.
    async fn await_pending(&self, deadline: Instant) -> Result<bool, String> {
        let mut any = false;
        loop {
            let notified = self.settled.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let pending = self.lock().roster.pending();
            if pending == 0 {
                return Ok(any);
            }
            any = true;
            timeout_at(deadline, notified)
                .await
                .map_err(|_| format!("{pending} sender(s) or flushes still runnable after {BOUND:?}"))?;
        }
    }

    /// The peer reads once, nonblocking, up to `max` bytes.
    async fn peer_read(&mut self, max: usize) -> (PeerRead, usize) {
        if std::mem::take(&mut self.peer_reset_seen) {
            return (PeerRead::Reset, 0);
        }
        refresh().await;
        let mut buf = vec![0u8; max];
        match self.peer.try_read(&mut buf) {
            Ok(0) => (PeerRead::Eof, 0),
            Ok(n) => {
                buf.truncate(n);
                (PeerRead::Data(buf), n)
            }
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => (PeerRead::Reset, 0),
            Err(_) => (PeerRead::WouldBlock, 0),
        }
    }

    /// The peer writes; the step ends once the bytes are readable on the
    /// port's side (peeked there, not read).
    async fn peer_write(&mut self, data: Vec<u8>, deadline: Instant) -> Result<(), String> {
        timeout_at(deadline, self.peer.write_all(&data))
            .await
            .map_err(|_| "peer_write: the port's side took nothing within the bound".to_string())?
            .map_err(|e| format!("peer_write: {e}"))?;
        self.peer_wrote += Bytes(data.len());
        let Some(socket) = self.lock().socket() else { return Ok(()) };
        let unread = (self.peer_wrote - self.lock().received).0;
        let mut buf = vec![0u8; unread.max(1)];
        loop {
            let n = timeout_at(deadline, socket.peek(&mut buf))
                .await
                .map_err(|_| format!("peer_write: {unread} bytes not readable on the port's side"))?
                .map_err(|e| format!("peer_write: peek: {e}"))?;
            if n >= unread {
                return Ok(());
            }
            // Not all there yet (loopback delivery under load): look again
            // after the driver polled the kernel; bounded by `deadline`.
            if Instant::now() >= deadline {
                return Err(format!("peer_write: only {n} of {unread} bytes readable on the port's side"));
            }
            refresh().await;
        }
    }

    /// Block until the peer's socket is readable (data, EOF or a reset).
    async fn await_peer(&mut self, deadline: Instant) -> Result<(), String> {
        let mut one = [0u8; 1];
        match timeout_at(deadline, self.peer.peek(&mut one)).await {
            Err(_) => Err("stalled: await_peer: the peer's socket did not turn readable within 5 s".into()),
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) if e.kind() == io::ErrorKind::ConnectionReset => {
                self.peer_reset_seen = true;
                Ok(())
            }
            Ok(Err(e)) => Err(format!("await_peer: {e}")),
        }
    }

    /// Block until the port can write, has input for an active owner, a
    /// timer fired, or the peer has something to read.
    async fn await_io(&mut self, deadline: Instant) -> Result<(), String> {
        refresh().await;
        if self.lock().timeout_due() {
            return Ok(()); // a timer fired already: the settle runs it
        }
        let (socket, writing, reading, fired) = {
            let p = self.lock();
            (p.socket(), p.has_output(), p.opts.active.is_active() && p.life() == Life::Open, p.timer_fired.clone())
        };
        let timer = fired.notified();
        let port_event = async {
            match &socket {
                Some(s) if writing && reading => {
                    tokio::select! { _ = s.writable() => {}, _ = s.readable() => {} }
                }
                Some(s) if writing => {
                    let _ = s.writable().await;
                }
                Some(s) if reading => {
                    let _ = s.readable().await;
                }
                _ => std::future::pending::<()>().await,
            }
        };
        let peer = self.peer.readable();
        let waited = timeout_at(deadline, async {
            tokio::select! {
                _ = port_event => {}
                _ = peer => {}
                _ = timer => {}
            }
        })
        .await;
        if waited.is_err() {
            let queued = self.lock().queue_size();
            return Err(format!("stalled: await_io: no I/O event within 5 s ({queued} queued)"));
        }
        Ok(())
    }

    /// Real clock (`real_clock: true`): every send timer due within `by`
    /// must have fired before the answer — due on the real clock, or on
    /// the harness's (the `advance_time`s so far plus `by`: they may add up
    /// to more than the real time that passed). Wait for it on the timer's
    /// own notification, not for the time.
    async fn advance_time(&mut self, by: Duration) -> Result<(), String> {
        loop {
            let fired = self.lock().timer_fired.clone();
            let notified = fired.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let Some(due) = self.lock().send_timer_due_within(by) else { break };
            if self.lock().timeout_due() {
                break;
            }
            timeout_at(due + BOUND, notified)
                .await
                .map_err(|_| "advance_time: a due send timer did not fire within 5 s of its deadline".to_string())?;
        }
        self.lock().clock += by;
        Ok(())
    }

    /// A client outside the table connects; the runtime accepts (PT-2,
    /// OPT-6).
    async fn accept(&mut self, deadline: Instant) -> Result<AcceptOutcome, String> {
        let addr = self.listener.local_addr().map_err(|e| format!("accept: {e}"))?;
        let (client, accepted) =
            tokio::join!(timeout_at(deadline, TcpStream::connect(addr)), timeout_at(deadline, self.listener.accept()));
        let mut client = client.map_err(|_| "accept: connect timed out".to_string())?.map_err(|e| format!("{e}"))?;
        let (stream, _) = accepted.map_err(|_| "accept: timed out".to_string())?.map_err(|e| format!("{e}"))?;
        let slot = match self.plant {
            Some(Plant::AcceptOverLimit) => Ok(self.table.open_unchecked(PortKind::Accepted)),
            _ => self.table.open(PortKind::Accepted),
        };
        match slot {
            Ok(id) => {
                self.accepted.push(AcceptedPort { id, _stream: stream, _client: client });
                Ok(AcceptOutcome::Accepted(self.listener_opts))
            }
            Err(_) => {
                // PT-2: the accepted fd is closed; the client sees EOF.
                drop(stream);
                let mut one = [0u8; 1];
                let peer_eof = matches!(timeout_at(deadline, client.read(&mut one)).await, Ok(Ok(0)));
                Ok(AcceptOutcome::Failed { error: Posix::SystemLimit, peer_eof })
            }
        }
    }

    /// PT-3: a connect needs a table slot.
    async fn open_extra(&mut self, deadline: Instant) -> Result<Result<(), Posix>, String> {
        let Ok(id) = self.table.open(PortKind::Extra) else { return Ok(Err(Posix::SystemLimit)) };
        let addr = self.outside.local_addr().map_err(|e| format!("open_extra: {e}"))?;
        let stream = timeout_at(deadline, TcpStream::connect(addr))
            .await
            .map_err(|_| "open_extra: connect timed out".to_string())?
            .map_err(|e| format!("open_extra: {e}"))?;
        self.extras.push((id, stream));
        Ok(Ok(()))
    }
}

impl Drop for World {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// Let the runtime's I/O driver poll the kernel once (a yield makes the
/// current-thread scheduler poll its driver before it resumes us), so
/// every readiness the kernel signalled before now is known.
async fn refresh() {
    tokio::task::yield_now().await;
}
