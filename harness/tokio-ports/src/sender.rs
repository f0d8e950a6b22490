//! Sender processes: one tokio task each. A sender sends on the port under
//! test and then is idle, waiting for its reply (SND-5) or suspended on a
//! busy port until it is resumed and retries (SND-1, SND-4).
//!
//! The [`Roster`] is how the runtime knows it is quiescent without
//! sleeping: every sender made runnable (a send handed to it, a resume, a
//! reply) counts as pending work until the sender itself reports the
//! stable state it reached, and every report wakes the settling loop.

use crate::port::{Outcome, SharedPort};
use reference::observation::{SendResult, SenderStatus};
use reference::op::SendFlags;
use reference::units::SenderId;
use std::sync::Arc;
use tokio::sync::{mpsc, Notify};

/// What the runtime shows of its senders, and the work still pending.
#[derive(Debug)]
pub struct Roster {
    status: Vec<SenderStatus>,
    /// Sends that finished since the last observation, in order.
    completed: Vec<(SenderId, SendResult)>,
    /// busy_port monitor events since the last observation (SND-1).
    busy_port_events: Vec<SenderId>,
    /// Runnable senders and armed zero-delay flushes: the runtime is not
    /// quiescent while this is above zero.
    pending: usize,
    settled: Arc<Notify>,
}

impl Roster {
    pub fn new(senders: usize, settled: Arc<Notify>) -> Roster {
        Roster {
            status: vec![SenderStatus::Idle; senders],
            completed: vec![],
            busy_port_events: vec![],
            pending: 0,
            settled,
        }
    }

    /// Something became runnable (a sender, a due flush).
    pub fn runnable(&mut self) {
        self.pending += 1;
    }

    /// A runnable thing ran to a stable point.
    pub fn done(&mut self) {
        self.pending -= 1;
        self.settled.notify_waiters();
    }

    pub fn pending(&self) -> usize {
        self.pending
    }

    /// A sender stopped in `status` (waiting or suspended).
    pub fn stopped(&mut self, s: SenderId, status: SenderStatus) {
        self.status[s.0 as usize] = status;
        self.done();
    }

    /// A sender's send returned `r`: it is idle again.
    pub fn finished(&mut self, s: SenderId, r: SendResult) {
        self.completed.push((s, r));
        self.stopped(s, SenderStatus::Idle);
    }

    pub fn busy_port_event(&mut self, s: SenderId) {
        self.busy_port_events.push(s);
    }

    pub fn statuses(&self) -> Vec<SenderStatus> {
        self.status.clone()
    }

    pub fn take_completed(&mut self) -> Vec<(SenderId, SendResult)> {
        std::mem::take(&mut self.completed)
    }

    pub fn take_busy_port_events(&mut self) -> Vec<SenderId> {
        std::mem::take(&mut self.busy_port_events)
    }
}

/// One send a sender process is asked to make.
#[derive(Debug)]
pub struct SendRequest {
    pub data: Vec<u8>,
    pub flags: SendFlags,
}

/// The sender process: takes requests one at a time and sends each until
/// it returns (retrying after every resume, SND-4).
pub async fn run(id: SenderId, port: SharedPort, mut requests: mpsc::UnboundedReceiver<SendRequest>) {
    while let Some(SendRequest { data, flags }) = requests.recv().await {
        let mut outcome = port.lock().expect("port lock").command(id, &data, flags, false);
        loop {
            match outcome {
                Outcome::Returned(r) => {
                    port.lock().expect("port lock").roster.finished(id, r);
                    break;
                }
                Outcome::Suspended(resumed) => {
                    if resumed.await.is_err() {
                        return; // the port is gone (end of the case)
                    }
                    outcome = port.lock().expect("port lock").command(id, &data, flags, true);
                }
                Outcome::Waiting(reply) => match reply.await {
                    Ok(r) => {
                        port.lock().expect("port lock").roster.finished(id, r);
                        break;
                    }
                    Err(_) => return,
                },
            }
        }
    }
}
