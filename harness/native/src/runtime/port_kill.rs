//! The port under test killed by a process other than its owner,
//! `exit(Port, kill)` with the owner unlinked (CL-5). A kill is not a
//! close: ERTS terminates the port at once, without the flush a close
//! (CL-1) or an exit with any other reason lets the driver make, and the
//! driver's stop closes the socket (`tcp_inet_stop`, `desc_close`).
//!
//! Everybody waiting on the port is answered at once; its owner is told
//! nothing (no `tcp_closed`, active or passive). Afterwards the port is
//! closed as after `gen_tcp:close`: a send returns `{error,closed}`
//! (SND-6), a recv `{error,closed}` (CL-2).

use super::{Runtime, RuntimeError};
use crate::reply::{Posix, SendResult};

impl Runtime {
    /// CL-5: `exit(Port, kill)` on the port under test. It leaves the
    /// port table now; its driver queue is dropped unflushed (the peer
    /// reads what the kernel took, then EOF, or a reset over unread
    /// input, CL-3), its send timer and delay_send flush cancelled, its
    /// busy state ended. A recv waiting on it returns `{error,closed}`
    /// (RX-10). The caller blocked on its reply, then every sender
    /// suspended on it in suspension order (those resumed that have not
    /// retried yet first: they were suspended before any still on the
    /// port's list, and are still inside their `port_command`), return
    /// `{error,closed}`.
    ///
    /// Killing a port that is closed already is a misuse (the generator
    /// makes none): an error, not an answer. A kill under the port lock,
    /// with port tasks queued, or over the port's own shutdown was not
    /// measured; the runtime kills as it would otherwise (queued tasks
    /// are aborted `{error,closed}`, after the senders, as a close aborts
    /// them).
    pub fn kill_port(&mut self) -> Result<(), RuntimeError> {
        let faults = self.faults;
        let port = self.subject.as_mut().ok_or_else(|| RuntimeError("no port under test".into()))?;
        let Some(id) = port.id.take() else {
            return Err(RuntimeError("kill_port: the port under test is closed already".into()));
        };
        self.table.remove(id);
        // RX-10: the driver's stop answers a waiting recv {error,closed}.
        let reader = port.reader.cancel();
        let was_open = port.driver.is_open();
        let caller = port.driver.kill(faults, self.poll.registry());
        let socket_closed = was_open && !port.driver.is_open();
        let suspended = port.suspended.drain();
        let aborted = port.tasks.abort_all();
        let resumed = self.procs.take_resumed();
        let closed = SendResult::Error(Posix::Closed);
        for s in caller.into_iter().chain(resumed).chain(suspended) {
            self.complete(s, closed);
        }
        for t in aborted {
            self.complete(t.sender, closed);
        }
        self.trace.reader_returned.extend(reader);
        if socket_closed {
            self.fd_released()?;
        }
        Ok(())
    }
}
