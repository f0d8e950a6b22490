//! The line protocol of `harness/PROTOCOL.md`: the JSON messages the
//! harness and an external system under test exchange, one per line. The
//! examples in PROTOCOL.md are checked against these types below.

use crate::sut::Abilities;
use reference::choice::Choice;
use reference::observation::Observation;
use reference::op::{Op, Setup};
use reference::variant::Variant;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The protocol version this harness speaks (`version` in `hello`; the
/// highest a `ready` may answer with).
pub const PROTOCOL_VERSION: u32 = 2;

/// The oldest version a `ready` may answer with: a version 1 adapter is
/// still checked, as every op's system (it declares no abilities).
pub const OLDEST_PROTOCOL_VERSION: u32 = 1;

// --- the protocol's messages -------------------------------------------------------------

/// A line the harness writes to the SUT.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ToSut {
    /// First line of a session: the protocol version, what the runtime's
    /// process is started with (version 2) and the case's setup.
    Hello {
        version: u32,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        start: Option<StartParams>,
        setup: Setup,
    },
    /// One op; `step` is its 0-based index in the case.
    Op { step: usize, op: Op },
    /// End of the session (optional: EOF on stdin means the same).
    Bye,
    /// The case passed and is over: take its world down and say whether
    /// the process is back at its baseline (only to an adapter whose
    /// `ready` said `reusable`). A clean answer may be followed by the next
    /// case's `hello`.
    Reset,
}

/// What a runtime's process must be started with for a case (`hello.start`,
/// PROTOCOL.md §2.1): the parts of the setup an adapter may have to pass on
/// the runtime's command line before the runtime can read a line (an OTP
/// node's `+Q` port table and `+spp`). A process serves only cases with the
/// same start (§2.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct StartParams {
    /// `setup.table_capacity`: the port table as the model sees it.
    pub table_capacity: usize,
    /// `setup.parallelism`: port parallelism (MQ-2).
    pub parallelism: bool,
}

impl StartParams {
    pub fn of(setup: &Setup) -> StartParams {
        StartParams { table_capacity: setup.table_capacity, parallelism: setup.parallelism }
    }
}

/// A kind of [`Choice`], as listed in `ready.reports`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChoiceKind {
    Ran,
    Wrote,
    Read,
    PeerGot,
}

impl ChoiceKind {
    pub fn of(c: &Choice) -> ChoiceKind {
        match c {
            Choice::Ran(_) => ChoiceKind::Ran,
            Choice::Wrote { .. } => ChoiceKind::Wrote,
            Choice::Read { .. } => ChoiceKind::Read,
            Choice::PeerGot { .. } => ChoiceKind::PeerGot,
        }
    }
}

/// What the SUT said in its `ready` line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ready {
    pub version: u32,
    /// The SUT's own name for itself (e.g. `beam-inet`).
    pub sut: String,
    /// The choice kinds the SUT reports completely; every other kind it
    /// never reports (the executor must derive those).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reports: Vec<ChoiceKind>,
    /// Free-form facts for reports (runtime version, effective buffer sizes…).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub info: BTreeMap<String, String>,
    /// Every step ends with the runtime run to quiescence (PROTOCOL.md §4).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub settles: bool,
    /// The runtime's timers run on the real clock (§4).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub real_clock: bool,
    /// The declared variant of the rules the runtime follows (§6).
    #[serde(default, skip_serializing_if = "is_reference")]
    pub variant: Variant,
    /// Which release of the runtime answered (§2.2). Optional, so an
    /// adapter written before it still speaks the protocol; the BEAM
    /// adapter always sends it, since OTP releases differ in rules the
    /// model checks and a result means little without its release.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime: Option<Runtime>,
    /// The adapter answers `reset` and then serves another `hello` (§2.3):
    /// one process may run many cases. Without it the harness starts a
    /// process per case.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub reusable: bool,
    /// What the adapter can be asked to do (version 2; absent: everything).
    /// The generator leaves out what it cannot (`Abilities::adapt`), as for
    /// a built-in system.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub abilities: Option<Abilities>,
}

impl Ready {
    /// The declared abilities: a version 1 adapter declares none (it is
    /// sent every op it knew, as before version 2: not the peer's end, no
    /// kernel environment, no shutdown, no reader, no linger, no kill, no recv timeout, no port kill,
    /// no `{exit_on_close, false}`, no blocked caller killed, no owner killed).
    pub fn abilities(&self) -> Abilities {
        match self.abilities {
            Some(a) if self.version >= 2 => a,
            _ => Abilities {
                peer_end: false,
                kernel_env: false,
                shutdown: false,
                recv_wait: false,
                linger: false,
                kill: false,
                recv_timeout: false,
                kill_port: false,
                exit_on_close: false,
                kill_caller: false,
                kill_owner: false,
                ..Abilities::ALL
            },
        }
    }
}

/// The release of a runtime, as its `ready` line reports it: for OTP,
/// `erlang:system_info(otp_release)` (the major release the rules are
/// keyed by), the full version from the release's `OTP_VERSION` file when
/// the installation has one, and `erlang:system_info(version)` (ERTS).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Runtime {
    pub otp_release: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub otp_version: Option<String>,
    pub erts: String,
}

impl std::fmt::Display for Runtime {
    /// `OTP 27.3.4.1 (erts 15.2.7)`, or `OTP 27 (erts 15.2.7)` without the
    /// full version.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let v = self.otp_version.as_deref().unwrap_or(&self.otp_release);
        write!(f, "OTP {v} (erts {})", self.erts)
    }
}

fn is_reference(v: &Variant) -> bool {
    *v == Variant::Reference
}

/// A line the SUT writes to the harness.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FromSut {
    /// Answer to `hello`.
    Ready(Ready),
    /// Answer to one `op`.
    Step {
        step: usize,
        observation: Observation,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        choices: Vec<Choice>,
        /// Free-form remarks (ignored by the harness, kept for debugging).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        notes: Vec<String>,
    },
    /// The SUT cannot perform this op (or this setup, when `step` is absent).
    /// A declared capability gap, not a failure; the op was not applied.
    Unsupported {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        step: Option<usize>,
        reason: String,
    },
    /// The SUT failed (its own bug or environment). The session is over.
    Error {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        step: Option<usize>,
        message: String,
    },
    /// Answer to `reset`: `clean` when the case's world is gone and the
    /// process is back at its baseline; otherwise `reason` says what was
    /// left, and the session is over.
    Reset {
        clean: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
}

/// The kind of an answer line, for error messages.
pub(super) fn kind(m: &FromSut) -> &'static str {
    match m {
        FromSut::Ready(_) => "`ready`",
        FromSut::Step { .. } => "`step`",
        FromSut::Unsupported { .. } => "`unsupported`",
        FromSut::Error { .. } => "`error`",
        FromSut::Reset { .. } => "`reset`",
    }
}

/// A line as quoted in error messages (cut at 400 bytes).
pub(super) fn excerpt(line: &str) -> String {
    const MAX: usize = 400;
    if line.len() <= MAX {
        format!("`{line}`")
    } else {
        let mut end = MAX;
        while !line.is_char_boundary(end) {
            end -= 1;
        }
        format!("`{}…` ({} bytes)", &line[..end], line.len())
    }
}

#[cfg(test)]
mod tests {
    //! The JSON examples in PROTOCOL.md are checked here: every line of a
    //! fenced block whose info string is `json <Type>` must parse as that
    //! type and re-serialize to exactly the same text. `cargo test -p
    //! portcheck-harness protocol_examples -- --nocapture` also prints the
    //! canonical forms of a representative value of each type.
    use super::*;
    use reference::choice::Activity;
    use reference::observation::*;
    use reference::op::{SendFlags, ShutdownHow};
    use reference::options::{ActiveSetting, Opt, PortOptions, Timeout};
    use reference::units::{Bytes, Millis, SenderId};
    use serde::de::DeserializeOwned;

    fn check<T: DeserializeOwned + Serialize>(line: &str) -> Result<(), String> {
        let v: T = serde_json::from_str(line).map_err(|e| format!("{e}"))?;
        let back = serde_json::to_string(&v).unwrap();
        if back != line {
            return Err(format!("re-serializes as {back}"));
        }
        Ok(())
    }

    fn check_line(ty: &str, line: &str) -> Result<(), String> {
        match ty {
            "ToSut" => check::<ToSut>(line),
            "FromSut" => check::<FromSut>(line),
            "Setup" => check::<Setup>(line),
            "Op" => check::<Op>(line),
            "Opt" => check::<Opt>(line),
            "Observation" => check::<Observation>(line),
            "Reply" => check::<Reply>(line),
            "Choice" => check::<Choice>(line),
            "PortOptions" => check::<PortOptions>(line),
            "SendResult" => check::<SendResult>(line),
            "SenderStatus" => check::<SenderStatus>(line),
            "OwnerMsg" => check::<OwnerMsg>(line),
            other => Err(format!("unknown type `{other}` in PROTOCOL.md")),
        }
    }

    #[test]
    fn protocol_examples_round_trip() {
        let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/PROTOCOL.md")).unwrap();
        let mut ty: Option<String> = None;
        let mut checked = 0;
        let mut errors = vec![];
        for (n, line) in doc.lines().enumerate() {
            if let Some(info) = line.strip_prefix("```") {
                ty = match (ty.is_some(), info.split_whitespace().collect::<Vec<_>>().as_slice()) {
                    (false, ["json", t]) => Some(t.to_string()),
                    (false, _) => Some(String::new()), // another block: not checked
                    (true, _) => None,
                };
                continue;
            }
            match &ty {
                Some(t) if !t.is_empty() && !line.trim().is_empty() => {
                    checked += 1;
                    if let Err(e) = check_line(t, line) {
                        errors.push(format!("PROTOCOL.md:{}: {t}: {e}\n    {line}", n + 1));
                    }
                }
                _ => {}
            }
        }
        assert!(errors.is_empty(), "{}", errors.join("\n"));
        assert!(checked >= 40, "only {checked} example lines checked");
    }

    /// Prints the canonical JSON of representative values (to write the doc).
    #[test]
    fn protocol_examples_print() {
        let p = |s: String| println!("{s}");
        let j = |v: &dyn erased::Ser| v.json();
        let setup = Setup {
            options: vec![Opt::HighWatermark(20000), Opt::LowWatermark(10000)],
            parallelism: false,
            senders: 3,
            table_capacity: 8,
            listener_options: vec![],
            show_econnreset: false,
            linger_zero: false,
            exit_on_close: true,
            kernel_env: Default::default(),
        };
        p(j(&ToSut::Hello { version: 1, start: None, setup: setup.clone() }));
        p(j(&ToSut::Hello { version: 2, start: Some(StartParams::of(&setup)), setup: setup.clone() }));
        p(j(&ToSut::Op {
            step: 0,
            op: Op::Send { sender: SenderId(0), len: Bytes(5000), tag: 1, flags: SendFlags::default() },
        }));
        p(j(&ToSut::Bye));
        let opts = [
            Opt::HighWatermark(20000),
            Opt::LowWatermark(-5),
            Opt::HighMsgqWatermark(8192),
            Opt::LowMsgqWatermark(4096),
            Opt::DelaySend(true),
            Opt::SendTimeout(Timeout::Infinity),
            Opt::SendTimeout(Timeout::After(Millis(200))),
            Opt::SendTimeoutClose(true),
            Opt::Active(ActiveSetting::False),
            Opt::Active(ActiveSetting::True),
            Opt::Active(ActiveSetting::Once),
            Opt::Active(ActiveSetting::N(3)),
        ];
        for o in &opts {
            p(j(o));
        }
        let ops = [
            Op::Send { sender: SenderId(1), len: Bytes(1), tag: 7, flags: SendFlags { nosuspend: true, force: false } },
            Op::PeerRead { max: Bytes(65536) },
            Op::PeerWrite { len: Bytes(10), tag: 3 },
            Op::Recv,
            Op::Mailbox,
            Op::Quiesce,
            Op::AwaitIo,
            Op::AwaitPeer,
            Op::AdvanceTime { by: Millis(200) },
            Op::SetOpts { opts: vec![Opt::SendTimeout(Timeout::After(Millis(200)))] },
            Op::GetOpts,
            Op::QueueSize,
            Op::ContendLock,
            Op::ReleaseLock,
            Op::Accept,
            Op::CloseAccepted,
            Op::OpenExtra,
            Op::Close,
            Op::Shutdown { how: ShutdownHow::Write },
            Op::Shutdown { how: ShutdownHow::ReadWrite },
        ];
        for o in &ops {
            p(j(o));
        }
        let replies = vec![
            Reply::None,
            Reply::Sent(None),
            Reply::Sent(Some(SendResult::Ok)),
            Reply::Sent(Some(SendResult::False)),
            Reply::Sent(Some(SendResult::Error(Posix::Timeout))),
            Reply::Peer(PeerRead::Data(vec![131, 132])),
            Reply::Peer(PeerRead::WouldBlock),
            Reply::Peer(PeerRead::Eof),
            Reply::Recv(Ok(vec![1, 2])),
            Reply::Recv(Err(Posix::Timeout)),
            Reply::Mailbox(vec![OwnerMsg::Tcp(vec![1]), OwnerMsg::TcpPassive]),
            Reply::SetOpts(Ok(())),
            Reply::SetOpts(Err(Posix::Einval)),
            Reply::Opts(PortOptions::default()),
            Reply::QueueSize(Bytes(5000)),
            Reply::Accept(AcceptOutcome::Accepted(PortOptions::default())),
            Reply::Accept(AcceptOutcome::Failed { error: Posix::SystemLimit, peer_eof: true }),
            Reply::Opened(Ok(())),
            Reply::Opened(Err(Posix::SystemLimit)),
            Reply::Closed(Ok(())),
            Reply::Shutdown(Ok(())),
            Reply::Shutdown(Err(Posix::Enotconn)),
        ];
        for r in &replies {
            p(j(r));
        }
        let obs = Observation {
            reply: Reply::Sent(None),
            senders: vec![SenderStatus::Idle, SenderStatus::Waiting, SenderStatus::Suspended],
            completed: vec![(SenderId(2), SendResult::Ok)],
            busy_port_events: vec![SenderId(2)],
            queue: Bytes(20000),
            busy: None,
            msgq: None,
            ports: 2,
            reader: Reader::Idle,
        };
        p(j(&obs));
        p(j(&Observation { reply: Reply::None, reader: Reader::Waiting, ..obs.clone() }));
        p(j(&Observation { reply: Reply::None, reader: Reader::Returned(Ok(b"abcde".to_vec())), ..obs.clone() }));
        p(j(&Observation { reply: Reply::None, reader: Reader::Returned(Err(Posix::Closed)), ..obs.clone() }));
        p(j(&Observation { busy: Some(Busy { driver: true, msgq: false }), msgq: Some(Bytes(0)), ..obs.clone() }));
        for c in [
            Choice::Ran(Activity::DelayFlush),
            Choice::Ran(Activity::Output),
            Choice::Ran(Activity::Resume(SenderId(1))),
            Choice::Ran(Activity::SendTimeout),
            Choice::Wrote { requested: Bytes(5000), accepted: Bytes(4608) },
            Choice::Read { got: Bytes(10) },
            Choice::PeerGot { got: Bytes(0) },
        ] {
            p(j(&c));
        }
        let mut info = BTreeMap::new();
        info.insert("otp_release".to_string(), "25".to_string());
        p(j(&FromSut::Ready(Ready {
            version: 1,
            sut: "beam-inet".into(),
            reports: vec![ChoiceKind::PeerGot],
            info,
            settles: true,
            real_clock: true,
            variant: Variant::OtpInet,
            runtime: Some(Runtime {
                otp_release: "27".into(),
                otp_version: Some("27.3.4.1".into()),
                erts: "15.2.7".into(),
            }),
            reusable: true,
            abilities: None,
        })));
        p(j(&FromSut::Ready(Ready {
            version: 2,
            sut: "beam-inet".into(),
            reports: vec![ChoiceKind::PeerGot],
            info: BTreeMap::new(),
            settles: true,
            real_clock: true,
            variant: Variant::OtpInet,
            runtime: None,
            reusable: true,
            abilities: Some(Abilities { lock_contention: false, ..Abilities::ALL }),
        })));
        p(j(&ToSut::Reset));
        p(j(&FromSut::Reset { clean: true, reason: None }));
        p(j(&FromSut::Reset {
            clean: false,
            reason: Some("ports (not counting dummies): 5, before the case 4".into()),
        }));
        p(j(&FromSut::Step {
            step: 0,
            observation: obs,
            choices: vec![Choice::PeerGot { got: Bytes(2) }],
            notes: vec![],
        }));
        p(j(&FromSut::Unsupported { step: Some(5), reason: "no lock contention on the BEAM".into() }));
        p(j(&FromSut::Error { step: Some(5), message: "peer socket vanished".into() }));
        p(j(&FromSut::Error { step: None, message: "bad hello".into() }));
    }

    mod erased {
        pub trait Ser {
            fn json(&self) -> String;
        }
        impl<T: serde::Serialize> Ser for T {
            fn json(&self) -> String {
                serde_json::to_string(self).unwrap()
            }
        }
    }
}
