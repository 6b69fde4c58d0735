#!/bin/bash
# SPDX-License-Identifier: MIT
# The bus goes away under a running task (the user bus restarted): sluiced reconnects, finds
# its run again, and accounts for its end once; new arrivals after that run as before. Then
# the manager does not answer a start in time (stopped for longer than sluiced's bus timeout):
# sluiced asks about the unit once the manager answers, finds it started and follows it; the
# run is neither failed nor started twice. Last, a start lost with the bus daemon is sent again.
. "$(dirname "$0")/lib.sh"

install_pipeline "$(dirname "$0")/chain.conf.in"
logged() { grep -qF "$1" "$WORK/daemon.log"; }
mkdir -p "$WORK/logs/2026-11-27"
start_daemon
echo "held by the gate" > "$WORK/logs/2026-11-27/held.log"
held=$(unit wordcount 2026-11-27 held)
wait_for 30 "$held to run" systemctl --user is-active "$held"

# A backfill watched meanwhile (the summary of the held day): the watching command outlives
# the bus's restart, and ends when the backfill does.
"$SLUICECTL" --user -C "$WORK/config" backfill summary -p name=held --from 2026-11-27 \
    --to 2026-11-27 > "$WORK/backfill.out" 2>&1 &
watcher=$!
wait_for 30 "the backfill to be watched" grep -q "^Backfill 1" "$WORK/backfill.out"

systemctl --user restart dbus.service
wait_for 60 "sluiced to reconnect" logged "Reconnected to the user bus"
touch "$WORK/gate"
wait_for 30 "the held run's summary" test -f "$WORK/summary/2026-11-27/held.txt"
started_once "$held"
rc=0
wait "$watcher" || rc=$?
[ $rc = 0 ] && grep -q "lost the bus; watching backfill 1 again" "$WORK/backfill.out" &&
    grep -q "^1/1 complete" "$WORK/backfill.out" || fail "backfill across the bus restart: rc $rc, $(cat "$WORK/backfill.out")"

echo "after the reconnect" > "$WORK/logs/2026-11-27/after.log"
wait_for 30 "a run after the reconnect" test -f "$WORK/summary/2026-11-27/after.txt"

kill -TERM "$DAEMON_PID"; wait "$DAEMON_PID"
SYSTEMD_BUS_TIMEOUT=2s start_daemon
manager=$(busctl --user call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus \
              GetConnectionUnixProcessID s org.freedesktop.systemd1 | awk '{ print $2 }')
[ -n "$manager" ] || fail "cannot find the manager's PID"
# A stopped manager stops every test that shares it: never leave it so.
trap 'kill -CONT "$manager" 2>/dev/null; cleanup' EXIT
stalled=$(unit wordcount 2026-11-27 stalled)
kill -STOP "$manager"
echo "while the manager is stopped" > "$WORK/logs/2026-11-27/stalled.log"
wait_for 20 "the start to go unanswered" logged "No answer from the manager to the start of $stalled"
kill -CONT "$manager"
wait_for 60 "the stalled run's summary" test -f "$WORK/summary/2026-11-27/stalled.txt"
logged "$stalled was started all the same" || fail "the unit was not found"
! logged "Failed to start $stalled" || fail "the unanswered start failed"
started_once "$stalled"

# A start that never reaches the manager: the bus daemon is stopped while sluiced sends it and
# killed before it reads it. sluiced reconnects, finds no such unit and no result, and starts
# the run again; it runs once.
kill -TERM "$DAEMON_PID"; wait "$DAEMON_PID"
SLUICE_LOG_LEVEL=debug start_daemon
bus=$(systemctl --user show -p MainPID --value dbus.service)
[ -n "$bus" ] && [ "$bus" != 0 ] || fail "cannot find the bus daemon's PID"
trap 'kill -CONT "$manager" "$bus" 2>/dev/null; cleanup' EXIT
lost=$(unit wordcount 2026-11-27 lost)
kill -STOP "$bus"
echo "while the bus is stopped" > "$WORK/logs/2026-11-27/lost.log"
wait_for 20 "the start to be sent" logged "Sent the start of $lost"
kill -KILL "$bus"
wait_for 60 "the lost start to be queued again" \
    logged "The start of $lost was lost with the bus; queueing it again"
wait_for 60 "the lost run's summary" test -f "$WORK/summary/2026-11-27/lost.txt"
! logged "Failed to start $lost" || fail "the lost start failed"
started_once "$lost"
echo ok
