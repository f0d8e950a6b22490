//! The option algebra (OPT-*, RX-3): what `inet:setopts/2` does to a port's
//! options. Pure functions, so quickcheck can state the laws directly.

use crate::rules::{ids, RuleId};
use crate::units::{Bytes, Millis};
use serde::{Deserialize, Serialize};

/// `send_timeout`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Timeout {
    Infinity,
    After(Millis),
}

/// The receive mode of a port.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
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
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
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
    /// WM-1, MQ-7, OPT-7. Ports under test start passive (like `{active,false}`).
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
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActiveSetting {
    False,
    True,
    Once,
    N(i32),
}

/// One option in a setopts list, with the raw value a user may pass.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
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

/// Why a setopts was rejected, and what it had applied by then: the driver
/// applies the (reversed) list one option at a time and stops at the first
/// invalid one, keeping the ones before it (OPT-3, measured on OTP 25.2.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rejected {
    pub rule: RuleId,
    /// The options with every option applied before the invalid one.
    pub options: PortOptions,
    /// How many `{active,N}` options left the count at zero or below
    /// before the invalid one (RX-4: one tcp_passive message each).
    pub passive_notices: u8,
}

/// What applying a setopts list did: the new options, and how many
/// `{active,N}` options left the count at zero or below (RX-4: one
/// tcp_passive message each, measured on OTP 25.2.3, 27 and 29, both
/// backends: `[{active,0},{active,0}]` on a passive port sends two).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Applied {
    pub options: PortOptions,
    pub passive_notices: u8,
}

/// OPT-8: the options a port starts from when the kernel application's
/// environment gives `env` (`inet_default_connect_options` or
/// `inet_default_listen_options`): the defaults (OPT-7) with `env` applied
/// over them, except its `{active,_}`, which the call's own active (or the
/// default) replaces (inet.erl: `[{active,true} | keydelete(active,1,Env)]`).
/// The call's options are then applied over the result.
pub fn kernel_env_base(env: &[Opt]) -> Result<Applied, Rejected> {
    let kept: Vec<Opt> = env.iter().filter(|o| !matches!(o, Opt::Active(_))).cloned().collect();
    setopts(PortOptions::default(), &kept)
}

/// What `list` would give applied front to back, the order OPT-5 rules
/// out: where it differs from [`setopts`]' result the order decided the
/// value (provenance, `model::provenance::OptsWhy::record`). `None` when
/// that order is refused.
pub fn setopts_other_order(current: PortOptions, list: &[Opt]) -> Option<PortOptions> {
    let reversed: Vec<Opt> = list.iter().rev().cloned().collect();
    setopts(current, &reversed).ok().map(|a| a.options)
}

/// OPT-5: the list is applied back to front, so the first listed option wins.
/// OPT-3 and RX-3: an invalid value makes the call return einval; the
/// options applied before it (those listed after it) stay applied.
pub fn setopts(current: PortOptions, list: &[Opt]) -> Result<Applied, Rejected> {
    // RX-3: an {active,N} whose N itself is outside int16 is refused by
    // prim_inet's encoder, before the driver applies anything.
    if list.iter().any(|o| matches!(o, Opt::Active(ActiveSetting::N(n)) if i16::try_from(*n).is_err())) {
        return Err(Rejected { rule: ids::RX_3, options: current, passive_notices: 0 });
    }
    let mut o = current;
    let mut passive_notices = 0u8;
    for opt in list.iter().rev() {
        match *opt {
            Opt::HighWatermark(v) => set_high(&mut o, v),
            Opt::LowWatermark(v) => set_low(&mut o, v),
            Opt::HighMsgqWatermark(v) => {
                let v = msgq_value(v).map_err(|rule| Rejected { rule, options: o, passive_notices })?;
                // OPT-4: if low_msgq > v then low_msgq = v.
                if o.low_msgq > v {
                    o.low_msgq = v;
                }
                o.high_msgq = v;
            }
            Opt::LowMsgqWatermark(v) => {
                let v = msgq_value(v).map_err(|rule| Rejected { rule, options: o, passive_notices })?;
                // OPT-4: if high_msgq < v then high_msgq = v.
                if o.high_msgq < v {
                    o.high_msgq = v;
                }
                o.low_msgq = v;
            }
            Opt::DelaySend(b) => o.delay_send = b,
            Opt::SendTimeout(t) => o.send_timeout = t,
            Opt::SendTimeoutClose(b) => o.send_timeout_close = b,
            Opt::Active(a) => {
                let (next, passive_now) =
                    set_active(o.active, a).map_err(|rule| Rejected { rule, options: o, passive_notices })?;
                o.active = next;
                // RX-4: the tcp_passive message is sent as the count reaches
                // zero; a later option in the list cannot take it back, and
                // each such option sends its own.
                passive_notices += u8::from(passive_now);
            }
        }
    }
    Ok(Applied { options: o, passive_notices })
}

/// OPT-1: `v<0 → 0; if low > v then low = v; high = v`.
fn set_high(o: &mut PortOptions, v: i64) {
    let v = Bytes(v.max(0) as usize);
    if o.low > v {
        o.low = v;
    }
    o.high = v;
}

/// OPT-2: `v<0 → 0; if high < v then high = v; low = v`.
fn set_low(o: &mut PortOptions, v: i64) {
    let v = Bytes(v.max(0) as usize);
    if o.high < v {
        o.high = v;
    }
    o.low = v;
}

/// What a negative msgq watermark becomes, as `inet:getopts` reads it back.
pub const MSGQ_UNLIMITED: Bytes = Bytes(2_147_483_647);

/// OPT-3: a msgq watermark of 0 or -1 is einval; any other negative one
/// passes the driver's range check (compared as an unsigned size, where -1
/// is the one value above the maximum) and means no limit.
fn msgq_value(v: i64) -> Result<Bytes, RuleId> {
    if v == 0 || v == -1 {
        Err(ids::OPT_3)
    } else if v < 0 {
        Ok(MSGQ_UNLIMITED)
    } else {
        Ok(Bytes(v as usize))
    }
}

/// RX-3/RX-4: `{active,N}` adds to the current count (a non-counting mode
/// counts as 0); the sum must stay in int16; reaching <= 0 goes passive.
fn set_active(current: Active, a: ActiveSetting) -> Result<(Active, bool), RuleId> {
    Ok(match a {
        ActiveSetting::False => (Active::Passive, false),
        ActiveSetting::True => (Active::Always, false),
        ActiveSetting::Once => (Active::Once, false),
        ActiveSetting::N(n) => {
            let base = match current {
                Active::Count(c) => c as i64,
                _ => 0,
            };
            let sum = base + n as i64;
            if sum < i16::MIN as i64 || sum > i16::MAX as i64 {
                return Err(ids::RX_3);
            }
            if sum <= 0 {
                (Active::Passive, true)
            } else {
                (Active::Count(sum as i16), false)
            }
        }
    })
}

/// PT-1: the port table size ERTS derives from a requested maximum.
pub fn port_table_size(requested: Option<u64>, rlimit_nofile: u64) -> u64 {
    const MIN: u64 = 1024;
    const MAX: u64 = (1 << 27) - 1;
    let wanted = requested.unwrap_or_else(|| 65536u64.max(rlimit_nofile));
    let clamped = wanted.clamp(MIN, MAX);
    clamped.checked_next_power_of_two().unwrap_or(MAX).min(MAX)
}
