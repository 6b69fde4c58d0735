#!/bin/bash
# SPDX-License-Identifier: MIT
# kill -9 of the daemon at random moments during a 200-instance, two-stage run, restarting it
# each time: every instance of every stage still runs exactly once (the tasks count their own
# runs), every output is there, and no staging file or run record is left behind. The sleeps
# pick the moments to kill at; they synchronise nothing.
. "$(dirname "$0")/lib.sh"

N=${CHAOS_INSTANCES:-200}
KILLS=${CHAOS_KILLS:-12}
install_pipeline "$(dirname "$0")/chaos.conf.in"
mkdir -p "$WORK/in" "$WORK/runs"
start_daemon -j 16

for n in $(seq 1 "$N"); do echo "$n" > "$WORK/in/$n"; done
for k in $(seq 1 "$KILLS"); do
    sleep "0.$((RANDOM % 6 + 1))"
    kill -KILL "$DAEMON_PID"
    wait "$DAEMON_PID" 2>/dev/null || true
    start_daemon -j 16
done

outputs() { [ "$(find "$WORK/out" -type f -not -name '.*' | wc -l)" = "$N" ]; }
wait_for 300 "all $N outputs" outputs
bad=0
for n in $(seq 1 "$N"); do
    for stage in first second; do
        runs=$(wc -l < "$WORK/runs/$stage-$n" 2>/dev/null || echo 0)
        if [ "$runs" != 1 ]; then
            echo "$stage $n ran $runs times" >&2
            bad=$((bad + 1))
        fi
    done
    [ "$(cat "$WORK/out/$n")" = "$n" ] || fail "wrong output for $n"
done
[ "$bad" = 0 ] || fail "$bad instance(s) did not run exactly once"
left=$(find "$WORK/mid" "$WORK/out" -name '.sluice-*')
[ -z "$left" ] || fail "staging files left: $left"
# Every run is accounted for: no record waits for a daemon any more.
records_gone() { [ -z "$(ls "$WORK/state/runs")" ]; }
wait_for 30 "the run records to be removed" records_gone
echo "ok: $N instances x 2 stages, $KILLS kill -9s, $(grep -c 'Accounted for' "$WORK/daemon.log") recoveries"
