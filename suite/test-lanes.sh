#!/usr/bin/env bash
# `make test`'s test run, in two lanes on the machine's two cores.
#
# Why: cargo runs one test binary at a time, and on this machine kind
# (2 cores) the real-OTP differential and node-reuse binaries keep about
# one core busy for 80 s while a third of the other binaries' time is
# bounded waits (a planted stall, kernel timers, hang bounds). Side by
# side the run takes about two thirds as long (README, "Benchmarks").
#
#   lane otp-gate: the real-OTP gate (suite/tests/differential.rs) and
#                  node reuse (suite/tests/node_reuse.rs);
#   lane rest:     every other test of the workspace, doc tests included:
#                  `cargo test --workspace` with the otp-gate lane's trials
#                  skipped by name, so a test binary added later runs here
#                  without being listed.
#
# The gate is dependable under load (its under-load trials run two busy
# threads beside it; README, "The gate"), which is what the other lane is.
# The rest lane prints as it runs; the otp-gate lane's output is kept and
# printed whole when both have ended, then a line per lane. Exit status:
# 0 when both lanes passed. SIGINT/SIGTERM stop both lanes (the test
# binaries remove what they hold, harness/src/interrupt.rs).
set -uo pipefail
cd "$(dirname "$0")/.."
CARGO=${CARGO:-cargo}

# Build every test once, so the lanes only run (cargo holds its build lock
# while building, not while tests run).
$CARGO test --workspace --no-run -q || exit $?
SECONDS=0

dir=$(mktemp -d "${TMPDIR:-/tmp}/portcheck-otp-gate.XXXXXX")
gate_pid=
stop() {
    [ -n "$gate_pid" ] && kill -TERM -- "-$gate_pid" 2>/dev/null
    wait 2>/dev/null
    rm -rf "$dir"
    exit 130
}
trap stop INT TERM
trap 'rm -rf "$dir"' EXIT

echo "== lane otp-gate: cargo test --test differential --test node_reuse (printed when it ends)"
# Its own process group, so that stop() reaches cargo and the test binary;
# it writes its exit status and its own time when it ends.
setsid bash -c '"$0" test --workspace --no-fail-fast --test differential --test node_reuse >"$1/log" 2>&1
    echo "$? $SECONDS" >"$1/status"' "$CARGO" "$dir" &
gate_pid=$!

echo "== lane rest: cargo test --workspace -- --skip differential/ --skip node-reuse/"
$CARGO test --workspace --no-fail-fast -- --skip differential/ --skip node-reuse/
rest=$?
rest_took=$SECONDS

wait "$gate_pid"
gate_pid=
read -r gate gate_took <"$dir/status" || { gate=1; gate_took="?"; }

echo
echo "== lane otp-gate output"
cat "$dir/log"
verdict() { if [ "$1" -eq 0 ]; then echo ok; else echo "FAILED (exit status $1)"; fi; }
echo "== lane rest: $(verdict $rest) in ${rest_took} s; lane otp-gate: $(verdict $gate) in ${gate_took} s"
[ "$rest" -eq 0 ] && [ "$gate" -eq 0 ]
