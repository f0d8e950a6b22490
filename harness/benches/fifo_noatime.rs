//! FIFO (and anonymous pipe) 1-byte write/read throughput, with and without
//! O_NOATIME on the reader: the seed article's experiment ("Linux下pipe使用
//! 注意事项": `touch_atime` dominated a 1-byte pipe loop on 2.6.18).
//!
//! `cargo bench -p portcheck-harness --bench fifo_noatime`
//! (`PORTCHECK_BENCH_BYTES=N` to change the count; default 300000.)
//!
//! Expectation on Linux >= 6.15: anonymous pipes never touch timestamps, so
//! O_NOATIME changes nothing for them; FIFOs still call `file_accessed` on
//! every read (on a relatime mount the atime is only written when it is
//! older than mtime, which every write refreshes), so O_NOATIME can matter.

use harness::kernel::pipe_atime::{one_byte_throughput, PipeKind};
use harness::kernel::KernelRelease;

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing
    // special. With a filter argument that does not match, do nothing.
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    if !args.is_empty() && !args.iter().any(|a| "fifo_noatime".contains(a.as_str())) {
        return;
    }
    let n: usize = std::env::var("PORTCHECK_BENCH_BYTES").ok().and_then(|s| s.parse().ok()).unwrap_or(300_000);
    match KernelRelease::running() {
        Ok(r) => println!("kernel {} (anonymous pipes update timestamps: {})", r.raw, !r.at_least(6, 15)),
        Err(e) => println!("kernel release unknown: {e}"),
    }
    let mut failed = false;
    for kind in [PipeKind::Fifo, PipeKind::Anonymous] {
        let mut rates = Vec::new();
        for noatime in [false, true] {
            match one_byte_throughput(kind, noatime, n) {
                Ok(t) => {
                    println!("{t}");
                    rates.push(t.mbytes_per_s);
                }
                Err(e) => {
                    eprintln!("{kind:?} noatime={noatime}: {e}");
                    failed = true;
                }
            }
        }
        if let [without, with] = rates[..] {
            println!("{kind:?}: O_NOATIME speed-up x{:.2}", with / without);
        }
    }
    if failed {
        std::process::exit(1);
    }
}
