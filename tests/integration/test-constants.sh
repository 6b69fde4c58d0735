#!/bin/bash
# SPDX-License-Identifier: MIT
# Constants in input bindings: files of two sources, found by the start-up scan and arriving
# as events; each task runs, once, for the days of its own source only, and is not even
# evaluated for the other's (no "misses" line at debug level). why and graph --dot show the
# constants.
. "$(dirname "$0")/lib.sh"

ctl() { "$SLUICECTL" --user -C "$WORK/config" "$@"; }

install_pipeline "$(dirname "$0")/constants.conf.in"
mkdir -p "$WORK/raw/api" "$WORK/raw/web"
echo "api 25" > "$WORK/raw/api/2026-11-25.csv"
echo "api 26" > "$WORK/raw/api/2026-11-26.csv"
echo "web 26" > "$WORK/raw/web/2026-11-26.csv"
SLUICE_LOG_LEVEL=debug start_daemon

wait_for 30 "web_daily of the 26th" test -f "$WORK/web/2026-11-26.csv"
wait_for 30 "api_daily of the 25th and 26th" test -f "$WORK/api/2026-11-25.csv" -a \
    -f "$WORK/api/2026-11-26.csv"

# api of the 28th first: once api_daily has run for it, its arrival has been mapped for every
# task that reads raw, web_daily included.
echo "api 28" > "$WORK/raw/api/2026-11-28.csv"
echo "web 27" > "$WORK/raw/web/2026-11-27.csv"
echo "api 27" > "$WORK/raw/api/2026-11-27.csv"
wait_for 30 "api_daily of the 28th" test -f "$WORK/api/2026-11-28.csv"
wait_for 30 "web_daily of the 27th" test -f "$WORK/web/2026-11-27.csv"
wait_for 30 "api_daily of the 27th" test -f "$WORK/api/2026-11-27.csv"

# read_of FILE: what a run copied.
read_of() { cat "$1" 2>/dev/null || echo nothing; }
for d in 26 27; do
    out=$WORK/web/2026-11-$d.csv
    [ "$(read_of "$out")" = "web $d" ] || fail "web_daily of the ${d}th read $(read_of "$out")"
    started_once "$(unit web_daily "2026-11-$d")"
done
for d in 25 26 27 28; do
    out=$WORK/api/2026-11-$d.csv
    [ "$(read_of "$out")" = "api $d" ] || fail "api_daily of the ${d}th read $(read_of "$out")"
    started_once "$(unit api_daily "2026-11-$d")"
done
for d in 25 28; do
    [ ! -e "$WORK/web/2026-11-$d.csv" ] || fail "web_daily ran for the ${d}th: only api has it"
    [ "$(runs_started "$(unit web_daily "2026-11-$d")")" = 0 ] ||
        fail "web_daily of the ${d}th started"
done
! logged "of task 'web_daily' misses" ||
    fail "an api file was mapped to web_daily: $(grep "web_daily' misses" "$WORK/daemon.log")"

# why names the input the constant selects; the graph shows the bindings as written.
ctl why web_daily -p day=2026-11-28 > "$WORK/why" || fail "why failed"
grep -q "^  external .*$WORK/raw/web/2026-11-28.csv: input 'raw'" "$WORK/why" ||
    fail "why: $(cat "$WORK/why")"
ctl graph --dot > "$WORK/dot" || fail "graph --dot failed"
edge() { printf '"t:%s/raw" -> "T:%s/%s" [label="%s"];' "$PIPELINE" "$PIPELINE" "$1" "$2"; }
grep -qF "$(edge web_daily "source = web")" "$WORK/dot" || fail "graph --dot: $(cat "$WORK/dot")"
grep -qF "$(edge api_daily "source = 'api'")" "$WORK/dot" || fail "graph --dot: $(cat "$WORK/dot")"
echo ok
