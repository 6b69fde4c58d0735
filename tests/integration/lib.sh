# SPDX-License-Identifier: MIT
# Shared by the integration tests: a real systemd user manager (brought up by contrib/systemd-up
# where none runs), a scratch directory, the real sluiced, and polling with deadlines instead
# of sleeps. Sourced, not run.
set -euo pipefail
DAEMON_PREFIX=()

: "${SLUICED:?set by meson}" "${SLUICECTL:?set by meson}" "${SOURCE_ROOT:?set by meson}"
eval "$("$SOURCE_ROOT/contrib/systemd-up")"

# Not under /tmp or /var/tmp: sandboxed tasks get private ones and could not see their outputs.
WORK=$(mktemp -d /var/lib/sluice-test.XXXXXX)
# A pipeline name of its own per run, so units and journal records of an earlier run never
# answer for this one (PIDs are reused: the random part keeps a later run apart).
PIPELINE=t$$x$RANDOM
DAEMON_PID=
# And a bus name of its own, for sluicectl to find this test's daemon and no other.
export SLUICE_BUS_NAME=org.sluice.test.$PIPELINE

# For a producer whose output can outgrow one pipe write: grep -q leaves at its first match, the
# producer's next write then dies of SIGPIPE, and pipefail fails the pipeline though it matched.
holds() { grep -- "$@" > /dev/null; }

fail() {
    echo "FAIL: $*" >&2
    if [ -f "$WORK/daemon.log" ]; then
        echo "--- daemon log:" >&2
        tail -n 50 "$WORK/daemon.log" >&2
    fi
    exit 1
}

cleanup() {
    [ -n "$DAEMON_PID" ] && kill "$DAEMON_PID" 2>/dev/null && wait "$DAEMON_PID" 2>/dev/null
    systemctl --user stop "sluice-$PIPELINE-*" 2>/dev/null || true
    systemctl --user reset-failed "sluice-$PIPELINE-*" 2>/dev/null || true
    # The limits sluiced set on the test's slices stay in /run until reboot otherwise.
    local d
    for d in "${XDG_RUNTIME_DIR:-/nonexistent}/systemd/user.control/sluice-$PIPELINE"*.slice.d; do
        if [ -d "$d" ]; then systemctl --user revert "$(basename "$d" .d)" >/dev/null 2>&1 || true; fi
    done
    [ -n "${KEEP_WORK:-}" ] && echo "kept $WORK" >&2 || rm -rf "$WORK"
}
trap cleanup EXIT

# reload: SIGHUP to the daemon, and the wait for its "Reloaded:" line.
reloads() { grep -c "Reloaded:" "$WORK/daemon.log" || true; }
more_reloads_than() { [ "$(reloads)" -gt "$1" ]; }
reload() {
    local before
    before=$(reloads)
    kill -HUP "$DAEMON_PID"
    wait_for 30 "reload number $((before + 1))" more_reloads_than "$before"
}

# logged PATTERN: the daemon's output so far has a line that matches (grep).
logged() { grep -q "$1" "$WORK/daemon.log"; }

# wait_for SECONDS DESCRIPTION COMMAND...: polls every 50 ms until COMMAND succeeds.
wait_for() {
    local deadline=$1 what=$2; shift 2
    local end=$((SECONDS + deadline))
    until "$@" >/dev/null 2>&1; do
        (( SECONDS < end )) || fail "timed out after ${deadline}s waiting for: $what"
        if [ -n "$DAEMON_PID" ] && ! kill -0 "$DAEMON_PID" 2>/dev/null; then
            fail "sluiced died while waiting for: $what"
        fi
        sleep 0.05
    done
}

# install_pipeline TEMPLATE: fills in @DIR@ (or an example's @DEMO_DIR@) and @EXAMPLES_DIR@, as
# $WORK/config/pipelines.d/$PIPELINE.conf.
install_pipeline() {
    mkdir -p "$WORK/config/pipelines.d"
    sed -e "s|@DIR@|$WORK|g" -e "s|@DEMO_DIR@|$WORK|g" \
        -e "s|@EXAMPLES_DIR@|$SOURCE_ROOT/contrib/examples|g" "$1" \
        > "$WORK/config/pipelines.d/$PIPELINE.conf"
    "$SLUICECTL" -C "$WORK/config" check "$WORK/config/pipelines.d/$PIPELINE.conf" >/dev/null ||
        fail "sluicectl check rejected the test pipeline"
}

startups() {
    local n
    n=$(grep -c "Start-up scan done" "$WORK/daemon.log" 2>/dev/null)
    echo "${n:-0}"
}
more_startups_than() { [ "$(startups)" -gt "$1" ]; }

# start_daemon [OPTIONS]: starts sluiced (again, in a restart) and waits for its start-up scan.
start_daemon() {
    local before
    before=$(startups)
    # DAEMON_PREFIX: a command the daemon runs under (an array: unshare, for one).
    "${DAEMON_PREFIX[@]}" "$SLUICED" --user -C "$WORK/config" --state-dir "$WORK/state" \
        --bus-name "$SLUICE_BUS_NAME" "$@" >>"$WORK/daemon.log" 2>&1 &
    DAEMON_PID=$!
    wait_for 30 "sluiced to finish its start-up scan" more_startups_than "$before"
}

# escape VALUE: one instance value as sluiced escapes it (systemd-escape, plus '/').
escape() {
    local LC_ALL=C s=$1 out= c i
    for ((i = 0; i < ${#s}; i++)); do
        c=${s:i:1}
        if [[ $c == [A-Za-z0-9:_] || ($c == . && i -gt 0) ]]; then
            out+=$c
        else
            out+=$(printf '\\x%02x' "'$c")
        fi
    done
    printf '%s' "$out"
}

# unit TASK INSTANCE-VALUES...: the unit name sluiced gives that instance; without values, the
# one instance of a task without parameters.
unit() {
    local task=$1; shift
    [ $# -gt 0 ] || { echo "sluice-$PIPELINE-$task.service"; return; }
    local inst=() v
    for v in "$@"; do
        inst+=("$(escape "$v")")
    done
    local IFS=-
    echo "sluice-$PIPELINE-$task@${inst[*]}.service"
}

# runs_started UNIT: how many runs of UNIT sluiced has started, by its journal records.
runs_started() {
    journalctl --no-pager -q -o cat MESSAGE_ID=4c95ad7e41c047b3a3af4162941b77e0 "SLUICE_UNIT=$1" |
        wc -l
}

# started_once UNIT: fails unless UNIT was started exactly once. journald writes what it is
# sent a little later, so the first record is waited for; a second would have come with it.
started_at_least_once() { [ "$(runs_started "$1")" -ge 1 ]; }
started_once() {
    wait_for 10 "the start of $1 in the journal" started_at_least_once "$1"
    [ "$(runs_started "$1")" = 1 ] || fail "$1 started $(runs_started "$1") times"
}

# journal_has FIELD=VALUE...: a journal entry matching all of them exists.
journal_has() {
    [ -n "$(journalctl --no-pager -q -o cat "$@" 2>/dev/null | head -n 1)" ]
}
