#!/bin/bash
# SPDX-License-Identifier: MIT
# Queued work outside the look-back window survives a restart: a start-up scan passes over such
# instances, so the daemon keeps them in its marks and runs them after the restart. So does a
# queued retry's attempt count (held in a paused pipeline, say): a restart is not a new series.
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

# A retry due while its pipeline is paused waits queued; a restart keeps its attempt count:
# attempts = 2 means two runs in all, not three.
mkdir -p "$WORK/fin" "$WORK/fout"
cat > "$WORK/config/pipelines.d/$PIPELINE.conf" <<CONF
targets = { raw = { path = "$WORK/in/{day:date}"; }; done = { path = "$WORK/out/{day:date}"; };
            fin = { path = "$WORK/fin/{n}"; }; fout = { path = "$WORK/fout/{n}"; }; };
tasks = ( { name = "late"; inputs = [ "raw" ]; outputs = [ "done" ]; lookback = "2d";
            exec = [ "/bin/sh", "-c", "until [ -e $WORK/gate ]; do sleep 0.05; done; cp \"\$0\" \"\$1\"", "\${input}", "\${output}" ]; },
          { name = "flaky"; inputs = [ "fin" ]; outputs = [ "fout" ]; retry = { attempts = 2; delay = "1s"; };
            exec = [ "/bin/sh", "-c", "until [ -e $WORK/fgate ]; do sleep 0.05; done; echo run >> $WORK/flaky-runs; exit 1" ]; } );
CONF
"$SLUICECTL" --user -C "$WORK/config" reload >/dev/null
echo x > "$WORK/fin/a"
# Paused while the first attempt runs (held at its gate): its retry is due in a paused pipeline,
# whatever the time between the two.
wait_for 30 "flaky's first attempt to run" systemctl --user is-active -q "$(unit flaky a)"
"$SLUICECTL" --user -C "$WORK/config" pause "$PIPELINE" >/dev/null
touch "$WORK/fgate"
wait_for 30 "flaky's first attempt to fail" logged "flaky@a.service failed (exit-code (status 1)), attempt 1 of 2"
queued_retry() { "$SLUICECTL" --user -C "$WORK/config" list --state queued | grep -q "flaky .*n=a .* 1 "; }
wait_for 30 "the retry due, queued in the paused pipeline" queued_retry
kept_retry() { grep -q "	flaky	.*	retry	1	" "$WORK/state/instances" 2>/dev/null; }
wait_for 10 "the queued retry kept in the marks with its attempt" kept_retry
kill -TERM "$DAEMON_PID"; wait "$DAEMON_PID"; DAEMON_PID=
start_daemon -j 1
"$SLUICECTL" --user -C "$WORK/config" resume "$PIPELINE" >/dev/null
wait_for 30 "flaky to fail for good" logged "flaky@a.service failed for good after 2 attempt(s)"
[ "$(wc -l < "$WORK/flaky-runs")" = 2 ] || fail "flaky ran $(wc -l < "$WORK/flaky-runs") times, not 2"
echo ok
