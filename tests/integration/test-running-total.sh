#!/bin/bash
# SPDX-License-Identifier: MIT
# A task that reads its own earlier output: sales of three days arrive newest first, and the
# running total is still computed in day order, each day once.
. "$(dirname "$0")/lib.sh"

install_pipeline "$SOURCE_ROOT/contrib/examples/running-total/running-total.conf.in"
mkdir -p "$WORK/total" "$WORK/sales"
echo 100 > "$WORK/total/2026-11-26.txt"     # the bootstrap
start_daemon

printf 'a,3\nb,4\n' > "$WORK/sales/2026-11-29.csv"
printf 'a,10\n' > "$WORK/sales/2026-11-28.csv"
printf 'a,1\nb,2\n' > "$WORK/sales/2026-11-27.csv"

wait_for 30 "the last total" test -f "$WORK/total/2026-11-29.txt"
[ "$(cat "$WORK/total/2026-11-27.txt")" = 103 ] || fail "27: $(cat "$WORK/total/2026-11-27.txt")"
[ "$(cat "$WORK/total/2026-11-28.txt")" = 113 ] || fail "28: $(cat "$WORK/total/2026-11-28.txt")"
[ "$(cat "$WORK/total/2026-11-29.txt")" = 120 ] || fail "29: $(cat "$WORK/total/2026-11-29.txt")"
for d in 2026-11-27 2026-11-28 2026-11-29; do
    started_once "$(unit total "$d")"
done
echo ok
