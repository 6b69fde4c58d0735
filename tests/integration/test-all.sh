#!/bin/bash
# SPDX-License-Identifier: MIT
# all(): a report over every sample (an enum). Three per-sample files arrive one by one: the
# report waits for the rest after each of the first two (as list shows), and runs once, after
# the last, reading them in the enum's order. A changed sample file runs it again (rerun =
# "newer"). The report has no parameters: its one unit, why, run, backfill (refused), graph and
# graph --dot.
. "$(dirname "$0")/lib.sh"

ctl() { "$SLUICECTL" --user -C "$WORK/config" "$@"; }

install_pipeline "$(dirname "$0")/all.conf.in"
mkdir -p "$WORK/counts"
start_daemon
UNIT=$(unit report)
[ "$UNIT" = "sluice-$PIPELINE-report.service" ] || fail "unit name of the report: $UNIT"

# waits_for N NEXT: the daemon's index has the report waiting for N inputs, NEXT first.
waits_for() {
    ctl list | grep -q "^waiting .*$PIPELINE/report .*$1 input(s) not there yet: $WORK/counts/$2.tsv"
}
echo "a" > "$WORK/counts/A.tsv"
wait_for 30 "the report to wait for B and C" waits_for 2 B
echo "b" > "$WORK/counts/B.tsv"
wait_for 30 "the report to wait for C" waits_for 1 C
[ ! -e "$WORK/report.tsv" ] || fail "the report ran before C: $(cat "$WORK/report.tsv")"
[ "$(runs_started "$UNIT")" = 0 ] || fail "the report started before C"

# why and the offline graph name every sample, the one missing among them.
ctl why report > "$WORK/why" || fail "why failed"
grep -q "^waiting  *$PIPELINE/report: 1 input(s) missing$" "$WORK/why" || fail "why: $(cat "$WORK/why")"
grep -q "^  external  *$WORK/counts/C.tsv: input 'counts'" "$WORK/why" || fail "why: $(cat "$WORK/why")"
ctl graph report > "$WORK/graph" || fail "graph failed"
head -n 1 "$WORK/graph" |
    grep -qx "report  {sluiced: waiting} \[waiting: 1 of 3 inputs missing\]" ||
    fail "graph: $(cat "$WORK/graph")"
for s in A B; do
    grep -q "present counts $WORK/counts/$s.tsv$" "$WORK/graph" || fail "graph: $(cat "$WORK/graph")"
done
grep -q "MISSING counts $WORK/counts/C.tsv " "$WORK/graph" || fail "graph: $(cat "$WORK/graph")"
ctl graph --dot > "$WORK/dot" || fail "graph --dot failed"
grep -qF "\"t:$PIPELINE/counts\" -> \"T:$PIPELINE/report\" [label=\"sample = all()\"];" "$WORK/dot" ||
    fail "graph --dot: $(cat "$WORK/dot")"

echo "c" > "$WORK/counts/C.tsv"
wait_for 30 "the report" test -s "$WORK/report.tsv"
started_once "$UNIT"
[ "$(cat "$WORK/report.tsv")" = "$(printf 'a\nb\nc')" ] || fail "the report read: $(cat "$WORK/report.tsv")"
ctl why report | grep -q "^complete  *$PIPELINE/report: its outputs exist$" ||
    fail "why after the run: $(ctl why report)"
ctl run report | grep -q "^complete " || fail "run of the complete report: $(ctl run report)"
! ctl backfill report --from=2026-01-01 --to=2026-01-02 > "$WORK/backfill" 2>&1 ||
    fail "a backfill of the report: $(cat "$WORK/backfill")"
grep -qF "task 'report' has no parameters: its one instance runs with 'sluicectl run $PIPELINE/report'" \
    "$WORK/backfill" || fail "backfill: $(cat "$WORK/backfill")"

# A sample counted again: newer than the report, which runs again and reads it.
echo "b2" > "$WORK/counts/B.tsv"
report_has_b2() { grep -qx b2 "$WORK/report.tsv"; }
wait_for 30 "the report to read B again" report_has_b2
two_runs() { [ "$(runs_started "$UNIT")" -ge 2 ]; }
wait_for 10 "the second start of the report in the journal" two_runs
[ "$(runs_started "$UNIT")" = 2 ] || fail "the report started $(runs_started "$UNIT") times"
[ "$(cat "$WORK/report.tsv")" = "$(printf 'a\nb2\nc')" ] || fail "the report read: $(cat "$WORK/report.tsv")"
echo ok
