//! The scheduler: readiness from the poller, the next runnable activity,
//! running activities until nothing is runnable (SCHED-1), and what each
//! activity does to the port under test.

use super::{Runtime, RuntimeError, MAX_ACTIVITIES, SUBJECT};
use crate::bugs::PlantedBug;
use crate::driver_queue::{Output, Unbusy};
use crate::payload::payload_into;
use crate::receive;
use crate::reply::{OwnerMsg, Posix, SendResult};
use crate::send_error::Delayed;
use crate::sys;
use crate::trace::{Action, Activity};
use crate::units::SenderId;
use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::time::{Duration, Instant};

impl Runtime {
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
        if port.driver.send_timer_due(&*self.clock) {
            return Some(Activity::SendTimeout);
        }
        // RX-11: the recv's timer runs on its own, beside the send timer.
        if port.reader.timer_due(&*self.clock) {
            return Some(Activity::RecvTimeout);
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
        // RX-5; RX-7: a passive port reads only for a waiting recv.
        let reading = port.opts.active.is_active() || port.reader.is_waiting();
        if !port.is_closed() && reading && port.driver.input_ready() {
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

    /// How long until the next timer (the send timer, TO-1; the reader's
    /// recv timer, RX-11) is due, on a clock that moves by itself.
    fn timer_wait(&self) -> Option<Duration> {
        if !self.clock.is_real() {
            return None;
        }
        let port = self.subject.as_ref()?;
        let deadline = [port.driver.send_deadline(), port.reader.deadline()].into_iter().flatten().min()?;
        Some(Duration::from_millis(deadline.0.saturating_sub(self.clock.now().0)))
    }

    fn run(&mut self, a: Activity) {
        self.trace.actions.push(Action::Ran(a));
        let faults = self.faults;
        let registry = self.poll.registry();
        let Some(port) = self.subject.as_mut() else { return };
        match a {
            Activity::SendTimeout => {
                let u = port.driver.send_timeout(&port.opts, faults, registry);
                let closed = !port.driver.is_open();
                self.after_unbusy(u, SendResult::Error(Posix::Timeout));
                // TO-3: send_timeout_close closed the socket under a
                // waiting recv (tcp_desc_close).
                if closed {
                    self.reader_cancelled();
                }
            }
            Activity::RecvTimeout => self.reader_timer_fired(),
            Activity::DelayFlush => {
                let u = port.driver.flush_timeout(&port.opts, faults, &mut self.trace.actions, registry);
                self.after_unbusy(u, SendResult::Ok);
                self.after_write_failure();
            }
            Activity::Output => {
                let u = port.driver.ready_output(&port.opts, faults, &mut self.trace.actions, registry);
                self.after_unbusy(u, SendResult::Ok);
                self.after_write_failure();
            }
            // RX-7: passive, so the reads are a waiting recv's.
            Activity::Input if !port.opts.active.is_active() => self.reader_input(),
            Activity::Input => {
                let (mailbox, trace) = (&mut self.mailbox, &mut self.trace.actions);
                let end = receive::ready_input(&mut port.driver, &mut port.opts, mailbox, trace, faults);
                // PC-7: with exit_on_close false the FIN closes only the
                // read side (inet_drv.c tcp_recv_closed (exitf):
                // desc_close_read after tcp_closed_message): the port
                // stays, its queue, busy state and active mode as they
                // were; it reads no more, so the end is not delivered again.
                if end.is_some_and(|e| port.driver.exit_on_close.closes_read_only(e, faults)) {
                    port.driver.close_read(true, registry);
                    return;
                }
                // Planted bug: the port stays after the end.
                if end.is_some() && !faults.has(PlantedBug::EndKeepsPort) {
                    // PC-5: output still queued goes with the port; a
                    // blocked caller is answered {error,closed}
                    // (tcp_recv_closed, tcp_recv_error).
                    let u = port.driver.drop_output();
                    self.after_unbusy(u, SendResult::Error(Posix::Closed));
                    // PC-3: exit_on_close: the port exits with its socket
                    // (its fd release is seen by `quiesce`).
                    let _ = self.close_subject();
                }
            }
            Activity::Task => self.run_task(),
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
    pub(super) fn after_unbusy(&mut self, u: Option<Unbusy>, reply: SendResult) {
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

    /// A write from the queue failed (PC-5): nobody's send is answered by
    /// it but the blocked caller's.
    fn after_write_failure(&mut self) {
        if self.subject.as_mut().is_some_and(|p| p.driver.take_write_failure()) {
            self.write_failed(None);
        }
    }

    /// PC-5 (`tcp_send_or_shutdown_error`): a write met the peer's RST.
    /// The queue goes and busy ends (the blocked caller gets the error,
    /// the suspended senders resume). An active port tells its owner
    /// ([tcp_error], tcp_closed) and exits; a passive one closes its
    /// socket, answers `caller` (whose own write failed) or leaves the
    /// answer to the next send, and the next recv reports the end (PC-4).
    /// Returns `caller`'s reply.
    pub(super) fn write_failed(&mut self, caller: Option<SenderId>) -> Option<SendResult> {
        let port = self.subject.as_mut()?;
        // SD-3: the driver's refusal while a shutdown waits is closed; a
        // write's EPIPE once it is made is shown as a reset, as the peer's
        // RST is (tcp_send_error), unless it was made when the queue
        // emptied.
        let reset_shown = port.driver.show_econnreset && !port.driver.shutdown_hides_reset();
        let reason = if reset_shown { Posix::Econnreset } else { Posix::Closed };
        let unbusy = port.driver.drop_output();
        let answered = unbusy.is_some() || caller.is_some();
        let reply = caller.filter(|_| unbusy.is_none()).map(|_| SendResult::Error(reason));
        if port.is_closed() {
            // Closed by its owner while flushing (CL-1): out of the table
            // already, nobody to tell; only the socket goes.
            port.driver.close_socket(self.poll.registry());
            self.after_unbusy(unbusy, SendResult::Error(reason));
            return None;
        }
        if port.opts.active.is_active() {
            if reason == Posix::Econnreset {
                self.mailbox.push(OwnerMsg::TcpError(reason));
            }
            self.mailbox.push(OwnerMsg::TcpClosed);
            self.after_unbusy(unbusy, SendResult::Error(reason));
            let _ = self.close_subject();
            return caller.map(|_| SendResult::Error(reason));
        }
        port.end_reported = true;
        port.driver.close_socket(self.poll.registry());
        port.driver.delayed = Delayed::after_write_error(answered, reason);
        self.after_unbusy(unbusy, SendResult::Error(reason));
        // tcp_close_check: a waiting recv is answered {error,closed}; the
        // next recv is still told the end (the delayed note).
        self.reader_cancelled();
        reply
    }

    /// Run the first runnable port task (MQ-3..MQ-6).
    fn run_task(&mut self) {
        let faults = self.faults;
        let registry = self.poll.registry();
        let Some(port) = self.subject.as_mut() else { return };
        let Some(_guard) = port.lock.try_hold() else { return };
        let Some(ix) = port.tasks.next_runnable(port.driver.is_busy()) else { return };
        let task = port.tasks.take(ix);
        let aborts = task.aborts_on_busy_driver() && !faults.has(PlantedBug::NosuspendTaskRuns);
        let out = if port.driver.is_busy() && aborts {
            // MQ-6
            Output::Reply(SendResult::False)
        } else {
            let data = payload_into(task.cmd.tag, task.cmd.len, &mut self.scratch);
            let clock = &*self.clock;
            port.driver.outputv(task.sender, data, &port.opts, clock, faults, &mut self.trace.actions, registry)
        };
        let displaced = port.driver.take_displaced();
        drop(_guard);
        // MQ-4
        let limits = port.msgq_limits();
        let msgq_unbusy = port.tasks.done(&task, limits);
        let resumed = if msgq_unbusy && !port.driver.is_busy() { port.suspended.drain() } else { Vec::new() };
        let result = match out {
            Output::Reply(r) => Some(r),
            Output::Deferred => None,
            // PC-5: the task's own write met the peer's RST.
            Output::WriteFailed => self.write_failed(Some(task.sender)),
        };
        match result {
            Some(r) => self.complete(task.sender, r),
            None => self.procs.set_waiting(task.sender),
        }
        // Planted bug `DisplacedCallerAnswered` only (WM-6: never answered).
        for d in displaced {
            self.complete(d, SendResult::Ok);
        }
        self.procs.make_runnable(resumed);
    }

    /// A send of `s` finished other than by returning.
    pub(super) fn complete(&mut self, s: SenderId, r: SendResult) {
        self.procs.set_idle(s);
        self.trace.completed.push((s, r));
    }
}
