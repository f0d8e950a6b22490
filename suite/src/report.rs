//! Rendering a run's per-rule tallies (`tally::RuleTally`): verdicts, the
//! terminal table, Markdown and JUnit reports.

use crate::check::CheckReport;
use crate::tally::RuleTally;
use reference::rules::{catalogue, Area, RuleId};
use std::collections::BTreeMap;
use std::fmt::Write;

/// Rules whose interesting transition (busy set or cleared, a timeout
/// firing, a suspension or resumption...) must be reached before a run may
/// call them passed.
pub const CROSSING_RULES: &[RuleId] = {
    use reference::rules::ids::*;
    &[
        WM_3, WM_4, DS_2, TO_1, TO_2, TO_3, MQ_3, MQ_4, MQ_6, SND_1, SND_4, RX_1, RX_2, RX_4, PT_2, PT_3, PT_4, OPT_6,
        CL_1,
    ]
};

/// The verdict of a rule over a run.
pub fn verdict(id: RuleId, t: Option<&RuleTally>) -> &'static str {
    match t {
        Some(t) if t.failed > 0 => "FAILED",
        Some(t) if t.not_applicable => "n/a (variant)",
        Some(t) if t.fixed_cases_only && t.cases == 0 => "n/a (fixed cases)",
        Some(t) if t.cases > 0 && CROSSING_RULES.contains(&id) && t.crossings == 0 => "not crossed",
        Some(t) if t.cases > 0 => "passed",
        _ => "not reached",
    }
}

/// Only the rules matching one of `patterns` (all when empty).
pub fn filter(t: &BTreeMap<RuleId, RuleTally>, patterns: &[String]) -> BTreeMap<RuleId, RuleTally> {
    let ports = catalogue().into_iter().filter(|r| r.area == Area::Port);
    ports
        .filter(|r| patterns.is_empty() || patterns.iter().any(|p| reference::rules::matches(p, r.id)))
        .map(|r| (r.id, t.get(&r.id).cloned().unwrap_or_default()))
        .collect()
}

/// The Markdown report: summary, per-rule table, and the counterexample as
/// a sequence diagram.
pub fn markdown(r: &CheckReport, shown: &BTreeMap<RuleId, RuleTally>, env: &crate::environment::Environment) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# portcheck report: `{}`\n", r.sut);
    let _ = writeln!(s, "- seed: `{}`\n- cases: {} run, {} passed", r.seed, r.cases, r.passed);
    let _ =
        writeln!(s, "- kernel: {} (min sndbuf {}, min rcvbuf {})", env.kernel_release, env.min_sndbuf, env.min_rcvbuf);
    if let Some(otp) = env.otp() {
        let _ = writeln!(s, "- OTP: {otp}");
    }
    let _ = writeln!(
        s,
        "\n| rule | cases | passed | failed | crossings | verdict | statement |\n|---|---:|---:|---:|---:|---|---|"
    );
    for (id, t) in shown {
        let st = reference::rules::rule(*id).map(|r| r.statement).unwrap_or("");
        let _ = writeln!(
            s,
            "| {id} | {} | {} | {} | {} | {} | {} |",
            t.cases,
            t.passed,
            t.failed,
            t.crossings,
            verdict(*id, Some(t)),
            st
        );
    }
    if let Some(cx) = &r.counterexample {
        let rule = cx.rule();
        let _ = writeln!(s, "\n## Failure under {}\n", rule.map_or("no rule (system failure)", |r| r.0));
        let _ = writeln!(s, "{}\n", crate::trace::setup_text(&cx.shrunk.setup));
        if let Some(ru) = rule.and_then(reference::rules::rule) {
            let _ = writeln!(s, "> **{}**: {}  \n> cite: {}\n", ru.id, ru.statement, ru.citation);
        }
        let _ = writeln!(
            s,
            "Shrunk from {} to {} ops (case {} of seed {}).\n",
            cx.original_ops,
            cx.shrunk.ops.len(),
            cx.case_index,
            cx.seed
        );
        s.push_str(&crate::trace::mermaid(&cx.outcome));
        let _ = writeln!(s, "\n```text\n{}```", crate::trace::lines(&cx.outcome));
    }
    s
}

fn xml(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// JUnit XML: one testcase per rule; failed rules carry the failure, rules
/// never reached are skipped.
pub fn junit(r: &CheckReport, shown: &BTreeMap<RuleId, RuleTally>) -> String {
    let failures = shown.values().filter(|t| t.failed > 0).count();
    let skipped = shown.iter().filter(|(id, t)| verdict(**id, Some(t)).starts_with('n')).count();
    let mut s = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuite name=\"portcheck {}\" tests=\"{}\" failures=\"{failures}\" skipped=\"{skipped}\">\n",
        xml(&r.sut), shown.len()
    );
    for (id, t) in shown {
        let _ = write!(s, "  <testcase classname=\"portcheck.{}\" name=\"{id}\">", xml(&r.sut));
        match verdict(*id, Some(t)) {
            "FAILED" => {
                let msg = r
                    .counterexample
                    .as_ref()
                    .and_then(|c| c.outcome.failure.as_ref())
                    .map(|f| f.to_string())
                    .unwrap_or_default();
                let _ = write!(
                    s,
                    "<failure message=\"{}\">{}</failure>",
                    xml(&msg),
                    xml(&r.counterexample.as_ref().map(|c| crate::trace::lines(&c.outcome)).unwrap_or_default())
                );
            }
            v if v.starts_with("not") || v.starts_with("n/a") => {
                let _ = write!(s, "<skipped message=\"{v}\"/>");
            }
            _ => {}
        }
        s.push_str("</testcase>\n");
    }
    s.push_str("</testsuite>\n");
    s
}

/// A plain-text table of every port rule.
pub fn table(t: &BTreeMap<RuleId, RuleTally>) -> String {
    let mut s = String::new();
    let rows: Vec<_> = catalogue().into_iter().filter(|r| r.area == Area::Port && t.contains_key(&r.id)).collect();
    let w = rows.iter().map(|r| r.id.to_string().len()).max().unwrap_or(4).max(4);
    let _ = writeln!(
        s,
        "{:<w$} {:>7} {:>7} {:>7} {:>9}  {:<12} statement",
        "rule", "cases", "passed", "failed", "crossings", "verdict"
    );
    for r in rows {
        let e = t.get(&r.id);
        let d = e.cloned().unwrap_or_default();
        let mut stmt = r.statement.to_string();
        if stmt.len() > 70 {
            stmt.truncate(67);
            stmt.push_str("...");
        }
        let _ = writeln!(
            s,
            "{:<w$} {:>7} {:>7} {:>7} {:>9}  {:<12} {}",
            r.id.to_string(),
            d.cases,
            d.passed,
            d.failed,
            d.crossings,
            verdict(r.id, e),
            stmt
        );
    }
    s
}
