#!/bin/bash
# SPDX-License-Identifier: MIT
# sluicectl backfill against a running daemon: a range runs with what it needs, in the
# pipeline's backfill slice, on at most half the slots, behind live runs (a live arrival runs
# while the backfill waits); progress (upstream runs too), listing, exit status, --cancel and
# mistakes.
. "$(dirname "$0")/lib.sh"

install_pipeline "$(dirname "$0")/backfill.conf.in"
mkdir -p "$WORK/raw" "$WORK/live"
for d in 01 02 03 04 05 10 11 12; do echo "$d" > "$WORK/raw/1999-02-$d.log"; done
start_daemon -j 2
ctl() { "$SLUICECTL" --user -C "$WORK/config" "$@"; }
backfill_slice=$(printf 'sluice-%s-backfill.slice' "$PIPELINE")

# Mistakes change nothing and say what is wrong.
expect_usage() {
    local rc=0
    ctl backfill "$@" 2>"$WORK/err" || rc=$?
    [ $rc = 2 ] || fail "backfill $*: exit status $rc, not 2: $(cat "$WORK/err")"
}
expect_usage report --from 1999-02-05 --to 1999-02-01
grep -q "comes after" "$WORK/err" || fail "reversed range: $(cat "$WORK/err")"
expect_usage report --from 1999-02-01 --to soon
grep -q "'soon' is not a valid date" "$WORK/err" || fail "bad value: $(cat "$WORK/err")"
expect_usage report --from 0001-01-01 --to 9999-01-01
grep -q "split the range" "$WORK/err" || fail "huge range: $(cat "$WORK/err")"
expect_usage live --from a --to b
grep -q "ranges over a date" "$WORK/err" || fail "no time parameter: $(cat "$WORK/err")"
expect_usage report --from 1999-02-01
ctl backfill | grep -q "No backfills" || fail "a refused backfill was kept"
[ ! -e "$WORK/clean" ] || fail "a refused backfill ran something"

# Five days, held at the gate: one backfill slot of two, the rest queued behind.
ctl backfill --no-wait report --from 1999-02-01 --to 1999-02-05 > "$WORK/started" ||
    fail "backfill refused: $(cat "$WORK/started")"
grep -q "^Backfill 1: report from 1999-02-01 to 1999-02-05, 5 instance(s)" "$WORK/started" ||
    fail "backfill: $(cat "$WORK/started")"
wait_for 30 "the cleaned days" test -e "$WORK/clean/1999-02-05.tsv"
report_running() { ctl list --state running | grep -q "report"; }
wait_for 30 "a backfilled report to run" report_running
ctl list --json > "$WORK/list"
running=$(grep -o '"task":"report","parameters":"[^"]*","state":"\(running\|starting\)"' "$WORK/list" | wc -l || true)
[ "$running" = 1 ] || fail "$running backfill runs on 2 slots (at most 1): $(cat "$WORK/list")"
# Its unit runs in the backfill slice.
unit_running=$(systemctl --user list-units --no-legend --plain "sluice-$PIPELINE-report@*" | awk '{print $1}')
[ "$(systemctl --user show -P Slice "$unit_running")" = "$backfill_slice" ] ||
    fail "$unit_running is not in $backfill_slice"
# A live arrival is not kept waiting behind the backfill: it runs now, in the pipeline slice.
echo go > "$WORK/live/now.in"
wait_for 30 "the live run" test -s "$WORK/done/now.out"
grep -q "sluice-$PIPELINE.slice/" "$WORK/done/now.out" || fail "live run: $(cat "$WORK/done/now.out")"
grep -q "backfill" "$WORK/done/now.out" && fail "the live run ran as backfill"
# Progress, while it is held.
ctl backfill > "$WORK/progress"
grep -q "report day=1999-02-01..1999-02-05" "$WORK/progress" || fail "listing: $(cat "$WORK/progress")"
grep -q "0/5 complete, 1 running, 4 queued" "$WORK/progress" || fail "progress: $(cat "$WORK/progress")"
ctl status | grep -q "^Backfills:" || fail "status does not show the backfill"

# Opened: everything completes, in the backfill slice; waiting on it exits 0.
touch "$WORK/gate"
ctl backfill report --from 1999-02-01 --to 1999-02-05 > "$WORK/again" ||
    fail "a second backfill of the same range: $(cat "$WORK/again")"
tail -n 1 "$WORK/again" | grep -q "^5/5 complete" || fail "backfill progress: $(cat "$WORK/again")"
for d in 01 02 03 04 05; do
    grep -q "$backfill_slice" "$WORK/report/1999-02-$d.txt" ||
        fail "1999-02-$d did not run as backfill: $(cat "$WORK/report/1999-02-$d.txt")"
done
started_once "$(unit report 1999-02-03)"

# A failure: the backfill ends with exit status 1 and says so; --json for scripts.
rc=0
ctl backfill --json report --from 1999-02-10 --to 1999-02-12 > "$WORK/json" 2>"$WORK/err" || rc=$?
[ $rc = 1 ] || fail "a backfill with a failure exited $rc"
grep -q '"total":3,"complete":2,.*"failed":1' "$WORK/json" || fail "--json: $(cat "$WORK/json")"

# Cancel: a backfill held at the gate, stopped; its queued instances are dropped.
rm "$WORK/gate"
for d in 20 21 22; do echo "$d" > "$WORK/raw/1999-02-$d.log"; done
id=$(ctl backfill --json --no-wait report --from 1999-02-20 --to 1999-02-22 | sed 's/.*"id":\([0-9]*\).*/\1/')
wait_for 30 "the held backfill to run" report_running
ctl backfill --cancel "$id" | grep -q "cancelled" || fail "--cancel"
nothing_active() { ! ctl list | grep -q "report.*\(queued\|running\|starting\)"; }
wait_for 30 "the cancelled backfill to stop" nothing_active
[ ! -e "$WORK/report/1999-02-22.txt" ] || fail "a cancelled backfill ran on"
# Listed as cancelled, with what it had come to; a later backfill of the range is not its own.
cancelled_listed() {
    ctl backfill | grep -A1 "^  $id  .*, cancelled$" | grep -q "cancelled: 0/3 complete, 0 failed, 3 cancelled"
}
cancelled_listed || fail "the cancelled backfill: $(ctl backfill)"
touch "$WORK/gate"
ctl backfill report --from 1999-02-20 --to 1999-02-22 > /dev/null || fail "the range again"
cancelled_listed || fail "the cancelled backfill took the later one's runs: $(ctl backfill)"
# An ended backfill has nothing to cancel, and says so.
rc=0
ctl backfill --cancel "$id" 2>"$WORK/err" || rc=$?
[ $rc = 1 ] && grep -q "Backfill $id is cancelled already: nothing to cancel" "$WORK/err" ||
    fail "cancel of a cancelled backfill: rc $rc, $(cat "$WORK/err")"
rm "$WORK/gate"
rc=0
ctl backfill --cancel 999 2>"$WORK/err" || rc=$?
[ $rc = 1 ] && grep -q "No backfill 999" "$WORK/err" || fail "cancel of an unknown backfill: $rc"

# Progress counts the runs under way upstream that the waiting instances need.
for d in 01 02; do echo "$d" > "$WORK/raw/1999-03-$d.log"; done
ctl backfill --no-wait report --from 1999-03-01 --to 1999-03-02 > /dev/null
clean_running() { ctl list --state running | grep -q "clean .*day=1999-03"; }
wait_for 30 "a held upstream run" clean_running
ctl backfill > "$WORK/progress"
grep -q "0/2 complete, 0 running, 0 queued, 0 retrying, 0 failed, 2 waiting for inputs (2 run(s) upstream under way)" "$WORK/progress" ||
    fail "progress upstream: $(cat "$WORK/progress")"
touch "$WORK/cleangate" "$WORK/gate"
wait_for 30 "the backfill held upstream" test -e "$WORK/report/1999-03-02.txt"
echo "PASS"
