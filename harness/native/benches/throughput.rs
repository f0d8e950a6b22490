//! Native runtime throughput through a port on loopback, against a raw
//! blocking socket writer in the same run, at 64 KiB, 1 KiB and 64 B writes;
//! and against OTP's gen_tcp on the same workload when `escript` is present.
//!
//! Workload, for each: a writer sends `N` bytes in writes of `W` bytes over
//! loopback TCP (default socket options, Nagle on, as gen_tcp's defaults);
//! a passive reader drains the other end with blocking reads of up to
//! 256 KiB. The figure is N / (time from the first write until the reader
//! has all N bytes), in MB/s (10^6 bytes/s). Best of `REPS` runs.
//!
//! Beside it, the writer thread's CPU time per write (user + system,
//! `CLOCK_THREAD_CPUTIME_ID`, least of `REPS` runs): what one send costs
//! the sending thread, raw and through the port. Unlike MB/s it hardly
//! moves with the machine's load (it counts no time spent waiting for a
//! CPU), so the port's per-send overhead shows as the difference.
//!
//! - raw: `std::net::TcpStream::write_all` of a preallocated buffer.
//! - port: `native::Runtime` with its production clock
//!   (`InstantClock`), default port options (high 8192 / low 4096), one
//!   sender process calling `Runtime::send` repeatedly; when the send is
//!   deferred (the port went busy) the loop runs `Runtime::turn` until the
//!   sender's reply arrives, as a scheduler would run the port until the
//!   process is resumed. A reader thread drains the peer socket.
//! - gen_tcp: an escript (OTP on this machine): one process sends with
//!   `gen_tcp:send/2` a preallocated binary, another receives passively
//!   (`{active,false}`, `gen_tcp:recv(S, 0)`).
//!
//! `cargo bench -p portcheck-native --bench throughput`
//! (`PORTCHECK_BENCH_SCALE=F` multiplies the byte counts;
//! `PORTCHECK_BENCH_ONLY=port` runs only the port, e.g. under a profiler;
//! `PORTCHECK_BENCH_SIZES=64,1024` only those write sizes.)

use native::{Bytes, InstantClock, Runtime, SendFlags, SendResult, SenderId, SocketOpts};
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::process::Command;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

const REPS: usize = 5;
/// (write size, total bytes per run)
const SIZES: [(usize, usize); 3] = [(65536, 512 << 20), (1024, 128 << 20), (64, 12 << 20)];

fn machine() -> String {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into());
    let n = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    format!("machine: kernel {}, {} cpus, {}", release.trim(), n, cpu)
}

fn label(w: usize) -> String {
    if w >= 1024 {
        format!("{} KiB", w / 1024)
    } else {
        format!("{w} B")
    }
}

/// A passive reader on its own thread: accepts one connection, reads until
/// `total` bytes arrived, returns the instant it had them all.
fn reader(total: usize) -> (SocketAddr, JoinHandle<std::io::Result<Instant>>) {
    let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind loopback");
    let addr = l.local_addr().expect("local addr");
    let h = std::thread::spawn(move || {
        let (mut s, _) = l.accept()?;
        let mut buf = vec![0u8; 256 << 10];
        let mut got = 0;
        while got < total {
            match s.read(&mut buf)? {
                0 => {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::UnexpectedEof,
                        format!("EOF after {got} of {total}"),
                    ))
                }
                n => got += n,
            }
        }
        Ok(Instant::now())
    });
    (addr, h)
}

/// CPU time the calling thread has used (user + system).
fn thread_cpu() -> Duration {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes one timespec through the pointer.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID)");
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

fn mbps(total: usize, d: Duration) -> f64 {
    total as f64 / d.as_secs_f64() / 1e6
}

struct RawRun {
    mbps: f64,
    /// Writer thread CPU time per write, in ns.
    cpu_ns: f64,
}

fn raw(w: usize, total: usize) -> std::io::Result<RawRun> {
    let (addr, h) = reader(total);
    let mut s = TcpStream::connect(addr)?;
    let buf = vec![0x5au8; w];
    let start = Instant::now();
    let cpu0 = thread_cpu();
    let mut sent = 0;
    while sent < total {
        s.write_all(&buf)?;
        sent += w;
    }
    let cpu = thread_cpu() - cpu0;
    let end = h.join().expect("reader thread")?;
    Ok(RawRun { mbps: mbps(total, end - start), cpu_ns: cpu.as_nanos() as f64 / (total / w) as f64 })
}

struct PortRun {
    mbps: f64,
    /// Writer thread CPU time per send (the flush included), in ns.
    cpu_ns: f64,
    sends: usize,
    deferred: usize,
    turns: usize,
}

fn port(w: usize, total: usize) -> Result<PortRun, String> {
    let err = |e: &dyn std::fmt::Display| e.to_string();
    let (addr, h) = reader(total);
    let mut rt = Runtime::new(Box::new(InstantClock::default()), 2, 1, None).map_err(|e| err(&e))?;
    rt.connect(addr, SocketOpts::default(), &[]).map_err(|e| format!("connect: {e:?}"))?;
    let s0 = SenderId(0);
    let (mut sends, mut deferred, mut turns) = (0, 0, 0);
    let start = Instant::now();
    let cpu0 = thread_cpu();
    let mut sent = 0;
    while sent < total {
        let r = rt.send(s0, Bytes(w), sends as u16, SendFlags::default()).map_err(|e| err(&e))?;
        sends += 1;
        let r = match r {
            Some(r) => {
                // The runtime records every choice for the harness; a
                // production loop has no use for the log: drop it now and
                // then (bounded memory, few reallocations).
                if sends % 4096 == 0 {
                    let _ = rt.take_trace();
                }
                r
            }
            None => {
                deferred += 1;
                loop {
                    rt.turn(Some(Duration::from_secs(5))).map_err(|e| err(&e))?;
                    turns += 1;
                    let t = rt.take_trace();
                    if let Some(&(_, r)) = t.completed.iter().find(|(s, _)| *s == s0) {
                        break r;
                    }
                }
            }
        };
        if r != SendResult::Ok {
            return Err(format!("send {sends} returned {r:?}"));
        }
        sent += w;
    }
    // Flush what is still queued.
    while rt.queue_size().map_err(|e| err(&e))? > Bytes::ZERO {
        rt.turn(Some(Duration::from_secs(5))).map_err(|e| err(&e))?;
        turns += 1;
        let _ = rt.take_trace();
    }
    let cpu = thread_cpu() - cpu0;
    let end = h.join().expect("reader thread").map_err(|e| err(&e))?;
    Ok(PortRun { mbps: mbps(total, end - start), cpu_ns: cpu.as_nanos() as f64 / sends as f64, sends, deferred, turns })
}

const ESCRIPT: &str = r#"#!/usr/bin/env escript
%%! -noshell
%% gen_tcp throughput: one process sends N bytes in W-byte gen_tcp:send/2
%% calls (default options: nodelay false, high_watermark 8192), another
%% receives them passively. Prints "W N MB/s" for each size, best of Reps.
main([Reps0 | Specs]) ->
    Reps = list_to_integer(Reps0),
    lists:foreach(fun(Spec) ->
        [W, N] = [list_to_integer(X) || X <- string:split(Spec, ":")],
        Best = lists:max([run(W, N) || _ <- lists:seq(1, Reps)]),
        io:format("~b ~b ~.1f~n", [W, N, Best])
    end, Specs).

run(W, N) ->
    {ok, L} = gen_tcp:listen(0, [binary, {active, false}, {reuseaddr, true}, {ip, {127,0,0,1}}]),
    {ok, Port} = inet:port(L),
    Parent = self(),
    spawn_link(fun() ->
        {ok, S} = gen_tcp:accept(L),
        recv_loop(S, 0, N),
        Parent ! {done, erlang:monotonic_time(microsecond)},
        gen_tcp:close(S)
    end),
    {ok, C} = gen_tcp:connect({127,0,0,1}, Port, [binary, {active, false}]),
    Bin = binary:copy(<<16#5a>>, W),
    T0 = erlang:monotonic_time(microsecond),
    send_loop(C, Bin, N div W),
    T1 = receive {done, T} -> T end,
    gen_tcp:close(C),
    gen_tcp:close(L),
    N / (T1 - T0).

send_loop(_, _, 0) -> ok;
send_loop(C, Bin, K) -> ok = gen_tcp:send(C, Bin), send_loop(C, Bin, K - 1).

recv_loop(_, Got, N) when Got >= N -> ok;
recv_loop(S, Got, N) ->
    {ok, B} = gen_tcp:recv(S, 0),
    recv_loop(S, Got + byte_size(B), N).
"#;

/// gen_tcp figures from OTP, if `escript` is on PATH: (write size, MB/s).
fn gen_tcp(sizes: &[(usize, usize)]) -> Result<(String, Vec<(usize, f64)>), String> {
    let otp = Command::new("erl")
        .args(["-noshell", "-eval", "io:format(\"~s\", [erlang:system_info(otp_release)]), halt()."])
        .output()
        .map_err(|e| format!("erl: {e}"))?;
    let otp = String::from_utf8_lossy(&otp.stdout).trim().to_string();
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let path = dir.path().join("gen_tcp_throughput.escript");
    std::fs::write(&path, ESCRIPT).map_err(|e| e.to_string())?;
    let mut cmd = Command::new("escript");
    cmd.arg(&path).arg(REPS.to_string());
    for (w, n) in sizes {
        cmd.arg(format!("{w}:{n}"));
    }
    let out = cmd.output().map_err(|e| format!("escript: {e}"))?;
    if !out.status.success() {
        return Err(format!("escript failed: {}", String::from_utf8_lossy(&out.stderr)));
    }
    let mut res = Vec::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if let [w, _, r] = f[..] {
            res.push((w.parse().map_err(|_| line.to_string())?, r.parse().map_err(|_| line.to_string())?));
        }
    }
    Ok((otp, res))
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    if !args.is_empty() && !args.iter().any(|a| "throughput".contains(a.as_str())) {
        return;
    }
    let scale: f64 = std::env::var("PORTCHECK_BENCH_SCALE").ok().and_then(|v| v.parse().ok()).unwrap_or(1.0);
    let only: Option<Vec<usize>> = std::env::var("PORTCHECK_BENCH_SIZES")
        .ok()
        .map(|v| v.split(',').filter_map(|w| w.trim().parse().ok()).collect());
    let sizes: Vec<(usize, usize)> = SIZES
        .iter()
        .filter(|(w, _)| only.as_ref().is_none_or(|o| o.contains(w)))
        .map(|&(w, n)| (w, (((n as f64 * scale) as usize) / w).max(1) * w))
        .collect();
    println!("== throughput: native port vs raw socket vs gen_tcp, loopback, best of {REPS} ==");
    println!("{}", machine());
    let mut failed = false;
    let mut rows = Vec::new();
    if std::env::var("PORTCHECK_BENCH_ONLY").is_ok_and(|v| v == "port") {
        for &(w, n) in &sizes {
            match port(w, n) {
                Ok(p) => println!("{:>7} writes: port {:>8.1} MB/s", label(w), p.mbps),
                Err(e) => println!("{:>7} writes: port failed: {e}", label(w)),
            }
        }
        return;
    }
    for &(w, n) in &sizes {
        // Interleaved (raw, port, raw, port, ...) so drift hits both alike.
        let (mut r, mut p): (Result<f64, String>, Result<PortRun, String>) =
            (Err("no run".into()), Err("no run".into()));
        let (mut raw_cpu, mut port_cpu) = (f64::INFINITY, f64::INFINITY);
        for _ in 0..REPS {
            let ri = raw(w, n).map_err(|e| e.to_string());
            let pi = port(w, n);
            if let (Ok(a), Ok(b)) = (&ri, &pi) {
                raw_cpu = raw_cpu.min(a.cpu_ns);
                port_cpu = port_cpu.min(b.cpu_ns);
            }
            r = match (r, ri.map(|x| x.mbps)) {
                (Ok(a), Ok(b)) => Ok(a.max(b)),
                (_, Ok(b)) => Ok(b),
                (_, Err(e)) => Err(e),
            };
            p = match (p, pi) {
                (Ok(a), Ok(b)) => Ok(if b.mbps > a.mbps { b } else { a }),
                (_, Ok(b)) => Ok(b),
                (_, Err(e)) => Err(e),
            };
            if r.is_err() || p.is_err() {
                break;
            }
        }
        match (r, p) {
            (Ok(r), Ok(p)) => {
                println!(
                    "{:>7} writes, {:>4} MiB: raw {:>8.1} MB/s  port {:>8.1} MB/s  port/raw {:>5.1}% [goal >= 80%]  \
                     ({} sends, {} deferred by busy, {} turns)",
                    label(w),
                    n >> 20,
                    r,
                    p.mbps,
                    100.0 * p.mbps / r,
                    p.sends,
                    p.deferred,
                    p.turns
                );
                println!(
                    "{:>7} writes: writer CPU per send: raw {:.0} ns, port {:.0} ns (+{:.0} ns; raw/port {:.1}%)",
                    label(w),
                    raw_cpu,
                    port_cpu,
                    port_cpu - raw_cpu,
                    100.0 * raw_cpu / port_cpu
                );
                rows.push((w, r, p.mbps));
                // The runtime takes (len, tag), not bytes: it synthesizes
                // each send's payload (native::payload, the bytes the
                // model's reference::units::payload defines) itself.
                let k = (n / w).min(1 << 16);
                let mut buf = Vec::new();
                let t = Instant::now();
                for i in 0..k {
                    std::hint::black_box(native::payload::payload_into(i as u16, Bytes(w), &mut buf));
                }
                let per = t.elapsed().as_secs_f64() / k as f64;
                let port_per = w as f64 / (p.mbps * 1e6);
                let rest = port_per - per;
                println!(
                    "{:>7} writes: payload synthesis alone (inside Runtime::send) {:>8.1} MB/s, {:.2} us per send; \
                     port time without it (estimate) {}",
                    label(w),
                    w as f64 / per / 1e6,
                    per * 1e6,
                    if rest > 0.0 {
                        format!("{:.0} MB/s, {:.0}% of raw", w as f64 / rest / 1e6, 100.0 * w as f64 / rest / 1e6 / r)
                    } else {
                        "n/a".into()
                    }
                );
            }
            (r, p) => {
                failed = true;
                println!("{:>7} writes: raw {r:?}, port {:?}", label(w), p.map(|p| p.mbps));
            }
        }
    }
    match gen_tcp(&sizes) {
        Ok((otp, res)) => {
            for (w, g) in res {
                if let Some(&(_, r, p)) = rows.iter().find(|x| x.0 == w) {
                    println!(
                        "{:>7} writes: gen_tcp (OTP {otp}) {g:>8.1} MB/s  gen_tcp/raw {:>5.1}%  port/gen_tcp x{:.2}",
                        label(w),
                        100.0 * g / r,
                        p / g
                    );
                }
            }
        }
        Err(e) => println!("gen_tcp: not measured ({e})"),
    }
    if failed {
        std::process::exit(1);
    }
}
