//! The native runtime as a system under test: sets a case up (the port under
//! test connected over loopback to a peer socket this adapter owns, a listen
//! port, the sender processes), applies ops, and reports each step's
//! observation and choices, in the reference vocabulary ([`convert`]
//! translates the runtime's own).
//!
//! - [`bugs`]: which rule each planted bug breaks, and what catches it.
//! - [`tcp_table`]: a connection end's state in the kernel's socket table
//!   (`/proc/net/tcp`), for the PT-2 check.
//! - [`sent`]: what the kernel took from the port's writes, counted by the
//!   kernel, for the ST-2 check of the runtime's reported writes.

pub mod bugs;
pub mod convert;
pub mod peer_end;
pub mod sent;
pub mod tcp_table;

use crate::sut::{Step, SutError, SutFactory, SystemUnderTest};
pub use bugs::{BugTable, Detection};
use convert::{to_bytes, to_flags, to_millis, to_opts, to_sender};
use native::lock::PortLockGuard;
use native::sys::{self, Want};
pub use native::PlantedBug;
use native::{Accepted, OpenError, Runtime, SocketOpts, VirtualClock};
use reference::choice::Choice;
use reference::observation::{AcceptOutcome, Observation, PeerRead, Posix, Reader, Reply};
use reference::op::{Op, Setup};
use reference::units::{payload, Bytes};
use socket2::{Domain, Protocol, Socket, Type};
use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

/// The peer's advertised receive window is clamped (TCP_WINDOW_CLAMP, set on
/// its listener so the very first window is small too), so backpressure
/// appears within kilobytes.
///
/// The window is clamped rather than the receive buffer shrunk: a receive
/// buffer at the kernel minimum (2304 bytes) cannot hold the loopback skbs
/// behind the window it advertises, so it drops segments and the sender
/// backs off its retransmission timer exponentially; draining then stalls
/// for seconds. A clamped window over a roomy, locked buffer never drops.
const PEER_WINDOW_CLAMP: libc::c_int = 2048;
/// SO_RCVBUF of the peer: locked (no autotuning, which would lift the clamp)
/// and roomy enough for the skbs of a clamped window.
const PEER_RCVBUF: usize = 65536;
/// SO_SNDBUF requested for the port under test (raised to the kernel
/// minimum, 4608 bytes).
const PORT_SNDBUF: usize = 1;
/// Failure bound for loopback handshakes and peer writes.
const IO_BOUND: Duration = Duration::from_secs(5);
/// Failure bound of `AwaitIo`: loopback progress takes milliseconds, and
/// a stall must fail within 10 s of the case that stalls (issue 15; at 10 s
/// the stalled-writer bug was found at 10.0 s), so the same 5 s as a peer
/// write's.
const AWAIT_BOUND: Duration = IO_BOUND;
/// How long a client of a refused accept waits to see EOF once the kernel
/// shows its server end closed. A closed fd sends FIN at once on loopback;
/// a leaked one is found in the kernel's socket table without waiting.
const EOF_BOUND: Duration = Duration::from_millis(250);

/// Creates native runtimes, optionally with a planted bug.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NativeFactory {
    pub bug: Option<PlantedBug>,
    /// The failure bound of a wait for progress (`AwaitIo`, `AwaitPeer`);
    /// `None`: `AWAIT_BOUND`.
    pub await_bound: Option<Duration>,
}

impl NativeFactory {
    /// A factory of runtimes with `bug` planted (`None`: the correct runtime).
    pub fn new(bug: Option<PlantedBug>) -> Self {
        NativeFactory { bug, await_bound: None }
    }
}

impl SutFactory for NativeFactory {
    fn name(&self) -> &str {
        match self.bug {
            None => "native",
            Some(PlantedBug::HighGtInsteadOfGe) => "native+high-gt",
            Some(PlantedBug::LowLtInsteadOfLe) => "native+low-lt",
            Some(PlantedBug::ResumeBeforeLow) => "native+resume-before-low",
            Some(PlantedBug::DelaySendIgnored) => "native+delay-send-ignored",
            Some(PlantedBug::DropOnSendTimeout) => "native+drop-on-send-timeout",
            Some(PlantedBug::LeakAcceptedFd) => "native+leak-accepted-fd",
            Some(PlantedBug::MsgqBusyAtGe) => "native+msgq-busy-ge",
            Some(PlantedBug::NosuspendQueues) => "native+nosuspend-queues",
            Some(PlantedBug::SetupFrontToBack) => "native+setup-front-to-back",
            Some(PlantedBug::WriteNotRearmed) => "native+write-not-rearmed",
            Some(PlantedBug::ShortWriteCountedWhole) => "native+short-write-counted-whole",
            Some(PlantedBug::ActiveNNoPassive) => "native+active-n-no-passive",
            Some(PlantedBug::NosuspendTaskRuns) => "native+nosuspend-task-runs",
            Some(PlantedBug::TableSizeRoundedDown) => "native+table-size-rounded-down",
            Some(PlantedBug::TimeoutCloseKeepsQueue) => "native+timeout-close-keeps-queue",
            Some(PlantedBug::ActiveOnceSendsPassive) => "native+active-once-sends-passive",
            Some(PlantedBug::DisplacedCallerAnswered) => "native+displaced-caller-answered",
            Some(PlantedBug::EndKeepsPort) => "native+end-keeps-port",
            Some(PlantedBug::ResetShownWithoutOption) => "native+reset-shown-without-option",
            Some(PlantedBug::ResetWriteIgnored) => "native+reset-write-ignored",
            Some(PlantedBug::SendAfterEndNotTold) => "native+send-after-end-not-told",
            Some(PlantedBug::WritableIsConnected) => "native+writable-is-connected",
            Some(PlantedBug::AcceptSpinsOnEmfile) => "native+accept-spins-on-emfile",
            Some(PlantedBug::ShutdownBeforeFlush) => "native+shutdown-before-flush",
            Some(PlantedBug::ReaderReturnsPartialAtEnd) => "native+reader-returns-partial-at-end",
            Some(PlantedBug::LingerZeroFlushes) => "native+linger-zero-flushes",
            Some(PlantedBug::KilledSenderStillSends) => "native+killed-sender-still-sends",
            Some(PlantedBug::RecvTimeoutDropsGathered) => "native+recv-timeout-drops-gathered",
            Some(PlantedBug::KilledPortFlushes) => "native+killed-port-flushes",
            Some(PlantedBug::HalfClosedPortExits) => "native+half-closed-port-exits",
            Some(PlantedBug::KilledCallerAnswered) => "native+killed-caller-answered",
            Some(PlantedBug::PortOutlivesOwner) => "native+port-outlives-owner",
        }
    }

    fn start(&self, setup: &Setup) -> Result<Box<dyn SystemUnderTest>, SutError> {
        let mut sut = NativeSut::start(setup, self.bug)?;
        sut.await_bound = self.await_bound.unwrap_or(AWAIT_BOUND);
        Ok(Box::new(sut))
    }

    fn with_stall_bound(&self, bound: Duration) -> Option<Box<dyn SutFactory>> {
        Some(Box::new(NativeFactory { await_bound: Some(bound), ..*self }))
    }
}

/// One case's runtime and the sockets the harness owns around it.
#[derive(Debug)]
pub struct NativeSut {
    rt: Runtime,
    clock: VirtualClock,
    /// The peer end of the port under test.
    peer: TcpStream,
    /// The peer's listener; also the target of `OpenExtra` connects.
    peer_listener: TcpListener,
    peer_addr: SocketAddr,
    /// Server ends of `OpenExtra` connections.
    extra_peers: Vec<TcpStream>,
    /// The runtime's listen port.
    listen_addr: SocketAddr,
    /// Clients of accepted ports, most recent last.
    clients: Vec<TcpStream>,
    /// The port lock, while another "scheduler" (the harness) holds it.
    contended: Option<PortLockGuard>,
    /// The peer's reads in this step (the runtime records only its own).
    peer_choices: Vec<Choice>,
    /// The failure bound of a wait for progress (`NativeFactory::await_bound`).
    await_bound: Duration,
    /// What the runtime reported its writes took, in all (`Choice::Wrote`).
    reported_taken: u64,
    /// The kernel's count of what writes took ([`sent::taken`]) when the
    /// port was opened; `None` where the kernel cannot count (then the
    /// reports go unchecked).
    kernel_base: Option<u64>,
    /// What the reader's recv returned within this step's own call
    /// (`RecvWait`); later returns are in the runtime's trace.
    reader_returned_at_once: Option<native::RecvResult>,
}

fn sut_err(what: &str, e: impl std::fmt::Display) -> SutError {
    SutError(format!("native: {what}: {e}"))
}

impl NativeSut {
    pub fn start(setup: &Setup, bug: Option<PlantedBug>) -> Result<Self, SutError> {
        if setup.table_capacity < 2 {
            return Err(SutError(format!(
                "native: table capacity {} cannot hold the port under test and the listener",
                setup.table_capacity
            )));
        }
        let clock = VirtualClock::new();
        let mut rt = Runtime::new(Box::new(clock.clone()), setup.table_capacity, setup.senders, bug)?;
        rt.set_default_options(&to_opts(&setup.kernel_env.connect), &to_opts(&setup.kernel_env.listen));
        let loopback = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
        let listen_addr = rt.listen(loopback, &to_opts(&setup.listener_options)).map_err(|e| open_err("listen", e))?;

        let peer_listener = peer_listener()?;
        let peer_addr = peer_listener.local_addr()?;
        rt.connect(
            peer_addr,
            SocketOpts { sndbuf: Some(PORT_SNDBUF), nodelay: true, ..SocketOpts::default() },
            &to_opts(&setup.options),
        )
        .map_err(|e| open_err("connect", e))?;
        rt.set_show_econnreset(setup.show_econnreset).map_err(|e| SutError(format!("native: {e}")))?;
        rt.set_linger_zero(setup.linger_zero).map_err(|e| SutError(format!("native: {e}")))?;
        rt.set_exit_on_close(setup.exit_on_close).map_err(|e| SutError(format!("native: {e}")))?;
        let peer = accept_bounded(&peer_listener)?;
        let kernel_base = rt.subject_fd().and_then(|fd| sent::taken(fd, false).ok());
        Ok(NativeSut {
            rt,
            clock,
            peer,
            peer_listener,
            peer_addr,
            extra_peers: Vec::new(),
            listen_addr,
            clients: Vec::new(),
            contended: None,
            peer_choices: Vec::new(),
            await_bound: AWAIT_BOUND,
            reported_taken: 0,
            kernel_base,
            reader_returned_at_once: None,
        })
    }

    fn peer_read(&mut self, max: Bytes) -> Result<PeerRead, SutError> {
        let mut buf = vec![0u8; max.0];
        let (reply, got) = match self.peer.read(&mut buf) {
            Ok(0) if max.0 > 0 => (PeerRead::Eof, 0),
            Ok(n) => {
                ack_now(&self.peer)?;
                (PeerRead::Data(buf[..n].to_vec()), n)
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => (PeerRead::WouldBlock, 0),
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => (PeerRead::Reset, 0),
            Err(e) => return Err(sut_err("peer read", e)),
        };
        self.peer_choices.push(Choice::PeerGot { got: Bytes(got) });
        Ok(reply)
    }

    /// The peer ends the connection; the step ends once the port's socket
    /// has the FIN or RST (PC-*, RS-1).
    fn peer_ends(&mut self, how: peer_end::End) -> Result<Reply, SutError> {
        peer_end::end(&self.peer, how).map_err(|e| sut_err("peer end", e))?;
        if let Some(fd) = self.rt.subject_fd() {
            if !peer_end::await_arrival(fd, how, IO_BOUND).map_err(|e| sut_err("peer end", e))? {
                return Err(SutError(format!("native: the peer's {how:?} did not reach the port within {IO_BOUND:?}")));
            }
        }
        Ok(Reply::None)
    }

    /// The peer writes everything, then waits until the bytes are readable
    /// at the port (FIONREAD), so the step ends with them there.
    /// The peer writes; `Reply::Peer` when the write fails because the
    /// port's socket is gone (CL-3: reset once, then EPIPE, shown as EOF).
    fn peer_write(&mut self, len: Bytes, tag: u16) -> Result<Reply, SutError> {
        let before = self.rt.subject_bytes_readable()?;
        let data = payload(tag, len);
        let deadline = Instant::now() + IO_BOUND;
        let mut off = 0;
        while off < data.len() {
            match self.peer.write(&data[off..]) {
                Ok(n) => off += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() || !sys::wait_ready(&self.peer, Want::Write, left)? {
                        return Err(SutError(format!(
                            "native: peer write of {len} stalled after {off} bytes (the port does not read)"
                        )));
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                // The port's socket is gone: nothing will arrive.
                Err(e) if e.kind() == io::ErrorKind::ConnectionReset => return Ok(Reply::Peer(PeerRead::Reset)),
                Err(e) if e.kind() == io::ErrorKind::BrokenPipe => return Ok(Reply::Peer(PeerRead::Eof)),
                Err(_) if before.is_none() => return Ok(Reply::None),
                Err(e) => return Err(sut_err("peer write", e)),
            }
        }
        let Some(before) = before else { return Ok(Reply::None) };
        let target = before + len.0;
        loop {
            match self.rt.subject_bytes_readable()? {
                Some(n) if n < target => {}
                _ => return Ok(Reply::None),
            }
            if Instant::now() >= deadline {
                return Err(SutError(format!("native: {len} written by the peer did not arrive within {IO_BOUND:?}")));
            }
            std::thread::yield_now();
        }
    }

    fn accept(&mut self) -> Result<AcceptOutcome, SutError> {
        let client = TcpStream::connect_timeout(&self.listen_addr, IO_BOUND)?;
        match self.rt.accept(IO_BOUND).map_err(|e| sut_err("accept", e))? {
            Accepted::Port(opts) => {
                self.clients.push(client);
                Ok(AcceptOutcome::Accepted(convert::port_options(opts)))
            }
            Accepted::SystemLimit => {
                let peer_eof = sees_eof(&client, self.listen_addr)?;
                Ok(AcceptOutcome::Failed { error: Posix::SystemLimit, peer_eof })
            }
        }
    }

    fn open_extra(&mut self) -> Result<Result<(), Posix>, SutError> {
        match self.rt.open_extra(self.peer_addr) {
            Ok(()) => {
                let server_end = accept_bounded(&self.peer_listener)?;
                self.extra_peers.push(server_end);
                Ok(Ok(()))
            }
            Err(OpenError::SystemLimit) => Ok(Err(Posix::SystemLimit)),
            Err(OpenError::Io(e)) => Err(sut_err("open extra port", e)),
        }
    }

    fn reply(&mut self, op: &Op) -> Result<Reply, SutError> {
        let rt_err = |e| sut_err(op.name(), e);
        Ok(match op {
            Op::Send { sender, len, tag, flags } => Reply::Sent(
                self.rt
                    .send(to_sender(*sender), to_bytes(*len), *tag, to_flags(*flags))
                    .map_err(rt_err)?
                    .map(convert::send_result),
            ),
            Op::SendAt { .. } => {
                return Err(SutError("native: SendAt must be resolved by the executor".into()));
            }
            Op::PeerRead { max } => Reply::Peer(self.peer_read(*max)?),
            Op::AwaitPeer => {
                let bound = IO_BOUND.min(self.await_bound);
                if !sys::wait_ready(&self.peer, Want::Read, bound)? {
                    return Err(SutError::stalled(format!("native: the peer saw nothing arrive within {bound:?}")));
                }
                Reply::None
            }
            Op::PeerWrite { len, tag } => self.peer_write(*len, *tag)?,
            Op::PeerShutdown => self.peer_ends(peer_end::End::Fin)?,
            Op::PeerReset => self.peer_ends(peer_end::End::Reset)?,
            Op::Shutdown { how } => {
                Reply::Shutdown(self.rt.shutdown(convert::shutdown_how(*how)).map_err(rt_err)?.map_err(convert::posix))
            }
            Op::Kill { sender } => {
                self.rt.kill(to_sender(*sender)).map_err(rt_err)?;
                Reply::None
            }
            Op::KillCaller { sender } => {
                self.rt.kill_caller(to_sender(*sender)).map_err(rt_err)?;
                Reply::None
            }
            Op::KillOwner => {
                self.rt.kill_owner().map_err(rt_err)?;
                Reply::None
            }
            Op::KillPort => {
                self.rt.kill_port().map_err(rt_err)?;
                Reply::None
            }
            Op::RecvWait { len, timeout } => {
                let timeout = timeout.map(to_millis);
                self.reader_returned_at_once = self.rt.recv_wait(to_bytes(*len), timeout).map_err(rt_err)?;
                Reply::None
            }
            Op::Recv => Reply::Recv(self.rt.recv().map_err(rt_err)?.map_err(convert::posix)),
            Op::Mailbox => Reply::Mailbox(self.rt.take_mailbox().into_iter().map(convert::owner_msg).collect()),
            Op::Quiesce => {
                self.rt.quiesce().map_err(rt_err)?;
                Reply::None
            }
            Op::AwaitIo => {
                let peer = Some(self.peer.as_raw_fd());
                self.rt.await_io(self.await_bound, peer).map_err(|e| match e.to_string() {
                    t if t.contains("no I/O event") => SutError::stalled(format!("native: {t}")),
                    _ => rt_err(e),
                })?;
                Reply::None
            }
            Op::AdvanceTime { by } => {
                self.clock.advance(to_millis(*by));
                self.rt.quiesce().map_err(rt_err)?;
                Reply::None
            }
            Op::SetOpts { opts } => {
                Reply::SetOpts(self.rt.setopts(&to_opts(opts)).map_err(rt_err)?.map_err(convert::posix))
            }
            Op::GetOpts => Reply::Opts(convert::port_options(self.rt.getopts().map_err(rt_err)?)),
            Op::QueueSize => Reply::QueueSize(convert::bytes(self.rt.queue_size().map_err(rt_err)?)),
            Op::ContendLock => {
                let lock = self.rt.port_lock().map_err(rt_err)?;
                let guard = lock.try_lock().ok_or_else(|| SutError("native: port lock already held".into()))?;
                self.contended = Some(guard);
                Reply::None
            }
            Op::ReleaseLock => {
                self.contended = None;
                Reply::None
            }
            Op::Accept => Reply::Accept(self.accept()?),
            Op::CloseAccepted => {
                self.rt.close_accepted().map_err(|e| sut_err("close accepted port", e))?;
                self.clients.pop();
                Reply::Closed(Ok(()))
            }
            Op::OpenExtra => Reply::Opened(self.open_extra()?),
            Op::Close => {
                self.rt.close().map_err(rt_err)?;
                Reply::Closed(Ok(()))
            }
        })
    }
}

impl SystemUnderTest for NativeSut {
    fn apply(&mut self, op: &Op) -> Result<Step, SutError> {
        self.reader_returned_at_once = None;
        let reply = self.reply(op)?;
        let trace = self.rt.take_trace();
        let snap = self.rt.snapshot();
        let reader = self.reader(trace.reader_returned, snap.reader)?;
        let mut choices: Vec<Choice> = trace.actions.into_iter().map(convert::choice).collect();
        self.check_writes(&choices)?;
        choices.append(&mut self.peer_choices);
        Ok(Step {
            observation: Observation {
                reply,
                senders: snap.senders.into_iter().map(convert::sender_status).collect(),
                completed: trace
                    .completed
                    .into_iter()
                    .map(|(s, r)| (convert::sender(s), convert::send_result(r)))
                    .collect(),
                busy_port_events: trace.busy_port_events.into_iter().map(convert::sender).collect(),
                queue: convert::bytes(snap.queue),
                busy: Some(convert::busy(snap.busy)),
                msgq: Some(convert::bytes(snap.msgq)),
                ports: snap.ports,
                reader,
            },
            choices,
        })
    }
}

impl NativeSut {
    /// The reader as the step leaves it (RX-7..RX-10): what its recv
    /// returned in the step (within its own call or later), else whether
    /// it waits. It makes one call at a time, so it returns once a step
    /// at most.
    fn reader(&mut self, later: Vec<native::RecvResult>, status: native::ReaderStatus) -> Result<Reader, SutError> {
        let mut returned = self.reader_returned_at_once.take().into_iter().chain(later);
        match (returned.next(), returned.next()) {
            (Some(r), None) => Ok(Reader::Returned(r.map_err(convert::posix))),
            (Some(first), Some(second)) => Err(SutError(format!(
                "native: the reader's recv returned twice in one step ({first:?}, then {second:?})"
            ))),
            (None, _) => Ok(match status {
                native::ReaderStatus::Idle => Reader::Idle,
                native::ReaderStatus::Waiting => Reader::Waiting,
            }),
        }
    }

    /// ST-2, measured: what the runtime says its writes took (its trace,
    /// which the model takes as the kernel's choices) is what the kernel
    /// counts on the port's socket ([`sent::taken`]), after every step
    /// while the socket is open. A runtime whose account agrees with itself
    /// but not with the kernel (a short write counted whole) is caught at
    /// the write, under the rule that says what a write takes, rather than
    /// later as bytes missing at the peer.
    fn check_writes(&mut self, choices: &[Choice]) -> Result<(), SutError> {
        for c in choices {
            if let Choice::Wrote { accepted, .. } = c {
                self.reported_taken += accepted.0 as u64;
            }
        }
        let (Some(base), Some(fd)) = (self.kernel_base, self.rt.subject_fd()) else { return Ok(()) };
        let counted = sent::taken(fd, self.rt.subject_write_shut())
            .map_err(|e| sut_err("kernel's count of bytes written", e))?
            .saturating_sub(base);
        if counted != self.reported_taken {
            return Err(SutError::contradicts(
                reference::rules::ids::ST_2,
                format!(
                    "the runtime reported writes that took {} bytes in all, the kernel counts {counted} taken \
                     from the port's socket (bytes acked + SIOCOUTQ)",
                    self.reported_taken
                ),
            ));
        }
        Ok(())
    }
}

fn open_err(what: &str, e: OpenError) -> SutError {
    match e {
        OpenError::SystemLimit => SutError(format!("native: {what}: system_limit")),
        OpenError::Io(e) => sut_err(what, e),
    }
}

/// The peer's listener on loopback, with a small receive buffer that its
/// accepted sockets inherit.
fn peer_listener() -> Result<TcpListener, SutError> {
    let s = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP))?;
    s.set_cloexec(true)?;
    s.set_recv_buffer_size(PEER_RCVBUF)?;
    // SAFETY: setsockopt with a valid c_int option value and its size.
    let rc = unsafe {
        libc::setsockopt(
            s.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_WINDOW_CLAMP,
            &PEER_WINDOW_CLAMP as *const libc::c_int as *const libc::c_void,
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc < 0 {
        return Err(io::Error::last_os_error().into());
    }
    s.bind(&SocketAddr::from((Ipv4Addr::LOCALHOST, 0)).into())?;
    s.listen(128)?;
    s.set_nonblocking(true)?;
    Ok(s.into())
}

/// The peer acknowledges what it has read now rather than at its delayed-ACK
/// timer (TCP_QUICKACK, which sends an ACK the kernel has scheduled). With
/// the clamped window, a read that leaves the window less than doubled
/// sends no window update (`__tcp_cleanup_rbuf`), and the port's socket
/// then waits for that ACK to free its send buffer: a drain's `AwaitIo`
/// lasted the delayed-ACK timer (40 ms) each time, half the lockstep wall
/// time. What the kernel takes and when the port sees it writable stays the
/// kernel's to decide (the runtime reports every write's outcome); only the
/// timer is gone.
fn ack_now(peer: &TcpStream) -> Result<(), SutError> {
    socket2::SockRef::from(peer).set_tcp_quickack(true).map_err(|e| sut_err("peer TCP_QUICKACK", e))
}

/// Accept one connection, waiting at most `IO_BOUND` for it.
fn accept_bounded(l: &TcpListener) -> Result<TcpStream, SutError> {
    let deadline = Instant::now() + IO_BOUND;
    loop {
        match l.accept() {
            Ok((s, _)) => {
                s.set_nonblocking(true)?;
                s.set_nodelay(true)?;
                return Ok(s);
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock || e.kind() == io::ErrorKind::Interrupted => {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() || !sys::wait_ready(l, Want::Read, left)? {
                    return Err(SutError("native: peer accept timed out".into()));
                }
            }
            Err(e) => return Err(sut_err("peer accept", e)),
        }
    }
}

/// Whether a client of `server` (the listen address) sees EOF: its server
/// end closed (PT-2). An end the kernel still holds open without a FIN sent
/// (the runtime kept the fd, or never accepted the connection) cannot give
/// one: that is decided at once from the kernel's socket table. A closed end
/// has sent its FIN (or RST) inside `close()`; the client sees it arrive,
/// waiting at most `EOF_BOUND`.
fn sees_eof(client: &TcpStream, server: SocketAddr) -> Result<bool, SutError> {
    if let (SocketAddr::V4(server), SocketAddr::V4(me)) = (server, client.local_addr()?) {
        let st = tcp_table::state(server, me).map_err(|e| sut_err("the kernel's socket table", e))?;
        if st.is_some_and(tcp_table::sent_no_fin) {
            return Ok(false);
        }
    }
    if !sys::wait_ready(client, Want::Read, EOF_BOUND)? {
        return Ok(false);
    }
    client.set_nonblocking(true)?;
    let mut b = [0u8; 1];
    match (&*client).read(&mut b) {
        Ok(0) => Ok(true),
        Ok(_) => Ok(false),
        Err(e) if e.kind() == io::ErrorKind::ConnectionReset => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(false),
        Err(e) => Err(sut_err("client read", e)),
    }
}

#[cfg(test)]
mod tests {
    //! The adapter's bounded helpers on real loopback sockets. Where a wait
    //! must be fed while it blocks, the test first waits until the waiting
    //! thread is inside poll(2) (`/proc/self/task/<tid>/syscall`); no sleeps.
    use super::*;
    use std::sync::mpsc;

    const BOUND: Duration = Duration::from_secs(10);

    /// Until thread `tid` blocks in poll/ppoll, unless `done` says it
    /// already returned (then that result, which the caller fails on).
    fn until_in_poll<T>(tid: libc::pid_t, done: &mpsc::Receiver<T>) -> Option<T> {
        let polls: &[&str] = if cfg!(target_arch = "x86_64") { &["7", "271"] } else { &["73"] };
        let deadline = Instant::now() + BOUND;
        loop {
            if let Ok(r) = done.try_recv() {
                return Some(r);
            }
            let s = std::fs::read_to_string(format!("/proc/self/task/{tid}/syscall")).unwrap_or_default();
            if polls.contains(&s.split_whitespace().next().unwrap_or("")) {
                return None;
            }
            assert!(Instant::now() < deadline, "thread {tid} never blocked in poll");
            std::thread::yield_now();
        }
    }

    /// The peer's accept waits (in poll, not spinning) for a connection that
    /// comes after it started, and hands it over nonblocking with
    /// TCP_NODELAY.
    #[test]
    fn accept_bounded_waits_for_a_later_connection() {
        let l = peer_listener().unwrap();
        let addr = l.local_addr().unwrap();
        let (tid_tx, tid_rx) = mpsc::channel();
        let (tx, rx) = mpsc::channel();
        let h = std::thread::spawn(move || {
            // SAFETY: gettid has no preconditions.
            tid_tx.send(unsafe { libc::gettid() }).unwrap();
            let r = accept_bounded(&l).map(|s| (s.nodelay().unwrap(), (&s).read(&mut [0u8; 1]).map_err(|e| e.kind())));
            let _ = tx.send(r.map_err(|e| e.0));
        });
        let tid = tid_rx.recv().unwrap();
        assert_eq!(until_in_poll(tid, &rx), None, "accept returned before any connection came");
        let _c = TcpStream::connect(addr).unwrap();
        let (nodelay, read) = rx.recv_timeout(BOUND).unwrap().expect("accepted");
        assert!(nodelay);
        assert_eq!(read, Err(io::ErrorKind::WouldBlock), "nonblocking");
        h.join().unwrap();
    }

    /// An accept error other than EAGAIN/EINTR is reported as what it is
    /// at once (here EMFILE, in a child whose fds are all taken), not
    /// waited out as a timeout.
    #[test]
    fn accept_bounded_reports_other_errors() {
        use crate::kernel::fd_limit::Exhaustion;
        let r: crate::kernel::Probe<String> = crate::kernel::in_child(BOUND, || {
            let l = peer_listener().map_err(|e| e.0)?;
            let _c = TcpStream::connect(l.local_addr().map_err(|e| e.to_string())?).map_err(|e| e.to_string())?;
            let _ex = Exhaustion::start(0).map_err(|e| e.to_string())?;
            match accept_bounded(&l) {
                Ok(_) => Err("accepted with no fd free".into()),
                Err(e) => Ok(e.0),
            }
        });
        let msg = r.expect("child");
        assert!(msg.starts_with("native: peer accept: ") && msg.contains("Too many open files"), "{msg}");
    }

    /// Each peer read leaves the peer in quick-ACK mode (TCP_QUICKACK), so
    /// what it read is acknowledged now and not at the delayed-ACK timer
    /// (the port's drains would wait 40 ms each), also when the peer had
    /// left that mode.
    #[test]
    fn a_peer_read_leaves_the_peer_acking_at_once() {
        let mut sut = NativeSut::start(&Setup::default(), None).unwrap();
        let send =
            Op::Send { sender: reference::units::SenderId(0), len: Bytes(100), tag: 1, flags: Default::default() };
        sut.apply(&send).unwrap();
        assert!(sys::wait_ready(&sut.peer, Want::Read, BOUND).unwrap(), "the bytes reach the peer");
        let quickack = |sut: &NativeSut| socket2::SockRef::from(&sut.peer).tcp_quickack().unwrap();
        socket2::SockRef::from(&sut.peer).set_tcp_quickack(false).unwrap();
        assert!(!quickack(&sut), "delayed ACKs before the read");
        let read = sut.apply(&Op::PeerRead { max: Bytes(100) }).unwrap().observation.reply;
        assert_eq!(read, Reply::Peer(PeerRead::Data(payload(1, Bytes(100)))));
        assert!(quickack(&sut), "quick ACKs after the read");
    }

    /// A client whose connection failed for a reason of its own (here its
    /// connect timed out, ETIMEDOUT) says nothing about the server end's
    /// close: the read's error is reported, not taken for EOF or its absence.
    #[test]
    fn sees_eof_reports_a_client_error_other_than_a_reset() {
        let (l, _queued, c) = peer_end::tests::connect_given_up();
        assert!(sys::wait_ready(&c, Want::Read, BOUND).unwrap(), "the connect gives up within the bound");
        let msg = sees_eof(&c, l.local_addr().unwrap()).expect_err("ETIMEDOUT").0;
        assert!(msg.starts_with("native: client read: ") && msg.contains("timed out"), "{msg}");
    }

    /// PT-2 seen from the client: a server end closed over unread data
    /// resets the connection (CL-3), which is EOF as far as PT-2 goes; a
    /// server end held open is not.
    #[test]
    fn sees_eof_of_a_reset_and_not_of_an_open_end() {
        let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let addr = l.local_addr().unwrap();
        let mut c = TcpStream::connect(addr).unwrap();
        let (s, _) = l.accept().unwrap();
        assert!(!sees_eof(&c, addr).unwrap(), "open end: no EOF");
        c.write_all(b"unread").unwrap();
        // The bytes are in the server end's receive queue before it closes.
        assert!(sys::wait_ready(&s, Want::Read, BOUND).unwrap());
        drop(s);
        assert!(sees_eof(&c, addr).unwrap(), "RST counts as the end closed");
    }
}
