//! The lockstep executor against the native runtime on real loopback
//! sockets: operations/s and cases/s.
//!
//! 1. `suite::check::check` over `CASES` generated cases (fixed seed, the
//!    configuration `make test`'s lockstep property uses): cases/s.
//! 2. The very same cases (same seed, same generator, same RNG stream) through
//!    `run_case`, with the system under test wrapped so every `apply` is
//!    timed per op kind: executed steps/s (generated ops plus the drain's
//!    steps), and where the wall time goes. Time spent outside `apply` is
//!    the model, the comparison and the executor.
//!
//! `cargo bench -p portcheck --bench lockstep`
//! (`PORTCHECK_BENCH_CASES`, `PORTCHECK_SEED`.)

use harness::executor::run_case;
use harness::sut::native::NativeFactory;
use harness::sut::{Step, SutError, SutFactory, SystemUnderTest};
use proptest::strategy::{Strategy, ValueTree};
use reference::op::{Op, Setup};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::{Duration, Instant};
use suite::check::{check, runner, CheckConfig};
use suite::environment::machine;

const MAX_OPS: usize = 40;

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

#[derive(Default)]
struct Times {
    /// op name -> (count, total, max)
    per_op: BTreeMap<&'static str, (usize, Duration, Duration)>,
    start: (usize, Duration, Duration),
}

fn add(e: &mut (usize, Duration, Duration), d: Duration) {
    e.0 += 1;
    e.1 += d;
    e.2 = e.2.max(d);
}

struct Timed {
    inner: NativeFactory,
    times: Rc<RefCell<Times>>,
}

struct TimedSut {
    inner: Box<dyn SystemUnderTest>,
    times: Rc<RefCell<Times>>,
}

impl SutFactory for Timed {
    fn name(&self) -> &str {
        self.inner.name()
    }
    fn start(&self, setup: &Setup) -> Result<Box<dyn SystemUnderTest>, SutError> {
        let t = Instant::now();
        let inner = self.inner.start(setup)?;
        add(&mut self.times.borrow_mut().start, t.elapsed());
        Ok(Box::new(TimedSut { inner, times: self.times.clone() }))
    }
}

impl SystemUnderTest for TimedSut {
    fn apply(&mut self, op: &Op) -> Result<Step, SutError> {
        let t = Instant::now();
        let r = self.inner.apply(op);
        let d = t.elapsed();
        add(self.times.borrow_mut().per_op.entry(op.name()).or_default(), d);
        r
    }
    fn reports_all_choices(&self) -> bool {
        self.inner.reports_all_choices()
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    if !args.is_empty() && !args.iter().any(|a| "lockstep".contains(a.as_str())) {
        return;
    }
    let cases: u32 = env_or("PORTCHECK_BENCH_CASES", 150);
    let seed: u64 = env_or("PORTCHECK_SEED", 42);
    println!("== lockstep: executor + native runtime on loopback sockets ==");
    println!("{}", machine());

    // 1. The property runner as `make test` runs it.
    let factory = NativeFactory::new(None);
    let cfg = CheckConfig { max_ops: MAX_OPS, max_shrink_iters: 0, ..CheckConfig::new(seed, cases) };
    let t = Instant::now();
    let report = check(&factory, &cfg, |_, _| {});
    let check_secs = t.elapsed().as_secs_f64();
    println!(
        "check: {} cases ({} passed) of seed {seed}, max_ops {MAX_OPS}, in {check_secs:.2}s: {:.1} cases/s",
        report.cases,
        report.passed,
        report.cases as f64 / check_secs
    );
    if let Some(cx) = &report.counterexample {
        println!("check: case {} FAILED under {:?} (the figures below still count it)", cx.case_index, cx.rule());
    }

    // 2. The same cases, timed per op.
    let times = Rc::new(RefCell::new(Times::default()));
    let timed = Timed { inner: factory, times: times.clone() };
    let mut rng = runner(seed);
    let strategy = suite::generate::case(MAX_OPS, harness::sut::Abilities::ALL);
    let (mut generated, mut skipped, mut steps, mut failed) = (0usize, 0usize, 0usize, 0usize);
    let t = Instant::now();
    for _ in 0..cases {
        let (setup, ops) = strategy.new_tree(&mut rng).expect("strategy never rejects").current();
        let out = run_case(&timed, &setup, &ops);
        generated += ops.len();
        skipped += out.skipped_ops;
        steps += out.trace.len();
        failed += usize::from(!out.passed());
    }
    let wall = t.elapsed();
    let secs = wall.as_secs_f64();
    println!(
        "run_case: {cases} cases ({failed} failed): {generated} generated ops ({skipped} skipped as not enabled), \
         {steps} executed steps incl. the drain, in {secs:.2}s"
    );
    println!(
        "lockstep: {:.0} ops/s (executed steps), {:.0} generated ops/s, {:.1} cases/s [goal >= 15000 ops/s, issue 18]",
        steps as f64 / secs,
        (generated - skipped) as f64 / secs,
        cases as f64 / secs
    );
    let times = times.borrow();
    let in_sut: Duration = times.per_op.values().map(|e| e.1).sum::<Duration>() + times.start.1;
    println!("where the wall time goes ({:.0} ms in total):", ms(wall));
    println!("  {:<16} {:>7} {:>10} {:>10} {:>10} {:>6}", "", "count", "total ms", "mean us", "max ms", "share");
    let row = |name: &str, e: &(usize, Duration, Duration)| {
        println!(
            "  {:<16} {:>7} {:>10.1} {:>10.1} {:>10.2} {:>5.1}%",
            name,
            e.0,
            ms(e.1),
            e.1.as_secs_f64() * 1e6 / e.0.max(1) as f64,
            ms(e.2),
            100.0 * e.1.as_secs_f64() / secs
        )
    };
    row("setup (start)", &times.start);
    let mut by_total: Vec<_> = times.per_op.iter().collect();
    by_total.sort_by_key(|e| std::cmp::Reverse(e.1 .1));
    for (name, e) in by_total {
        row(name, e);
    }
    let outside = wall.saturating_sub(in_sut);
    println!(
        "  {:<16} {:>7} {:>10.1} {:>10} {:>10} {:>5.1}%",
        "model+executor",
        "",
        ms(outside),
        "",
        "",
        100.0 * outside.as_secs_f64() / secs
    );
}
