//! The event loop: a mio poller over the ports' sockets, timers on an
//! injectable clock, the port-task queue and a run queue of resumed
//! processes. `quiesce` runs one activity at a time until nothing is
//! runnable (SCHED-1), logging each as `Action::Ran` followed by the
//! syscalls it made.
//!
//! - `owner`: the owner's operations on the port under test.
//! - `port_kill`: the port under test killed by another process (CL-5).
//! - `reader`: the reader process's recv, which waits (RX-7..RX-10) until
//!   its timer fires (RX-11).
//! - `scheduler`: the scheduler and what each activity does.

mod owner;
mod owner_death;
mod port_kill;
mod reader;
mod scheduler;

use crate::accept_loop::Stats;
use crate::bugs::{Faults, PlantedBug};
use crate::clock::Clock;
use crate::connect::{connect_nonblocking, SocketOpts};
use crate::driver_queue::TcpDriver;
use crate::listen_port::{AcceptPolicy, ListenPort};
use crate::options::{inherit_from_listener, setopts, Opt, PortOptions};
use crate::port::TcpPort;
use crate::port_table::{PortId, PortTable};
use crate::process::Processes;
use crate::reply::{Busy, OwnerMsg};
use crate::trace::{Snapshot, Trace};
use crate::units::Bytes;
use mio::net::TcpStream;
use mio::{Events, Poll, Token};
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::os::fd::{BorrowedFd, RawFd};
use std::time::Duration;

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

/// What an accept did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Accepted {
    /// A port was created with these options (OPT-6).
    Port(PortOptions),
    /// The table was full: the connection was accepted by the kernel and its
    /// fd closed again (PT-2).
    SystemLimit,
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
    /// The payload of the send being made (its first `len` bytes), reused
    /// from send to send so a send allocates nothing.
    scratch: Vec<u8>,
    /// OPT-8: what every connect (listen) starts from, as a node's
    /// `inet_default_connect_options` (`inet_default_listen_options`).
    default_options: DefaultOptions,
}

/// The runtime's default options for new ports (OPT-8), `{active,_}`
/// already left out.
#[derive(Clone, Debug, Default)]
struct DefaultOptions {
    connect: Vec<Opt>,
    listen: Vec<Opt>,
}

impl DefaultOptions {
    /// OPT-8, OPT-7: the defaults with `list` applied over them (a list
    /// setopts refuses leaves the defaults).
    fn base(list: &[Opt]) -> PortOptions {
        setopts(&PortOptions::default(), list).map(|o| o.options).unwrap_or_default()
    }
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
            table: PortTable::with_capacity(crate::port_table::slots(table_capacity, Faults(bug))),
            subject: None,
            listener: None,
            accept_policy: AcceptPolicy::default(),
            accepted: Vec::new(),
            procs: Processes::new(senders),
            mailbox: Vec::new(),
            trace: Trace::default(),
            leaked: Vec::new(),
            default_options: DefaultOptions::default(),
            scratch: Vec::new(),
        })
    }

    // ----- opening ports -------------------------------------------------------------------

    /// OPT-8: the default options of every port opened from now on, as a
    /// BEAM node's kernel environment gives them: `connect` under every
    /// connect's own options, `listen` under every listen's. An
    /// `{active,_}` among them has no effect (the call's own active, else
    /// the default, applies).
    pub fn set_default_options(&mut self, connect: &[Opt], listen: &[Opt]) {
        let without_active = |l: &[Opt]| l.iter().filter(|o| !matches!(o, Opt::Active(_))).cloned().collect();
        self.default_options = DefaultOptions { connect: without_active(connect), listen: without_active(listen) };
    }

    /// `gen_tcp:listen`: the listen port, with the options its accepted
    /// ports inherit. Returns the bound address.
    pub fn listen(&mut self, addr: SocketAddr, options: &[Opt]) -> Result<SocketAddr, OpenError> {
        self.table.check_free().map_err(|_| OpenError::SystemLimit)?;
        let base = DefaultOptions::base(&self.default_options.listen);
        let opts = setopts(&base, options).map(|o| o.options).unwrap_or(base);
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
        let mut opts = DefaultOptions::base(&self.default_options.connect);
        let reversed: Vec<Opt>;
        let options = if self.faults.has(crate::bugs::PlantedBug::SetupFrontToBack) {
            reversed = options.iter().rev().cloned().collect();
            &reversed[..]
        } else {
            options
        };
        if let Ok(out) = setopts(&opts, options) {
            opts = out.options;
            for _ in 0..out.passive_notices {
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

    // ----- observation -------------------------------------------------------------------------

    pub fn take_trace(&mut self) -> Trace {
        std::mem::take(&mut self.trace)
    }

    pub fn snapshot(&self) -> Snapshot {
        let (queue, busy, msgq) = match &self.subject {
            Some(p) => (if p.is_closed() { Bytes::ZERO } else { p.driver.queue_len() }, p.busy(), p.tasks.size()),
            None => (Bytes::ZERO, Busy { driver: false, msgq: false }, Bytes::ZERO),
        };
        let reader = self.subject.as_ref().map(|p| p.reader.status()).unwrap_or_default();
        Snapshot { senders: self.procs.statuses(), queue, busy, msgq, ports: self.table.len(), reader }
    }

    /// FIONREAD on the port under test's socket; `None` once it is closed.
    pub fn subject_bytes_readable(&self) -> io::Result<Option<usize>> {
        match &self.subject {
            Some(p) => p.driver.bytes_readable(),
            None => Ok(None),
        }
    }

    /// Input of the port under test read and discarded when its socket was
    /// closed ([`crate::CloseMode::DrainInput`], KN-RST-5); 0 otherwise.
    pub fn input_discarded_on_close(&self) -> Bytes {
        self.subject.as_ref().map_or(Bytes::ZERO, |p| p.driver.discarded_on_close())
    }

    /// The raw fd of the port under test's socket, while open.
    pub fn subject_fd(&self) -> Option<RawFd> {
        self.subject.as_ref().and_then(|p| p.driver.raw_fd())
    }

    /// The port under test's socket was shut down for writing (SD-1): its
    /// FIN took a sequence number.
    pub fn subject_write_shut(&self) -> bool {
        self.subject.as_ref().is_some_and(|p| p.driver.write_side_shut())
    }
}
