//! `portcheck-tokio-ports`: Erlang-style ports over tokio TCP sockets,
//! speaking `harness/PROTOCOL.md` (version 2) on stdin/stdout so that
//! portcheck checks it exactly as it would check a third party's runtime:
//!
//!     portcheck run --sut exec:'target/debug/portcheck-tokio-ports'
//!
//! `--plant NAME` selects a planted bug (`--list-plants`). See README.md
//! beside this crate for what it declares it cannot do, and why.

mod driver_queue;
mod options;
mod plant;
mod port;
mod port_table;
mod protocol;
mod sender;
mod units;
mod watermark;
mod world;

use plant::Plant;
use protocol::{Abilities, FromHarness, ToHarness};
use std::io::{self, BufRead, Write};
use world::{Answer, World};

/// The newest protocol version this adapter speaks.
const VERSION: u32 = 2;

/// What may be generated for this runtime (PROTOCOL.md §2.2). Why each
/// `false`: README.md beside this crate, "What it declares".
const ABILITIES: Abilities =
    Abilities { lock_contention: false, send_flags: true, recv: true, get_opts: true, parallelism: false };

fn main() {
    let mut plant = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--list-plants" => {
                for p in Plant::ALL {
                    println!("{}\t{}\t{}", p.name(), p.rule(), p.describe());
                }
                return;
            }
            "--plant" => {
                let name = args.next().unwrap_or_default();
                match Plant::parse(&name) {
                    Some(p) => plant = Some(p),
                    None => usage(&format!("unknown plant {name:?} (--list-plants)")),
                }
            }
            other => usage(&format!("unknown argument {other:?}")),
        }
    }
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap_or_else(|e| {
        eprintln!("tokio-ports: runtime: {e}");
        std::process::exit(1)
    });
    let stdin = io::stdin();
    let stdout = io::stdout();
    if let Err(e) = serve(&rt, plant, &mut stdin.lock(), &mut stdout.lock()) {
        eprintln!("tokio-ports: {e}");
        std::process::exit(1);
    }
}

fn usage(why: &str) -> ! {
    eprintln!("tokio-ports: {why}\nusage: portcheck-tokio-ports [--plant NAME] | --list-plants");
    std::process::exit(3)
}

/// The adapter's loop: read a line, answer one (strict alternation, §1).
fn serve(
    rt: &tokio::runtime::Runtime,
    plant: Option<Plant>,
    input: &mut impl BufRead,
    out: &mut impl Write,
) -> io::Result<()> {
    let mut world: Option<World> = None;
    while let Some(msg) = protocol::read(input)? {
        let msg = match msg {
            Ok(m) => m,
            Err(message) => return protocol::write(out, &ToHarness::Error { step: None, message }),
        };
        match msg {
            FromHarness::Hello { version, setup } => {
                if world.is_some() {
                    let message = "a second hello: this adapter is not reusable".into();
                    return protocol::write(out, &ToHarness::Error { step: None, message });
                }
                if setup.parallelism {
                    // Declared in `abilities`; only a replayed trace asks.
                    let reason = "no port parallelism: a port has no task queue to parallelise (MQ-2)".into();
                    protocol::write(out, &ToHarness::Unsupported { step: None, reason })?;
                    continue;
                }
                if !setup.exit_on_close {
                    // Not declared either; only a replayed trace asks.
                    let reason =
                        "{exit_on_close, false} is not implemented (ready.abilities.exit_on_close is absent)".into();
                    protocol::write(out, &ToHarness::Unsupported { step: None, reason })?;
                    continue;
                }
                match rt.block_on(World::build(&setup, plant)) {
                    Ok(w) => {
                        let version = version.min(VERSION);
                        let ready = ToHarness::Ready {
                            version,
                            sut: "tokio-ports".into(),
                            reports: vec!["ran", "wrote", "read", "peer_got"],
                            info: w.info.clone(),
                            settles: false,
                            real_clock: true,
                            variant: "reference",
                            abilities: (version >= 2).then_some(ABILITIES),
                        };
                        world = Some(w);
                        protocol::write(out, &ready)?;
                    }
                    Err(message) => return protocol::write(out, &ToHarness::Error { step: None, message }),
                }
            }
            FromHarness::Op { step, op } => {
                let Some(w) = world.as_mut() else {
                    let message = "an op before hello".into();
                    return protocol::write(out, &ToHarness::Error { step: Some(step), message });
                };
                match rt.block_on(w.apply(&op)) {
                    Ok(Answer::Step { observation, choices }) => {
                        protocol::write(out, &ToHarness::Step { step, observation, choices, notes: vec![] })?
                    }
                    Ok(Answer::Unsupported(reason)) => {
                        protocol::write(out, &ToHarness::Unsupported { step: Some(step), reason })?
                    }
                    Err(message) => return protocol::write(out, &ToHarness::Error { step: Some(step), message }),
                }
            }
            FromHarness::Reset => {
                let reason = Some("not reusable: one process per case".into());
                return protocol::write(out, &ToHarness::Reset { clean: false, reason });
            }
            FromHarness::Bye => break,
        }
    }
    drop(world);
    Ok(())
}
