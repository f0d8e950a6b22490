//! The port under test: a `tokio::net::TcpStream` with a driver send queue
//! (WM-*), delay_send (DS-*), a send timer (TO-*), busy-port suspension of
//! its senders (SND-*) and active/passive receive (RX-*).
//!
//! The port's state sits behind one mutex (the port lock): a sender's task
//! runs a command under it, the settling loop runs the port's output and
//! input under it, the timer tasks fire under it. It is never held across
//! an `.await`.

use crate::driver_queue::DriverQueue;
use crate::options::{set_opts, SetOpts};
use crate::plant::Plant;
use crate::sender::Roster;
use crate::units::{Bytes, SenderId};
use crate::watermark::Watermarks;
use reference::choice::{Activity, Choice};
use reference::observation::{OwnerMsg, Posix, SendResult, SenderStatus};
use reference::op::SendFlags;
use reference::options::{Active, Opt, PortOptions, Timeout};
use std::collections::VecDeque;
use std::io;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::sync::{oneshot, Notify};
use tokio::task::JoinHandle;
use tokio::time::Instant;

pub type SharedPort = Arc<Mutex<Port>>;

/// How a command ended, seen from the sender's task.
pub enum Outcome {
    /// The send returned at once.
    Returned(SendResult),
    /// SND-1: the port is busy; retry once resumed.
    Suspended(oneshot::Receiver<()>),
    /// SND-5: this send made the port busy; the reply comes later.
    Waiting(oneshot::Receiver<SendResult>),
}

/// The port's life: open, or closed by `gen_tcp:close/1` (the socket may
/// still be flushing, CL-1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Life {
    Open,
    Closed,
}

/// Why the port leaves busy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Unbusy {
    /// WM-4: the queue drained to the low watermark.
    LowWatermark,
    /// TO-1: the send timer fired.
    SendTimeout,
}

/// The armed send timer (TO-1): a tokio task sleeping until `deadline`.
struct SendTimer {
    deadline: Instant,
    /// When it is due on the harness's clock (the sum of `advance_time`s,
    /// `Port::clock`): real time may pass more slowly between two
    /// `advance_time`s than they say.
    due_on_clock: Duration,
    task: JoinHandle<()>,
}

pub struct Port {
    me: Weak<Mutex<Port>>,
    pub opts: PortOptions,
    life: Life,
    /// The connected socket; `None` once closed (CL-1 after the flush,
    /// TO-3 at once).
    socket: Option<Arc<TcpStream>>,
    queue: DriverQueue,
    busy: bool,
    /// SND-5 / WM-6: the one caller waiting for the reply of the send that
    /// made the port busy.
    busy_caller: Option<oneshot::Sender<SendResult>>,
    /// WM-6: callers displaced from the slot; never answered.
    displaced: Vec<oneshot::Sender<SendResult>>,
    /// SND-1: suspended senders, in suspension order.
    suspended: VecDeque<(SenderId, oneshot::Sender<()>)>,
    send_timer: Option<SendTimer>,
    /// Told whenever the send timer fires (advance_time waits on it).
    pub timer_fired: Arc<Notify>,
    /// DS-1: the zero-delay flush is armed.
    flush_armed: bool,
    /// The flush timer fired; the port's scheduler runs the flush at the
    /// next quiescence (DS-2).
    flush_due: bool,
    /// The send timer fired; serviced at the next quiescence (TO-1).
    timeout_due: bool,
    mailbox: Vec<OwnerMsg>,
    /// The kernel's and the scheduler's choices since the last observation,
    /// in the order they were made (PROTOCOL.md §5): every write and read
    /// syscall on the port's socket and every activity that ran.
    choices: Vec<Choice>,
    /// The harness's clock: the time its `advance_time` ops added up to.
    pub clock: Duration,
    /// Bytes the port read from its socket (input).
    pub received: Bytes,
    pub roster: Roster,
    plant: Option<Plant>,
}

/// Reading input, at most this much a read.
const READ_CHUNK: usize = 1 << 16;

impl Port {
    pub fn new(socket: TcpStream, opts: PortOptions, roster: Roster, plant: Option<Plant>) -> SharedPort {
        Arc::new_cyclic(|me| {
            Mutex::new(Port {
                me: me.clone(),
                opts,
                life: Life::Open,
                socket: Some(Arc::new(socket)),
                queue: DriverQueue::default(),
                busy: false,
                busy_caller: None,
                displaced: vec![],
                suspended: VecDeque::new(),
                send_timer: None,
                timer_fired: Arc::new(Notify::new()),
                flush_armed: false,
                flush_due: false,
                timeout_due: false,
                mailbox: vec![],
                choices: vec![],
                received: Bytes::ZERO,
                clock: Duration::ZERO,
                roster,
                plant,
            })
        })
    }

    fn watermarks(&self) -> Watermarks {
        Watermarks { high: self.opts.high, low: self.opts.low }
    }

    pub fn socket(&self) -> Option<Arc<TcpStream>> {
        self.socket.clone()
    }

    pub fn life(&self) -> Life {
        self.life
    }

    pub fn busy(&self) -> bool {
        self.busy
    }

    /// `port_info(S, queue_size)`: 0 once the port is closed.
    pub fn queue_size(&self) -> Bytes {
        match self.life {
            Life::Open => self.queue.len(),
            Life::Closed => Bytes::ZERO,
        }
    }

    pub fn has_output(&self) -> bool {
        !self.queue.is_empty() && self.socket.is_some()
    }

    /// The armed send timer's real deadline, if it is due within `by` of
    /// now on either clock (real, or the harness's once moved by `by`).
    pub fn send_timer_due_within(&self, by: Duration) -> Option<Instant> {
        let t = self.send_timer.as_ref()?;
        (t.deadline <= Instant::now() + by || t.due_on_clock <= self.clock + by).then_some(t.deadline)
    }

    pub fn take_mailbox(&mut self) -> Vec<OwnerMsg> {
        std::mem::take(&mut self.mailbox)
    }

    /// Record a choice made outside the port (the peer's reads).
    pub fn record(&mut self, c: Choice) {
        self.choices.push(c);
    }

    pub fn take_choices(&mut self) -> Vec<Choice> {
        std::mem::take(&mut self.choices)
    }

    /// A sender's send (`erlang:port_command/3`), run in its task under the
    /// port lock. `retry`: a resumed sender sends again (SND-4).
    pub fn command(&mut self, s: SenderId, data: &[u8], flags: SendFlags, retry: bool) -> Outcome {
        if retry {
            self.choices.push(Choice::Ran(Activity::Resume(s)));
        }
        let out = self.command_inner(s, data, flags);
        match &out {
            Outcome::Returned(_) => {}
            Outcome::Suspended(_) => self.roster.stopped(s, SenderStatus::Suspended),
            Outcome::Waiting(_) => self.roster.stopped(s, SenderStatus::Waiting),
        }
        out
    }

    fn command_inner(&mut self, s: SenderId, data: &[u8], flags: SendFlags) -> Outcome {
        if self.life == Life::Closed {
            return Outcome::Returned(SendResult::Error(Posix::Closed)); // SND-6
        }
        if self.busy && !flags.force {
            if flags.nosuspend && self.plant != Some(Plant::NosuspendSuspends) {
                return Outcome::Returned(SendResult::False); // SND-2
            }
            // SND-1: suspend, with a busy_port monitor event.
            let (tx, rx) = oneshot::channel();
            self.suspended.push_back((s, tx));
            self.roster.busy_port_event(s);
            return Outcome::Suspended(rx);
        }
        // SND-3: a force send goes through a busy (soft-busy) port.
        self.output_command(s, data)
    }

    /// The driver's send path (tcp_sendv): WM-2, WM-3, WM-5, DS-1, TO-2.
    fn output_command(&mut self, s: SenderId, data: &[u8]) -> Outcome {
        let Some(socket) = self.socket.clone() else {
            return Outcome::Returned(SendResult::Error(Posix::Enotconn)); // TO-3
        };
        let before = self.queue.len();
        let size = Bytes(data.len());
        if before == Bytes::ZERO {
            if size == Bytes::ZERO {
                return Outcome::Returned(SendResult::Ok); // WM-5
            }
            if self.opts.delay_send {
                // DS-1: queue it all, no syscall, arm the zero-delay flush.
                self.queue.enqueue(data.to_vec());
                self.arm_flush();
                return Outcome::Returned(SendResult::Ok);
            }
            // WM-2: write directly; the remainder is queued unchecked.
            let took = match socket.try_write(data) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => 0,
                Err(e) => {
                    eprintln!("tokio-ports: direct write on sender {s}: {e}");
                    0
                }
            };
            self.choices.push(Choice::Wrote { requested: size, accepted: Bytes(took) });
            self.queue.enqueue(data[took..].to_vec());
            return Outcome::Returned(SendResult::Ok);
        }
        // WM-3: the whole message is queued; busy iff it reaches high.
        self.queue.enqueue(data.to_vec());
        if !self.watermarks().goes_busy(before, size) {
            return Outcome::Returned(SendResult::Ok);
        }
        if self.opts.send_timeout == Timeout::After(reference::units::Millis(0)) {
            return Outcome::Returned(SendResult::Error(Posix::Timeout)); // TO-2
        }
        self.busy = true;
        let (tx, rx) = oneshot::channel();
        if let Some(old) = self.busy_caller.replace(tx) {
            self.displaced.push(old); // WM-6
        }
        if let Timeout::After(ms) = self.opts.send_timeout {
            if self.send_timer.is_none() && self.plant != Some(Plant::IgnoreSendTimeout) {
                self.arm_send_timer(Duration::from_millis(ms.0));
            }
        }
        Outcome::Waiting(rx)
    }

    /// DS-1: a zero-delay tokio timer makes the flush due (DS-2). Until
    /// it has fired the runtime is not quiescent (it counts as pending).
    fn arm_flush(&mut self) {
        self.flush_armed = true;
        self.roster.runnable();
        let me = self.me.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::ZERO).await;
            if let Some(port) = me.upgrade() {
                let mut p = port.lock().expect("port lock");
                p.flush_due = true;
                p.roster.done();
            }
        });
    }

    /// The port's scheduler, at a quiescence: run the timers that fired
    /// (DS-2 flush, TO-1 send timeout). Returns whether one ran.
    pub fn run_due_timers(&mut self) -> bool {
        let mut ran = false;
        if std::mem::take(&mut self.flush_due) {
            self.flush();
            ran = true;
        }
        if std::mem::take(&mut self.timeout_due) {
            self.send_timeout_fired();
            ran = true;
        }
        ran
    }

    /// Has the send timer fired (and not been serviced yet)?
    pub fn timeout_due(&self) -> bool {
        self.timeout_due
    }

    /// DS-2: one coalesced write of the whole queue.
    fn flush(&mut self) {
        if !std::mem::take(&mut self.flush_armed) {
            return; // discarded meanwhile (TO-3)
        }
        self.choices.push(Choice::Ran(Activity::DelayFlush));
        if self.has_output() {
            let requested = self.queue.len();
            let took = self.write_once().unwrap_or(0);
            self.choices.push(Choice::Wrote { requested, accepted: Bytes(took) });
            self.after_write(took);
        }
    }

    /// TO-1: a tokio timer task fires `send_timeout` after the send that
    /// made the port busy.
    fn arm_send_timer(&mut self, after: Duration) {
        let deadline = Instant::now() + after;
        let me = self.me.clone();
        let task = tokio::spawn(async move {
            tokio::time::sleep_until(deadline).await;
            if let Some(port) = me.upgrade() {
                let mut p = port.lock().expect("port lock");
                if p.send_timer.is_some() {
                    p.timeout_due = true;
                    p.timer_fired.notify_waiters();
                }
            }
        });
        self.send_timer = Some(SendTimer { deadline, due_on_clock: self.clock + after, task });
    }

    /// TO-1 (TO-3 with send_timeout_close).
    fn send_timeout_fired(&mut self) {
        if self.send_timer.take().is_none() {
            return;
        }
        self.choices.push(Choice::Ran(Activity::SendTimeout));
        if self.busy {
            self.unbusy(Unbusy::SendTimeout);
        }
        if self.opts.send_timeout_close {
            // TO-3: close the socket, discard the queue; the port stays.
            self.socket = None;
            self.queue.clear();
            self.flush_armed = false;
        }
    }

    /// Leave busy: answer the blocked caller, then resume every suspended
    /// sender (SND-4, in suspension order).
    fn unbusy(&mut self, why: Unbusy) {
        self.busy = false;
        if let Some(t) = self.send_timer.take() {
            t.task.abort(); // TO-4
        }
        self.timeout_due = false;
        if let Some(caller) = self.busy_caller.take() {
            let r = match why {
                Unbusy::LowWatermark => SendResult::Ok,
                Unbusy::SendTimeout => SendResult::Error(Posix::Timeout),
            };
            self.roster.runnable();
            if caller.send(r).is_err() {
                self.roster.done();
            }
        }
        let mut resumed: Vec<_> = self.suspended.drain(..).collect();
        if self.plant == Some(Plant::ResumeNewestFirst) {
            resumed.reverse();
        }
        for (_, tx) in resumed {
            self.roster.runnable();
            if tx.send(()).is_err() {
                self.roster.done();
            }
        }
    }

    /// One write from the queue asking for all of it (ST-2). Returns the
    /// bytes the kernel took (`None`: would block).
    fn write_once(&mut self) -> Option<usize> {
        let socket = self.socket.clone()?;
        if self.queue.is_empty() {
            return None;
        }
        match socket.try_write_vectored(&self.queue.slices()) {
            Ok(n) => Some(n),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => None,
            Err(e) => {
                eprintln!("tokio-ports: write from the queue: {e}");
                None
            }
        }
    }

    /// The kernel took `took` bytes from the queue: WM-4, CL-1.
    fn after_write(&mut self, took: usize) {
        let remaining = self.queue.dequeue(took);
        if self.busy && took > 0 && self.watermarks().clears_busy(remaining, self.plant) {
            self.unbusy(Unbusy::LowWatermark);
        }
        if remaining == Bytes::ZERO && self.life == Life::Closed {
            self.socket = None; // CL-1: flushed, now the socket closes.
        }
    }

    /// The driver's ready-output: write until the kernel would block or the
    /// queue is empty. Returns whether the kernel took anything.
    pub fn output(&mut self) -> bool {
        if self.flush_armed {
            return false; // DS-2 writes first
        }
        let mut progressed = false;
        loop {
            let requested = self.queue.len();
            // A write the kernel refused (would block) changes nothing and
            // is not reported: the driver was not ready-output after all.
            let Some(took) = self.write_once().filter(|n| *n > 0) else { break };
            if !progressed {
                self.choices.push(Choice::Ran(Activity::Output));
            }
            progressed = true;
            self.choices.push(Choice::Wrote { requested, accepted: Bytes(took) });
            self.after_write(took);
            if self.queue.is_empty() {
                break;
            }
        }
        progressed
    }

    /// Active delivery (RX-2, RX-4, RX-5): every read becomes a `tcp`
    /// message to the owner. Returns whether anything was read.
    pub fn deliver_input(&mut self) -> bool {
        let mut progressed = false;
        while self.life == Life::Open && self.opts.active.is_active() {
            let Some(socket) = self.socket.clone() else { break };
            let mut buf = vec![0u8; READ_CHUNK];
            match socket.try_read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    if !progressed {
                        self.choices.push(Choice::Ran(Activity::Input));
                    }
                    self.choices.push(Choice::Read { got: Bytes(n) });
                    buf.truncate(n);
                    self.received += Bytes(n);
                    self.mailbox.push(OwnerMsg::Tcp(buf));
                    progressed = true;
                    self.opts.active = match self.opts.active {
                        Active::Once => Active::Passive, // RX-2
                        Active::Count(c) if c <= 1 => {
                            self.mailbox.push(OwnerMsg::TcpPassive); // RX-4
                            Active::Passive
                        }
                        Active::Count(c) => Active::Count(c - 1),
                        other => other,
                    };
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => {
                    eprintln!("tokio-ports: read: {e}");
                    break;
                }
            }
        }
        progressed
    }

    /// `gen_tcp:recv(S, 0, 0)` (RX-1, RX-6, TO-3).
    pub fn recv(&mut self) -> Result<Vec<u8>, Posix> {
        let Some(socket) = self.socket.clone() else {
            return Err(Posix::Enotconn); // TO-3
        };
        if self.opts.active.is_active() {
            return Err(Posix::Einval); // RX-1
        }
        let mut buf = vec![0u8; 1 << 20];
        let got = match socket.try_read(&mut buf) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => 0,
            Err(e) => {
                eprintln!("tokio-ports: recv: {e}");
                0
            }
        };
        self.choices.push(Choice::Read { got: Bytes(got) });
        if got == 0 {
            return Err(Posix::Timeout); // RX-6: nothing there
        }
        buf.truncate(got);
        self.received += Bytes(got);
        Ok(buf)
    }

    /// `inet:setopts/2` (OPT-*, RX-3, RX-4).
    pub fn set_opts(&mut self, list: &[Opt]) -> Result<(), Posix> {
        let SetOpts { options, passive_notices, einval } = set_opts(self.opts, list);
        self.opts = options;
        for _ in 0..passive_notices {
            self.mailbox.push(OwnerMsg::TcpPassive);
        }
        if einval {
            Err(Posix::Einval)
        } else {
            Ok(())
        }
    }

    /// `gen_tcp:close/1`: the port is closed at once (its table slot is
    /// freed by the caller, CL-2); queued output keeps flushing and the
    /// socket closes after it (CL-1).
    pub fn close(&mut self) {
        self.life = Life::Closed;
        if self.queue.is_empty() {
            self.socket = None;
        }
    }
}
