//! KN-FP-1: a kernel fingerprint: the release, the effective minimum
//! socket buffers, and which of the KN behaviours hold, with the values
//! that define them. Recorded as the insta snapshot
//! `snapshots/kernel_fingerprint.snap` by `suite/tests/kernel.rs`.
//!
//! Choice: the release is recorded as `major.minor` only (`6.18`, not
//! `6.18.44-fc-v669`). Every expectation here is keyed on major.minor (the
//! pipe timestamp change landed in 6.15), so a patch-level or vendor-suffix
//! bump must not fail CI; a minor bump does, on purpose, so the snapshot is
//! reviewed. Timings are left out (they vary from run to run); everything
//! that defines behaviour is kept.

use super::accept_exhaustion;
use super::connect::{self, ConnectObservation};
use super::pipe_atime::{self, Changed, NoatimePermission, PipeKind};
use super::rps_probe;
use super::rst::{self, CloseMode, CloseObservation};
use super::{fd_exhaustion, file_atime, rps_default_mask};
use super::{sockbuf, KernelRelease, Probe};
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct KernelFingerprint {
    /// `uname -r` reduced to major.minor (see the module doc).
    pub release: String,
    /// SO_SNDBUF / SO_RCVBUF read back after setting 1 (KN-BUF-1).
    pub min_sndbuf_after_setting_1: i32,
    pub min_rcvbuf_after_setting_1: i32,
    /// What the peer sees for each way of closing (KN-RST-*).
    pub close: BTreeMap<String, String>,
    /// Non-blocking connect outcomes (KN-CONN-*).
    pub connect: BTreeMap<String, String>,
    /// A refused non-blocking connect polls writable (KN-CONN-2).
    pub writable_while_refused: bool,
    /// Timestamps changed by a 1-byte write / read (KN-PIPE-1..3).
    pub pipe_timestamps: BTreeMap<String, String>,
    /// Who may set O_NOATIME (KN-PIPE-4).
    pub o_noatime: NoatimePermission,
    /// Regular files: O_NOATIME and the mount's atime policy (KN-ATIME-*).
    pub file_atime: BTreeMap<String, String>,
    /// accept at RLIMIT_NOFILE (KN-EMFILE-1/2).
    pub accept_at_fd_limit: BTreeMap<String, String>,
    /// pipe and open at RLIMIT_NOFILE (KN-EMFILE-3..5).
    pub pipe_open_at_fd_limit: BTreeMap<String, String>,
    /// rps_cpus writes that are CPU-count independent (KN-RPS-1/2) and
    /// whether steering shows in received_rps (KN-RPS-3; "n/a" below 2 CPUs).
    pub rps: BTreeMap<String, String>,
    /// Rule ID → whether the behaviour held on this kernel.
    pub holds: BTreeMap<String, bool>,
}

/// A peer's read as the fingerprint words it: EOF, a byte count, or the errno.
fn read_text(r: &Result<usize, String>) -> String {
    match r {
        Ok(0) => "EOF".to_string(),
        Ok(n) => format!("{n} bytes"),
        Err(e) => e.clone(),
    }
}

fn close_text(o: &CloseObservation) -> String {
    format!(
        "peer reads {} then {}; TCPAbortOnClose +{}, TCPAbortOnData +{}",
        read_text(&o.first_read),
        read_text(&o.second_read),
        o.abort_on_close_delta,
        o.abort_on_data_delta
    )
}

fn connect_text(o: &ConnectObservation) -> String {
    if o.immediate == "EINPROGRESS" {
        format!("EINPROGRESS, then {}, SO_ERROR {}", o.revents, o.so_error)
    } else {
        format!("{} at once", o.immediate)
    }
}

fn changed_text(c: &Changed) -> String {
    let v: Vec<&str> = [(c.atime, "atime"), (c.mtime, "mtime"), (c.ctime, "ctime")]
        .iter()
        .filter(|(b, _)| *b)
        .map(|(_, n)| *n)
        .collect();
    if v.is_empty() {
        "none".into()
    } else {
        v.join("+")
    }
}

/// Records `r`'s text, or the violation / error it reported, and whether
/// the rule held.
fn note<T>(holds: &mut BTreeMap<String, bool>, rule: &str, r: &Probe<T>) {
    let ok = r.is_ok();
    let e = holds.entry(rule.to_string()).or_insert(true);
    *e &= ok;
}

fn text_or_err<T>(r: &Probe<T>, f: impl FnOnce(&T) -> String) -> String {
    match r {
        Ok(v) => f(v),
        Err(e) => format!("violated/failed: {e}"),
    }
}

/// Runs every probe (needs root and netns) and builds the fingerprint.
/// A probe that could not run at all (setup error) makes this an error;
/// a broken expectation is recorded (`holds` false, text says why).
pub fn collect() -> Probe<KernelFingerprint> {
    let release = KernelRelease::running()?;
    let mut holds = BTreeMap::new();

    let bufs = sockbuf::probe();
    note(&mut holds, "KN-BUF-1", &bufs);
    let raw = match &bufs {
        Ok(b) => *b,
        Err(_) => sockbuf::observe()?,
    };

    let mut close = BTreeMap::new();
    for (rule, key, mode) in [
        ("KN-RST-1", "unread data", CloseMode::Unread),
        ("KN-RST-2", "drained", CloseMode::Drained),
        ("KN-RST-3", "drained, SO_LINGER {1,0}", CloseMode::DrainedLinger0),
        ("KN-RST-4", "unread data, SO_LINGER {1,0}", CloseMode::UnreadLinger0),
    ] {
        let o = rst::observe(mode)?;
        let checked = match mode {
            CloseMode::Unread => rst::check_unread(&o),
            CloseMode::Drained => rst::check_drained(&o),
            CloseMode::DrainedLinger0 => rst::check_linger0(&o),
            CloseMode::UnreadLinger0 => rst::check_unread_linger0(&o),
        };
        note(&mut holds, rule, &checked);
        close.insert(key.to_string(), close_text(&o));
    }
    let o = rst::observe_reset_then_close()?;
    note(&mut holds, "KN-RST-6", &rst::check_reset_then_close(&o));
    close.insert(
        "unread data, reset by the peer first".to_string(),
        format!(
            "{} bytes unread, the close sends nothing: TCPAbortOnClose +{}, OutRsts +{}",
            o.unread, o.abort_on_close_delta, o.out_rsts_delta
        ),
    );
    let o = rst::observe_flushed_close()?;
    note(&mut holds, "KN-RST-8", &rst::check_flushed_close(&o));
    close.insert(
        "drained, output still queued in the kernel".to_string(),
        format!(
            "output queued at the close: {}; the peer reads {} then {}; TCPAbortOnClose +{}, TCPAbortOnData +{}",
            o.queued_at_close > 0,
            if o.peer_read == o.written { "every byte" } else { "fewer bytes than written" },
            read_text(&o.peer_end),
            o.abort_on_close_delta,
            o.abort_on_data_delta
        ),
    );
    let o = rst::observe_syn_sent_close()?;
    note(&mut holds, "KN-RST-7", &rst::check_syn_sent_close(&o));
    close.insert(
        "connect still in SYN_SENT".to_string(),
        format!(
            "connect {}, tcpi_state {} before the close; OutRsts +{}",
            o.immediate, o.state_before_close, o.out_rsts_delta
        ),
    );

    let o = rst::observe_remote_fin_then_close()?;
    note(&mut holds, "KN-RST-9", &rst::check_remote_fin_then_close(&o));
    close.insert(
        "drained, the peer's FIN first".to_string(),
        format!(
            "close sends {}; the peer reads {}, its side in TIME_WAIT: {}; OutRsts +{}; a later segment from the peer draws {} (OutRsts +{})",
            match o.close_segment_flags {
                Some(f) if f & 0x04 != 0 => "RST",
                Some(f) if f & 0x01 != 0 => "FIN",
                Some(_) => "neither FIN nor RST",
                None => "nothing seen",
            },
            read_text(&o.peer_read),
            o.peer_states == [6],
            o.out_rsts_after_close,
            if o.answer.is_some_and(|a| a.flags & 0x04 != 0) { "RST" } else { "no RST" },
            o.out_rsts_after_segment
        ),
    );
    let o = rst::observe_shutdown_rdwr()?;
    note(&mut holds, "KN-RST-10", &rst::check_shutdown_rdwr(&o));
    close.insert(
        "shutdown(SHUT_RDWR), drained, output still queued in the kernel".to_string(),
        format!(
            "output queued at the shutdown: {}; the peer reads {} then {}; a later write {}; TCPAbortOnClose +{}, TCPAbortOnData +{}, OutRsts +{}",
            o.queued_at_shutdown > 0,
            if o.peer_read == o.written { "every byte" } else { "fewer bytes than written" },
            read_text(&o.peer_end),
            match &o.write_after {
                Ok(n) => format!("took {n} bytes"),
                Err(e) => e.clone(),
            },
            o.abort_on_close_delta,
            o.abort_on_data_delta,
            o.out_rsts_delta
        ),
    );
    let o = rst::observe_listener_closed()?;
    note(&mut holds, "KN-RST-11", &rst::check_listener_closed(&o));
    close.insert(
        "listener closed with connections unaccepted".to_string(),
        format!(
            "{} queued; the clients read {}; OutRsts +{}",
            o.queued,
            o.client_reads
                .iter()
                .map(|(a, b)| format!("{} then {}", read_text(a), read_text(b)))
                .collect::<Vec<_>>()
                .join(", "),
            o.out_rsts_delta
        ),
    );

    let mut conn = BTreeMap::new();
    let r = connect::closed_loopback();
    note(&mut holds, "KN-CONN-1", &r);
    conn.insert("closed loopback port".to_string(), text_or_err(&r, connect_text));
    let naive = connect::naive_is_wrong();
    note(&mut holds, "KN-CONN-2", &naive);
    let writable_while_refused = naive.as_ref().map(|n| n.naive_says_connected).unwrap_or(false);
    let r = connect::listening_loopback();
    note(&mut holds, "KN-CONN-3", &r);
    conn.insert("listening loopback port".to_string(), text_or_err(&r, connect_text));
    let r = connect::no_route();
    note(&mut holds, "KN-CONN-4", &r);
    conn.insert("no route".to_string(), text_or_err(&r, connect_text));
    let r = connect::dropped_syn();
    note(&mut holds, "KN-CONN-5", &r);
    conn.insert("SYNs dropped, TCP_SYNCNT=1".to_string(), text_or_err(&r, |o| connect_text(&o.connect)));
    conn.insert("ARP unanswered".to_string(), text_or_err(&r, |o| connect_text(&o.arp_failure)));
    let r = connect::route_types();
    note(&mut holds, "KN-CONN-6", &r);
    match &r {
        Ok(v) => {
            for o in v {
                conn.insert(o.case.clone(), connect_text(o));
            }
        }
        Err(e) => {
            conn.insert("route types".to_string(), format!("violated/failed: {e}"));
        }
    }

    let r = connect::blocking_refused();
    note(&mut holds, "KN-CONN-7", &r);
    conn.insert(
        "blocking, closed loopback port".to_string(),
        text_or_err(&r, |o| {
            format!("{} in the call, then SO_ERROR {}; again: {}", o.first, o.so_error_after, o.second)
        }),
    );

    let mut pipes = BTreeMap::new();
    for (rule, key, kind, noatime) in [
        ("KN-PIPE-1", "anonymous pipe", PipeKind::Anonymous, false),
        ("KN-PIPE-1", "anonymous pipe, reader O_NOATIME", PipeKind::Anonymous, true),
        ("KN-PIPE-2", "FIFO", PipeKind::Fifo, false),
        ("KN-PIPE-3", "FIFO, reader O_NOATIME", PipeKind::Fifo, true),
    ] {
        let r = pipe_atime::probe(kind, noatime);
        note(&mut holds, rule, &r);
        pipes.insert(
            key.to_string(),
            text_or_err(&r, |(o, _)| {
                format!("write changes {}; read changes {}", changed_text(&o.after_write), changed_text(&o.after_read))
            }),
        );
    }
    let perm = pipe_atime::noatime_permission();
    note(&mut holds, "KN-PIPE-4", &perm);
    let o_noatime = match perm {
        Ok(p) => p,
        Err(e) => NoatimePermission {
            owner_root_on_fifo: format!("violated/failed: {e}"),
            unprivileged_owner_on_own_pipe: String::new(),
            non_owner_fcntl_on_root_fifo: String::new(),
            non_owner_open_noatime_on_root_fifo: String::new(),
        },
    };

    let fa = file_atime::observe()?;
    note(&mut holds, "KN-ATIME-1", &file_atime::check_open(&fa));
    note(&mut holds, "KN-ATIME-2", &file_atime::check_openat(&fa));
    note(&mut holds, "KN-ATIME-3", &file_atime::check_non_owner(&fa));
    note(&mut holds, "KN-ATIME-4", &file_atime::check_mount(&fa));
    let changes = |b: bool| if b { "changes atime" } else { "leaves atime" }.to_string();
    let mut file_atime = BTreeMap::new();
    file_atime.insert("strictatime, open(O_NOATIME) then read".to_string(), changes(fa.strict_open_noatime));
    file_atime.insert("strictatime, open() then read".to_string(), changes(fa.strict_open_plain));
    file_atime.insert("strictatime, openat(O_NOATIME) then read".to_string(), changes(fa.strict_openat_noatime));
    file_atime.insert("strictatime, openat() then read".to_string(), changes(fa.strict_openat_plain));
    file_atime.insert("noatime mount, atime older than mtime".to_string(), changes(fa.noatime_mount_old_atime));
    file_atime.insert("strictatime, atime newer than mtime/ctime".to_string(), changes(fa.strict_mount_recent_atime));
    file_atime.insert("relatime, atime newer than mtime/ctime".to_string(), changes(fa.relatime_mount_recent_atime));
    file_atime.insert("non-owner open(O_NOATIME)".to_string(), fa.non_owner_open_noatime.clone());
    file_atime.insert("non-owner open()".to_string(), fa.non_owner_open_plain.clone());

    let fe = fd_exhaustion::observe()?;
    note(&mut holds, "KN-EMFILE-3", &fd_exhaustion::check_pipe(&fe));
    note(&mut holds, "KN-EMFILE-4", &fd_exhaustion::check_pipe_count(&fe));
    note(&mut holds, "KN-EMFILE-5", &fd_exhaustion::check_open(&fe));
    let mut pipe_open = BTreeMap::new();
    pipe_open.insert("pipe, no fd free".to_string(), fe.pipe_at_limit.clone());
    pipe_open.insert("pipe, one fd free".to_string(), fe.pipe_one_free.clone());
    pipe_open.insert("open / openat, no fd free".to_string(), format!("{} / {}", fe.open_at_limit, fe.openat_at_limit));
    pipe_open.insert(
        "open after one fd closed gets that fd".to_string(),
        (fe.open_after_free == format!("fd {}", fe.freed_fd)).to_string(),
    );
    let free = fe.count_limit.saturating_sub(fe.count_open_before);
    pipe_open.insert(
        "pipes from an odd number of free fds".to_string(),
        format!(
            "{} pipes, then {}; the odd fd then opens: {}",
            if fe.pipes == free / 2 { "(free - 1) / 2" } else { "not (free - 1) / 2" },
            fe.pipe_after_last,
            fe.open_after_last_pipe
        ),
    );

    let em = accept_exhaustion::observe()?;
    note(&mut holds, "KN-EMFILE-1", &accept_exhaustion::check_emfile(&em));
    note(&mut holds, "KN-EMFILE-2", &accept_exhaustion::check_loop(&em));
    let mut accept = BTreeMap::new();
    accept.insert("accept, connection waiting".to_string(), em.accept_with_waiting_connection.clone());
    accept.insert("accept, empty queue".to_string(), em.accept_empty_queue.clone());
    accept.insert(
        "connection stays queued".to_string(),
        (em.listener_readable_while_exhausted && em.still_queued_after_loops).to_string(),
    );
    accept.insert(
        "same connection accepted after one fd freed".to_string(),
        (em.accepted_after_release && em.accepted_peer_matches && em.data_intact).to_string(),
    );
    accept.insert(
        "naive level-triggered loop spins".to_string(),
        (em.naive.wakeups > 2 * em.pause_wakeup_bound).to_string(),
    );
    let shed_read = if em.shed_client_read == "0" { "EOF".to_string() } else { em.shed_client_read.clone() };
    accept.insert("reserve-and-shed: shed client reads".to_string(), shed_read);

    let ro = rps_probe::observe()?;
    note(&mut holds, "KN-RPS-1/2", &rps_probe::check_masks(&ro));
    let effect = rps_probe::check_effect(&ro);
    let mut rps = BTreeMap::new();
    // Readbacks are shown as CPU lists: their hex width depends on the
    // machine's nr_cpu_ids, the behaviour does not.
    let n = ro.nr_cpu_ids;
    let shown = |k: &Result<String, String>| match k {
        Ok(r) => match crate::kernel::rps::CpuSet::parse_mask(r, n) {
            Ok(c) => format!("accepted, CPUs {{{}}}", c.to_list()),
            Err(e) => format!("accepted, unparsable readback {r:?} ({e})"),
        },
        Err(e) => e.clone(),
    };
    let kernel_says = |input: &str| -> String {
        ro.writes.iter().find(|w| w.input == input).map(|w| shown(&w.kernel)).unwrap_or_else(|| "not tried".into())
    };
    rps.insert("non-hex (zz)".to_string(), kernel_says("zz"));
    rps.insert("0x prefix (0x3)".to_string(), kernel_says("0x3"));
    rps.insert("non-digit after 8 digits (x00000001)".to_string(), kernel_says("x00000001"));
    rps.insert("0".to_string(), kernel_says("0"));
    let over_input =
        crate::kernel::rps::CpuSet::from_iter([ro.nr_cpu_ids]).to_mask(ro.nr_cpu_ids + 1).unwrap_or_default();
    let over = ro.writes.iter().find(|w| w.input == over_input).map(|w| w.kernel.clone());
    rps.insert("bit at nr_cpu_ids".to_string(), over.map(|k| shown(&k)).unwrap_or_else(|| "not tried".into()));
    let extra = ro.writes.iter().find(|w| w.input.contains(',') && w.input.ends_with(",1"));
    rps.insert("one group too many".to_string(), extra.map(|w| shown(&w.kernel)).unwrap_or_else(|| "not tried".into()));
    rps.insert(
        "steering shows in received_rps".to_string(),
        if ro.steered.is_none() { "n/a (fewer than 2 CPUs)".to_string() } else { effect.is_ok().to_string() },
    );
    if ro.steered.is_some() {
        note(&mut holds, "KN-RPS-3", &effect);
    }

    match rps_default_mask::skip_reason() {
        Some(_) => {
            rps.insert("rps_default_mask".to_string(), "n/a (no net.core.rps_default_mask)".to_string());
        }
        None => {
            let o = rps_default_mask::observe()?;
            note(&mut holds, "KN-RPS-4", &rps_default_mask::check(&o));
            rps.insert(
                "rps_default_mask".to_string(),
                format!(
                    "new netns {{{}}}; set to {{0}}: a device made after it gets {{{}}}, lo keeps {{{}}}, another netns {{{}}} and its new device {{{}}}",
                    o.a_default_new, o.a_veth_made_after_write, o.a_lo_after_write, o.b_default, o.b_veth
                ),
            );
        }
    }

    Ok(KernelFingerprint {
        release: release.major_minor(),
        min_sndbuf_after_setting_1: raw.sndbuf,
        min_rcvbuf_after_setting_1: raw.rcvbuf,
        close,
        connect: conn,
        writable_while_refused,
        pipe_timestamps: pipes,
        o_noatime,
        file_atime,
        accept_at_fd_limit: accept,
        pipe_open_at_fd_limit: pipe_open,
        rps,
        holds,
    })
}
