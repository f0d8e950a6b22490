//! The reader process's recv on the port under test,
//! `gen_tcp:recv(S, Len, infinity)` (RX-7..RX-10): its call, its reads on
//! the socket's readiness (also of the end `shutdown(S, read_write)`
//! makes, SD-4), and the answer a socket closed under it gives it. Its
//! state and reads are [`crate::reader`]'s.

use super::{Runtime, RuntimeError};
use crate::reader::{Finished, Reads, RecvResult, Want};
use crate::receive;
use crate::units::Bytes;

impl Runtime {
    /// The reader calls `gen_tcp:recv(S, len, infinity)`. `Some(result)`
    /// when the call returned: refused as the owner's recv is (CL-2, PC-5,
    /// PC-1's enotconn, RX-1), or its first reads finished it (RX-7, RX-9);
    /// `None` when it waits. A refused call makes no syscall; otherwise it
    /// reads at once until the kernel has nothing more, as TCP_REQ_RECV's
    /// `tcp_recv` does.
    pub fn recv_wait(&mut self, len: Bytes) -> Result<Option<RecvResult>, RuntimeError> {
        if self.port()?.reader.is_waiting() {
            return Err(RuntimeError("the reader is blocked in its recv already".into()));
        }
        if let Some(answer) = self.recv_answered_by_port()? {
            return Ok(Some(Err(answer)));
        }
        let port = self.subject.as_mut().ok_or_else(|| RuntimeError("no port under test".into()))?;
        if let Some(refused) = receive::refused(&port.driver, &port.opts, &port.reader) {
            return Ok(Some(Err(refused)));
        }
        port.reader.start(Want::of(len));
        let reads = Reads::UntilWouldBlock;
        let Some(finished) = port.reader.read(&mut port.driver, reads, &mut self.trace.actions, self.faults) else {
            return Ok(None);
        };
        let ended = matches!(finished, Finished::End { .. });
        let result = self.reader_finished(finished);
        if ended {
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
            let result = self.reader_finished(finished);
            self.trace.reader_returned.push(result);
        }
    }

    /// The reader's recv finished: at the peer's end (RX-9) the port
    /// reports it as any passive recv does (PC-1). What the recv returns.
    fn reader_finished(&mut self, finished: Finished) -> RecvResult {
        if let Finished::End { end, .. } = &finished {
            self.recv_found_end(*end);
        }
        finished.result()
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
