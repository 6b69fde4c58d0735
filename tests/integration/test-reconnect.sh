#!/bin/bash
# SPDX-License-Identifier: MIT
# The bus goes away under a running task (the user bus restarted): sluiced reconnects, finds
# its run again, and accounts for its end once; new arrivals after that run as before. Then
# the manager does not answer a start in time (stopped for longer than sluiced's bus timeout):
# sluiced asks about the unit once the manager answers, finds it started and follows it; the
# run is neither failed nor started twice.
. "$(dirname "$0")/lib.sh"

install_pipeline "$(dirname "$0")/chain.conf.in"
mkdir -p "$WORK/logs/2026-11-27"
start_daemon
echo "held by the gate" > "$WORK/logs/2026-11-27/held.log"
held=$(unit wordcount 2026-11-27 held)
wait_for 30 "$held to run" systemctl --user is-active "$held"

systemctl --user restart dbus.service
reconnected() { grep -q "Reconnected to the user bus" "$WORK/daemon.log"; }
wait_for 60 "sluiced to reconnect" reconnected
touch "$WORK/gate"
wait_for 30 "the held run's summary" test -f "$WORK/summary/2026-11-27/held.txt"
started_once "$held"

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
no_answer() { grep -qF "No answer from the manager to the start of $stalled" "$WORK/daemon.log"; }
wait_for 20 "the start to go unanswered" no_answer
kill -CONT "$manager"
wait_for 60 "the stalled run's summary" test -f "$WORK/summary/2026-11-27/stalled.txt"
grep -qF "$stalled was started all the same" "$WORK/daemon.log" || fail "the unit was not found"
! grep -F "Failed to start $stalled" "$WORK/daemon.log" || fail "the unanswered start failed"
started_once "$stalled"
echo ok
