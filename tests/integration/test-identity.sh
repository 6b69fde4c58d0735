#!/bin/bash
# SPDX-License-Identifier: MIT
# Identity and sandbox: a DynamicUser= task and a User=nobody task write outputs (the daemon
# stages their files for them: see test-staging for whose they are), the sandbox makes the rest
# of the system read-only, an output never written is still a failure, the committed outputs
# are not world-writable, the pipeline's slice carries its aggregate limits, and a failure
# notice of a sandboxed task has its last lines (sluice-result --exec held the run's end).
. "$(dirname "$0")/lib.sh"

chmod 755 "$WORK"       # mktemp made it 0700: other users could not reach their outputs
# sluiced and sluice-result from where tasks under other users and with a private /tmp can run
# sluice-result, as from an installation: a build tree may be under /tmp or in /root.
mkdir "$WORK/bin"
cp "$SLUICED" "$(dirname "$SLUICED")/sluice-result" "$WORK/bin/"
SLUICED=$WORK/bin/sluiced
mkdir -p "$WORK/config"
printf '#!/bin/sh\nprintf "%%s\\n" "$SLUICE_LOG" > "%s/.notice"\nmv "%s/.notice" "%s/notice.$SLUICE_TASK"\n' \
    "$WORK" "$WORK" "$WORK" > "$WORK/last.sh"
chmod +x "$WORK/last.sh"
printf 'notifiers = { last = { exec = [ "%s/last.sh" ]; }; };\n' "$WORK" > "$WORK/config/sluiced.conf"
install_pipeline "$(dirname "$0")/identity.conf.in"
mkdir -p "$WORK/in"
# Where the user= tasks can write, as they must; and the group of dynamic_user staged files,
# which sysusers.d makes on an installed system, made here where it is missing.
mkdir -p "$WORK"/out/{nobody,lazy,loud,held}
chown nobody "$WORK"/out/{nobody,lazy,loud,held}
made_group=
if ! getent group sluice-stage >/dev/null; then
    groupadd --system sluice-stage
    made_group=1
fi
trap 'cleanup; [ -z "$made_group" ] || groupdel sluice-stage' EXIT
rm -f /etc/sluice-was-here
start_daemon
echo > "$WORK/in/a"

wait_for 30 "the dynamic user's output" test -f "$WORK/out/dyn/a"
mapfile -t got < "$WORK/out/dyn/a"
[ "${got[0]}" != 0 ] || fail "DynamicUser= ran as root"
[ "${got[1]}" = /tmp ] || fail "WorkingDirectory= not applied: ${got[1]}"
[ "${got[2]}" = etc-read-only ] || fail "the sandbox let the task write /etc"
[ ! -e /etc/sluice-was-here ] || fail "/etc/sluice-was-here exists"

wait_for 30 "nobody's output" test -f "$WORK/out/nobody/a"
[ "$(cat "$WORK/out/nobody/a")" = nobody ] || fail "User=nobody ran as $(cat "$WORK/out/nobody/a")"
[ "$(stat -c '%U %a' "$WORK/out/nobody/a")" = "nobody 640" ] ||
    fail "a committed output is $(stat -c '%U %a' "$WORK/out/nobody/a"), not nobody's 0640"

lazy=$(unit lazy a)
wait_for 30 "the lazy task to fail" grep -q "$lazy failed: exited 0 but did not write output 'lazy'" "$WORK/daemon.log"
[ ! -e "$WORK/out/lazy/a" ] || fail "an output never written was moved into place"
wait_for 30 "the loud task's failure notice" test -s "$WORK/notice.loud"
[ "$(tail -n 2 "$WORK/notice.loud" | tr '\n' '|')" = "20000|the last words|" ] ||
    fail "the notice lacks the task's last lines: $(tail -n 2 "$WORK/notice.loud" | tr '\n' '|')"
[ "$(systemctl --user show -P ExecMainStatus "$(unit loud a)")" = 5 ] ||
    fail "the task's exit status is not the unit's"
! grep -q "cannot be run by other users" "$WORK/daemon.log" || fail "sluice-result not used"

held=$(unit held a)
wait_for 30 "$held to run" systemctl --user is-active -q "$held"
systemctl --user daemon-reload
touch "$WORK/gate"
wait_for 30 "the held run's output, after a daemon-reload" test -f "$WORK/out/held/a"

wait_for 30 "the run under a user that does not exist to fail" logged "$(unit ghost a)\(: start failed\| failed for good\)"
logged "$(unit ghost a).*no user 'sluice-no-such-user' on this machine" ||
    fail "the reason of a user that does not exist: $(grep "$(unit ghost a)" "$WORK/daemon.log")"

[ -z "$(find "$WORK/out" -name '.sluice-*')" ] || fail "staging files left"

slice=$(systemctl --user list-units --all --plain --no-legend "sluice-$PIPELINE.slice" | awk '{print $1}')
[ "$slice" = "sluice-$PIPELINE.slice" ] || fail "no slice sluice-$PIPELINE.slice"
[ "$(systemctl --user show -P MemoryMax "$slice")" = 1073741824 ] || fail "slice MemoryMax not set"
[ "$(systemctl --user show -P TasksMax "$slice")" = 200 ] || fail "slice TasksMax not set"
echo ok
