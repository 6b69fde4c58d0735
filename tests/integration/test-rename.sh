#!/bin/bash
# SPDX-License-Identifier: MIT
# A task renamed while a run of it is under way: the renamed task does not run the same
# instance beside it, whether the rename comes with a reload (its instance waits for the old
# run, whose outputs then make it complete) or while the daemon is stopped (the old unit is
# stopped, and the renamed task runs it once). A queued instance whose outputs appear before it
# starts is not started.
. "$(dirname "$0")/lib.sh"

conf=$WORK/config/pipelines.d/$PIPELINE.conf
mkdir -p "$WORK/config/pipelines.d" "$WORK/in" "$WORK/out"
write_pipeline() {
    cat > "$conf" <<CONF
targets = {
  raw  = { path = "$WORK/in/{n}.txt"; };
  done = { path = "$WORK/out/{n}.txt"; };
};
tasks = ( { name = "$1"; inputs = [ "raw" ]; outputs = [ "done" ];
            exec = [ "/bin/sh", "-c", "until [ -e $WORK/gate ]; do sleep 0.05; done; echo \"$1 \$0\" >> $WORK/runs; echo $1 > \"\$1\"", "\${input}", "\${output}" ]; } );
CONF
}
write_pipeline one
start_daemon

# Renamed by a reload while the run waits at its gate.
echo 1 > "$WORK/in/1.txt"
wait_for 30 "the first run" logged "Started sluice-$PIPELINE-one@1.service"
write_pipeline two
reload
wait_for 30 "the renamed task's instance to wait" \
    logged "sluice-$PIPELINE-two@1.service waits: sluice-$PIPELINE-one@1.service, of the pipeline's version before the reload, is still writing $WORK/out/1.txt"
touch "$WORK/gate"
wait_for 30 "the old run's output" test -s "$WORK/out/1.txt"
wait_for 30 "the renamed instance to find its outputs there" \
    logged "sluice-$PIPELINE-two@1.service not started: its outputs are there now"
! logged "Started sluice-$PIPELINE-two@1.service" || fail "the renamed task ran the instance again"
[ "$(wc -l < "$WORK/runs")" = 1 ] || fail "runs: $(cat "$WORK/runs")"

# Renamed while the daemon is stopped.
rm "$WORK/gate"
echo 2 > "$WORK/in/2.txt"
wait_for 30 "the second run" logged "Started sluice-$PIPELINE-two@2.service"
kill -TERM "$DAEMON_PID"; wait "$DAEMON_PID"; DAEMON_PID=
write_pipeline three
start_daemon
logged "belongs to no loaded task any more (renamed or removed): stopping its unit" ||
    fail "the old run was not stopped"
old_gone() { ! systemctl --user is-active -q "sluice-$PIPELINE-two@2.service"; }
wait_for 30 "the old unit to stop" old_gone
touch "$WORK/gate"
wait_for 30 "the renamed task's run" test -s "$WORK/out/2.txt"
[ "$(cat "$WORK/out/2.txt")" = three ] || fail "out/2.txt: $(cat "$WORK/out/2.txt")"
[ "$(grep -c " $WORK/in/2.txt" "$WORK/runs")" = 1 ] || fail "runs: $(cat "$WORK/runs")"

# Queued behind a full slot, then made by hand: not started.
rm "$WORK/gate"
kill -TERM "$DAEMON_PID"; wait "$DAEMON_PID"; DAEMON_PID=
start_daemon -j 1
echo 3 > "$WORK/in/3.txt"
wait_for 30 "the run holding the slot" logged "Started sluice-$PIPELINE-three@3.service"
echo 4 > "$WORK/in/4.txt"
queued4() { "$SLUICECTL" --user -C "$WORK/config" list --state queued | grep -q "three .*n=4"; }
wait_for 30 "the queued instance" queued4
echo handmade > "$WORK/out/4.txt"
touch "$WORK/gate"
wait_for 30 "the queued instance to find its output there" \
    logged "sluice-$PIPELINE-three@4.service not started: its outputs are there now"
[ "$(cat "$WORK/out/4.txt")" = handmade ] || fail "the hand-made output was replaced"
echo ok
