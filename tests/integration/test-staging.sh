#!/bin/bash
# SPDX-License-Identifier: MIT
# Staged outputs of tasks under other users. A user= task's staged file is its user's, 0640,
# for the whole run (no other local user can write or read it), the task can chmod it, and it
# keeps that mode in place. A link put in a directory another user controls does not lead the
# daemon, which stages and commits with the task user's credentials, to a place that user
# could not write. A dynamic_user task's staged file is root's and group sluice-stage's, 0660,
# and 0640 in place.
. "$(dirname "$0")/lib.sh"

TASK_USER=nobody        # the task's user
BOB=daemon              # another local user, who controls a directory on an output's path

chmod 755 "$WORK"       # mktemp made it 0700: other users could not reach their outputs
mkdir "$WORK/bin"
cp "$SLUICED" "$(dirname "$SLUICED")/sluice-result" "$WORK/bin/"
SLUICED=$WORK/bin/sluiced
# The group sysusers.d makes on an installed system; made here where it is missing, and only
# then removed.
made_group=
if ! getent group sluice-stage >/dev/null; then
    groupadd --system sluice-stage
    made_group=1
fi
trap 'cleanup; [ -z "$made_group" ] || groupdel sluice-stage' EXIT
mkdir -p "$WORK/in" "$WORK/own" "$WORK/victim" "$WORK/bobzone" "$WORK/dyn"
chown "$TASK_USER" "$WORK/own"
chgrp sluice-stage "$WORK/dyn"
chown "$BOB" "$WORK/bobzone"
setpriv --reuid="$BOB" --regid="$(id -g "$BOB")" --clear-groups ln -s "$WORK/victim" "$WORK/bobzone/out"
install_pipeline "$(dirname "$0")/staging.conf.in"
start_daemon
echo > "$WORK/in/a"

# as_bob COMMAND...: COMMAND as another local user than the task's.
as_bob() { setpriv --reuid="$BOB" --regid="$(id -g "$BOB")" --clear-groups "$@"; }
staged() { find "$1" -maxdepth 1 -name '.sluice-*' | head -n 1; }
has_staged() { [ -n "$(staged "$1")" ]; }

wait_for 30 "the staged file of the user= task" has_staged "$WORK/own"
tmp=$(staged "$WORK/own")
[ "$(stat -c '%U %a' "$tmp")" = "$TASK_USER 640" ] ||
    fail "the staged file is $(stat -c '%U:%G %a' "$tmp"), not the task user's, 0640"
! as_bob sh -c 'echo tampered >> "$1"' sh "$tmp" 2>/dev/null || fail "another user could write the staged file"
! as_bob cat "$tmp" >/dev/null 2>&1 || fail "another user could read the staged file"
touch "$WORK/gate-own"
wait_for 30 "the user= task's output" test -f "$WORK/own/a"
[ "$(cat "$WORK/own/a")" = "$TASK_USER $(id -gn "$TASK_USER") 640" ] ||
    fail "the task saw its staged file as: $(cat "$WORK/own/a")"
[ "$(stat -c '%U %a' "$WORK/own/a")" = "$TASK_USER 600" ] ||
    fail "the output is $(stat -c '%U %a' "$WORK/own/a") in place, not as the task left it (600)"

wait_for 30 "the plain user= task's output" test -f "$WORK/own/plain-a"
[ "$(stat -c '%U %a' "$WORK/own/plain-a")" = "$TASK_USER 640" ] ||
    fail "the plain output is $(stat -c '%U %a' "$WORK/own/plain-a") in place"

evil=$(unit evil a)
wait_for 30 "the run through another user's link to fail" \
    grep -q "Failed to start $evil: cannot prepare output 'evil'" "$WORK/daemon.log"
grep -q "$evil.*Permission denied" "$WORK/daemon.log" || fail "the failure does not say why"
[ -z "$(ls -A "$WORK/victim")" ] || fail "the daemon wrote through the link: $(ls -A "$WORK/victim")"

wait_for 30 "the staged file of the dynamic_user task" has_staged "$WORK/dyn"
tmp=$(staged "$WORK/dyn")
[ "$(stat -c '%U %G %a' "$tmp")" = "root sluice-stage 660" ] ||
    fail "the dynamic_user task's staged file is $(stat -c '%U:%G %a' "$tmp")"
! as_bob sh -c 'echo tampered >> "$1"' sh "$tmp" 2>/dev/null || fail "another user could write the dynamic staged file"
touch "$WORK/gate-dyn"
wait_for 30 "the dynamic_user task's output" test -f "$WORK/dyn/a"
[ "$(stat -c '%U %G %a' "$WORK/dyn/a")" = "root sluice-stage 640" ] ||
    fail "the dynamic_user output is $(stat -c '%U:%G %a' "$WORK/dyn/a") in place"
[ "$(cat "$WORK/dyn/a")" = "root sluice-stage 660" ] ||
    fail "the dynamic_user task saw its staged file as: $(cat "$WORK/dyn/a")"
echo ok
