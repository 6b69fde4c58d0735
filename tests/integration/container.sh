# SPDX-License-Identifier: MIT
# A Debian bookworm with systemd as PID 1, booted with systemd-nspawn, for testing sluiced as
# a system service (system manager, system bus with its policy, journald with LogExtraFields).
# The root file system is bootstrapped once per machine (about a minute), cached under
# $SLUICE_TEST_ROOTFS, and copied for every test. Sourced after lib.sh, not run.

# What sluiced links, the sanitizers' runtimes (for a daemon built with them), and
# nss-systemd, which names dynamic users.
ROOTFS_PACKAGES=systemd,systemd-sysv,dbus,libconfig9,libcurl4,libjson-c5,libxml2,libpq5,libmicrohttpd12,libasan8,libubsan1,libnss-systemd
# Named by the package list, so that a change to it bootstraps afresh.
ROOTFS_CACHE=${SLUICE_TEST_ROOTFS:-/var/cache/sluice-test/bookworm-$(echo "$ROOTFS_PACKAGES" | md5sum | cut -c1-8)}
ROOT=$WORK/machine
MACHINE=sluice-$PIPELINE
NSPAWN_PID=
LEADER=

# Builds the cache when it is missing; 77 (meson's "skipped") when nothing can build it.
rootfs_cache() {
    [ -f "$ROOTFS_CACHE/usr/lib/os-release" ] && return 0
    command -v debootstrap >/dev/null && command -v systemd-nspawn >/dev/null || {
        echo "SKIP: debootstrap and systemd-nspawn are needed" >&2
        exit 77
    }
    rm -rf "$ROOTFS_CACHE.tmp"
    mkdir -p "$(dirname "$ROOTFS_CACHE")"
    debootstrap --variant=minbase --include="$ROOTFS_PACKAGES" bookworm "$ROOTFS_CACHE.tmp" \
        >"$WORK/debootstrap.log" 2>&1 || fail "debootstrap failed: $(tail -n 5 "$WORK/debootstrap.log")"
    mv "$ROOTFS_CACHE.tmp" "$ROOTFS_CACHE"
}

booted() {
    local state
    LEADER=$(pgrep -P "$NSPAWN_PID" | head -n 1)
    [ -n "$LEADER" ] && [ "$(cat "/proc/$LEADER/comm")" = systemd ] || return 1
    state=$(nsenter -t "$LEADER" -a systemctl is-system-running 2>/dev/null) || true
    [ "$state" = running ] || [ "$state" = degraded ]
}

# machine_boot: a copy of the cache, with whatever the caller put in $ROOT first, booted.
machine_copy() {
    rootfs_cache
    mkdir -p "$ROOT"
    cp -a "$ROOTFS_CACHE/." "$ROOT/"
}
machine_boot() {
    systemd-nspawn -D "$ROOT" -b --register=no --keep-unit --console=passive -M "$MACHINE" \
        >"$WORK/machine.log" 2>&1 &
    NSPAWN_PID=$!
    wait_for 60 "the container to boot" booted
}

# guest COMMAND...: runs it inside the container, in all its namespaces, with an environment
# of its own (not this test's bus name or runtime directory).
guest() {
    nsenter -t "$LEADER" -a env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 "$@"
}

machine_stop() {
    [ -n "$NSPAWN_PID" ] || return 0
    # nspawn turns SIGTERM into an orderly poweroff of the container.
    kill -TERM "$NSPAWN_PID" 2>/dev/null || true
    local end=$((SECONDS + 30))
    while kill -0 "$NSPAWN_PID" 2>/dev/null && ((SECONDS < end)); do sleep 0.1; done
    kill -KILL "$NSPAWN_PID" 2>/dev/null || true
    wait "$NSPAWN_PID" 2>/dev/null || true
    NSPAWN_PID=
}
