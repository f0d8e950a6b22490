//! The BEAM adapter on real OTP: every op kind against the adapter, and the
//! seed scenarios as plain observations, on both gen_tcp backends. Each
//! trial prints `SKIP <id>: <reason>` without `erl`. (The external
//! protocol's error paths, which need no `erl`, are tested next to the
//! protocol: `harness/tests/external_protocol.rs`.)

use harness::sut::beam::Backend;
use suite::capability::Capability;

/// `ensure!(cond, "format", args…)`: fail the trial with that message
/// unless `cond` holds. (Defined before the modules that use it.)
macro_rules! ensure {
    ($c:expr, $($f:tt)*) => {
        if !$c {
            return Err(format!($($f)*));
        }
    };
}

mod support;

mod accept;
mod close;
mod half_close;
mod interrupt;
mod op_kinds;
mod port_kill;
mod reader;
mod receive;
mod send_timeout;
mod watermarks;

const ERL: &[Capability] = &[Capability::Erl];

/// A trial (`suite::capability::trial`) whose cases' nodes are ended with
/// its verdict (`support::end_nodes`): kept for the next trial only if it
/// passed. A trial before it on this thread that panicked left its nodes
/// unended: they are killed first.
fn trial<F>(id: &'static str, caps: &'static [Capability], f: F) -> libtest_mimic::Trial
where
    F: FnOnce() -> Result<(), String> + Send + 'static,
{
    suite::capability::trial(id, caps, move || {
        support::end_nodes(false);
        let verdict = f();
        support::end_nodes(verdict.is_ok());
        verdict
    })
}

fn main() {
    // SIGINT/SIGTERM remove the temp dirs and namespaces a trial holds.
    harness::interrupt::on_signal_clean_up();
    let args = libtest_mimic::Arguments::from_args();
    let mut tests = vec![];
    for b in [Backend::Inet, Backend::Socket] {
        let n = b.arg();
        let id = |s: &str| -> &'static str { Box::leak(format!("beam/{n}/{s}").into_boxed_str()) };
        tests.push(trial(id("op_kinds"), ERL, move || op_kinds::op_kinds(b)));
        tests.push(trial(id("watermarks_5000_byte_sends"), ERL, move || watermarks::watermarks_5000(b)));
        tests.push(trial(id("high_watermark_2_one_byte_sends"), ERL, move || watermarks::high_watermark_2(b)));
        tests.push(trial(id("accept_into_full_table"), ERL, move || accept::accept_full_table(b)));
        tests.push(trial(id("send_timeout_data_still_delivered"), ERL, move || send_timeout::send_timeout(b)));
        tests.push(trial(id("nosuspend_and_force"), ERL, move || watermarks::nosuspend_force(b)));
        tests.push(trial(id("active_n_and_recv"), ERL, move || receive::active_n(b)));
        tests.push(trial(id("delay_send"), ERL, move || watermarks::delay_send(b)));
        tests.push(trial(id("close_with_queued_output"), ERL, move || close::close_queued(b)));
        tests.push(trial(id("send_timeout_zero"), ERL, move || send_timeout::send_timeout_zero(b)));
        tests.push(trial(id("send_timeout_close"), ERL, move || send_timeout::send_timeout_close(b)));
        tests.push(trial(id("force_takes_the_reply_slot"), ERL, move || watermarks::force_reply_slot(b)));
        tests.push(trial(id("small_rules"), ERL, move || op_kinds::small_rules(b)));
        tests.push(trial(id("parallelism_setup"), ERL, move || op_kinds::parallelism_setup(b)));
        tests.push(trial(id("recv_wait_abilities"), ERL, move || reader::abilities(b)));
    }
    // recv_wait: measured on the inet driver only (abilities.recv_wait).
    tests.push(trial("beam/inet/recv_wait_len_then_leftover", ERL, reader::len_then_leftover));
    tests.push(trial("beam/inet/recv_wait_len_zero", ERL, reader::len_zero));
    tests.push(trial("beam/inet/recv_wait_already_there", ERL, reader::already_there));
    tests.push(trial("beam/inet/recv_wait_peer_fin", ERL, reader::peer_fin));
    tests.push(trial("beam/inet/recv_wait_peer_reset", ERL, reader::peer_reset));
    tests.push(trial("beam/inet/recv_wait_owner_close", ERL, reader::owner_close));
    tests.push(trial("beam/inet/recv_wait_owner_shutdown", ERL, reader::owner_shutdown));
    tests.push(trial("beam/inet/recv_wait_reset_ends_the_reader", ERL, reader::reset_ends_the_reader));
    // recv_wait with a timeout (RX-11), on every release here.
    for rel in support::RELEASES {
        let caps = support::release_caps(rel);
        let r = support::release_name(rel);
        let id = |s: &str| -> &'static str { Box::leak(format!("beam/inet/{r}/recv_wait_{s}").into_boxed_str()) };
        let timed: [(&str, reader::OnRelease); 6] = [
            (
                "timeout_len_zero_times_out_once_advance_time_passes_its_deadline",
                reader::timeout_len_zero_times_out_once_advance_time_passes_its_deadline,
            ),
            (
                "timeout_not_due_leaves_the_reader_waiting_for_its_bytes",
                reader::timeout_not_due_leaves_the_reader_waiting_for_its_bytes,
            ),
            (
                "timeout_leaves_the_bytes_it_gathered_for_the_owners_recv",
                reader::timeout_leaves_the_bytes_it_gathered_for_the_owners_recv,
            ),
            ("timeout_zero_answers_at_once_after_one_read", reader::timeout_zero_answers_at_once_after_one_read),
            (
                "timeout_held_bytes_come_first_for_the_next_reader",
                reader::timeout_held_bytes_come_first_for_the_next_reader,
            ),
            ("timeout_and_send_timeout_fire_each_on_its_own", reader::timeout_and_send_timeout_fire_each_on_its_own),
        ];
        for (name, f) in timed {
            tests.push(trial(id(name), caps, move || f(rel)));
        }
    }
    // kill_port (CL-5, DIFF-INET-13): measured on the inet driver, on every
    // release here; the socket backend's socket is not a port.
    for rel in support::RELEASES {
        let caps = support::release_caps(rel);
        let r = support::release_name(rel);
        let id = |s: &str| -> &'static str { Box::leak(format!("beam/inet/{r}/kill_port_{s}").into_boxed_str()) };
        for (name, f) in port_kill::ON_EVERY_RELEASE {
            tests.push(trial(id(name), caps, move || f(rel)));
        }
        tests.push(trial(id("node_clean_after_a_kill"), caps, move || port_kill::node_clean_after_a_kill(rel)));
    }
    tests.push(trial("beam/socket/kill_port_unsupported", ERL, port_kill::socket_backend_unsupported));
    // {exit_on_close, false} (PC-6, PC-7): measured on the inet driver, on
    // every release here; the socket backend does not declare it.
    for rel in support::RELEASES {
        let caps = support::release_caps(rel);
        let r = support::release_name(rel);
        let id =
            |s: &str| -> &'static str { Box::leak(format!("beam/inet/{r}/exit_on_close_false_{s}").into_boxed_str()) };
        for (name, f) in half_close::ON_EVERY_RELEASE {
            tests.push(trial(id(name), caps, move || f(rel)));
        }
    }
    tests.push(trial("beam/socket/exit_on_close_false_unsupported", ERL, half_close::socket_backend_unsupported));
    // The socket backend's sockets are not ports: its accept does not fill the table.
    tests.push(trial("beam/inet/accept_into_full_table_repeatedly", ERL, || {
        accept::accept_full_table_repeatedly(Backend::Inet)
    }));
    use nix::sys::signal::Signal;
    for sig in [Signal::SIGINT, Signal::SIGTERM] {
        let id: &'static str = Box::leak(format!("beam/interrupted_by_{sig:?}_leaves_nothing").into_boxed_str());
        tests.push(trial(id, ERL, move || interrupt::interrupted_run_leaves_nothing(sig)));
    }
    tests.push(trial("beam/finished_run_leaves_nothing", ERL, interrupt::finished_run_leaves_nothing));
    let conclusion = libtest_mimic::run(&args, tests);
    // Statics are never dropped: end the idle nodes and remove the compiled
    // adapters' temp dirs.
    let cells = [Backend::Inet, Backend::Socket].map(support::cell);
    for f in cells.into_iter().chain(support::release_cells().iter().map(|(_, c)| c)).filter_map(|c| c.get()).flatten()
    {
        f.pool().clear();
        let _ = std::fs::remove_dir_all(f.adapter_dir());
    }
    conclusion.exit();
}
