#!/bin/bash
# SPDX-License-Identifier: MIT
# End to end through the real daemon and the real user manager: start-up reconciliation, limits
# on the unit, new date directories, hostile names, moved-in files, ignored temporaries, the
# two-stage chain, a failing task, and the journal.
. "$(dirname "$0")/lib.sh"

install_pipeline "$(dirname "$0")/chain.conf.in"
rm -f /tmp/owned

# Present before the daemon starts: start-up must run it without any event.
mkdir -p "$WORK/logs/2026-11-26"
echo "early bird early worm" > "$WORK/logs/2026-11-26/early.log"
# A link to a directory above, in the {name:path} tail: not followed (watches do not follow
# links either), so it neither goes round nor makes the start-up scan give up.
ln -s .. "$WORK/logs/2026-11-26/up"
start_daemon

early=$(unit wordcount 2026-11-26 early)
wait_for 30 "$early to run" systemctl --user is-active "$early"
[ "$(systemctl --user show -P MemoryMax "$early")" = $((48 * 1024 * 1024)) ] ||
    fail "MemoryMax of $early is $(systemctl --user show -P MemoryMax "$early")"
[ "$(systemctl --user show -P CPUQuotaPerSecUSec "$early")" = 300ms ] || fail "CPUQuota not set"
[ "$(systemctl --user show -P RuntimeMaxUSec "$early")" = 2min ] || fail "RuntimeMaxSec not set"
systemctl --user status "$early" --no-pager >/dev/null || fail "systemctl status $early"
touch "$WORK/gate"

# A new day directory: its watch is added on creation and it is scanned, so the file that
# lands right behind it is not missed.
mkdir -p "$WORK/logs/2026-11-27"
echo "the quick brown fox the" > "$WORK/logs/2026-11-27/plain.log"
hostile='a b $(touch /tmp/owned) ;x'
mkdir -p "$WORK/logs/2026-11-27/$(dirname "$hostile")"
echo "the quick brown fox the" > "$WORK/logs/2026-11-27/$hostile.log"
# systemd would expand $VAR in ExecStart= arguments unless told not to.
dollars='x$HOME${SLUICE_TASK}$$y'
echo "dollar signs" > "$WORK/logs/2026-11-27/$dollars.log"
echo "moved into place" > "$WORK/incoming.tmp"
mv "$WORK/incoming.tmp" "$WORK/logs/2026-11-27/moved.log"
echo "ignored" > "$WORK/logs/2026-11-27/.moved.log.swp"
echo "ignored" > "$WORK/logs/2026-11-27/backup.log~"
echo "a poisoned log" > "$WORK/logs/2026-11-27/poison.log"

for f in 2026-11-26/early 2026-11-27/plain "2026-11-27/$hostile" "2026-11-27/$dollars" \
    2026-11-27/moved; do
    wait_for 30 "summary of $f" test -f "$WORK/summary/$f.txt"
    test -f "$WORK/counts/$f.tsv" || fail "counts of $f missing"
done
grep -qx "5 words, 4 distinct" "$WORK/summary/2026-11-27/$hostile.txt" ||
    fail "wrong summary: $(cat "$WORK/summary/2026-11-27/$hostile.txt")"
grep -qx "4 words, 3 distinct" "$WORK/summary/2026-11-26/early.txt" || fail "wrong early summary"
[ ! -e "$WORK/summary/2026-11-26/up" ] || fail "a link to a directory was followed"
[ ! -e /tmp/owned ] || fail "a file name was run through a shell: /tmp/owned exists"

# A file being written in a directory made a moment ago, created before the directory's
# watch: no event said it was created, and its writer pauses; it counts at its close.
python3 - "$WORK/logs/2026-11-28" <<'PY' &
import os, sys, time
os.mkdir(sys.argv[1])
with open(os.path.join(sys.argv[1], "slow.log"), "w") as f:
    f.write("first half\n")
    f.flush()
    time.sleep(1.5)
    f.write("second half\n")
PY
writer=$!
wait_for 30 "the slow writer's summary" test -f "$WORK/summary/2026-11-28/slow.txt"
wait "$writer"
grep -qx "4 words, 3 distinct" "$WORK/summary/2026-11-28/slow.txt" ||
    fail "taken half-written: $(cat "$WORK/summary/2026-11-28/slow.txt")"

# A watched directory renamed: its watch (its inode's) reports under the new name from then on.
mkdir "$WORK/logs/2026-11-29"
echo "one" > "$WORK/logs/2026-11-29/a.log"
wait_for 30 "a in the day directory" test -f "$WORK/summary/2026-11-29/a.txt"
mv "$WORK/logs/2026-11-29" "$WORK/logs/2026-11-30"
wait_for 30 "a under the directory's new name" test -f "$WORK/summary/2026-11-30/a.txt"
echo "two words" > "$WORK/logs/2026-11-30/b.log"
wait_for 30 "a file written in the renamed directory" test -f "$WORK/summary/2026-11-30/b.txt"

# The failing task: the unit stays loaded as failed, with systemd's own account of why.
poison=$(unit wordcount 2026-11-27 poison)
wait_for 30 "$poison to fail" systemctl --user is-failed "$poison"
[ "$(systemctl --user show -P Result "$poison")" = exit-code ] || fail "Result of $poison"
[ "$(systemctl --user show -P ExecMainStatus "$poison")" = 3 ] || fail "status of $poison"
wait_for 10 "the failure in the journal" journal_has MESSAGE_ID=f1220f814d0a400e8db049236917e2c7 \
    "SLUICE_UNIT=$poison" SLUICE_RESULT=failed
[ ! -e "$WORK/counts/2026-11-27/poison.tsv" ] || fail "a failed run left an output"

# Nothing for the temporaries, and no staging file left behind.
[ -z "$(find "$WORK/counts" "$WORK/summary" -name '.sluice-*')" ] || fail "staging files left"
[ ! -e "$WORK/counts/2026-11-27/.moved.log.swp" ] && [ ! -e "$WORK/counts/2026-11-27/backup.tsv" ] ||
    fail "a temporary name was taken for an input"

# The task's own lines are in the journal under its syslog identifier (not _SYSTEMD_UNIT:
# journald loses the unit of a stream whose process exited before it looked the cgroup up),
# and so is the daemon's record.
plain=$(unit summary 2026-11-27 plain)
summary_lines() { journalctl --no-pager -o cat "SYSLOG_IDENTIFIER=$PIPELINE.summary"; }
said_plain() { summary_lines | grep -q "summary of 'plain': 5 words"; }
wait_for 10 "the task's output in the journal" said_plain
summary_lines | grep -q "summary of '2026-11-27/plain'" && fail "parameter leaked" || true
wait_for 10 "the run record in the journal" journal_has MESSAGE_ID=f1220f814d0a400e8db049236917e2c7 \
    "SLUICE_UNIT=$plain" SLUICE_RESULT=success

# Successful units are collected; the daemon leaves on SIGTERM.
collected() { [ "$(systemctl --user show -P LoadState "$1")" = not-found ]; }
wait_for 10 "$plain to be collected" collected "$plain"
kill -TERM "$DAEMON_PID"
wait "$DAEMON_PID" || fail "sluiced exited with $? on SIGTERM"
DAEMON_PID=
echo "ok"
