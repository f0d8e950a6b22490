//! `portcheck rps`: steer a device's receive packet processing to a CPU
//! list (`harness::rps`), a dry run unless `--write`.

use super::exit::Exit;
use clap::Args;
use harness::kernel::rps::{CpuSet, Mode, Sysfs};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Args)]
pub struct RpsArgs {
    /// Network device, e.g. eth0.
    #[arg(long)]
    dev: String,
    /// CPU list in the kernel's format, e.g. `0-3,8`.
    #[arg(long)]
    cpus: String,
    /// sysfs root (a fake tree for testing).
    #[arg(long, default_value = "/sys")]
    sysfs_root: PathBuf,
    /// Actually write every queues/rx-*/rps_cpus (default: report only).
    #[arg(long)]
    write: bool,
}

pub fn run(RpsArgs { dev, cpus, sysfs_root, write }: RpsArgs) -> ExitCode {
    let set = match CpuSet::parse_list(&cpus) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("portcheck rps: --cpus {cpus:?}: {e}");
            return Exit::Usage.into();
        }
    };
    let mode = if write { Mode::Write } else { Mode::DryRun };
    match Sysfs::new(&sysfs_root).apply(&dev, &set, mode) {
        Ok(report) => {
            println!("{}", report.summary());
            if !write {
                println!("dry run: nothing written (pass --write to apply)");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("portcheck rps: {e}");
            Exit::Usage.into()
        }
    }
}
