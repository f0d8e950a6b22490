//! `inet:setopts/2` on a port, written from the rules: OPT-1..OPT-5,
//! RX-3/RX-4. The option *values* are the protocol's types
//! (`reference::options`); what setting them does is this runtime's.

use reference::options::{Active, ActiveSetting, Opt, PortOptions, Timeout};
use reference::units::Bytes;

/// OPT-3: a negative msgq watermark other than -1 means "no limit" and
/// reads back as this.
const MSGQ_NO_LIMIT: Bytes = Bytes(2_147_483_647);

/// What a setopts did: the options now in force, and how many `{active,N}`
/// options left the count at zero or below (RX-4: a `tcp_passive` message
/// for each).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SetOpts {
    pub options: PortOptions,
    pub passive_notices: u8,
    /// `{error, einval}`: the list stopped at an invalid option (OPT-3,
    /// RX-3); what came before it in application order stays applied.
    pub einval: bool,
}

/// OPT-5: the list is applied back to front, so the first listed option
/// wins a conflict.
pub fn set_opts(current: PortOptions, list: &[Opt]) -> SetOpts {
    // RX-3: an N that is itself outside int16 cannot even be encoded:
    // nothing is applied.
    if list.iter().any(|o| matches!(o, Opt::Active(ActiveSetting::N(n)) if i16::try_from(*n).is_err())) {
        return SetOpts { options: current, passive_notices: 0, einval: true };
    }
    let mut o = current;
    let mut passive_notices = 0u8;
    for opt in list.iter().rev() {
        let ok = match *opt {
            Opt::HighWatermark(v) => {
                // OPT-1
                let v = clamp_watermark(v);
                o.low = o.low.min(v);
                o.high = v;
                true
            }
            Opt::LowWatermark(v) => {
                // OPT-2
                let v = clamp_watermark(v);
                o.high = o.high.max(v);
                o.low = v;
                true
            }
            Opt::HighMsgqWatermark(v) => match msgq_limit(v) {
                Some(v) => {
                    // OPT-4
                    o.low_msgq = o.low_msgq.min(v);
                    o.high_msgq = v;
                    true
                }
                None => false,
            },
            Opt::LowMsgqWatermark(v) => match msgq_limit(v) {
                Some(v) => {
                    o.high_msgq = o.high_msgq.max(v);
                    o.low_msgq = v;
                    true
                }
                None => false,
            },
            Opt::DelaySend(b) => {
                o.delay_send = b;
                true
            }
            Opt::SendTimeout(t) => {
                o.send_timeout = t;
                true
            }
            Opt::SendTimeoutClose(b) => {
                o.send_timeout_close = b;
                true
            }
            Opt::Active(a) => match activate(o.active, a) {
                Some((next, passive)) => {
                    o.active = next;
                    passive_notices += u8::from(passive);
                    true
                }
                None => false,
            },
        };
        if !ok {
            return SetOpts { options: o, passive_notices, einval: true };
        }
    }
    SetOpts { options: o, passive_notices, einval: false }
}

/// OPT-1/OPT-2: a negative watermark is 0.
fn clamp_watermark(v: i64) -> Bytes {
    Bytes(v.max(0) as usize)
}

/// OPT-3: 0 and -1 are invalid, other negatives mean no limit.
fn msgq_limit(v: i64) -> Option<Bytes> {
    match v {
        0 | -1 => None,
        v if v < 0 => Some(MSGQ_NO_LIMIT),
        v => Some(Bytes(v as usize)),
    }
}

/// RX-3/RX-4: `{active,N}` adds to the current count; the sum must fit an
/// int16; at `<= 0` the port goes passive (and says so).
fn activate(current: Active, a: ActiveSetting) -> Option<(Active, bool)> {
    Some(match a {
        ActiveSetting::False => (Active::Passive, false),
        ActiveSetting::True => (Active::Always, false),
        ActiveSetting::Once => (Active::Once, false),
        ActiveSetting::N(n) => {
            let count = if let Active::Count(c) = current { i32::from(c) } else { 0 };
            let sum = i16::try_from(count + n).ok()?;
            if sum <= 0 {
                (Active::Passive, true)
            } else {
                (Active::Count(sum), false)
            }
        }
    })
}

/// OPT-7, WM-1, MQ-7: a fresh port's options (ports start passive).
pub fn defaults() -> PortOptions {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_listed_wins_and_watermarks_clamp() {
        let r = set_opts(defaults(), &[Opt::HighWatermark(100), Opt::LowWatermark(200)]);
        assert_eq!((r.options.high, r.options.low, r.einval), (Bytes(100), Bytes(100), false));
        let r = set_opts(defaults(), &[Opt::HighWatermark(-5)]);
        assert_eq!((r.options.high, r.options.low), (Bytes(0), Bytes(0)));
    }

    #[test]
    fn invalid_msgq_keeps_what_came_before_it() {
        let r = set_opts(defaults(), &[Opt::LowMsgqWatermark(-1), Opt::HighWatermark(-1)]);
        assert!(r.einval);
        assert_eq!(r.options.high, Bytes(0));
        let r = set_opts(defaults(), &[Opt::HighMsgqWatermark(-7)]);
        assert_eq!(r.options.high_msgq, MSGQ_NO_LIMIT);
    }

    #[test]
    fn active_n_counts_down_to_passive() {
        let r = set_opts(defaults(), &[Opt::Active(ActiveSetting::N(3))]);
        assert_eq!(r.options.active, Active::Count(3));
        let r = set_opts(r.options, &[Opt::Active(ActiveSetting::N(-3))]);
        assert_eq!((r.options.active, r.passive_notices), (Active::Passive, 1));
        let r = set_opts(defaults(), &[Opt::Active(ActiveSetting::N(40000)), Opt::HighWatermark(0)]);
        assert!(r.einval && r.options.high == Bytes(8192));
    }
}
