//! `portcheck rules`: the rule catalogue with citations; `--otp R` keeps
//! the rules that apply to OTP release R (the declared differences measured
//! on its rule set's release, and every reference rule).

use clap::Args;
use reference::variant::OtpRelease;
use std::process::ExitCode;

#[derive(Args)]
pub struct RulesArgs {
    /// Only the rules that apply to this OTP release (e.g. 27); one that was
    /// not measured is judged by the newest measured release before it.
    #[arg(long, value_parser = parse_release)]
    pub otp: Option<OtpRelease>,
}

fn parse_release(s: &str) -> Result<OtpRelease, String> {
    OtpRelease::parse(s).ok_or_else(|| format!("not an OTP release: {s:?} (e.g. 27)"))
}

pub fn run(args: RulesArgs) -> ExitCode {
    if let Some(otp) = args.otp {
        let set = otp.rule_set();
        match &set.warning {
            Some(w) => eprintln!("warning: {w}"),
            None => println!("# rules that apply to OTP {otp}"),
        }
    }
    for r in reference::rules::catalogue() {
        if args.otp.is_some_and(|otp| !reference::rules::applies_to(r.id, otp)) {
            continue;
        }
        let rel = reference::rules::releases_of(r.id);
        let on = if rel.is_empty() {
            String::new()
        } else {
            format!(" [OTP {}]", rel.iter().map(|r| r.to_string()).collect::<Vec<_>>().join(", "))
        };
        println!("{:<12} {:?}{on}  {}\n             cite: {}", r.id, r.area, r.statement, r.citation);
    }
    ExitCode::SUCCESS
}
