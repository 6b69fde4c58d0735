# SPDX-License-Identifier: MIT
# The "system" benchmark, sourced by bench/run: bursts through a system manager as production
# has it. A Debian booted with systemd-nspawn (tests/integration/container.sh) on a pure
# cgroup v2 hierarchy, systemd as its PID 1, sluiced installed by `meson install` and run as
# the system service on the system bus, whose dbus-daemon enforces the system bus's limits.
# SYS_BURST (2000) units each, through sluiced with its defaults, through sluiced allowed
# 1000 units at once (so that only max_starting paces it), and through naive-burst keeping
# 32 calls in flight and sending them all at once. Per row: units per second to the last
# output, start calls lost, how often PID 1 fell off the bus, and PID 1's CPU per unit.

SYS_BURST=${SYS_BURST:-2000}

sys_fail() { say "bench/run system: $*"; exit 1; }

sys_idle() {   # no unit of the benchmark left, every process reaped
    [ -z "$(guest systemctl list-units --all --plain --no-legend 'sluice-b*' 'naive-*' | head -n 1)" ]
}

sys_pid1_ticks() { awk '{ print $14 + $15 }' "/proc/$LEADER/stat"; }

sys_disconnects() {
    guest journalctl -b --no-pager -q -o cat _PID=1 | grep -c "disconnect on API bus" || true
}

sys_outputs() { find "$ROOT/srv/$1/out" -maxdepth 1 -type f -not -name '.*' "${@:2}"; }

# sys_row NAME LABEL COMMAND...: runs COMMAND (which starts SYS_BURST units writing into
# /srv/NAME/out), waits until they are done and the manager is idle, prints the row.
sys_row() {
    local name=$1 label=$2 t0 ticks0 drops0 end newest outputs secs ticks lost idle
    shift 2
    mkdir -p "$ROOT/srv/$name/in" "$ROOT/srv/$name/out"
    ticks0=$(sys_pid1_ticks) drops0=$(sys_disconnects)
    t0=$(date +%s.%N)
    "$@" 2> "$W/sys-$name.err" || true
    end=$((SECONDS + 900))
    while :; do
        newest=$(sys_outputs "$name" -printf '%T@\n' | sort -n | tail -n 1)
        outputs=$(sys_outputs "$name" | wc -l)
        if sys_idle; then
            [ "$outputs" -lt "$SYS_BURST" ] || break
            # Calls lost with PID 1 leave no output: done once nothing has moved for 10 s.
            [ "$(echo "$(date +%s.%N) - ${newest:-$t0} > 10" | bc)" = 0 ] || break
        fi
        (( SECONDS < end )) || { say "bench/run: $label did not finish"; break; }
        sleep 0.2
    done
    idle=$(echo "$(date +%s.%N) - $t0" | bc)
    ticks=$(( $(sys_pid1_ticks) - ticks0 ))
    secs=$(echo "${newest:-$t0} - $t0" | bc)
    lost=$(( $(grep -c "naive-burst: " "$W/sys-$name.err" || true) +
             $(guest journalctl --since "@${t0%.*}" --no-pager -q -o cat -u sluiced |
               grep -c "^Failed to start" || true) ))
    printf '| %-46s | %7s | %7.1f | %6.0f | %7.1f | %5s | %5s | %13.2f |\n' "$label" "$outputs" \
        "$secs" "$(echo "$outputs / ($secs + 0.001)" | bc -l)" "$idle" "$lost" "$(( $(sys_disconnects) - drops0 ))" \
        "$(echo "$ticks * 1000 / $(getconf CLK_TCK) / ($outputs + 0.001)" | bc -l)"
}

# sys_sluiced NAME CONF: sluiced as the system service with that sluiced.conf, its pipeline
# consuming /srv/NAME/in; drops the files, waits for them to be consumed, stops it.
sys_sluiced() {
    local name=$1
    printf '%s\n' "$2" > "$ROOT/etc/sluice/sluiced.conf"
    cat > "$ROOT/etc/sluice/pipelines.d/$name.conf" <<EOF
targets = { in = { path = "/srv/$name/in/{n:int}.ev"; }; out = { path = "/srv/$name/out/{n:int}"; }; };
tasks = ( { name = "stamp"; inputs = [ "in" ]; outputs = [ "out" ]; exec = [ "/usr/local/bin/stamp", "\${output}" ]; } );
EOF
    guest systemctl restart sluiced || sys_fail "sluiced did not start"
    "$build/bench/dropper" "$ROOT/srv/$name/in" "$SYS_BURST" 0 "" .ev > /dev/null
}

bench_system() {
    WORK=$W/system PIPELINE=bench
    mkdir -p "$WORK"
    wait_for() {
        local end=$((SECONDS + $1)) what=$2; shift 2
        until "$@" >/dev/null 2>&1; do
            (( SECONDS < end )) || sys_fail "timed out waiting for $what"; sleep 0.1
        done
    }
    fail() { sys_fail "$@"; }
    . "$top/tests/integration/container.sh"
    say "system: $SYS_BURST units per row through a booted Debian's system manager (cgroup v2)"
    machine_copy
    meson install -C "$build" --destdir "$ROOT" --quiet --no-rebuild || sys_fail "meson install failed"
    install -m 755 "$build/bench/stamp" "$build/bench/naive-burst" "$ROOT/usr/local/bin/"
    mkdir -p "$ROOT/etc/sluice/pipelines.d"
    # Only the host's cgroup v1 controllers stand between this and a production host's
    # layout; nspawn gives the container a cgroup v2 tree of its own.
    export SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1
    machine_boot
    unset SYSTEMD_NSPAWN_UNIFIED_HIERARCHY
    pids+=("$NSPAWN_PID")
    [ "$(guest stat -fc %T /sys/fs/cgroup)" = cgroup2fs ] || sys_fail "the container has no cgroup v2"

    echo
    echo "Bursts through a system manager: a booted Debian bookworm (systemd $(guest systemctl --version |
        awk 'NR == 1 { print $2 }') as PID 1, pure cgroup v2, the system bus), $SYS_BURST units per row"
    echo
    printf '| %-46s | %7s | %7s | %6s | %7s | %5s | %5s | %13s |\n' method outputs "secs" "u/s" \
        "idle s" lost drops "PID 1 ms/unit"
    printf '|%s|%s|%s|%s|%s|%s|%s|%s|\n' "------------------------------------------------" \
        "---------" "---------" "--------" "---------" "-------" "-------" "---------------"
    sys_row def "sluiced, max_parallel 16, max_starting 32" \
        sys_sluiced def "max_parallel = 16;"
    sys_row wide "sluiced, max_parallel 1000, max_starting 32" \
        sys_sluiced wide "max_parallel = 1000;"
    guest systemctl stop sluiced
    sys_row n32 "client keeping 32 calls in flight" \
        guest env NAIVE_IN_FLIGHT=32 /usr/local/bin/naive-burst "$SYS_BURST" \
        /usr/local/bin/stamp /srv/n32/out
    sys_row nall "naive: all calls at once" \
        guest /usr/local/bin/naive-burst "$SYS_BURST" /usr/local/bin/stamp /srv/nall/out
    [ -z "${SYS_KEEP_ERRORS:-}" ] || cp "$W"/sys-*.err "$SYS_KEEP_ERRORS/"
    machine_stop
}
