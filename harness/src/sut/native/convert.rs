//! The translation between the reference vocabulary (`reference::…`, what
//! the executor and the model speak) and the runtime's own (`native::…`):
//! a straight mapping, value for value, in both directions the adapter
//! needs.

use reference::choice::{Activity, Choice};
use reference::observation::{Busy, OwnerMsg, Posix, SendResult, SenderStatus};
use reference::op::{SendFlags, ShutdownHow};
use reference::options::{Active, ActiveSetting, Opt, PortOptions, Timeout};
use reference::units::{Bytes, Millis, SenderId};

pub fn bytes(b: native::Bytes) -> Bytes {
    Bytes(b.0)
}

pub fn to_bytes(b: Bytes) -> native::Bytes {
    native::Bytes(b.0)
}

pub fn sender(s: native::SenderId) -> SenderId {
    SenderId(s.0)
}

pub fn to_sender(s: SenderId) -> native::SenderId {
    native::SenderId(s.0)
}

pub fn to_millis(m: Millis) -> native::Millis {
    native::Millis(m.0)
}

pub fn to_flags(f: SendFlags) -> native::SendFlags {
    native::SendFlags { nosuspend: f.nosuspend, force: f.force }
}

fn timeout(t: native::Timeout) -> Timeout {
    match t {
        native::Timeout::Infinity => Timeout::Infinity,
        native::Timeout::After(ms) => Timeout::After(Millis(ms.0)),
    }
}

fn to_timeout(t: Timeout) -> native::Timeout {
    match t {
        Timeout::Infinity => native::Timeout::Infinity,
        Timeout::After(ms) => native::Timeout::After(to_millis(ms)),
    }
}

fn active(a: native::Active) -> Active {
    match a {
        native::Active::Passive => Active::Passive,
        native::Active::Once => Active::Once,
        native::Active::Count(n) => Active::Count(n),
        native::Active::Always => Active::Always,
    }
}

/// A setopts list, option for option.
pub fn shutdown_how(h: ShutdownHow) -> native::ShutdownHow {
    match h {
        ShutdownHow::Write => native::ShutdownHow::Write,
        ShutdownHow::ReadWrite => native::ShutdownHow::ReadWrite,
    }
}

pub fn to_opts(list: &[Opt]) -> Vec<native::Opt> {
    list.iter().map(|o| to_opt(*o)).collect()
}

pub fn to_opt(o: Opt) -> native::Opt {
    match o {
        Opt::HighWatermark(v) => native::Opt::HighWatermark(v),
        Opt::LowWatermark(v) => native::Opt::LowWatermark(v),
        Opt::HighMsgqWatermark(v) => native::Opt::HighMsgqWatermark(v),
        Opt::LowMsgqWatermark(v) => native::Opt::LowMsgqWatermark(v),
        Opt::DelaySend(b) => native::Opt::DelaySend(b),
        Opt::SendTimeout(t) => native::Opt::SendTimeout(to_timeout(t)),
        Opt::SendTimeoutClose(b) => native::Opt::SendTimeoutClose(b),
        Opt::Active(a) => native::Opt::Active(match a {
            ActiveSetting::False => native::ActiveSetting::False,
            ActiveSetting::True => native::ActiveSetting::True,
            ActiveSetting::Once => native::ActiveSetting::Once,
            ActiveSetting::N(n) => native::ActiveSetting::N(n),
        }),
    }
}

pub fn port_options(o: native::PortOptions) -> PortOptions {
    PortOptions {
        high: bytes(o.high),
        low: bytes(o.low),
        high_msgq: bytes(o.high_msgq),
        low_msgq: bytes(o.low_msgq),
        delay_send: o.delay_send,
        send_timeout: timeout(o.send_timeout),
        send_timeout_close: o.send_timeout_close,
        active: active(o.active),
    }
}

pub fn posix(e: native::Posix) -> Posix {
    match e {
        native::Posix::Timeout => Posix::Timeout,
        native::Posix::Closed => Posix::Closed,
        native::Posix::Enotconn => Posix::Enotconn,
        native::Posix::Einval => Posix::Einval,
        native::Posix::SystemLimit => Posix::SystemLimit,
        native::Posix::Econnreset => Posix::Econnreset,
        native::Posix::Ealready => Posix::Ealready,
    }
}

pub fn send_result(r: native::SendResult) -> SendResult {
    match r {
        native::SendResult::Ok => SendResult::Ok,
        native::SendResult::False => SendResult::False,
        native::SendResult::Error(e) => SendResult::Error(posix(e)),
    }
}

pub fn sender_status(s: native::SenderStatus) -> SenderStatus {
    match s {
        native::SenderStatus::Idle => SenderStatus::Idle,
        native::SenderStatus::Waiting => SenderStatus::Waiting,
        native::SenderStatus::Suspended => SenderStatus::Suspended,
    }
}

pub fn busy(b: native::Busy) -> Busy {
    Busy { driver: b.driver, msgq: b.msgq }
}

pub fn owner_msg(m: native::OwnerMsg) -> OwnerMsg {
    match m {
        native::OwnerMsg::Tcp(data) => OwnerMsg::Tcp(data),
        native::OwnerMsg::TcpPassive => OwnerMsg::TcpPassive,
        native::OwnerMsg::TcpClosed => OwnerMsg::TcpClosed,
        native::OwnerMsg::TcpError(e) => OwnerMsg::TcpError(posix(e)),
    }
}

fn activity(a: native::Activity) -> Activity {
    match a {
        native::Activity::DelayFlush => Activity::DelayFlush,
        native::Activity::Output => Activity::Output,
        native::Activity::Input => Activity::Input,
        native::Activity::Task => Activity::Task,
        native::Activity::Resume(s) => Activity::Resume(sender(s)),
        native::Activity::SendTimeout => Activity::SendTimeout,
        native::Activity::RecvTimeout => Activity::RecvTimeout,
    }
}

/// What the runtime did, as the model's choices.
pub fn choice(a: native::Action) -> Choice {
    match a {
        native::Action::Ran(x) => Choice::Ran(activity(x)),
        native::Action::Wrote { requested, accepted } => {
            Choice::Wrote { requested: bytes(requested), accepted: bytes(accepted) }
        }
        native::Action::Read { got } => Choice::Read { got: bytes(got) },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The runtime starts every port with the options the model starts it
    /// with (WM-1, MQ-7, OPT-7).
    #[test]
    fn default_options_agree() {
        assert_eq!(port_options(native::PortOptions::default()), PortOptions::default());
    }

    /// A negative msgq watermark other than -1 means the same "no limit".
    #[test]
    fn msgq_unlimited_agrees() {
        assert_eq!(bytes(native::options::MSGQ_UNLIMITED), reference::options::MSGQ_UNLIMITED);
    }
}
