//! Reference model operations per second on long random sequences.
//!
//! The model needs the kernel's and the scheduler's choices as inputs, so
//! real ones are recorded first: generated cases (fixed seed, up to
//! `MAX_OPS` ops each) run through the native runtime with `run_case`; each
//! `TraceStep`'s op and choices are kept. Then only `Model::new` and
//! `Model::step(op, &choices)` are timed, replaying every recorded trace
//! many times. Every replayed step must be accepted (no divergence), and
//! one untimed pass compares each prediction with what was observed.
//!
//! `cargo bench -p portcheck --bench model_replay`
//! (`PORTCHECK_BENCH_CASES`, `PORTCHECK_BENCH_REPS`, `PORTCHECK_SEED`.)

use harness::executor::run_case;
use harness::sut::native::NativeFactory;
use proptest::strategy::{Strategy, ValueTree};
use reference::choice::Choice;
use reference::model::{compare, Model};
use reference::observation::Observation;
use reference::op::{Op, Setup};
use std::hint::black_box;
use std::time::Instant;
use suite::check::runner;
use suite::environment::machine;

const MAX_OPS: usize = 200;

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

struct Recorded {
    setup: Setup,
    steps: Vec<(Op, Vec<Choice>)>,
    observed: Vec<Option<Observation>>,
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    if !args.is_empty() && !args.iter().any(|a| "model_replay".contains(a.as_str())) {
        return;
    }
    let cases: u32 = env_or("PORTCHECK_BENCH_CASES", 60);
    let reps: u32 = env_or("PORTCHECK_BENCH_REPS", 400);
    let seed: u64 = env_or("PORTCHECK_SEED", 7001);
    println!("== model_replay: reference model steps/s on recorded traces ==");
    println!("{}", machine());

    // Record real choices.
    let factory = NativeFactory::new(None);
    let mut rng = runner(seed);
    let strategy = suite::generate::case(MAX_OPS, harness::sut::Abilities::ALL);
    let t0 = Instant::now();
    let mut traces = Vec::new();
    let mut failed = 0;
    for _ in 0..cases {
        let (setup, ops) = strategy.new_tree(&mut rng).expect("strategy never rejects").current();
        let out = run_case(&factory, &setup, &ops);
        if !out.passed() {
            failed += 1;
            continue;
        }
        let observed = out.trace.iter().map(|t| t.observed.clone()).collect();
        let steps = out.trace.into_iter().map(|t| (t.op, t.choices)).collect();
        traces.push(Recorded { setup, steps, observed });
    }
    let total_steps: usize = traces.iter().map(|t| t.steps.len()).sum();
    let total_choices: usize = traces.iter().flat_map(|t| t.steps.iter()).map(|(_, c)| c.len()).sum();
    println!(
        "recorded {} traces (seed {seed}, up to {MAX_OPS} generated ops each, {failed} failing cases dropped): \
         {total_steps} steps, {total_choices} choices, in {:.2}s",
        traces.len(),
        t0.elapsed().as_secs_f64()
    );
    if traces.is_empty() {
        eprintln!("model_replay: nothing recorded");
        std::process::exit(1);
    }
    let payload: usize = traces
        .iter()
        .flat_map(|t| t.steps.iter())
        .flat_map(|(_, c)| c.iter())
        .map(|c| match c {
            Choice::PeerGot { got } | Choice::Read { got } => got.0,
            _ => 0,
        })
        .sum();
    println!(
        "payload bytes the model materializes per replay (peer reads, recv, active input): {payload} ({:.0} per step)",
        payload as f64 / total_steps as f64
    );
    let longest = traces.iter().map(|t| t.steps.len()).max().unwrap_or(0);
    println!("trace length: mean {:.0} steps, longest {longest}", total_steps as f64 / traces.len() as f64);

    // Sanity (untimed): every step is accepted again and every prediction
    // equals what the runtime observed when it was recorded.
    let mut bad = 0;
    for t in &traces {
        let mut m = Model::new(&t.setup).expect("recorded setups are valid");
        for ((op, choices), observed) in t.steps.iter().zip(&t.observed) {
            match m.step(op, choices) {
                Ok(p) => {
                    if let Some(mm) = observed.as_ref().and_then(|o| compare(&p, o)) {
                        bad += 1;
                        eprintln!("replay mismatch: [{}] {}", mm.rule, mm.field);
                        break;
                    }
                }
                Err(d) => {
                    bad += 1;
                    eprintln!("replay diverged: {d}");
                    break;
                }
            }
        }
    }
    if bad > 0 {
        eprintln!("model_replay: {bad} traces did not replay identically");
        std::process::exit(1);
    }
    println!("replay check: every step accepted, every prediction equals the recorded observation");

    // Timed: Model::new + Model::step over every trace, `reps` times.
    let warm = (reps / 20).max(1);
    for _ in 0..warm {
        replay_all(&traces);
    }
    let t = Instant::now();
    let mut steps = 0usize;
    for _ in 0..reps {
        steps += replay_all(&traces);
    }
    let secs = t.elapsed().as_secs_f64();
    let news = traces.len() as f64 * reps as f64;
    println!("model: {steps} steps ({reps} replays of {} traces, {news:.0} Model::new) in {secs:.3}s", traces.len());
    println!(
        "model: {:.2} million steps/s ({:.0} ns/step) [goal >= 10 million/s]",
        steps as f64 / secs / 1e6,
        secs * 1e9 / steps as f64
    );

    // The same, per op kind (one timed pass each, to show which ops cost).
    let mut per_kind: std::collections::BTreeMap<&'static str, (usize, f64)> = Default::default();
    let kind_reps = (reps / 10).max(1);
    for _ in 0..kind_reps {
        for tr in &traces {
            let mut m = Model::new(&tr.setup).expect("valid");
            for (op, choices) in &tr.steps {
                let t = Instant::now();
                let p = m.step(op, choices);
                let dt = t.elapsed().as_secs_f64();
                black_box(&p);
                let e = per_kind.entry(op.name()).or_default();
                e.0 += 1;
                e.1 += dt;
            }
        }
    }
    println!("model: per op kind (timed one step at a time, includes ~20 ns of timer overhead each):");
    for (k, (n, s)) in per_kind {
        println!("  {k:<14} {:>9} steps  {:>7.0} ns/step", n / kind_reps as usize, s * 1e9 / n as f64);
    }
}

fn replay_all(traces: &[Recorded]) -> usize {
    let mut n = 0;
    for t in traces {
        let mut m = Model::new(black_box(&t.setup)).expect("valid");
        for (op, choices) in &t.steps {
            let p = m.step(black_box(op), black_box(choices));
            black_box(&p);
            n += 1;
        }
    }
    n
}
