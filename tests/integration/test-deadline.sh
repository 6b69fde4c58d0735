#!/bin/bash
# SPDX-License-Identifier: MIT
# Deadlines: a target instance missing at its deadline is told to on_late's notifiers, by the
# daemon's own check (no task failed: none exists); exactly once, a restart included, and
# again after a restart if its notifier's command was killed before it delivered it, but not
# again after a reload; an instance that is there is not told about; nor is one whose deadline
# passed before its target was defined (added by a reload).
. "$(dirname "$0")/lib.sh"

mkdir -p "$WORK/config" "$WORK/late" "$WORK/in/present"
printf '#!/bin/sh\nenv | grep ^SLUICE_ > "%s/late/$$"\n' "$WORK" > "$WORK/late.sh"
chmod +x "$WORK/late.sh"
printf 'notifiers = { late = { exec = [ "%s/late.sh" ]; };\n' "$WORK" > "$WORK/config/sluiced.conf"
printf '  slowlate = { exec = [ "/bin/sh", "-c", "sleep 2; echo told >> %s/tardy-told", "tardy-%s" ]; }; };\n' \
    "$WORK" "$PIPELINE" >> "$WORK/config/sluiced.conf"
install_pipeline "$(dirname "$0")/deadline.conf.in"
# Defined long before this hour's deadline, at its start: a period due before its target was
# defined (its file changed) is not checked.
touch -d "2 hours ago" "$WORK/config/pipelines.d/$PIPELINE.conf"
# Present for this hour and the next (should the hour turn during the test).
for t in now "now + 1 hour"; do touch "$WORK/in/present/$(date -u -d "$t" +%Y-%m-%dT%H)"; done
# Paused (as `sluicectl pause` keeps it): deadlines are still watched, and the alert says so.
mkdir -p "$WORK/state"
echo "$PIPELINE" > "$WORK/state/paused"
start_daemon

told() { grep -l "^SLUICE_EVENT=late" "$WORK"/late/* 2>/dev/null | head -n 1; }
wait_for 30 "the late notice" told
f=$(told)
grep -q "^SLUICE_TARGET=missing$" "$f" || fail "late notice: $(cat "$f")"
grep -q "^SLUICE_PAUSED=1$" "$f" && grep -q "^SLUICE_TEXT=.*is missing (the pipeline is paused)$" "$f" ||
    fail "the late notice of a paused pipeline does not say so: $(cat "$f")"
loc=$(sed -n 's/^SLUICE_LOCATION=//p' "$f")
case $loc in "$WORK"/in/missing/20*T[0-9][0-9]) ;; *) fail "location: $loc" ;; esac
grep -q "was due by its deadline and is missing" "$WORK/daemon.log" || fail "not logged"
grep -q "present.*was due" "$WORK/daemon.log" && fail "a present instance was reported late"

# A restart does not tell it again, once delivered; one still being told when the daemon stops
# (its command killed with it, as a service's stop does) is told again.
delivered() { ! grep -q untold "$WORK/state/deadlines/"*.missing; }
wait_for 10 "the alert noted as delivered" delivered
wait_for 10 "the slow notifier's command" pgrep -f "tardy-$PIPELINE"
kill -TERM "$DAEMON_PID"; wait "$DAEMON_PID"
pkill -f "tardy-$PIPELINE" || true
grep -q untold "$WORK/state/deadlines/"*.tardy || fail "an alert not delivered is kept as told"
start_daemon
# A reload that starts the pipeline afresh while that alert is under way does not tell it a
# second time, and the alert is still noted as delivered once it is.
wait_for 10 "the slow notifier's command, again" pgrep -f "tardy-$PIPELINE"
echo "# changed" >> "$WORK/config/pipelines.d/$PIPELINE.conf"
reload
wait_for 30 "the alert the stop cut short, told again" test -s "$WORK/tardy-told"
[ "$(grep -c "tardy/.* was due by its deadline" "$WORK/daemon.log")" = 2 ] ||
    fail "the tardy alert was told $(grep -c "tardy/.* was due by its deadline" "$WORK/daemon.log") times, not once per start"
wait_for 10 "the alert under way at the reload noted as delivered" \
    eval '! grep -q untold "$WORK/state/deadlines/"*.tardy'
[ "$(grep -c "$loc was due by its deadline" "$WORK/daemon.log")" = 1 ] ||
    fail "told $(grep -c "$loc was due by its deadline" "$WORK/daemon.log") times"

# A target added by a reload, whose instance for this hour was due at its start, before the
# target was defined: not told.
printf 'targets = { newcomer = { path = "%s/in/newcomer/{h:hour}"; deadline = "0s"; on_late = [ "late" ]; }; };\ntasks = ();\n' \
    "$WORK" > "$WORK/config/pipelines.d/${PIPELINE}n.conf"
reload
passed_over="Target 'newcomer': h=\([^ ]*\) was due before the target was defined"
wait_for 10 "the period due before the new target, passed over" logged "$passed_over"
h=$(sed -n "s/.*$passed_over.*/\1/p" "$WORK/daemon.log")
logged "in/newcomer/$h was due by its deadline" && fail "told late for a deadline before the target"
echo ok
