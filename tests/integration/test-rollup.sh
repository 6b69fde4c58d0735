#!/bin/bash
# SPDX-License-Identifier: MIT
# Fan-in through the real daemon: the 168 hourly logs of ISO week 2026-W48 land in random
# order; each day's roll-up runs exactly once, when its 24th hour lands, and the weekly report
# once, when its 7th day is rolled up. Each day's inputs are checked in full once, at its first
# hour; later hours only strike themselves off what it still misses.
. "$(dirname "$0")/lib.sh"

install_pipeline "$SOURCE_ROOT/contrib/examples/rollup/rollup.conf.in"
SLUICE_LOG_LEVEL=debug start_daemon -j 8

days=(2026-11-23 2026-11-24 2026-11-25 2026-11-26 2026-11-27 2026-11-28 2026-11-29)
mkdir -p "$WORK/logs" "$WORK/incoming"
for d in "${days[@]}"; do
    for h in $(seq -w 0 23); do echo "${d}T$h h$h"; done
done | shuf | while read -r hour word; do
    # Half written in place, half moved in: both count as arrivals.
    if (( RANDOM % 2 )); then
        echo "alpha beta gamma $word" > "$WORK/logs/$hour.log"
    else
        echo "alpha beta gamma $word" > "$WORK/incoming/$hour.log"
        mv "$WORK/incoming/$hour.log" "$WORK/logs/$hour.log"
    fi
done

wait_for 120 "the weekly report" test -f "$WORK/weekly/2026-W48.txt"
head -n 1 "$WORK/weekly/2026-W48.txt" | grep -qx "week 2026-W48: 7 days, 672 words" ||
    fail "wrong report: $(head -n 1 "$WORK/weekly/2026-W48.txt")"
grep -qx "168	alpha" "$WORK/weekly/2026-W48.txt" || fail "alpha was not counted 168 times"

for d in "${days[@]}"; do
    started_once "$(unit daily "$d")"
    [ "$(wc -l < "$WORK/daily/$d.tsv")" = 27 ] || fail "daily $d has the wrong words"
done
# Each daily roll-up read its 24 hours. Matched by the tasks' syslog identifier rather than
# _SYSTEMD_UNIT: journald loses the unit of a stream whose process exited before it looked
# the cgroup up, and journald may not have written the last line yet, hence the wait.
read_24() {
    [ "$(journalctl --no-pager -o cat "SYSLOG_IDENTIFIER=$PIPELINE.daily" |
        grep -c "^merged 24 files")" = 7 ]
}
wait_for 10 "the 7 daily roll-ups to say they read 24 files" read_24
started_once "$(unit weekly 2026-W48)"
[ -z "$(find "$WORK" -name '.sluice-*')" ] || fail "staging files left"
# One full check of the 24 inputs per day (the first hour to land), not one per hour.
full=$(grep -c "of task 'daily' misses" "$WORK/daemon.log" || true)
struck=$(grep -c "of task 'daily' waits for" "$WORK/daemon.log" || true)
[ "$full" = 7 ] || fail "$full full checks of the daily roll-ups' inputs, not 7"
[ "$struck" -ge $((7 * 22)) ] || fail "only $struck arrivals struck off a waiting list"
echo ok
