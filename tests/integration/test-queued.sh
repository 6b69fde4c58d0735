#!/bin/bash
# SPDX-License-Identifier: MIT
# Queued work outside the look-back window survives a restart: a start-up scan passes over such
# instances, so the daemon keeps them in its marks and runs them after the restart.
. "$(dirname "$0")/lib.sh"
mkdir -p "$WORK/in" "$WORK/out" "$WORK/config/pipelines.d"
cat > "$WORK/config/pipelines.d/$PIPELINE.conf" <<CONF
targets = { raw = { path = "$WORK/in/{day:date}"; }; done = { path = "$WORK/out/{day:date}"; }; };
tasks = ( { name = "late"; inputs = [ "raw" ]; outputs = [ "done" ]; lookback = "2d";
            exec = [ "/bin/sh", "-c", "until [ -e $WORK/gate ]; do sleep 0.05; done; cp \"\$0\" \"\$1\"", "\${input}", "\${output}" ]; } );
CONF
start_daemon -j 1
# Late data, years old: one runs (held at the gate), two wait in the queue.
for d in 2001-01-01 2001-01-02 2001-01-03; do echo "$d" > "$WORK/in/$d"; done
queued_two() { [ "$("$SLUICECTL" --user -C "$WORK/config" list --state queued | grep -c "late ")" = 2 ]; }
wait_for 30 "two late instances queued" queued_two
kept_two() { [ "$(grep -c "	late	.*	retry	" "$WORK/state/instances" 2>/dev/null)" = 2 ]; }
wait_for 10 "the queued ones kept in the marks" kept_two
kill -TERM "$DAEMON_PID"; wait "$DAEMON_PID"; DAEMON_PID=
touch "$WORK/gate"
start_daemon -j 1
all_three() { [ "$(ls "$WORK/out" | wc -l)" = 3 ]; }
wait_for 60 "all three after the restart" all_three
for d in 2001-01-01 2001-01-02 2001-01-03; do
    [ "$(grep -c "Started sluice-$PIPELINE-late@${d//-/\\\\x2d}\.service" "$WORK/daemon.log")" = 1 ] ||
        fail "late@$d did not run exactly once"
done
echo ok
