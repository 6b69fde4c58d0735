#!/bin/bash
# SPDX-License-Identifier: MIT
# command targets: a `list` program's lines are the locations that exist (with a version
# after a tab), an `exists` program answers for one location; an arrival runs exactly once; a
# program that fails (in the words of its stderr's last line) or hangs past its timeout is
# reported (and killed).
. "$(dirname "$0")/lib.sh"
# What the polls of 'holding' leave behind, once the daemon is gone.
trap 'cleanup; pkill -x -f "sleep 601" || true' EXIT

printf '#!/bin/sh\ncat "$1" 2>/dev/null\n' > "$WORK/list.sh"
printf '#!/bin/sh\n[ -e %s/flag ]\n' "$WORK" > "$WORK/exists.sh"
chmod +x "$WORK/list.sh" "$WORK/exists.sh"
install_pipeline "$(dirname "$0")/command.conf.in"
printf 'catalog://2026-11-01\tv1\nnot a location\n' > "$WORK/catalog"
start_daemon

wait_for 30 "what the catalogue listed" test -s "$WORK/out/2026-11-01"
printf 'catalog://2026-11-01\tv1\ncatalog://2026-11-02\n' > "$WORK/catalog"
wait_for 30 "a new line in the catalogue" test -s "$WORK/out/2026-11-02"
[ "$(cat "$WORK/out/2026-11-02")" = catalog://2026-11-02 ] || fail "wrong input"
touch "$WORK/flag"
wait_for 30 "the exists program to say yes" test -s "$WORK/out/ready"
started_once "$(unit take 2026-11-01)"
started_once "$(unit take 2026-11-02)"

wait_for 30 "the failing program" logged "Cannot poll target 'failing' .*/bin/sh exited with status 3: no such table; trying"
wait_for 30 "the hanging program" logged "Cannot poll target 'hanging' .*/bin/sleep did not finish within the timeout"
# What the daemon spawns starts with no signal blocked (the daemon blocks SIGTERM for its
# signalfd) and none ignored that a program expects at its default.
sigs() { grep -E "^Sig(Blk|Ign):" "/proc/$(pgrep -n -x -f "sleep 601")/status"; }
wait_for 30 "a program of holding's" pgrep -x -f "sleep 601"
sigs | grep -q "^SigBlk:	0*$" || fail "a spawned program has signals blocked: $(sigs)"
# (SIGIO is bit 29, SIGPIPE bit 13; a shell's background job ignores SIGINT and SIGQUIT.)
(( (0x$(sigs | sed -n 's/^SigIgn:\t//p') & (1 << 28 | 1 << 12)) == 0 )) ||
    fail "a spawned program ignores SIGIO or SIGPIPE: $(sigs)"
# A program that exited, leaving its output held open, is not waited on for ever.
wait_for 30 "the program whose output stays open" \
    logged "Cannot poll target 'holding' .*/bin/sh did not finish within the timeout (it exited"
# ...nor one killed at its timeout whose child holds its output: the child goes with it.
wait_for 30 "the program killed with what it started" \
    logged "Cannot poll target 'stuck' .*/bin/sh did not finish within the timeout"
# (A later poll's may be running: none older than a timeout and a little.)
for p in $(pgrep -x -f "sleep 602"); do
    age=$(ps -o etimes= -p "$p" | tr -d ' ')
    [ -z "$age" ] || [ "$age" -le 3 ] ||
        fail "what the program started outlived its timeout: $(ps -o pid,etimes,args -p "$p")"
done
echo ok
