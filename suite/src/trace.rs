//! Rendering a case's trace: readable lines for the terminal, and a Mermaid
//! sequence diagram (senders, port, kernel, peer) for the Markdown report.

use harness::executor::{CaseOutcome, FailureKind, TraceStep};
use reference::choice::{Activity, Choice};
use reference::observation::{PeerRead, Posix, Reader, Reply};
use reference::op::{Op, Setup};
use reference::options::Opt;
use reference::rules::rule;
use std::fmt::Write;

fn op_text(op: &Op) -> String {
    match op {
        Op::Send { sender, len, flags, .. } => {
            let mut f = vec![];
            if flags.nosuspend {
                f.push("nosuspend");
            }
            if flags.force {
                f.push("force");
            }
            format!("{sender} send {len}{}", if f.is_empty() { String::new() } else { format!(" [{}]", f.join(",")) })
        }
        Op::PeerRead { max } => format!("peer read ≤{max}"),
        Op::PeerWrite { len, .. } => format!("peer write {len}"),
        Op::RecvWait { len, timeout: None } => format!("reader recv {len}"),
        Op::RecvWait { len, timeout: Some(t) } => format!("reader recv {len} within {t}"),
        Op::AdvanceTime { by } => format!("advance time {by}"),
        Op::SetOpts { opts } => format!("setopts {}", serde_json::to_string(opts).unwrap_or_default()),
        other => other.name().replace('_', " "),
    }
}

fn reply_text(r: &Reply) -> String {
    match r {
        Reply::None => String::new(),
        Reply::Peer(PeerRead::Data(d)) => format!("peer got {}B", d.len()),
        Reply::Recv(Ok(d)) => format!("recv {}B", d.len()),
        Reply::Mailbox(m) => format!("{} message(s)", m.len()),
        other => serde_json::to_string(other).unwrap_or_default(),
    }
}

/// What the reader's recv returned (RX-7..RX-10).
fn returned_text(r: &Result<Vec<u8>, Posix>) -> String {
    match r {
        Ok(d) => format!("{}B", d.len()),
        Err(e) => format!("error {}", serde_json::to_string(e).unwrap_or_default().trim_matches('"')),
    }
}

fn choice_text(c: &Choice) -> String {
    match c {
        Choice::Ran(a) => format!("ran {a:?}"),
        Choice::Wrote { requested, accepted } => format!("write {accepted}/{requested}"),
        Choice::Read { got } => format!("read {got}"),
        Choice::PeerGot { got } => format!("peer {got}"),
    }
}

fn opts_text(opts: &[Opt]) -> String {
    let v: Vec<String> = opts.iter().map(|o| serde_json::to_string(o).unwrap_or_default()).collect();
    format!("[{}]", v.join(", "))
}

/// The case's setup on one line: a bug in applying it (connect or
/// listener options, parallelism, senders, the table's size) shows up
/// later as a difference a reader can only explain with it.
pub fn setup_text(s: &Setup) -> String {
    let mut t = format!(
        "setup: connect options {}; listener options {}; parallelism {}; senders {}; table capacity {}",
        opts_text(&s.options),
        opts_text(&s.listener_options),
        s.parallelism,
        s.senders,
        s.table_capacity
    );
    if s.linger_zero {
        t.push_str("; linger {true,0}");
    }
    if s.show_econnreset {
        t.push_str("; show_econnreset true");
    }
    if !s.exit_on_close {
        t.push_str("; exit_on_close false");
    }
    if !s.kernel_env.is_empty() {
        t.push_str(&format!(
            "; kernel env connect {} listen {}",
            opts_text(&s.kernel_env.connect),
            opts_text(&s.kernel_env.listen)
        ));
    }
    t
}

/// The failure report: the setup, then one line per step, then the
/// failure with its rule's statement and citation.
pub fn lines(out: &CaseOutcome) -> String {
    let mut s = setup_text(&out.setup);
    s.push('\n');
    s.push_str(&steps(&out.trace, out.failure.as_ref().map(|f| f.step)));
    if let Some(f) = &out.failure {
        let _ = writeln!(s, "{f}");
        if let Some(op) = out.trace.get(f.step).map(|t| op_text(&t.op)) {
            let _ = writeln!(s, "  op: {op}");
        }
        if let Some(r) = f.rule().and_then(rule) {
            let _ = writeln!(s, "  {}: {}\n  cite: {}", r.id, r.statement, r.citation);
        }
    }
    s
}

/// One line per step, `>>` before step `marked` (a failure's step, or
/// where `portcheck diff` found two runtimes differ).
pub fn steps(trace: &[TraceStep], marked: Option<usize>) -> String {
    let mut s = String::new();
    for t in trace {
        let mark = if Some(t.index) == marked { ">>" } else { "  " };
        let obs = t.observed.as_ref();
        let _ = write!(s, "{mark} {:>3}  {:<28}", t.index, op_text(&t.op));
        if !t.choices.is_empty() {
            let _ = write!(s, " | {}", t.choices.iter().map(choice_text).collect::<Vec<_>>().join(", "));
        }
        if let Some(o) = obs {
            let _ = write!(s, " | {} queue={} senders={:?}", reply_text(&o.reply), o.queue, o.senders);
            if !o.completed.is_empty() {
                let _ = write!(s, " done={:?}", o.completed);
            }
            match &o.reader {
                Reader::Idle => {}
                Reader::Waiting => s.push_str(" reader=waiting"),
                Reader::Returned(r) => {
                    let _ = write!(s, " reader={}", returned_text(r));
                }
            }
        }
        s.push('\n');
    }
    s
}

fn participant(t: &TraceStep) -> String {
    match &t.op {
        Op::Send { sender, .. } => sender.to_string(),
        Op::PeerRead { .. } | Op::PeerWrite { .. } | Op::PeerShutdown | Op::PeerReset => "Peer".into(),
        _ => "Harness".into(),
    }
}

/// A Mermaid sequence diagram of the trace, the diverging step marked.
pub fn mermaid(out: &CaseOutcome) -> String {
    let mut s = String::from("```mermaid\nsequenceDiagram\n");
    let senders = out.setup.senders;
    for i in 0..senders {
        let _ = writeln!(s, "    participant S{i}");
    }
    s.push_str("    participant Port\n    participant Kernel\n    participant Peer\n");
    let fail = out.failure.as_ref();
    for t in &out.trace {
        let who = participant(t);
        let who = if who == "Harness" { "Port".to_string() } else { who };
        let _ = writeln!(s, "    {who}->>Port: #{} {}", t.index, op_text(&t.op).replace(';', ","));
        for c in &t.choices {
            match c {
                Choice::Wrote { requested, accepted } => {
                    let _ = writeln!(s, "    Port->>Kernel: write {accepted}/{requested}");
                }
                Choice::Ran(Activity::Resume(x)) => {
                    let _ = writeln!(s, "    Port-->>{x}: resume");
                }
                Choice::Ran(a) => {
                    let _ = writeln!(s, "    Note over Port: {a:?}");
                }
                Choice::Read { got } => {
                    let _ = writeln!(s, "    Kernel->>Port: read {got}");
                }
                Choice::PeerGot { got } => {
                    let _ = writeln!(s, "    Kernel->>Peer: {got}");
                }
            }
        }
        if let Some(o) = &t.observed {
            for (x, r) in &o.completed {
                let _ = writeln!(s, "    Port-->>{x}: {r:?}");
            }
            if let Reader::Returned(r) = &o.reader {
                let _ = writeln!(s, "    Note over Port: the reader's recv returned {}", returned_text(r));
            }
        }
        if let Some(f) = fail.filter(|f| f.step == t.index) {
            let text = match &f.kind {
                FailureKind::Mismatch(m) => {
                    format!("DIVERGES [{}] {}: expected {} observed {}", m.rule, m.field, m.expected, m.observed)
                }
                FailureKind::Divergence(d) => format!("DIVERGES [{}] {}", d.rule, d.what),
                FailureKind::Sut(e) => format!("SUT FAILED: {e}"),
            };
            let cite = f.rule().and_then(rule).map(|r| format!(" — {}", r.citation)).unwrap_or_default();
            let text = format!("{text}{cite}").replace(['"', ';', '#'], "'");
            let _ = writeln!(s, "    Note over Port,Peer: {text}");
        }
    }
    s.push_str("```\n");
    s
}
