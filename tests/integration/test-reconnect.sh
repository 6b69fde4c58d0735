#!/bin/bash
# SPDX-License-Identifier: MIT
# The bus goes away under a running task (the user bus restarted): sluiced reconnects, finds
# its run again, and accounts for its end once; new arrivals after that run as before.
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
echo ok
