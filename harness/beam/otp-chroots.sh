#!/usr/bin/env bash
# Installs newer Erlang/OTP releases beside the host's, for
# `portcheck run --sut beam|beam-socket --erl /opt/portcheck-otp/<rel>/bin/erl`.
#
#   bash harness/beam/otp-chroots.sh          # OTP 27 and 29
#   bash harness/beam/otp-chroots.sh 29       # only 29
#
# Each release is Debian's `erlang-nox` from the suite that ships it (the
# table below), unpacked by `debootstrap --variant=minbase` into
# /opt/portcheck-otp/<rel>/root (about 200 MB and 80 s each, network access
# to the Debian mirror needed). Beside it, /opt/portcheck-otp/<rel>/bin/erl
# and erlc are wrappers that run the chroot's program. Why a chroot and not
# a source build: it is the packaged release users run, installed in a
# minute, and it never touches the host's own `erl`.
#
# The wrappers keep nothing mounted and change nothing in the caller's view:
# every call enters a mount namespace of its own (`unshare --mount`, private
# propagation, so nothing leaks back to the host), binds the host's /tmp,
# /dev and /sys into the root, mounts a fresh /proc, binds the working
# directory at the same path if it is not under /tmp, chroots and runs the
# program there. When the call ends its namespace goes, and its mounts with
# it. Every step execs the next one, so the pid the caller started is the
# node's pid (`kill PID` kills the node, PR_SET_PDEATHSIG survives the
# exec). No network namespace is made: the node uses the host's loopback,
# where the harness listens. Paths the node is given must be under /tmp or
# the working directory (the harness compiles its adapter under the temp
# dir, /tmp by default). The wrappers need root, as mounting does.
#
# Idempotent: a root that already has erl is kept (its wrappers are written
# again). A root that fails half-way is removed. Must run as root; installs
# debootstrap with apt-get when it is missing.
set -euo pipefail

PREFIX=${PORTCHECK_OTP_PREFIX:-/opt/portcheck-otp}
MIRROR=${PORTCHECK_OTP_MIRROR:-http://deb.debian.org/debian}

say() { printf 'otp-chroots: %s\n' "$*"; }
die() { printf 'otp-chroots: error: %s\n' "$*" >&2; exit 1; }

# The Debian suite whose erlang-nox is the release. When Debian moves a
# suite to a newer OTP, the check after the install says so.
suite_of() {
    case $1 in
        27) echo trixie ;;
        29) echo sid ;;
        *) return 1 ;;
    esac
}

[ $# -gt 0 ] || set -- 27 29
[ "$(id -u)" -eq 0 ] || die "must run as root (debootstrap, chroot and the wrappers' mounts need it); try: sudo bash $0 $*"
for rel in "$@"; do
    suite_of "$rel" >/dev/null || die "unknown OTP release '$rel' (known: 27 29)"
done

if ! command -v debootstrap >/dev/null; then
    command -v apt-get >/dev/null || die "debootstrap is missing and there is no apt-get to install it"
    say "installing debootstrap with apt-get"
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends debootstrap
fi
command -v unshare >/dev/null || die "unshare (util-linux) is missing; the wrappers need it"

# The root being built, removed by the trap if the script stops before it is
# complete. Mounts debootstrap may have left inside it go first, and
# --one-file-system keeps rm from following any that could not.
PARTIAL=
cleanup() {
    local status=$?
    if [ -n "$PARTIAL" ] && [ -d "$PARTIAL" ]; then
        say "removing the incomplete root $PARTIAL"
        # Deepest first, so a parent is never unmounted before its children.
        awk -v p="$PARTIAL/" 'index($2, p) == 1 { print $2 }' /proc/mounts | sort -r |
            while read -r m; do umount -l "$m" || true; done
        rm -rf --one-file-system "$PARTIAL"
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Writes bin/erl and bin/erlc for the root $1 into $2.
write_wrappers() {
    local root=$1 bin=$2 prog
    mkdir -p "$bin"
    for prog in erl erlc; do
        cat >"$bin/$prog.new" <<EOF
#!/bin/sh
# $prog of the Debian OTP under $root, written by harness/beam/otp-chroots.sh.
# A mount namespace of its own, gone when the program ends; the pid stays
# the program's (every step execs the next).
exec unshare --mount --propagation private /bin/sh -c '
    root=\$1; shift
    for d in tmp dev sys; do
        mount --rbind "/\$d" "\$root/\$d" || { echo "$prog: cannot bind /\$d into \$root" >&2; exit 125; }
    done
    mount -t proc proc "\$root/proc" || { echo "$prog: cannot mount /proc in \$root" >&2; exit 125; }
    wd=\$(pwd -P)
    case \$wd in
        /|/tmp|/tmp/*) ;;
        *) mkdir -p "\$root\$wd" && mount --bind "\$wd" "\$root\$wd" ||
            { echo "$prog: cannot bind the working directory \$wd into \$root" >&2; exit 125; } ;;
    esac
    exec chroot "\$root" /usr/bin/env --chdir="\$wd" /usr/bin/$prog "\$@"
' $prog '$root' "\$@"
EOF
        chmod 755 "$bin/$prog.new"
        mv -f "$bin/$prog.new" "$bin/$prog"
    done
}

install_release() {
    local rel=$1 suite dir root tmp version
    suite=$(suite_of "$rel")
    dir=$PREFIX/$rel
    root=$dir/root
    if [ -x "$root/usr/bin/erl" ]; then
        say "OTP $rel: $root has erl, kept"
    else
        [ ! -e "$root" ] || die "$root exists without usr/bin/erl; remove it (rm -rf --one-file-system $root) and run again"
        mkdir -p "$dir"
        tmp=$dir/root.partial
        PARTIAL=$tmp
        if [ -e "$tmp" ]; then
            say "OTP $rel: removing $tmp left by an earlier run"
            rm -rf --one-file-system "$tmp"
        fi
        say "OTP $rel: debootstrap --variant=minbase --include=erlang-nox $suite $tmp $MIRROR"
        debootstrap --variant=minbase --include=erlang-nox "$suite" "$tmp" "$MIRROR"
        [ -x "$tmp/usr/bin/erl" ] || die "OTP $rel: debootstrap finished but $tmp/usr/bin/erl is missing"
        version=$(cat "$tmp"/usr/lib/erlang/releases/*/OTP_VERSION)
        [ "${version%%.*}" = "$rel" ] ||
            die "OTP $rel: Debian $suite now ships OTP $version, not $rel; update suite_of in $0"
        say "OTP $rel: trimming the package cache"
        chroot "$tmp" apt-get clean
        rm -rf "$tmp"/var/lib/apt/lists/*
        mv "$tmp" "$root"
        PARTIAL=
    fi
    say "OTP $rel: writing $dir/bin/erl and $dir/bin/erlc"
    write_wrappers "$root" "$dir/bin"
    version=$("$dir/bin/erl" -noshell -eval \
        'io:format("~s (erts ~s)", [erlang:system_info(otp_release), erlang:system_info(version)]), halt().') ||
        die "OTP $rel: $dir/bin/erl does not start"
    say "OTP $rel: $dir/bin/erl runs OTP $version, $(cat "$root"/usr/lib/erlang/releases/*/OTP_VERSION), $(du -sh --one-file-system "$root" | cut -f1)"
}

for rel in "$@"; do
    install_release "$rel"
done
