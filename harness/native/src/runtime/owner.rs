//! The owner's operations on the port under test: send (SND-*, MQ-1),
//! recv (RX-1, RX-6, RX-8), setopts/getopts, queue_size, the mailbox, the
//! port lock, shutdown (SD-*) and close (CL-1, CL-2).

use super::{Runtime, RuntimeError};
use crate::bugs::PlantedBug;
use crate::driver_queue::Output;
use crate::half_close::ExitOnClose;
use crate::lock::PortLock;
use crate::options::{setopts, Opt, PortOptions};
use crate::payload::payload_into;
use crate::port::TcpPort;
use crate::port_task::Task;
use crate::process::{Command, SendFlags};
use crate::receive::{self, End, NoBytes};
use crate::reply::{OwnerMsg, Posix, SendResult, SenderStatus};
use crate::shutdown::How as ShutdownHow;
use crate::units::{Bytes, SenderId};

impl Runtime {
    pub(super) fn port(&self) -> Result<&TcpPort, RuntimeError> {
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
        let open_before = self.subject_fd().is_some();
        let r = self.port_command(s, Command { len, tag, flags });
        // A write that met the peer's RST closed the socket (PC-5).
        if open_before && self.subject_fd().is_none() {
            self.fd_released()?;
        }
        Ok(r)
    }

    /// `erts_port_output` for process `s`: SND-6, SND-1/2/3, MQ-1, then the
    /// driver (`tcp_sendv`).
    pub(super) fn port_command(&mut self, s: SenderId, cmd: Command) -> Option<SendResult> {
        let faults = self.faults;
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
                if faults.has(PlantedBug::NosuspendQueues) {
                    let data = payload_into(cmd.tag, cmd.len, &mut self.scratch);
                    port.driver.enqueue_unchecked(data);
                }
                self.procs.set_idle(s);
                return Some(SendResult::False);
            }
            self.procs.suspend(s, cmd);
            port.suspended.push(s);
            self.trace.busy_port_events.push(s);
            return None;
        }
        // MQ-1: immediate only with no queued tasks and the lock free.
        let Some(guard) = (if port.tasks.is_empty() { port.lock.try_hold() } else { None }) else {
            let limits = port.msgq_limits();
            port.tasks.schedule(Task { sender: s, cmd }, limits, faults);
            self.procs.set_waiting(s);
            return None;
        };
        let data = payload_into(cmd.tag, cmd.len, &mut self.scratch);
        let out = port.driver.outputv(
            s,
            data,
            &port.opts,
            &*self.clock,
            faults,
            &mut self.trace.actions,
            self.poll.registry(),
        );
        let displaced = port.driver.take_displaced();
        drop(guard);
        // Planted bug `DisplacedCallerAnswered` only (WM-6: never answered).
        for d in displaced {
            self.procs.set_idle(d);
            self.trace.completed.push((d, SendResult::Ok));
        }
        match out {
            Output::Reply(r) => {
                self.procs.set_idle(s);
                Some(r)
            }
            Output::Deferred => {
                self.procs.set_waiting(s);
                None
            }
            Output::WriteFailed => {
                self.procs.set_idle(s);
                self.write_failed(Some(s))
            }
        }
    }

    /// `gen_tcp:recv(S, 0, 0)`: bytes a timed-out recv left come first,
    /// without a read (RX-11).
    pub fn recv(&mut self) -> Result<Result<Vec<u8>, Posix>, RuntimeError> {
        if let Some(answer) = self.recv_answered_by_port()? {
            return Ok(Err(answer));
        }
        let port = self.subject.as_mut().ok_or_else(|| RuntimeError("no port under test".into()))?;
        let (driver, held, trace) = (&mut port.driver, &mut port.held, &mut self.trace.actions);
        let r = receive::recv(driver, &port.opts, &port.reader, held, trace, self.faults);
        if let Err(NoBytes::End(end)) = r {
            if self.recv_found_end(end) {
                self.fd_released()?;
            }
        }
        Ok(r.map_err(NoBytes::answer))
    }

    /// What any recv on the port under test is answered before it reaches
    /// the driver: `{error,closed}` once the port is closed or exited
    /// (CL-2, PC-3); the peer's end, once, when a write met it first
    /// (PC-5).
    pub(super) fn recv_answered_by_port(&mut self) -> Result<Option<Posix>, RuntimeError> {
        let port = self.subject.as_mut().ok_or_else(|| RuntimeError("no port under test".into()))?;
        if port.is_closed() {
            return Ok(Some(Posix::Closed));
        }
        if !port.driver.is_open() {
            return Ok(port.driver.delayed.take_recv());
        }
        if port.driver.read_side().is_closed() && !port.opts.active.is_active() && port.driver.is_busy() {
            // PC-6: inet_drv's recv reads the end again, and
            // tcp_recv_closed answers a busy port's blocked caller
            // {error,closed} with the queue dropped before it looks at
            // exit_on_close; the suspended senders resume.
            let unbusy = port.driver.drop_output_keeping_socket(self.poll.registry());
            self.after_unbusy(unbusy, SendResult::Error(Posix::Closed));
        }
        Ok(None)
    }

    /// PC-1: a passive recv's read (the owner's or the reader's) reached
    /// the peer's end: the socket closes (inet_close), the port stays
    /// (passive mode does not exit). tcp_recv_closed, not a reported
    /// reset, tells the next send (PC-4). tcp_desc_close: the queue goes
    /// too, and a busy port's blocked caller is answered {error,closed}
    /// (PC-5). Returns whether the socket closed: the caller releases the
    /// fd (`fd_released`), or `quiesce` sees it released.
    ///
    /// PC-6: with exit_on_close false the peer's FIN closes only the read
    /// side (inet_drv.c tcp_recv_closed (exitf): `desc_close_read`): the
    /// socket, its queue and busy state stay, every later recv is told
    /// `{error,closed}`, and the owner is not told until the port is made
    /// active (PC-7, [`Runtime::setopts`]).
    pub(super) fn recv_found_end(&mut self, end: End) -> bool {
        let Some(port) = self.subject.as_mut() else { return false };
        if port.driver.exit_on_close.closes_read_only(end, self.faults) {
            port.driver.close_read(false, self.poll.registry());
            return false;
        }
        port.end_reported = true;
        let unbusy = port.driver.drop_output();
        port.driver.delayed.send = end.reported() == Posix::Closed && unbusy.is_none();
        port.driver.close_socket(self.poll.registry());
        self.after_unbusy(unbusy, SendResult::Error(Posix::Closed));
        true
    }

    /// `inet:setopts/2`.
    pub fn setopts(&mut self, list: &[Opt]) -> Result<Result<(), Posix>, RuntimeError> {
        let port = self.subject.as_mut().ok_or_else(|| RuntimeError("no port under test".into()))?;
        if port.is_closed() {
            return Ok(Err(Posix::Einval));
        }
        let (out, result) = match setopts(&port.opts, list) {
            // PC-2: made active after a recv reported the peer's end: the
            // owner gets {tcp_closed,S} and the port exits.
            Ok(out) if port.end_reported && out.options.active.is_active() => {
                port.opts = out.options;
                self.mailbox.push(OwnerMsg::TcpClosed);
                self.close()?;
                return Ok(Ok(()));
            }
            Ok(out) => (out, Ok(())),
            // OPT-3: what came before the invalid option stays applied.
            Err((e, partial)) => (partial, Err(e)),
        };
        port.opts = out.options;
        for _ in 0..out.passive_notices {
            self.mailbox.push(OwnerMsg::TcpPassive);
        }
        // PC-7: the first setopts that leaves a port active after a
        // passive recv read the FIN (exit_on_close false) delivers the end
        // (inet_drv reads it again: tcp_recv_closed, tcp_closed_message,
        // which sends it once); the port stays.
        if result.is_ok() && port.opts.active.is_active() && port.driver.owner_due_closed() {
            self.mailbox.push(OwnerMsg::TcpClosed);
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
    pub fn port_lock(&self) -> Result<PortLock, RuntimeError> {
        Ok(self.port()?.lock.clone())
    }

    /// `exit(Pid, kill)` of a sender suspended on the busy port (SND-7): it
    /// dies before it retries, so its send is never made; the port forgets
    /// it, and a fresh process takes its id. Killing a sender in any other
    /// state is a harness error (not generated).
    pub fn kill(&mut self, s: SenderId) -> Result<(), RuntimeError> {
        if !matches!(self.procs.status(s), SenderStatus::Suspended) {
            return Err(RuntimeError(format!("kill: sender {s:?} is not suspended")));
        }
        // Planted bug: the killed sender's send is still made when the port
        // resumes its waiters.
        if self.faults.has(PlantedBug::KilledSenderStillSends) {
            return Ok(());
        }
        if let Some(port) = self.subject.as_mut() {
            port.suspended.remove(s);
        }
        self.procs.set_idle(s);
        Ok(())
    }

    /// `exit(Pid, kill)` of the caller blocked on its reply (SND-8): its
    /// bytes stay queued and the port busy; the reply busy's end sends
    /// reaches nobody, not the fresh, idle process that takes its id.
    /// Killing any other sender this way is a harness error (not
    /// generated).
    pub fn kill_caller(&mut self, s: SenderId) -> Result<(), RuntimeError> {
        let not_caller =
            || RuntimeError(format!("kill_caller: sender {s:?} is not the caller blocked on the busy port"));
        if !matches!(self.procs.status(s), SenderStatus::Waiting) {
            return Err(not_caller());
        }
        let port = self.subject.as_mut().ok_or_else(not_caller)?;
        // Planted bug: the slot keeps the dead caller's id.
        let died = self.faults.has(PlantedBug::KilledCallerAnswered) || port.driver.caller_died(s);
        if !died {
            return Err(not_caller());
        }
        self.procs.set_idle(s);
        Ok(())
    }

    /// `{linger, {true, 0}}`, as set at connect: the port's close aborts
    /// the connection (CL-4). SO_LINGER is set on the socket now, so the
    /// kernel sends the RST at the close (KN-RST-3).
    pub fn set_linger_zero(&mut self, on: bool) -> Result<(), RuntimeError> {
        let port = self.subject.as_mut().ok_or_else(|| RuntimeError("no port under test".into()))?;
        // Planted bug: the close flushes the queue as if linger were off.
        let aborts = on && !self.faults.has(crate::bugs::PlantedBug::LingerZeroFlushes);
        port.driver.set_linger_zero(on, aborts).map_err(|e| RuntimeError(format!("SO_LINGER: {e}")))
    }

    /// Report a RST as a reset (RS-1), as `{show_econnreset, true}` at
    /// connect does.
    pub fn set_show_econnreset(&mut self, on: bool) -> Result<(), RuntimeError> {
        let port = self.subject.as_mut().ok_or_else(|| RuntimeError("no port under test".into()))?;
        port.driver.show_econnreset = on;
        Ok(())
    }

    /// `{exit_on_close, on}`, as set at connect: with `false` the peer's FIN
    /// closes only the port's read side, and the port stays and keeps
    /// sending (PC-6, PC-7).
    pub fn set_exit_on_close(&mut self, on: bool) -> Result<(), RuntimeError> {
        let port = self.subject.as_mut().ok_or_else(|| RuntimeError("no port under test".into()))?;
        port.driver.exit_on_close = ExitOnClose::from_flag(on);
        Ok(())
    }

    /// `gen_tcp:shutdown/2` (SD-1, SD-2): `{error,closed}` on a closed port.
    pub fn shutdown(&mut self, how: ShutdownHow) -> Result<Result<(), Posix>, RuntimeError> {
        let port = self.subject.as_mut().ok_or_else(|| RuntimeError("no port under test".into()))?;
        if port.is_closed() {
            return Ok(Err(Posix::Closed));
        }
        port.driver.shutdown(how, self.faults).map_err(|e| RuntimeError(format!("shutdown({how:?}): {e}")))
    }

    /// `gen_tcp:close/1`: the port leaves the table; queued tasks are
    /// aborted; the socket closes now or once the queue is flushed (CL-1).
    pub fn close(&mut self) -> Result<(), RuntimeError> {
        if self.close_subject()? {
            self.fd_released()?;
        }
        Ok(())
    }

    /// The port under test leaves the table (a close, or exit_on_close:
    /// PC-2, PC-3); true if its socket closed now.
    pub(super) fn close_subject(&mut self) -> Result<bool, RuntimeError> {
        let port = self.subject.as_mut().ok_or_else(|| RuntimeError("no port under test".into()))?;
        let Some(id) = port.id.take() else { return Ok(false) };
        // RX-10: tcp_close_check answers a waiting recv {error,closed}.
        let reader = port.reader.cancel();
        let was_open = port.driver.is_open();
        self.table.remove(id);
        let msgq_was_busy = port.tasks.is_busy();
        let aborted = port.tasks.abort_all();
        let resume = msgq_was_busy && !port.driver.is_busy();
        let resumed = if resume { port.suspended.drain() } else { Vec::new() };
        let unbusy = port.driver.close(self.poll.registry());
        let socket_closed = was_open && !port.driver.is_open();
        for t in aborted {
            self.complete(t.sender, SendResult::Error(Posix::Closed));
        }
        self.procs.make_runnable(resumed);
        self.after_unbusy(unbusy, SendResult::Error(Posix::Closed));
        self.trace.reader_returned.extend(reader);
        Ok(socket_closed)
    }
}
