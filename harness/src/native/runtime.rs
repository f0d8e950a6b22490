//! The event loop: a mio poller over the ports' sockets, timers on an
//! injectable clock, the port-task queue and a run queue of resumed
//! processes. `quiesce` runs one activity at a time until nothing is
//! runnable (SCHED-1), logging each as `Choice::Ran` followed by the
//! syscalls it made.

use super::bugs::{Faults, PlantedBug};
use super::clock::Clock;
use super::close_mode::CloseMode;
use super::connect::connect_nonblocking;
use super::driver_queue::{Output, TcpDriver, Unbusy};
use super::listen_port::{AcceptPolicy, ListenPort};
use super::options::{inherit_from_listener, setopts};
use super::payload::payload;
use super::port::TcpPort;
use super::port_table::{PortId, PortTable};
use super::port_task::Task;
use super::process::{Command, Processes};
use super::receive;
use super::sys;
use crate::kernel::accept_loop::Stats;
use mio::net::TcpStream;
use mio::{Events, Poll, Token};
use reference::choice::{Activity, Choice};
use reference::observation::{Busy, OwnerMsg, Posix, SendResult, SenderStatus};
use reference::op::SendFlags;
use reference::options::{Opt, PortOptions};
use reference::units::{Bytes, SenderId};
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, BorrowedFd, RawFd};
use std::time::{Duration, Instant};

/// Poller token of the port under test.
const SUBJECT: Token = Token(0);
/// A quiescence that runs more activities than this is a runtime bug.
const MAX_ACTIVITIES: usize = 1_000_000;

/// A failure of the runtime itself (I/O in the machinery, a bound exceeded,
/// a misuse), as opposed to a port operation's result.
#[derive(Debug)]
pub struct RuntimeError(pub String);

impl fmt::Display for RuntimeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for RuntimeError {}

impl From<io::Error> for RuntimeError {
    fn from(e: io::Error) -> Self {
        RuntimeError(format!("I/O error: {e}"))
    }
}

/// Why a port could not be opened.
#[derive(Debug)]
pub enum OpenError {
    /// The port table is full (PT-3).
    SystemLimit,
    Io(io::Error),
}

impl From<io::Error> for OpenError {
    fn from(e: io::Error) -> Self {
        OpenError::Io(e)
    }
}

/// Socket-level options used when opening a connected port.
#[derive(Clone, Copy, Debug, Default)]
pub struct SocketOpts {
    /// SO_SNDBUF as requested (the kernel doubles it and applies a minimum).
    pub sndbuf: Option<usize>,
    /// TCP_NODELAY.
    pub nodelay: bool,
    /// TCP_MAXSEG, set before connecting.
    pub mss: Option<u32>,
    /// What closing the port does with input it never read: by default
    /// close as inet_drv does (RST when input was unread, CL-3);
    /// [`CloseMode::DrainInput`] discards it first so the peer sees FIN
    /// (KN-RST-5).
    pub close_mode: CloseMode,
}

/// What an accept did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Accepted {
    /// A port was created with these options (OPT-6).
    Port(PortOptions),
    /// The table was full: the connection was accepted by the kernel and its
    /// fd closed again (PT-2).
    SystemLimit,
}

/// What the runtime recorded since the last [`Runtime::take_trace`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Trace {
    /// Scheduler and kernel choices, in order.
    pub choices: Vec<Choice>,
    /// Sends that finished other than by returning from `send`, in order.
    pub completed: Vec<(SenderId, SendResult)>,
    /// Senders that were suspended on the busy port (SND-1).
    pub busy_port_events: Vec<SenderId>,
}

/// The observable state of the port under test and the runtime.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snapshot {
    pub senders: Vec<SenderStatus>,
    pub queue: Bytes,
    pub busy: Busy,
    pub msgq: Bytes,
    pub ports: usize,
}

/// A port-table entry.
#[derive(Debug)]
enum Slot {
    /// The port under test (it lives in [`Runtime::subject`]).
    Subject,
    /// The listen port (it lives in [`Runtime::listener`]).
    Listener,
    /// A port made by accept.
    Accepted { sock: TcpStream, _opts: PortOptions },
    /// A port opened by connect besides the port under test.
    Extra { _sock: TcpStream },
}

/// The native port runtime.
pub struct Runtime {
    poll: Poll,
    events: Events,
    clock: Box<dyn Clock>,
    faults: Faults,
    table: PortTable<Slot>,
    subject: Option<TcpPort>,
    listener: Option<ListenPort>,
    /// How the listen port's accept path waits out fd exhaustion.
    accept_policy: AcceptPolicy,
    /// Accepted ports, most recent last.
    accepted: Vec<PortId>,
    procs: Processes,
    /// The port owner's mailbox.
    mailbox: Vec<OwnerMsg>,
    trace: Trace,
    /// fds leaked by the planted bug `LeakAcceptedFd`; closed on drop.
    leaked: Vec<TcpStream>,
}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime")
            .field("faults", &self.faults)
            .field("ports", &self.table.len())
            .field("subject", &self.subject)
            .field("procs", &self.procs)
            .finish_non_exhaustive()
    }
}

impl Runtime {
    /// A runtime with a port table of exactly `table_capacity` slots and
    /// `senders` sender processes.
    pub fn new(clock: Box<dyn Clock>, table_capacity: usize, senders: u8, bug: Option<PlantedBug>) -> io::Result<Self> {
        Ok(Runtime {
            poll: Poll::new()?,
            events: Events::with_capacity(64),
            clock,
            faults: Faults(bug),
            table: PortTable::with_capacity(table_capacity),
            subject: None,
            listener: None,
            accept_policy: AcceptPolicy::default(),
            accepted: Vec::new(),
            procs: Processes::new(senders),
            mailbox: Vec::new(),
            trace: Trace::default(),
            leaked: Vec::new(),
        })
    }

    // ----- opening ports -------------------------------------------------------------------

    /// `gen_tcp:listen`: the listen port, with the options its accepted
    /// ports inherit. Returns the bound address.
    pub fn listen(&mut self, addr: SocketAddr, options: &[Opt]) -> Result<SocketAddr, OpenError> {
        self.table.check_free().map_err(|_| OpenError::SystemLimit)?;
        let opts = setopts(&PortOptions::default(), options).map(|o| o.options).unwrap_or_default();
        let (port, local) = ListenPort::bind(addr, opts, self.accept_policy, self.faults)?;
        self.table.insert(Slot::Listener).map_err(|_| OpenError::SystemLimit)?;
        self.listener = Some(port);
        Ok(local)
    }

    /// `gen_tcp:connect`: open the port under test, then apply `options` as
    /// one setopts (an invalid list leaves the defaults).
    pub fn connect(&mut self, addr: SocketAddr, sock_opts: SocketOpts, options: &[Opt]) -> Result<(), OpenError> {
        self.table.check_free().map_err(|_| OpenError::SystemLimit)?;
        let stream = connect_nonblocking(addr, sock_opts, self.faults)?;
        let driver = TcpDriver::new(stream, SUBJECT, sock_opts.close_mode, self.poll.registry())?;
        let id = self.table.insert(Slot::Subject).map_err(|_| OpenError::SystemLimit)?;
        let mut opts = PortOptions::default();
        if let Ok(out) = setopts(&opts, options) {
            opts = out.options;
            if out.passive_notice {
                self.mailbox.push(OwnerMsg::TcpPassive);
            }
        }
        self.subject = Some(TcpPort::new(id, opts, driver));
        Ok(())
    }

    /// Open one more connected port (PT-3). A full table fails before any
    /// socket is created.
    pub fn open_extra(&mut self, addr: SocketAddr) -> Result<(), OpenError> {
        self.table.check_free().map_err(|_| OpenError::SystemLimit)?;
        let sock = connect_nonblocking(addr, SocketOpts::default(), self.faults)?;
        self.table.insert(Slot::Extra { _sock: sock }).map_err(|_| OpenError::SystemLimit)?;
        Ok(())
    }

    /// Set how the listen port's accept path waits out fd exhaustion
    /// (KN-EMFILE-2); takes effect at the next [`Runtime::listen`].
    pub fn set_accept_policy(&mut self, policy: AcceptPolicy) {
        self.accept_policy = policy;
    }

    /// `gen_tcp:accept` on the listen port: take the next connection (waiting
    /// for it at most `bound`), then create its port (PT-2, OPT-6).
    pub fn accept(&mut self, bound: Duration) -> Result<Accepted, RuntimeError> {
        match self.try_accept(bound)? {
            Some(a) => Ok(a),
            None => {
                let paused = self.listener.as_ref().is_some_and(ListenPort::is_paused);
                Err(RuntimeError(format!(
                    "accept: no connection within {bound:?}{}",
                    if paused {
                        " (out of file descriptors: accept paused, connections wait in the kernel's queue)"
                    } else {
                        ""
                    }
                )))
            }
        }
    }

    /// Like [`Runtime::accept`], but `Ok(None)` when no connection was
    /// accepted within `wait` (zero: only one that is ready now). Out of
    /// fds, the accept path pauses instead of spinning and the connection
    /// stays queued (KN-EMFILE-1/2): it is accepted once the runtime
    /// releases an fd, or at the policy's retry.
    pub fn try_accept(&mut self, wait: Duration) -> Result<Option<Accepted>, RuntimeError> {
        let listener = self.listener.as_mut().ok_or_else(|| RuntimeError("no listen port".into()))?;
        let Some(sock) = listener.next_connection(wait)? else { return Ok(None) };
        if self.table.is_full() {
            // PT-2: the port cannot be created; the accepted fd is closed.
            if self.faults.has(PlantedBug::LeakAcceptedFd) {
                self.leaked.push(sock);
            } else {
                drop(sock);
            }
            return Ok(Some(Accepted::SystemLimit));
        }
        let opts = inherit_from_listener(&listener.opts);
        let id = self
            .table
            .insert(Slot::Accepted { sock, _opts: opts })
            .map_err(|_| RuntimeError("table full after check".into()))?;
        self.accepted.push(id);
        Ok(Some(Accepted::Port(opts)))
    }

    /// Close the most recently accepted port (PT-4). Returns whether there
    /// was one.
    pub fn close_accepted(&mut self) -> Result<bool, RuntimeError> {
        let Some(id) = self.accepted.pop() else { return Ok(false) };
        let closed = self.table.remove(id).is_some();
        if closed {
            self.fd_released()?;
        }
        Ok(closed)
    }

    /// What the listen port's accept path did (wakeups, accepts, EMFILEs,
    /// pauses), and whether it is paused now.
    pub fn accept_stats(&self) -> Option<(Stats, bool)> {
        self.listener.as_ref().map(|l| (l.stats(), l.is_paused()))
    }

    /// The listen port's socket, e.g. to wait until a connection is queued.
    pub fn listener_fd(&self) -> Option<BorrowedFd<'_>> {
        self.listener.as_ref().map(ListenPort::listener)
    }

    /// The peer address of the most recently accepted port.
    pub fn accepted_peer(&self) -> Option<SocketAddr> {
        let id = *self.accepted.last()?;
        match self.table.get(id)? {
            Slot::Accepted { sock, .. } => sock.peer_addr().ok(),
            _ => None,
        }
    }

    /// The runtime closed a socket: an accept path paused on EMFILE can
    /// resume now rather than at its next retry (KN-EMFILE-2).
    fn fd_released(&mut self) -> Result<(), RuntimeError> {
        if let Some(l) = self.listener.as_mut() {
            l.fd_released()?;
        }
        Ok(())
    }

    // ----- the port under test: owner operations ---------------------------------------------

    fn port(&self) -> Result<&TcpPort, RuntimeError> {
        self.subject.as_ref().ok_or_else(|| RuntimeError("no port under test".into()))
    }

    /// `gen_tcp:send` / `port_command/3` by sender `s`. `Some(result)` when
    /// the call returned; `None` when the sender now waits or is suspended.
    pub fn send(
        &mut self,
        s: SenderId,
        len: Bytes,
        tag: u16,
        flags: SendFlags,
    ) -> Result<Option<SendResult>, RuntimeError> {
        if !self.procs.exists(s) {
            return Err(RuntimeError(format!("no sender {s}")));
        }
        if self.procs.status(s) != SenderStatus::Idle {
            return Err(RuntimeError(format!("sender {s} is not idle")));
        }
        self.port()?;
        Ok(self.port_command(s, Command { len, tag, flags }))
    }

    /// `erts_port_output` for process `s`: SND-6, SND-1/2/3, MQ-1, then the
    /// driver (`tcp_sendv`).
    fn port_command(&mut self, s: SenderId, cmd: Command) -> Option<SendResult> {
        let faults = self.faults;
        let now = self.clock.now();
        let Some(port) = self.subject.as_mut() else {
            self.procs.set_idle(s);
            return Some(SendResult::Error(Posix::Closed));
        };
        // SND-6
        if port.is_closed() {
            self.procs.set_idle(s);
            return Some(SendResult::Error(Posix::Closed));
        }
        // SND-1..3
        if port.is_busy() && !cmd.flags.force {
            if cmd.flags.nosuspend {
                self.procs.set_idle(s);
                return Some(SendResult::False);
            }
            self.procs.suspend(s, cmd);
            port.suspended.push(s);
            self.trace.busy_port_events.push(s);
            return None;
        }
        // MQ-1: immediate only with no queued tasks and the lock free.
        let guard = if port.tasks.is_empty() { port.lock.try_lock() } else { None };
        let Some(guard) = guard else {
            let limits = port.msgq_limits();
            port.tasks.schedule(Task { sender: s, cmd }, limits, faults);
            self.procs.set_waiting(s);
            return None;
        };
        let data = payload(cmd.tag, cmd.len);
        let out = port.driver.outputv(s, &data, &port.opts, now, faults, &mut self.trace.choices, self.poll.registry());
        drop(guard);
        match out {
            Output::Reply(r) => {
                self.procs.set_idle(s);
                Some(r)
            }
            Output::Deferred => {
                self.procs.set_waiting(s);
                None
            }
        }
    }

    /// `gen_tcp:recv(S, 0, 0)`.
    pub fn recv(&mut self) -> Result<Result<Vec<u8>, Posix>, RuntimeError> {
        let port = self.subject.as_mut().ok_or_else(|| RuntimeError("no port under test".into()))?;
        if port.is_closed() {
            return Ok(Err(Posix::Closed));
        }
        Ok(receive::recv(&mut port.driver, &port.opts, &mut self.trace.choices))
    }

    /// `inet:setopts/2`.
    pub fn setopts(&mut self, list: &[Opt]) -> Result<Result<(), Posix>, RuntimeError> {
        let port = self.subject.as_mut().ok_or_else(|| RuntimeError("no port under test".into()))?;
        if port.is_closed() {
            return Ok(Err(Posix::Einval));
        }
        let (out, result) = match setopts(&port.opts, list) {
            Ok(out) => (out, Ok(())),
            // OPT-3: what came before the invalid option stays applied.
            Err((e, partial)) => (partial, Err(e)),
        };
        port.opts = out.options;
        if out.passive_notice {
            self.mailbox.push(OwnerMsg::TcpPassive);
        }
        Ok(result)
    }

    /// `inet:getopts/2`.
    pub fn getopts(&self) -> Result<PortOptions, RuntimeError> {
        Ok(self.port()?.opts)
    }

    /// `erlang:port_info(Port, queue_size)`; 0 once the port is closed.
    pub fn queue_size(&self) -> Result<Bytes, RuntimeError> {
        let port = self.port()?;
        Ok(if port.is_closed() { Bytes::ZERO } else { port.driver.queue_len() })
    }

    /// The owner takes every message in its mailbox.
    pub fn take_mailbox(&mut self) -> Vec<OwnerMsg> {
        std::mem::take(&mut self.mailbox)
    }

    /// The lock of the port under test, for another scheduler to contend.
    pub fn port_lock(&self) -> Result<super::lock::PortLock, RuntimeError> {
        Ok(self.port()?.lock.clone())
    }

    /// `gen_tcp:close/1`: the port leaves the table; queued tasks are
    /// aborted; the socket closes now or once the queue is flushed (CL-1).
    pub fn close(&mut self) -> Result<(), RuntimeError> {
        let port = self.subject.as_mut().ok_or_else(|| RuntimeError("no port under test".into()))?;
        let Some(id) = port.id.take() else { return Ok(()) };
        self.table.remove(id);
        let msgq_was_busy = port.tasks.is_busy();
        let aborted = port.tasks.abort_all();
        let resume = msgq_was_busy && !port.driver.is_busy();
        let resumed = if resume { port.suspended.drain() } else { Vec::new() };
        port.driver.close(self.poll.registry());
        let socket_closed = !port.driver.is_open();
        for t in aborted {
            self.complete(t.sender, SendResult::Error(Posix::Closed));
        }
        self.procs.make_runnable(resumed);
        if socket_closed {
            self.fd_released()?;
        }
        Ok(())
    }

    // ----- observation -------------------------------------------------------------------------

    pub fn take_trace(&mut self) -> Trace {
        std::mem::take(&mut self.trace)
    }

    /// Push a choice made outside the runtime (the peer's reads) into the trace.
    pub fn record(&mut self, c: Choice) {
        self.trace.choices.push(c);
    }

    pub fn snapshot(&self) -> Snapshot {
        let (queue, busy, msgq) = match &self.subject {
            Some(p) => (if p.is_closed() { Bytes::ZERO } else { p.driver.queue_len() }, p.busy(), p.tasks.size()),
            None => (Bytes::ZERO, Busy { driver: false, msgq: false }, Bytes::ZERO),
        };
        Snapshot { senders: self.procs.statuses(), queue, busy, msgq, ports: self.table.len() }
    }

    /// FIONREAD on the port under test's socket; `None` once it is closed.
    pub fn subject_bytes_readable(&self) -> io::Result<Option<usize>> {
        match &self.subject {
            Some(p) => p.driver.bytes_readable(),
            None => Ok(None),
        }
    }

    /// Input of the port under test read and discarded when its socket was
    /// closed ([`CloseMode::DrainInput`], KN-RST-5); 0 otherwise.
    pub fn input_discarded_on_close(&self) -> Bytes {
        self.subject.as_ref().map_or(Bytes::ZERO, |p| p.driver.discarded_on_close())
    }

    /// The raw fd of the port under test's socket, while open.
    pub fn subject_fd(&self) -> Option<RawFd> {
        self.subject.as_ref().and_then(|p| p.driver.raw_fd())
    }

    // ----- the scheduler -----------------------------------------------------------------------

    /// Collect readiness from the kernel, waiting at most `timeout`.
    fn poll_io(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        match self.poll.poll(&mut self.events, timeout) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => return Ok(()),
            Err(e) => return Err(e),
        }
        for ev in self.events.iter() {
            if ev.token() == SUBJECT {
                if let Some(p) = self.subject.as_mut() {
                    p.driver.on_event(ev);
                }
            }
        }
        Ok(())
    }

    /// The next activity the scheduler would run, if any.
    fn next_activity(&self) -> Option<Activity> {
        let port = self.subject.as_ref()?;
        let now = self.clock.now();
        if port.driver.send_timer_due(now) {
            return Some(Activity::SendTimeout);
        }
        if port.driver.flush_armed() {
            return Some(Activity::DelayFlush);
        }
        if let Some(s) = self.procs.peek_runnable() {
            return Some(Activity::Resume(s));
        }
        if !port.lock.is_locked() && port.tasks.next_runnable(port.driver.is_busy()).is_some() {
            return Some(Activity::Task);
        }
        if port.driver.output_ready() {
            return Some(Activity::Output);
        }
        if !port.is_closed() && port.opts.active.is_active() && port.driver.input_ready() {
            return Some(Activity::Input);
        }
        None
    }

    /// Run until nothing is runnable (SCHED-1), checking the kernel for
    /// readiness (without blocking) before each activity.
    pub fn quiesce(&mut self) -> Result<(), RuntimeError> {
        for _ in 0..MAX_ACTIVITIES {
            self.poll_io(Some(Duration::ZERO))?;
            match self.next_activity() {
                None => return Ok(()),
                Some(a) => {
                    let open_before = self.subject_fd().is_some();
                    self.run(a);
                    // A flushed close (CL-1) or send_timeout_close (TO-3)
                    // closed the socket.
                    if open_before && self.subject_fd().is_none() {
                        self.fd_released()?;
                    }
                }
            }
        }
        Err(RuntimeError(format!("no quiescence after {MAX_ACTIVITIES} activities")))
    }

    /// Block until something is runnable or `also` (a socket outside the
    /// runtime, e.g. the peer) is readable, at most `bound`; then quiesce.
    pub fn await_io(&mut self, bound: Duration, also: Option<RawFd>) -> Result<(), RuntimeError> {
        let deadline = Instant::now() + bound;
        loop {
            self.poll_io(Some(Duration::ZERO))?;
            if self.next_activity().is_some() {
                break;
            }
            if let Some(fd) = also {
                if sys::wait_any_readable(&[fd], Duration::ZERO)? {
                    break;
                }
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(RuntimeError(format!("await_io: no I/O event within {bound:?}{}", self.diagnose())));
            }
            let wait = match self.timer_wait() {
                Some(t) => t.min(left),
                None => left,
            };
            let mut fds = vec![self.poll.as_raw_fd()];
            fds.extend(also);
            sys::wait_any_readable(&fds, wait)?;
        }
        self.quiesce()
    }

    /// What the kernel holds for the port under test, for error messages.
    fn diagnose(&self) -> String {
        let Some(fd) = self.subject_fd() else { return String::new() };
        match sys::send_queue(fd) {
            Ok((outq, unsent)) => {
                format!(" (port socket: {outq} bytes in the kernel send queue, {unsent} not yet sent)")
            }
            Err(_) => String::new(),
        }
    }

    /// One turn of a production loop: wait for I/O or the next timer (at
    /// most `max_wait`), then run everything runnable.
    pub fn turn(&mut self, max_wait: Option<Duration>) -> Result<(), RuntimeError> {
        if self.next_activity().is_none() {
            let wait = match (self.timer_wait(), max_wait) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            self.poll_io(wait)?;
        }
        self.quiesce()
    }

    /// How long until the send timer is due, on a clock that moves by itself.
    fn timer_wait(&self) -> Option<Duration> {
        if !self.clock.is_real() {
            return None;
        }
        let deadline = self.subject.as_ref()?.driver.send_deadline()?;
        Some(Duration::from_millis(deadline.0.saturating_sub(self.clock.now().0)))
    }

    fn run(&mut self, a: Activity) {
        self.trace.choices.push(Choice::Ran(a));
        let faults = self.faults;
        let registry = self.poll.registry();
        let Some(port) = self.subject.as_mut() else { return };
        match a {
            Activity::SendTimeout => {
                let u = port.driver.send_timeout(&port.opts, faults, registry);
                self.after_unbusy(u, SendResult::Error(Posix::Timeout));
            }
            Activity::DelayFlush => {
                let u = port.driver.flush_timeout(&port.opts, faults, &mut self.trace.choices, registry);
                self.after_unbusy(u, SendResult::Ok);
            }
            Activity::Output => {
                let u = port.driver.ready_output(&port.opts, faults, &mut self.trace.choices, registry);
                self.after_unbusy(u, SendResult::Ok);
            }
            Activity::Input => {
                receive::ready_input(&mut port.driver, &mut port.opts, &mut self.mailbox, &mut self.trace.choices);
            }
            Activity::Task => self.run_task(),
            // The native runtime closes at once (CL-1/CL-2); it never
            // schedules this activity (variant otp-inet only).
            Activity::PendingClose => {}
            // Per-send timers are the socket backend's (DIFF-SOCK-3); the
            // native runtime never reports them.
            Activity::Expire(_) | Activity::Returned(_) => {}
            Activity::Resume(_) => {
                if let Some((s, cmd)) = self.procs.next_runnable() {
                    if let Some(r) = self.port_command(s, cmd) {
                        self.complete(s, r);
                    }
                }
            }
        }
    }

    /// The driver left busy: reply to the blocked caller; the busy-wait
    /// tasks may run again (MQ-5); suspended senders resume unless the
    /// msgq is busy too (WM-4, SND-4, TO-1).
    fn after_unbusy(&mut self, u: Option<Unbusy>, reply: SendResult) {
        let Some(u) = u else { return };
        if let Some(c) = u.caller {
            self.complete(c, reply);
        }
        let Some(port) = self.subject.as_mut() else { return };
        if !port.tasks.is_busy() {
            let resumed = port.suspended.drain();
            self.procs.make_runnable(resumed);
        }
    }

    /// Run the first runnable port task (MQ-3..MQ-6).
    fn run_task(&mut self) {
        let faults = self.faults;
        let now = self.clock.now();
        let registry = self.poll.registry();
        let Some(port) = self.subject.as_mut() else { return };
        let Some(_guard) = port.lock.try_lock() else { return };
        let Some(ix) = port.tasks.next_runnable(port.driver.is_busy()) else { return };
        let task = port.tasks.take(ix);
        let result = if port.driver.is_busy() && task.aborts_on_busy_driver() {
            // MQ-6
            Some(SendResult::False)
        } else {
            let data = payload(task.cmd.tag, task.cmd.len);
            match port.driver.outputv(task.sender, &data, &port.opts, now, faults, &mut self.trace.choices, registry) {
                Output::Reply(r) => Some(r),
                Output::Deferred => None,
            }
        };
        drop(_guard);
        // MQ-4
        let limits = port.msgq_limits();
        let msgq_unbusy = port.tasks.done(&task, limits);
        let resumed = if msgq_unbusy && !port.driver.is_busy() { port.suspended.drain() } else { Vec::new() };
        match result {
            Some(r) => self.complete(task.sender, r),
            None => self.procs.set_waiting(task.sender),
        }
        self.procs.make_runnable(resumed);
    }

    /// A send of `s` finished other than by returning.
    fn complete(&mut self, s: SenderId, r: SendResult) {
        self.procs.set_idle(s);
        self.trace.completed.push((s, r));
    }
}
