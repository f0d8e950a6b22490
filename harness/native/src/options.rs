//! A port's option set and `inet:setopts/2` as the runtime implements it
//! (OPT-*, RX-3, RX-4).
//!
//! Written independently of the reference model's option algebra on
//! purpose: the suite checks the two against each other (the harness's
//! adapter translates the types). The list is decoded first (so one bad value
//! rejects everything, OPT-3/RX-3) into driver commands, which are then
//! executed back to front, the order in which `prim_inet` hands them to the
//! driver (OPT-5).

use crate::reply::Posix;
use crate::units::{Bytes, Millis};

/// `send_timeout`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Timeout {
    Infinity,
    After(Millis),
}

/// The receive mode of a port.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Active {
    Passive,
    Once,
    /// `{active, N}` with a positive remaining count.
    Count(i16),
    Always,
}

impl Active {
    pub fn is_active(self) -> bool {
        self != Active::Passive
    }
}

/// The options a port carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PortOptions {
    pub high: Bytes,
    pub low: Bytes,
    pub high_msgq: Bytes,
    pub low_msgq: Bytes,
    pub delay_send: bool,
    pub send_timeout: Timeout,
    pub send_timeout_close: bool,
    pub active: Active,
}

impl Default for PortOptions {
    /// inet_drv's defaults (WM-1, MQ-7); ports start passive (`{active,false}`).
    fn default() -> Self {
        PortOptions {
            high: Bytes(8192),
            low: Bytes(4096),
            high_msgq: Bytes(8192),
            low_msgq: Bytes(4096),
            delay_send: false,
            send_timeout: Timeout::Infinity,
            send_timeout_close: false,
            active: Active::Passive,
        }
    }
}

/// `{active, _}` as written in a setopts list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ActiveSetting {
    False,
    True,
    Once,
    N(i32),
}

/// One option in a setopts list, with the raw value a user may pass.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Opt {
    HighWatermark(i64),
    LowWatermark(i64),
    HighMsgqWatermark(i64),
    LowMsgqWatermark(i64),
    DelaySend(bool),
    SendTimeout(Timeout),
    SendTimeoutClose(bool),
    Active(ActiveSetting),
}

/// The msgq limit a negative watermark other than -1 sets: none (the
/// largest int the driver takes).
pub const MSGQ_UNLIMITED: Bytes = Bytes(2_147_483_647);

/// One decoded driver-level option command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cmd {
    High(usize),
    Low(usize),
    HighMsgq(usize),
    LowMsgq(usize),
    DelaySend(bool),
    SendTimeout(Timeout),
    SendTimeoutClose(bool),
    ActiveMode(Active),
    /// `{active, N}`: added to the current count when executed.
    ActiveAdd(i32),
}

/// The outcome of a successful setopts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SetOptsOutcome {
    pub options: PortOptions,
    /// RX-4: how many `{active,N}` options left the count at zero or
    /// below; the owner is due one `tcp_passive` message for each.
    pub passive_notices: u8,
}

/// Decode one option; values that can never be valid are rejected here.
fn decode(opt: &Opt) -> Result<Cmd, Posix> {
    Ok(match *opt {
        // OPT-1/OPT-2: negative watermarks are clamped to 0, never rejected.
        Opt::HighWatermark(v) => Cmd::High(clamp_non_negative(v)),
        Opt::LowWatermark(v) => Cmd::Low(clamp_non_negative(v)),
        // OPT-3: a msgq watermark of 0 or -1 is einval, other negatives are no limit.
        Opt::HighMsgqWatermark(v) => Cmd::HighMsgq(msgq_limit(v)?),
        Opt::LowMsgqWatermark(v) => Cmd::LowMsgq(msgq_limit(v)?),
        Opt::DelaySend(b) => Cmd::DelaySend(b),
        Opt::SendTimeout(t) => Cmd::SendTimeout(t),
        Opt::SendTimeoutClose(b) => Cmd::SendTimeoutClose(b),
        Opt::Active(ActiveSetting::False) => Cmd::ActiveMode(Active::Passive),
        Opt::Active(ActiveSetting::True) => Cmd::ActiveMode(Active::Always),
        Opt::Active(ActiveSetting::Once) => Cmd::ActiveMode(Active::Once),
        Opt::Active(ActiveSetting::N(n)) => Cmd::ActiveAdd(n),
    })
}

fn clamp_non_negative(v: i64) -> usize {
    if v < 0 {
        0
    } else {
        usize::try_from(v).unwrap_or(usize::MAX)
    }
}

fn msgq_limit(v: i64) -> Result<usize, Posix> {
    match v {
        0 | -1 => Err(Posix::Einval),
        v if v < 0 => Ok(MSGQ_UNLIMITED.0),
        v => Ok(usize::try_from(v).unwrap_or(usize::MAX)),
    }
}

/// Apply `list` to `current` as one setopts. On error (OPT-3, RX-3) the
/// options applied before the invalid one stay applied: `Err` carries them.
pub fn setopts(current: &PortOptions, list: &[Opt]) -> Result<SetOptsOutcome, (Posix, SetOptsOutcome)> {
    let mut opts = *current;
    let mut passive_notices = 0u8;
    // RX-3: an N outside int16 never reaches the driver: nothing applied.
    if list.iter().any(|o| matches!(o, Opt::Active(ActiveSetting::N(n)) if i16::try_from(*n).is_err())) {
        return Err((Posix::Einval, SetOptsOutcome { options: opts, passive_notices }));
    }
    // OPT-5: the driver receives the list reversed, so the first listed wins.
    for opt in list.iter().rev() {
        let cmd = decode(opt).map_err(|e| (e, SetOptsOutcome { options: opts, passive_notices }))?;
        match cmd {
            Cmd::High(v) => {
                // OPT-1
                opts.low = opts.low.min(Bytes(v));
                opts.high = Bytes(v);
            }
            Cmd::Low(v) => {
                // OPT-2
                opts.high = opts.high.max(Bytes(v));
                opts.low = Bytes(v);
            }
            Cmd::HighMsgq(v) => {
                // OPT-4
                opts.low_msgq = opts.low_msgq.min(Bytes(v));
                opts.high_msgq = Bytes(v);
            }
            Cmd::LowMsgq(v) => {
                // OPT-4
                opts.high_msgq = opts.high_msgq.max(Bytes(v));
                opts.low_msgq = Bytes(v);
            }
            Cmd::DelaySend(b) => opts.delay_send = b,
            Cmd::SendTimeout(t) => opts.send_timeout = t,
            Cmd::SendTimeoutClose(b) => opts.send_timeout_close = b,
            // RX-4: a tcp_passive already sent stays sent.
            Cmd::ActiveMode(a) => opts.active = a,
            Cmd::ActiveAdd(n) => {
                // RX-3: additive, within int16; RX-4: <= 0 goes passive.
                let count = match opts.active {
                    Active::Count(c) => i64::from(c),
                    _ => 0,
                };
                let sum = count + i64::from(n);
                let Ok(sum) = i16::try_from(sum) else {
                    return Err((Posix::Einval, SetOptsOutcome { options: opts, passive_notices }));
                };
                if sum > 0 {
                    opts.active = Active::Count(sum);
                } else {
                    opts.active = Active::Passive;
                    passive_notices += 1;
                }
            }
        }
    }
    Ok(SetOptsOutcome { options: opts, passive_notices })
}

/// Options an accepted socket takes from its listener (OPT-6): watermarks,
/// msgq limits, send_timeout, send_timeout_close (`tcp_inet_copy`), and
/// delay_send and the active mode (`prim_inet:accept_opts`). That is every
/// option the runtime models.
pub fn inherit_from_listener(listener: &PortOptions) -> PortOptions {
    PortOptions {
        high: listener.high,
        low: listener.low,
        high_msgq: listener.high_msgq,
        low_msgq: listener.low_msgq,
        delay_send: listener.delay_send,
        send_timeout: listener.send_timeout,
        send_timeout_close: listener.send_timeout_close,
        active: listener.active,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn apply(list: &[Opt]) -> Result<PortOptions, Posix> {
        setopts(&PortOptions::default(), list).map(|o| o.options).map_err(|(e, _)| e)
    }

    #[test]
    fn first_listed_wins() {
        let o = apply(&[Opt::HighWatermark(100), Opt::LowWatermark(200)]).unwrap();
        assert_eq!((o.high, o.low), (Bytes(100), Bytes(100)));
        let o = apply(&[Opt::HighWatermark(7000), Opt::HighWatermark(9000)]).unwrap();
        assert_eq!(o.high, Bytes(7000));
    }

    #[test]
    fn watermark_clamping() {
        let o = apply(&[Opt::HighWatermark(1000)]).unwrap();
        assert_eq!((o.high, o.low), (Bytes(1000), Bytes(1000)));
        let o = apply(&[Opt::LowWatermark(5000)]).unwrap();
        assert_eq!((o.high, o.low), (Bytes(8192), Bytes(5000)));
        let o = apply(&[Opt::LowWatermark(9000)]).unwrap();
        assert_eq!((o.high, o.low), (Bytes(9000), Bytes(9000)));
        let o = apply(&[Opt::HighWatermark(-5)]).unwrap();
        assert_eq!((o.high, o.low), (Bytes(0), Bytes(0)));
    }

    #[test]
    fn msgq_limits() {
        assert_eq!(apply(&[Opt::DelaySend(true), Opt::HighMsgqWatermark(0)]), Err(Posix::Einval));
        let o = apply(&[Opt::HighMsgqWatermark(100)]).unwrap();
        assert_eq!((o.high_msgq, o.low_msgq), (Bytes(100), Bytes(100)));
        let o = apply(&[Opt::LowMsgqWatermark(500), Opt::HighMsgqWatermark(100)]).unwrap();
        assert_eq!((o.high_msgq, o.low_msgq), (Bytes(500), Bytes(500)));
    }

    #[test]
    fn active_n() {
        let o = setopts(&PortOptions::default(), &[Opt::Active(ActiveSetting::N(3))]).unwrap();
        assert_eq!(o.options.active, Active::Count(3));
        let o2 = setopts(&o.options, &[Opt::Active(ActiveSetting::N(-3))]).unwrap();
        assert_eq!(o2.options.active, Active::Passive);
        assert_eq!(o2.passive_notices, 1);
        let twice = [Opt::Active(ActiveSetting::N(0)), Opt::Active(ActiveSetting::N(0))];
        assert_eq!(setopts(&PortOptions::default(), &twice).unwrap().passive_notices, 2, "RX-4: one each");
        assert_eq!(
            setopts(&o.options, &[Opt::Active(ActiveSetting::N(32767))]).map_err(|(e, _)| e),
            Err(Posix::Einval)
        );
        let o3 = setopts(&PortOptions::default(), &[Opt::Active(ActiveSetting::True)]).unwrap();
        let o4 = setopts(&o3.options, &[Opt::Active(ActiveSetting::N(2))]).unwrap();
        assert_eq!(o4.options.active, Active::Count(2));
    }
}
