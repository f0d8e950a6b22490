//! The tcp driver's output side (inet_drv `tcp_sendv`, `tcp_inet_output`,
//! the delay_send flush and `tcp_inet_send_timeout`): the driver queue, the
//! driver-level busy state with its single blocked-caller slot, the send
//! timer and the delayed flush, over a nonblocking kernel socket.

use crate::bugs::{Faults, PlantedBug};
use crate::clock::Clock;
use crate::close_mode::{drain_input, CloseMode};
use crate::half_close::{ExitOnClose, ReadSide};
use crate::options::{PortOptions, Timeout};
use crate::reply::{Posix, SendResult};
use crate::send_error::Delayed;
use crate::shutdown::{How, Shut};
use crate::sys;
use crate::trace::Action;
use crate::units::{Bytes, Millis, SenderId};
use mio::event::Event;
use mio::net::TcpStream;
use mio::{Interest, Registry, Token};
use std::collections::VecDeque;
use std::io::{self, IoSlice, Read, Write};
use std::os::fd::{AsRawFd, RawFd};

/// What `outputv` did with a send.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Output {
    /// The driver replied at once.
    Reply(SendResult),
    /// The send made the port busy; the caller now holds the busy-caller slot
    /// and waits for its reply (WM-3, SND-5).
    Deferred,
    /// The direct write failed: the peer reset the connection (PC-5). The
    /// runtime answers the caller as the port's mode says.
    WriteFailed,
}

/// The driver left the busy state through the low watermark (WM-4) or the
/// send timer (TO-1); `caller` is owed a reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Unbusy {
    pub caller: Option<SenderId>,
}

/// The driver side of a connected tcp port.
#[derive(Debug)]
pub struct TcpDriver {
    /// `None` once the socket is closed.
    sock: Option<TcpStream>,
    token: Token,
    /// The driver queue (`driver_enqv`/`driver_deq`), FIFO bytes.
    queue: VecDeque<u8>,
    /// INET_F_BUSY / `set_busy_port`.
    busy: bool,
    /// `desc->inet.busy_caller`: the one caller owed a reply when busy ends (WM-6).
    busy_caller: Option<SenderId>,
    /// The send timer's deadline (`busy_on_send`), on the runtime's clock.
    send_timer: Option<Millis>,
    /// The zero-delay delay_send flush timer is armed (DS-1).
    flush_armed: bool,
    /// Write interest is registered (`sock_select(FD_WRITE, 1)`).
    write_selected: bool,
    /// The socket is in the poller: for reading while the read side is
    /// open, for writing while `write_selected`.
    registered: bool,
    /// Last known readiness, from edge-triggered events; cleared when a
    /// syscall finds the socket not ready.
    writable: bool,
    readable: bool,
    /// The peer's FIN or RST has arrived (mio's read-closed or error).
    peer_ended: bool,
    /// `{show_econnreset, true}`: a RST is reported as a reset (RS-1).
    pub show_econnreset: bool,
    /// `{exit_on_close, _}`: what a read reaching the peer's FIN does
    /// (PC-1, PC-3; PC-6, PC-7).
    pub exit_on_close: ExitOnClose,
    /// Closed by the peer's FIN with exit_on_close false (PC-6, PC-7).
    read_side: ReadSide,
    /// `{linger, {true, 0}}`: the close aborts (CL-4).
    close_aborts: bool,
    /// What the next send and recv are told once the socket closed on the
    /// peer's end (PC-4, PC-5).
    pub delayed: Delayed,
    /// A write from the queue failed (PC-5); taken by the runtime.
    write_failed: bool,
    /// The port was closed with output pending: flush, then close (CL-1).
    closing: bool,
    /// The port's own shutdown of its socket (SD-*).
    shut: Shut,
    /// `shutdown(2)` was made at least once: the FIN is out, whatever a
    /// later shutdown over queued output leaves pending (SD-1, SD-2).
    fin_sent: bool,
    /// A shutdown was made when the queue it waited for emptied (SD-3:
    /// `TCP_ADDF_SHUTDOWN_WR_DONE`, set on that path only): a write
    /// failing on it is reported as closed whatever show_econnreset says.
    shut_after_flush: bool,
    /// What closing the socket does with unread input (CL-3, KN-RST-5).
    close_mode: CloseMode,
    /// Input read and discarded when the socket was closed
    /// ([`CloseMode::DrainInput`]).
    discarded_on_close: Bytes,
    /// Planted bug `DisplacedCallerAnswered` only: callers pushed out of
    /// the blocked-caller slot, to be answered `ok` at once.
    displaced: Vec<SenderId>,
}

impl TcpDriver {
    /// Take over a connected socket; registers read interest under `token`.
    pub fn new(mut sock: TcpStream, token: Token, close_mode: CloseMode, registry: &Registry) -> io::Result<Self> {
        registry.register(&mut sock, token, Interest::READABLE)?;
        Ok(TcpDriver {
            sock: Some(sock),
            token,
            queue: VecDeque::new(),
            busy: false,
            busy_caller: None,
            send_timer: None,
            flush_armed: false,
            write_selected: false,
            registered: true,
            writable: true,
            readable: false,
            peer_ended: false,
            show_econnreset: false,
            exit_on_close: ExitOnClose::default(),
            read_side: ReadSide::default(),
            close_aborts: false,
            delayed: Delayed::default(),
            write_failed: false,
            closing: false,
            shut: Shut::Open,
            fin_sent: false,
            shut_after_flush: false,
            close_mode,
            discarded_on_close: Bytes::ZERO,
            displaced: Vec::new(),
        })
    }

    pub fn token(&self) -> Token {
        self.token
    }

    pub fn is_open(&self) -> bool {
        self.sock.is_some()
    }

    pub fn raw_fd(&self) -> Option<RawFd> {
        self.sock.as_ref().map(|s| s.as_raw_fd())
    }

    pub fn queue_len(&self) -> Bytes {
        Bytes(self.queue.len())
    }

    pub fn is_busy(&self) -> bool {
        self.busy
    }

    pub fn flush_armed(&self) -> bool {
        self.flush_armed
    }

    pub fn send_deadline(&self) -> Option<Millis> {
        self.send_timer
    }

    /// The send timer is due; reads the clock only while a timer runs.
    pub fn send_timer_due(&self, clock: &dyn Clock) -> bool {
        self.busy && self.send_timer.is_some_and(|d| clock.now() >= d)
    }

    /// The socket is (as far as we know) writable and there is output.
    pub fn output_ready(&self) -> bool {
        self.sock.is_some() && self.writable && !self.queue.is_empty()
    }

    /// The socket is (as far as we know) readable, and read: never once
    /// its read side closed (PC-6, PC-7), though at EOF it stays readable.
    pub fn input_ready(&self) -> bool {
        self.sock.is_some() && self.readable && !self.read_side.is_closed()
    }

    /// The port's read side (PC-6, PC-7).
    pub fn read_side(&self) -> ReadSide {
        self.read_side
    }

    /// `desc_close_read` (PC-6, PC-7): a read reached the peer's FIN with
    /// exit_on_close false. The socket is no longer selected for reading
    /// (at EOF it would be readable for ever, and nothing more can come),
    /// only for writing while output waits; its queue, busy state and
    /// timers stay as they are. `owner_told`: an active port delivered
    /// `{tcp_closed,S}` with the end.
    pub fn close_read(&mut self, owner_told: bool, registry: &Registry) {
        self.read_side = ReadSide::Closed { owner_told };
        self.readable = false;
        let _ = self.select(self.write_selected, registry);
    }

    /// PC-7: the port, its read side closed by a passive recv, is active
    /// now: whether the owner is due `{tcp_closed,S}` (once).
    pub fn owner_due_closed(&mut self) -> bool {
        self.read_side.tell_owner()
    }

    /// Record readiness reported by the poller.
    pub fn on_event(&mut self, ev: &Event) {
        if ev.is_writable() || ev.is_write_closed() || ev.is_error() {
            self.writable = true;
        }
        if ev.is_readable() || ev.is_read_closed() || ev.is_error() {
            self.readable = true;
        }
        if ev.is_read_closed() || ev.is_error() {
            // PC-1/PC-3: the peer's FIN or RST arrived; a read reaches it
            // once the bytes before it are read, with no new edge.
            self.peer_ended = true;
        }
    }

    /// `tcp_sendv`: a send from `caller` reaching the driver. The clock is
    /// read only when the send starts the send timer.
    #[allow(clippy::too_many_arguments)]
    pub fn outputv(
        &mut self,
        caller: SenderId,
        data: &[u8],
        opts: &PortOptions,
        clock: &dyn Clock,
        faults: Faults,
        trace: &mut Vec<Action>,
        registry: &Registry,
    ) -> Output {
        if self.sock.is_none() {
            // TO-3 or the peer's end (PC-4) closed the socket under the port.
            let told = self.delayed.take_send();
            // Planted bug: nobody is ever told.
            let told = if faults.has(PlantedBug::SendAfterEndNotTold) { Posix::Enotconn } else { told };
            return Output::Reply(SendResult::Error(told));
        }
        if matches!(self.shut, Shut::Pending(_)) {
            // SD-3: tcp_inet_commandv refuses it (tcp_shutdown_error, EPIPE).
            return Output::WriteFailed;
        }
        if self.queue.is_empty() {
            // WM-5: nothing to write onto an empty queue. (Onto a non-empty
            // one, zero bytes go through WM-3 like any send.)
            if data.is_empty() {
                return Output::Reply(SendResult::Ok);
            }
            if opts.delay_send && !faults.has(PlantedBug::DelaySendIgnored) {
                // DS-1: no syscall, no watermark check; flush at the next turn.
                self.queue.extend(data);
                self.flush_armed = true;
                return Output::Reply(SendResult::Ok);
            }
            // WM-2: write directly; queue the rest without a watermark check.
            let Ok(n) = self.write_direct(data, trace) else { return Output::WriteFailed };
            if n < data.len() {
                self.queue.extend(&data[n..]);
                if !faults.has(PlantedBug::WriteNotRearmed) {
                    self.select_write(true, registry);
                }
            }
            return Output::Reply(SendResult::Ok);
        }
        // WM-3: onto a non-empty queue everything is queued.
        let before = self.queue.len();
        self.queue.extend(data);
        let after = before + data.len();
        let crosses =
            if faults.has(PlantedBug::HighGtInsteadOfGe) { after > opts.high.0 } else { after >= opts.high.0 };
        if !crosses {
            return Output::Reply(SendResult::Ok);
        }
        match opts.send_timeout {
            // TO-2: never busy; the data stays queued.
            Timeout::After(Millis(0)) => Output::Reply(SendResult::Error(Posix::Timeout)),
            t => {
                self.busy = true;
                // WM-6: a caller already in the slot is displaced for good.
                let displaced = self.busy_caller.replace(caller);
                if faults.has(PlantedBug::DisplacedCallerAnswered) {
                    self.displaced.extend(displaced);
                }
                if let Timeout::After(ms) = t {
                    self.send_timer = Some(Millis(clock.now().0.saturating_add(ms.0)));
                }
                Output::Deferred
            }
        }
    }

    /// `exit(Pid, kill)` of the blocked caller (SND-8): the driver's slot
    /// still names it, and inet_drv watches no caller, so the reply busy's
    /// end sends goes to a dead process: here, to nobody. `false` when `s`
    /// is not the caller in the slot.
    pub fn caller_died(&mut self, s: SenderId) -> bool {
        if self.busy_caller != Some(s) {
            return false;
        }
        self.busy_caller = None;
        true
    }

    /// Planted bug `DisplacedCallerAnswered` only: the callers the last
    /// send displaced from the blocked-caller slot (empty otherwise).
    pub fn take_displaced(&mut self) -> Vec<SenderId> {
        std::mem::take(&mut self.displaced)
    }

    /// Planted bug `NosuspendQueues` only: bytes appended to the queue
    /// with no rule deciding it (the socket already waits for writability
    /// when the queue was not empty).
    pub fn enqueue_unchecked(&mut self, data: &[u8]) {
        if self.sock.is_some() {
            self.queue.extend(data);
        }
    }

    /// `tcp_inet_output`: the socket is writable; write the whole queue
    /// (ST-2), check the low watermark after each write (WM-4), stop at a
    /// partial write, close a closing port once the queue is empty (CL-1).
    pub fn ready_output(
        &mut self,
        opts: &PortOptions,
        faults: Faults,
        trace: &mut Vec<Action>,
        registry: &Registry,
    ) -> Option<Unbusy> {
        let mut unbusy = None;
        while self.sock.is_some() && !self.queue.is_empty() {
            let requested = self.queue.len();
            let n = match self.write_queue(faults, trace) {
                Ok(n) => n,
                // Planted bug: the failure taken for EAGAIN.
                Err(_) if faults.has(PlantedBug::ResetWriteIgnored) => {
                    self.writable = false;
                    0
                }
                Err(_) => {
                    // PC-5: the runtime handles the failure (take_write_failure).
                    self.write_failed = true;
                    return None;
                }
            };
            if n > 0 && self.busy {
                let remaining = self.queue.len();
                let below = if faults.has(PlantedBug::ResumeBeforeLow) {
                    true
                } else if faults.has(PlantedBug::LowLtInsteadOfLe) {
                    remaining < opts.low.0
                } else {
                    remaining <= opts.low.0
                };
                if below {
                    self.busy = false;
                    // TO-4
                    self.send_timer = None;
                    unbusy = Some(Unbusy { caller: self.busy_caller.take() });
                }
            }
            if n < requested {
                break;
            }
        }
        if self.queue.is_empty() {
            self.select_write(false, registry);
            if let Shut::Pending(how) = self.shut {
                // SD-2: tcp_shutdown_async; its failure fails the port as a
                // write's would (tcp_shutdown_error).
                if self.shut_now(how).is_err() {
                    self.write_failed = true;
                    return unbusy;
                }
                self.shut_after_flush = true;
            }
            if self.closing {
                self.close_socket(registry);
            }
        } else {
            self.select_write(true, registry);
        }
        unbusy
    }

    /// `TCP_REQ_SHUTDOWN` (SD-1, SD-2): on an empty queue the socket is
    /// shut down now; otherwise the driver notes it and shuts once the
    /// queue has emptied ([`Self::ready_output`]). `Err(Enotconn)` when the
    /// socket is already closed under the port, or the kernel's connection
    /// is (the peer's RST arrived: `shutdown(2)` fails, and the driver
    /// answers its errno).
    pub fn shutdown(&mut self, how: How, faults: Faults) -> io::Result<Result<(), Posix>> {
        if self.sock.is_none() {
            return Ok(Err(Posix::Enotconn));
        }
        // Planted bug: the queue is not waited for.
        if !self.queue.is_empty() && !faults.has(PlantedBug::ShutdownBeforeFlush) {
            self.shut = Shut::Pending(how);
            return Ok(Ok(()));
        }
        match self.shut_now(how) {
            Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(Err(Posix::Enotconn)),
            done => done.map(Ok),
        }
    }

    /// `shutdown(2)`. With read_write the port's reads reach the end after
    /// the bytes the kernel holds, as at the peer's FIN (SD-4): readable
    /// now, with no edge to wait for.
    fn shut_now(&mut self, how: How) -> io::Result<()> {
        let sock = self.sock.as_ref().expect("shutdown on an open socket");
        sock.shutdown(how.into())?;
        self.shut = Shut::Done;
        self.fin_sent = true;
        if how == How::ReadWrite {
            self.peer_ended = true;
            self.readable = true;
        }
        Ok(())
    }

    /// `shutdown(2)` was made on the socket (SD-1, SD-2), even if a
    /// second shutdown now waits for the queue.
    pub fn write_side_shut(&self) -> bool {
        self.fin_sent
    }

    /// SD-3: a write failing on the port's shutdown shows a reset (with
    /// show_econnreset) only when the shutdown was made at once: refused
    /// while it waits, or failing after one made when the queue emptied,
    /// it is reported as closed (probe_shutdown_made_later.erl).
    pub fn shutdown_hides_reset(&self) -> bool {
        self.shut_pending() || self.shut_after_flush
    }

    /// A shutdown waits for the queue (SD-2): a send is refused, reported
    /// as closed whatever show_econnreset says (SD-3).
    pub fn shut_pending(&self) -> bool {
        matches!(self.shut, Shut::Pending(_))
    }

    /// The delay_send timer fired (DS-2): one coalesced write of the queue,
    /// through the same output path as a writable event.
    pub fn flush_timeout(
        &mut self,
        opts: &PortOptions,
        faults: Faults,
        trace: &mut Vec<Action>,
        registry: &Registry,
    ) -> Option<Unbusy> {
        self.flush_armed = false;
        if self.sock.is_none() || self.queue.is_empty() {
            return None;
        }
        self.ready_output(opts, faults, trace, registry)
    }

    /// `tcp_inet_send_timeout` (TO-1, TO-3): busy ends with `{error,timeout}`
    /// for the blocked caller; the data stays queued unless the option
    /// send_timeout_close closes the socket.
    pub fn send_timeout(&mut self, opts: &PortOptions, faults: Faults, registry: &Registry) -> Option<Unbusy> {
        self.send_timer = None;
        if !self.busy {
            return None;
        }
        self.busy = false;
        let caller = self.busy_caller.take();
        if opts.send_timeout_close {
            // Planted bug: the socket goes, the queued output stays counted.
            let kept = faults.has(PlantedBug::TimeoutCloseKeepsQueue).then(|| std::mem::take(&mut self.queue));
            self.queue.clear();
            self.flush_armed = false;
            self.close_socket(registry);
            self.queue.extend(kept.unwrap_or_default());
        } else if faults.has(PlantedBug::DropOnSendTimeout) {
            self.queue.clear();
            self.select_write(false, registry);
        }
        Some(Unbusy { caller })
    }

    /// The port was closed: close the socket now if nothing is queued,
    /// otherwise keep flushing and close when the queue empties (CL-1).
    /// Write readiness is selected for that flush whatever the send path
    /// left it at (it already is whenever output is queued and no
    /// delay_send flush is armed; an armed flush still runs first).
    /// Returns a busy port's end of busy when the close dropped the queue
    /// (CL-4): its blocked caller is owed `{error,closed}`.
    pub fn close(&mut self, registry: &Registry) -> Option<Unbusy> {
        self.closing = true;
        // CL-4: with a zero linger time the close does not wait for the
        // queue: it goes with its flush and send timers, busy ends (the
        // blocked caller is answered closed, the suspended senders resume
        // and find the port gone), and the kernel resets the connection.
        let unbusy = if self.close_aborts { self.drop_output() } else { None };
        if self.queue.is_empty() {
            self.close_socket(registry);
        } else {
            self.select_write(true, registry);
        }
        unbusy
    }

    /// CL-5: the port was killed (`exit(Port, kill)`). ERTS terminates it
    /// without the driver's flush (`erts_deliver_port_exit`: no flush for
    /// `kill`), and the driver's stop closes the socket: the queue is
    /// dropped, the send timer and the delay_send flush are cancelled,
    /// busy ends, and the socket closes now (a FIN after what the kernel
    /// took; a reset over unread input, CL-3). Returns the blocked
    /// caller, owed `{error,closed}` (a caller displaced from the slot,
    /// WM-6, stays unanswered).
    pub fn kill(&mut self, faults: Faults, registry: &Registry) -> Option<SenderId> {
        self.flush_armed = false;
        self.send_timer = None;
        self.busy = false;
        let caller = self.busy_caller.take();
        if faults.has(PlantedBug::KilledPortFlushes) {
            // Planted bug: closed as the owner's close is (CL-1), the
            // queue flushed before the socket closes.
            self.close(registry);
        } else {
            self.close_socket(registry);
        }
        caller
    }

    /// `{linger, {true, 0}}` (CL-4): SO_LINGER on with a zero time, so
    /// close(2) sends a RST (KN-RST-3); `close_aborts`: the port's close
    /// drops the queue rather than flushing it.
    pub fn set_linger_zero(&mut self, on: bool, close_aborts: bool) -> io::Result<()> {
        if let Some(s) = self.sock.as_ref() {
            socket2::SockRef::from(s).set_linger(on.then_some(std::time::Duration::ZERO))?;
        }
        self.close_aborts = close_aborts;
        Ok(())
    }

    /// Close the socket, dropping anything still queued; in
    /// [`CloseMode::DrainInput`] the input the kernel holds is read and
    /// discarded first, so the close sends FIN rather than RST (KN-RST-5).
    pub fn close_socket(&mut self, registry: &Registry) {
        if let Some(mut s) = self.sock.take() {
            if std::mem::take(&mut self.registered) {
                let _ = registry.deregister(&mut s);
            }
            if self.close_mode == CloseMode::DrainInput {
                let held = sys::bytes_readable(s.as_raw_fd()).unwrap_or(0);
                let n = drain_input(&s, held);
                self.discarded_on_close = Bytes(self.discarded_on_close.0 + n);
            }
        }
        self.queue.clear();
        self.write_selected = false;
        self.writable = false;
        self.readable = false;
    }

    /// One read syscall into `buf`, logged as `Read{got}` (0 for EAGAIN or EOF).
    pub fn read(&mut self, buf: &mut [u8], trace: &mut Vec<Action>) -> io::Result<usize> {
        let Some(sock) = self.sock.as_mut() else {
            return Err(io::ErrorKind::NotConnected.into());
        };
        let r = sock.read(buf);
        match &r {
            Ok(n) => {
                trace.push(Action::Read { got: Bytes(*n) });
                // Edge-triggered readiness says nothing about what is left:
                // ask the kernel, so a drained socket is not read again
                // before new data raises a new edge.
                self.readable =
                    *n > 0 && (self.peer_ended || sys::bytes_readable(sock.as_raw_fd()).map_or(true, |left| left > 0));
            }
            Err(_) => {
                trace.push(Action::Read { got: Bytes(0) });
                self.readable = false;
            }
        }
        r
    }

    /// A write from the queue failed since the runtime last asked (PC-5).
    pub fn take_write_failure(&mut self) -> bool {
        std::mem::take(&mut self.write_failed)
    }

    /// PC-6: the queue dropped on a socket that stays open (a recv on a
    /// busy half-closed port): nothing is left to write, so the socket is
    /// no longer selected for writing.
    pub fn drop_output_keeping_socket(&mut self, registry: &Registry) -> Option<Unbusy> {
        let unbusy = self.drop_output();
        self.select_write(false, registry);
        unbusy
    }

    /// PC-5: a write failed on the peer's RST: the queue, the delay_send
    /// flush and the send timer go; a busy driver leaves busy, and its
    /// blocked caller is owed the error.
    pub fn drop_output(&mut self) -> Option<Unbusy> {
        self.queue.clear();
        self.flush_armed = false;
        self.send_timer = None;
        if !std::mem::take(&mut self.busy) {
            return None;
        }
        Some(Unbusy { caller: self.busy_caller.take() })
    }

    /// One write syscall of `data`; returns what the kernel took (0: EAGAIN),
    /// or the error that failed it (the peer's reset: PC-5). A failed write
    /// is not traced: it is no kernel choice (the model knows the RST is
    /// there).
    fn write_direct(&mut self, data: &[u8], trace: &mut Vec<Action>) -> io::Result<usize> {
        let sock = self.sock.as_mut().expect("write on an open socket");
        let n = loop {
            match sock.write(data) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break 0,
                r => break r?,
            }
        };
        trace.push(Action::Wrote { requested: Bytes(data.len()), accepted: Bytes(n) });
        if n < data.len() {
            self.writable = false;
        }
        Ok(n)
    }

    /// One writev of the whole queue; dequeues what the kernel took (as
    /// `write_direct`).
    fn write_queue(&mut self, faults: Faults, trace: &mut Vec<Action>) -> io::Result<usize> {
        let sock = self.sock.as_mut().expect("write on an open socket");
        let requested = self.queue.len();
        let (a, b) = self.queue.as_slices();
        let iov = [IoSlice::new(a), IoSlice::new(b)];
        let n = loop {
            match sock.write_vectored(&iov) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break 0,
                // Planted bug: a write that took anything took everything.
                Ok(n) if n > 0 && faults.has(PlantedBug::ShortWriteCountedWhole) => break requested,
                r => break r?,
            }
        };
        trace.push(Action::Wrote { requested: Bytes(requested), accepted: Bytes(n) });
        self.queue.drain(..n);
        if n < requested {
            self.writable = false;
        }
        Ok(n)
    }

    /// `sock_select(FD_WRITE, on)`.
    fn select_write(&mut self, on: bool, registry: &Registry) {
        if on == self.write_selected || self.sock.is_none() {
            return;
        }
        if self.select(on, registry).is_ok() {
            self.write_selected = on;
        }
    }

    /// Put the socket in the poller for what the driver selects: reading
    /// until the read side closes (PC-6, PC-7), writing if `write`; with
    /// neither, take it out (mio registers no empty interest).
    fn select(&mut self, write: bool, registry: &Registry) -> io::Result<()> {
        let Some(sock) = self.sock.as_mut() else { return Ok(()) };
        let read = (!self.read_side.is_closed()).then_some(Interest::READABLE);
        let write = write.then_some(Interest::WRITABLE);
        let wanted = match (read, write) {
            (Some(r), Some(w)) => Some(r | w),
            (r, w) => r.or(w),
        };
        match (self.registered, wanted) {
            (true, Some(i)) => registry.reregister(sock, self.token, i)?,
            (false, Some(i)) => registry.register(sock, self.token, i)?,
            (true, None) => registry.deregister(sock)?,
            (false, None) => {}
        }
        self.registered = wanted.is_some();
        Ok(())
    }

    /// Input read and discarded when the socket was closed (0 in
    /// [`CloseMode::Plain`]).
    pub fn discarded_on_close(&self) -> Bytes {
        self.discarded_on_close
    }

    /// Bytes the kernel holds for this socket to read (FIONREAD).
    pub fn bytes_readable(&self) -> io::Result<Option<usize>> {
        match &self.sock {
            Some(s) => sys::bytes_readable(s.as_raw_fd()).map(Some),
            None => Ok(None),
        }
    }
}
