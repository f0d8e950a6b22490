#!/usr/bin/env bash
# What the tests need on this machine, installed when it can be: the first
# step of `make test`, so a fresh clone needs nothing else.
#
#   erlang-nox (OTP 25, the host's erl)   the differential and BEAM adapter tests
#   iproute2 (ip)                         the kernel tests' network namespaces
#   debootstrap + OTP 27 and 29 chroots   the differential on current releases
#                                         (harness/beam/otp-chroots.sh, ~80 s and
#                                         200 MB each, once per machine)
#
# As root with apt-get, what is missing is installed, and said. Otherwise
# nothing is installed: each missing piece is named with the command that
# installs it, and the tests that need it print `SKIP <id>: <reason>`.
# A failed install is an error under CI=true (a CI run must test every
# release) and a warning elsewhere (offline, say).
# PORTCHECK_SETUP=0 skips this step.
set -uo pipefail
cd "$(dirname "$0")/.."

say() { printf 'setup: %s\n' "$*"; }
[ "${PORTCHECK_SETUP:-1}" = 0 ] && { say "skipped (PORTCHECK_SETUP=0)"; exit 0; }
failed() {
    if [ "${CI:-}" = true ]; then say "error: $*"; exit 1; fi
    say "warning: $*; the tests that need it print SKIP"
}

root=false
[ "$(id -u)" = 0 ] && command -v apt-get >/dev/null && root=true

pkgs=()
command -v erl >/dev/null || pkgs+=(erlang-nox)
command -v ip >/dev/null || pkgs+=(iproute2)
command -v debootstrap >/dev/null || pkgs+=(debootstrap)
if ((${#pkgs[@]})); then
    if $root; then
        say "installing ${pkgs[*]} (apt-get)"
        { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null; } ||
            failed "apt-get install ${pkgs[*]} failed"
    else
        say "missing ${pkgs[*]}: install with: sudo apt-get install -y ${pkgs[*]}"
    fi
fi

releases=()
for rel in 27 29; do
    [ -x "/opt/portcheck-otp/$rel/bin/erl" ] || releases+=("$rel")
done
if ((${#releases[@]})); then
    if $root && command -v debootstrap >/dev/null; then
        say "installing OTP ${releases[*]} into chroots (harness/beam/otp-chroots.sh, ~80 s each)"
        bash harness/beam/otp-chroots.sh "${releases[@]}" > /tmp/portcheck-otp-chroots.log 2>&1 ||
            failed "OTP ${releases[*]} not installed (log: /tmp/portcheck-otp-chroots.log)"
    else
        say "OTP ${releases[*]} missing: install with: sudo bash harness/beam/otp-chroots.sh ${releases[*]}"
    fi
fi
((${#pkgs[@]} + ${#releases[@]})) || say "erl, ip, debootstrap and OTP 27/29 present"
exit 0
