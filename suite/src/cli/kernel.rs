//! `portcheck kernel`: the kernel fingerprint (KN-* rules), as the kernel
//! probes measure it on this machine.

use super::exit::Exit;
use std::process::ExitCode;

pub fn run() -> ExitCode {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    println!("kernel release: {}", release.trim());
    match harness::kernel::fingerprint::collect() {
        Ok(fp) => {
            println!("{}", serde_json::to_string_pretty(&fp).expect("fingerprint serializes"));
            let broken: Vec<_> = fp.holds.iter().filter(|(_, ok)| !**ok).map(|(id, _)| id.clone()).collect();
            if broken.is_empty() {
                println!("every KN rule holds on this kernel");
                ExitCode::SUCCESS
            } else {
                println!("rules that do not hold on this kernel: {}", broken.join(", "));
                Exit::Diverged.into()
            }
        }
        Err(e) => {
            eprintln!("portcheck kernel: {e}");
            Exit::Usage.into()
        }
    }
}
