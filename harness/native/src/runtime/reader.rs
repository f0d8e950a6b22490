//! The reader process's recv on the port under test,
//! `gen_tcp:recv(S, Len, T)` (RX-7..RX-11): its call, its reads on the
//! socket's readiness (also of the end `shutdown(S, read_write)` makes,
//! SD-4), its timer, and the answer a socket closed under it gives it. Its
//! state and reads are [`crate::reader`]'s; the bytes a timed-out recv
//! leaves are [`crate::held_input`]'s.

use super::{Runtime, RuntimeError};
use crate::reader::{Finished, Reads, RecvResult, Want};
use crate::receive;
use crate::reply::Posix;
use crate::units::{Bytes, Millis};

/// RX-11: `gen_tcp:recv(S, Len, 0)`: the timer runs out within the call,
/// after its reads (TCP_REQ_RECV answers `async_error_am(timeout)` right
/// after `tcp_recv`, no timer is set).
const AT_ONCE: Millis = Millis(0);

impl Runtime {
    /// The reader calls `gen_tcp:recv(S, len, timeout)` (`None`:
    /// infinity). `Some(result)` when the call returned: refused as the
    /// owner's recv is (CL-2, PC-5, PC-1's enotconn, RX-1, PC-6's
    /// closed), completed by the bytes a timed-out recv left (RX-11),
    /// finished by its first reads (RX-7, RX-9), or timed out at once
    /// with a timeout of 0 (RX-11); `None` when it waits, its timer armed
    /// on the runtime's clock. A refused call, or one the held bytes
    /// complete, makes no syscall; otherwise it reads at once until the
    /// kernel has nothing more, as TCP_REQ_RECV's `tcp_recv` does, asking
    /// only for what the held bytes miss.
    pub fn recv_wait(&mut self, len: Bytes, timeout: Option<Millis>) -> Result<Option<RecvResult>, RuntimeError> {
        if self.port()?.reader.is_waiting() {
            return Err(RuntimeError("the reader is blocked in its recv already".into()));
        }
        if let Some(answer) = self.recv_answered_by_port()? {
            return Ok(Some(Err(answer)));
        }
        let deadline = timeout.map(|t| Millis(self.clock.now().0.saturating_add(t.0)));
        let port = self.subject.as_mut().ok_or_else(|| RuntimeError("no port under test".into()))?;
        if let Some(refused) = receive::refused(&port.driver, &port.opts, &port.reader) {
            return Ok(Some(Err(refused)));
        }
        let want = Want::of(len);
        if let Some(held) = port.held.take_for(want) {
            return Ok(Some(Ok(held)));
        }
        port.reader.start(want, port.held.take_all(), deadline);
        let reads = Reads::UntilWouldBlock;
        let Some(finished) = port.reader.read(&mut port.driver, reads, &mut self.trace.actions, self.faults) else {
            return Ok(if timeout == Some(AT_ONCE) { self.reader_times_out() } else { None });
        };
        let (result, socket_closed) = self.reader_finished(finished);
        if socket_closed {
            self.fd_released()?;
        }
        Ok(Some(result))
    }

    /// The Input activity of a passive port whose reader waits: its reads
    /// on readiness (`tcp_inet_input`), while the socket is readable.
    pub(super) fn reader_input(&mut self) {
        let Some(port) = self.subject.as_mut() else { return };
        let reads = Reads::WhileReadable;
        if let Some(finished) = port.reader.read(&mut port.driver, reads, &mut self.trace.actions, self.faults) {
            // A socket the end closed is seen released by `quiesce`.
            let (result, _) = self.reader_finished(finished);
            self.trace.reader_returned.push(result);
        }
    }

    /// The RecvTimeout activity (`tcp_inet_timeout`, RX-11): the waiting
    /// recv's timer fired; it returns `{error,timeout}`.
    pub(super) fn reader_timer_fired(&mut self) {
        if let Some(result) = self.reader_times_out() {
            self.trace.reader_returned.push(result);
        }
    }

    /// RX-11: the waiting recv gives up: what it gathered stays in the
    /// driver for the next recv, and it returns `{error,timeout}`. `None`
    /// when no recv waits.
    fn reader_times_out(&mut self) -> Option<RecvResult> {
        let port = self.subject.as_mut()?;
        let gathered = port.reader.time_out(self.faults)?;
        port.held.keep(gathered);
        Some(Err(Posix::Timeout))
    }

    /// The reader's recv finished: at the peer's end (RX-9) the port
    /// reports it as any passive recv does (PC-1; with exit_on_close
    /// false only the read side closes, PC-6). What the recv returns, and
    /// whether the port's socket closed.
    fn reader_finished(&mut self, finished: Finished) -> (RecvResult, bool) {
        let socket_closed = match &finished {
            Finished::End { end, .. } => self.recv_found_end(*end),
            Finished::Bytes(_) => false,
        };
        (finished.result(), socket_closed)
    }

    /// The socket closed under a waiting recv (`tcp_close_check`:
    /// `async_error_am_all(closed)`), as a close does (RX-10): a write that
    /// met the peer's reset (PC-5), send_timeout_close (TO-3). The recv
    /// returns `{error,closed}`.
    pub(super) fn reader_cancelled(&mut self) {
        if let Some(result) = self.subject.as_mut().and_then(|p| p.reader.cancel()) {
            self.trace.reader_returned.push(result);
        }
    }
}
