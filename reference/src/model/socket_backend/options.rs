//! Variant otp-socket's options and readiness: setopts in list order with
//! the watermarks ignored (DIFF-SOCK-2), except `low_watermark`, which sets
//! the socket's SO_RCVLOWAT (DIFF-SOCK-8); recv on a socket that
//! send_timeout_close closed (DIFF-SOCK-4); {active,false} leaving a count
//! sends tcp_passive (DIFF-SOCK-9).

use super::super::Model;
use crate::observation::{OwnerMsg, Posix, Reply};
use crate::options::{setopts, Active, ActiveSetting, Opt};
use crate::rules::{ids, RuleId};
use crate::units::Bytes;

/// DIFF-SOCK-8: the receive low-water mark `{low_watermark, v}` sets.
/// Linux (`sock_setsockopt` SO_RCVLOWAT, `tcp_set_rcvlowat`) turns a
/// negative value into INT_MAX, caps it at half of `tcp_rmem[2]` (16 MiB
/// here) and turns 0 into 1. No case sends a cap's worth of input, so a
/// negative value stands for "never readable" (`usize::MAX`).
fn rcvlowat_of(v: i64) -> Bytes {
    match v {
        v if v < 0 => Bytes(usize::MAX),
        0 => Bytes(1),
        v => Bytes(v as usize),
    }
}

/// The setup's options, applied at connect (one setopts, front to back):
/// the last `low_watermark` sets SO_RCVLOWAT (DIFF-SOCK-8).
pub(in crate::model) fn setup_rcvlowat(options: &[Opt]) -> Option<Bytes> {
    options.iter().rev().find_map(|o| if let Opt::LowWatermark(v) = o { Some(rcvlowat_of(*v)) } else { None })
}

impl Model {
    /// DIFF-SOCK-2: setopts in list order, watermarks ignored; an invalid
    /// option stops the list with the options before it applied.
    pub(in crate::model) fn sock_setopts(&mut self, list: &[Opt]) -> (Reply, RuleId) {
        if self.sock().closed {
            // DIFF-SOCK-10: a running server in state 'closed' skips the
            // ignored (watermark) options and refuses the others, on every
            // release; one that exited is not there to ask: gen_tcp_socket's
            // call/2 answers closed on OTP 25 (DIFF-SOCK-4), einval from 27.
            if self.sock().server_exited && !self.otp_27_on() {
                return (Reply::SetOpts(Err(Posix::Closed)), self.decide(ids::DIFF_SOCK_4));
            }
            if self.sock_server_stopping() {
                // gen_tcp_socket:call/2: exit:{{shutdown,_},_} -> closed.
                self.cross(ids::DIFF_SOCK_10);
                return (Reply::SetOpts(Err(Posix::Closed)), self.decide(ids::DIFF_SOCK_10));
            }
            self.cross(ids::DIFF_SOCK_10);
            let ignored_only = list.iter().all(|o| self.sock_ignores(o));
            let reply = if ignored_only && !self.sock().server_exited { Ok(()) } else { Err(Posix::Einval) };
            return (Reply::SetOpts(reply), self.decide(ids::DIFF_SOCK_10));
        }
        self.cross(ids::DIFF_SOCK_2);
        for o in list {
            match o {
                Opt::LowWatermark(_) if self.sock_ignores(o) => {
                    self.cross(ids::DIFF_SOCK_11);
                    continue;
                }
                _ if self.sock_ignores(o) => continue,
                Opt::LowWatermark(v) => {
                    self.cross(ids::DIFF_SOCK_8);
                    self.sock_mut().rcvlowat = Some(rcvlowat_of(*v));
                    continue;
                }
                Opt::Active(ActiveSetting::N(_)) => self.cross(ids::RX_3),
                _ => {}
            }
            match setopts(self.state.opts, std::slice::from_ref(o)) {
                Ok(applied) => {
                    if !self.state.opts.active.is_active()
                        && applied.options.active.is_active()
                        && self.input_pending() > Bytes::ZERO
                    {
                        self.sock_mut().fresh_recv = true;
                    }
                    let left_count =
                        matches!(self.state.opts.active, Active::Count(_)) && *o == Opt::Active(ActiveSetting::False);
                    self.state.opts = applied.options;
                    if applied.passive_notices > 0 {
                        self.state.input.mailbox.push(OwnerMsg::TcpPassive);
                    } else if left_count {
                        self.cross(ids::DIFF_SOCK_9);
                        self.decide(ids::DIFF_SOCK_9);
                        self.state.input.mailbox.push(OwnerMsg::TcpPassive);
                    }
                }
                Err(rej) => {
                    self.cross(rej.rule);
                    return (Reply::SetOpts(Err(Posix::Einval)), rej.rule);
                }
            }
        }
        (Reply::SetOpts(Ok(())), ids::DIFF_SOCK_2)
    }

    /// DIFF-SOCK-2/11: the options gen_tcp_socket filters out before they
    /// reach the socket (`ignore_optname/1`): the watermarks, low_watermark
    /// too from OTP 27 on.
    fn sock_ignores(&self, o: &Opt) -> bool {
        match o {
            Opt::HighWatermark(_) | Opt::HighMsgqWatermark(_) | Opt::LowMsgqWatermark(_) => true,
            Opt::LowWatermark(_) => self.otp_27_on(),
            _ => false,
        }
    }

    /// DIFF-SOCK-8: the socket is readable (and its owner gets a tcp
    /// message) only once the receive queue holds SO_RCVLOWAT bytes, or
    /// right after it turned active.
    pub(in crate::model) fn sock_readable(&self) -> bool {
        !self.on_socket() || self.sock().fresh_recv || self.input_pending() >= self.sock().rcvlowat.unwrap_or(Bytes(1))
    }

    /// The server read: from now on it waits for readiness.
    pub(in crate::model) fn sock_read_done(&mut self) {
        if self.on_socket() {
            self.sock_mut().fresh_recv = false;
        }
    }

    /// recv on a socket closed by send_timeout_close (DIFF-SOCK-4).
    pub(in crate::model) fn sock_recv_closed(&mut self) -> Option<(Reply, RuleId)> {
        if self.on_socket() && self.sock().closed {
            return Some((Reply::Recv(Err(Posix::Closed)), self.decide(ids::DIFF_SOCK_4)));
        }
        None
    }
}
