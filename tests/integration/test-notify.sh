#!/bin/bash
# SPDX-License-Identifier: MIT
# Notifiers against real receivers: a local HTTP server records webhook posts (JSON and
# Slack's form), a command gets the details in its environment (the task's last log lines
# included); failure after the last attempt, retry, success and recovery; a storm of 30
# failures is four messages (three, then a summary); the same failure is told once; a
# webhook that answers 500 is retried; a mail goes through msmtp (Debian's sendmail-compatible
# program) to a local SMTP server that keeps it; the OnFailure= template unit runs in the
# user manager for the last attempt only. A failure's notice waits for journald to have written
# the run's last lines, even when it is behind. A reload takes new notifier settings at once and
# retires a notifier that went away. A failure is noted as told only once delivered: one whose
# command is killed at the daemon's stop is told again at the next start.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/servers.sh"

# The receiver: every POST into $WORK/posts/PATH.N; /flaky answers 500 the first time.
mkdir -p "$WORK/posts" "$WORK/envs"
# It listens on a port the kernel picks, and says which in $WORK/hook.port: no port to race for.
python3 - "$WORK/hook.port" "$WORK/posts" <<'PY' &
import http.server, os, sys
port_file, out = sys.argv[1], sys.argv[2]
seen = {}
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        name = self.path.strip("/")
        seen[name] = seen.get(name, 0) + 1
        if name == "flaky" and seen[name] == 1:
            self.send_response(500); self.end_headers(); return
        # Put in place whole: the test reads each as soon as it is there.
        with open(os.path.join(out, ".new"), "wb") as f:
            f.write(body)
        os.replace(os.path.join(out, ".new"), os.path.join(out, "%s.%d" % (name, seen[name])))
        self.send_response(200); self.end_headers()
    def log_message(self, *a): pass
server = http.server.HTTPServer(("127.0.0.1", 0), H)
with open(port_file + ".new", "w") as f:
    f.write("%d\n" % server.server_address[1])
os.replace(port_file + ".new", port_file)
server.serve_forever()
PY
HOOK_PID=$!
trap 'kill $HOOK_PID ${SMTP_PID:-} 2>/dev/null; cleanup' EXIT
wait_for 30 "the receiver's port" test -s "$WORK/hook.port"
HOOK_PORT=$(cat "$WORK/hook.port")
hook_up() { (echo > "/dev/tcp/127.0.0.1/$HOOK_PORT") 2>/dev/null; }
wait_for 10 "the receiver" hook_up

# The SMTP side: Python's debugging server prints every mail it gets.
SMTP_PORT=$(free_port)
python3 -W ignore -m smtpd -n -c DebuggingServer "127.0.0.1:$SMTP_PORT" > "$WORK/mail.log" 2>&1 &
SMTP_PID=$!
smtp_up() { (echo > "/dev/tcp/127.0.0.1/$SMTP_PORT") 2>/dev/null; }
wait_for 10 "the SMTP server" smtp_up
printf 'account default\nhost 127.0.0.1\nport %s\nfrom sluice@localhost\nauth off\ntls off\n' \
    "$SMTP_PORT" > "$WORK/msmtprc"
chmod 600 "$WORK/msmtprc"

# SLUICE_LOG, lines and all, beside: grep keeps only its first. JOURNALD_RESUMED: told after
# the test let journald run again (below).
mkdir -p "$WORK/logs"
cat > "$WORK/notify.sh" <<SH
#!/bin/sh
# Each file put in place whole: the test reads them as soon as they are there.
{ env | grep ^SLUICE_; [ ! -e "$WORK/resumed" ] || echo JOURNALD_RESUMED=1; } > "$WORK/envs/.\$\$"
mv "$WORK/envs/.\$\$" "$WORK/envs/\$SLUICE_EVENT.\$SLUICE_TASK.\$\$"
printf '%s\\n' "\$SLUICE_LOG" > "$WORK/logs/.\$\$"
mv "$WORK/logs/.\$\$" "$WORK/logs/\$SLUICE_EVENT.\$SLUICE_TASK.\$\$"
SH
chmod +x "$WORK/notify.sh"
mkdir -p "$WORK/config"
cat > "$WORK/config/sluiced.conf" <<CONF
notifiers = {
  hook  = { webhook = "http://127.0.0.1:$HOOK_PORT/hook"; };
  slack = { webhook = "http://127.0.0.1:$HOOK_PORT/slack"; slack = true; };
  run   = { exec = [ "$WORK/notify.sh" ]; };
  rec   = { exec = [ "$WORK/notify.sh" ]; };
  lag   = { exec = [ "$WORK/notify.sh" ]; };
  storm = { webhook = "http://127.0.0.1:$HOOK_PORT/storm"; window = "3s"; };
  held  = { webhook = "http://127.0.0.1:$HOOK_PORT/held"; window = "1h"; };
  stall = { exec = [ "/bin/sleep", "30" ]; timeout = "1s"; retries = 0; };
  slow  = { exec = [ "/bin/sh", "-c", "sleep 3; echo \"\$SLUICE_UNIT\" >> $WORK/slow-notices", "slow-notifier-$PIPELINE" ]; };
  flaky = { webhook = "http://127.0.0.1:$HOOK_PORT/flaky"; retries = 2; };
  unit  = { unit = "sluice-notify-$PIPELINE@.service"; };
  ghost = { unit = "sluice-ghost-$PIPELINE@.service"; };
  mail  = { email = "ops@example.com"; sendmail = [ "$(command -v msmtp)", "-C", "$WORK/msmtprc" ];
            subject = "[sluice] \${task} \${parameters}: \${event}"; };
};
CONF
install_pipeline "$(dirname "$0")/notify.conf.in"
mkdir -p "$WORK"/in/{bad,good,flip,storm,held,flaky,mailed,unitfail,lagged,retried,slowly,stalled}
# The shipped template, under a name of this test's, in the user manager.
units=$XDG_RUNTIME_DIR/systemd/user
mkdir -p "$units"
cp "$SOURCE_ROOT/units/sluice-notify@.service" "$units/sluice-notify-$PIPELINE@.service"
systemctl --user daemon-reload
trap 'kill $HOOK_PID ${SMTP_PID:-} 2>/dev/null; rm -f "$units/sluice-notify-$PIPELINE@.service"; cleanup' EXIT
# A bound on a notice's wait for journald far beyond this test's waits, and the debug line
# that says a notice waits, for (a) below.
SLUICE_LOG_LEVEL=debug SLUICE_NOTICE_WAIT_MS=600000 start_daemon
count() { ls "$WORK/$1" 2>/dev/null | grep -c "^$2" || true; }
# A unit notifier whose template the manager has not got is said at start; one it has is not.
logged "Notifier 'ghost': the manager has no unit 'sluice-ghost-$PIPELINE@.service'" ||
    fail "the missing template was not said"
! logged "Notifier 'unit': the manager has no unit" || fail "the installed template was said missing"
has() { [ "$(count "$1" "$2")" -ge "$3" ]; }

# A failure after the last attempt: a retry first, then the webhook and the command.
echo x > "$WORK/in/bad/a"
wait_for 30 "the retry notice" has envs retry.bad 1
wait_for 30 "the failure webhook" has posts hook. 1
grep -q '"event":"failure"' "$WORK/posts/hook.1" || fail "webhook body: $(cat "$WORK/posts/hook.1")"
grep -q '"unit":"sluice-'"$PIPELINE"'-bad@a.service"' "$WORK/posts/hook.1" || fail "no unit: $(cat "$WORK/posts/hook.1")"
[ "$(grep -o '"text":' "$WORK/posts/hook.1" | wc -l)" = 1 ] || fail "a key twice: $(cat "$WORK/posts/hook.1")"
grep -q '"id":"[0-9a-f]\{32\}"' "$WORK/posts/hook.1" || fail "no id: $(cat "$WORK/posts/hook.1")"
wait_for 30 "the failure command" has envs failure.bad 1
env_file=$(ls "$WORK"/envs/failure.bad.* | head -n 1)
grep -q "^SLUICE_REASON=exit-code (status 4)" "$env_file" || fail "reason: $(cat "$env_file")"
grep -qx "SLUICE_LOGS_COMMAND=sluicectl --user logs $PIPELINE/bad -p n=a" "$env_file" ||
    fail "logs command: $(cat "$env_file")"
grep -q "boom from bad" "$env_file" || fail "no log lines: $(cat "$env_file")"
grep -q "^SLUICE_ATTEMPTS=2" "$env_file" || fail "attempts: $(cat "$env_file")"

# The same failure again is not told again.
echo y > "$WORK/in/bad/a"
told_once() { grep -q "sluice-$PIPELINE-bad@a.service failed again: notifier 'hook' was told already" "$WORK/daemon.log"; }
wait_for 30 "the repeated failure to be held back" told_once
[ "$(count posts hook.)" = 1 ] || fail "the repeated failure was posted again"
# ...nor by the daemon started again: a failed mark means told.
kill -TERM "$DAEMON_PID"; wait "$DAEMON_PID" || true
SLUICE_LOG_LEVEL=debug SLUICE_NOTICE_WAIT_MS=600000 start_daemon
echo z > "$WORK/in/bad/a"
told_twice() {
    [ "$(grep -c "sluice-$PIPELINE-bad@a.service failed again: notifier 'hook' was told already" \
        "$WORK/daemon.log")" -ge 2 ]
}
wait_for 30 "the failure after a restart to be held back" told_twice
[ "$(count posts hook.)" = 1 ] || fail "the failure was posted again after a restart"

# Success, in Slack's form; a recovery.
echo x > "$WORK/in/good/a"
wait_for 30 "the success post" has posts slack. 1
grep -q '^{"text":"sluice: '"$PIPELINE"'/good n=a succeeded"}$' "$WORK/posts/slack.1" || fail "slack body: $(cat "$WORK/posts/slack.1")"
echo x > "$WORK/in/flip/a"
wait_for 30 "the recovery" has envs recovery.flip 1

# A storm: 30 failures, a few messages: three at once, then summaries of the others (one when
# they all fail within one window; a loaded machine spreads them over more). Every failure is
# told exactly once, in a post of its own or counted in a summary.
for i in $(seq 1 30); do echo "$i" > "$WORK/in/storm/$i"; done
# storm_told: failures posted one by one, plus those the summaries count.
storm_told() {
    python3 -c '
import glob, json, sys
n = 0
for f in glob.glob(sys.argv[1] + "/posts/storm.*"):
    j = json.load(open(f))
    n += int(j["count"]) if j.get("event") == "summary" else 1
print(n)' "$WORK"
}
all_told() { [ "$(storm_told)" = 30 ]; }
wait_for 60 "every failure of the storm told" all_told
storm_posts=$(count posts storm.)
grep -q '"event":"summary"' "$WORK"/posts/storm.* && [ "$storm_posts" -le 10 ] ||
    fail "a storm of 30 failures was not summarised: $storm_posts posts"
grep -q "more notification(s)" "$WORK/posts/storm.4" || fail "summary: $(cat "$WORK/posts/storm.4")"
# One more after the summary goes out as itself, not in a summary a window late.
echo 31 > "$WORK/in/storm/31"
wait_for 30 "the failure after the storm" has posts storm. $((storm_posts + 1))
grep -q '"event":"failure"' "$WORK/posts/storm.$((storm_posts + 1))" ||
    fail "after the storm: $(cat "$WORK/posts/storm.$((storm_posts + 1))")"

# Failures a window holds are not lost with a daemon killed before the window ends: the next
# start tells them, once, and not those told already.
# held_failed N, untold N: N held instances failed; N of them saved as not told yet.
held_failed() { [ "$("$SLUICECTL" --user -C "$WORK/config" list --state failed | grep -c "/held ")" = "$1" ]; }
untold() { [ "$(grep -c "failed-untold" "$WORK/state/instances" 2>/dev/null)" = "$1" ]; }
for i in $(seq 1 5); do echo "$i" > "$WORK/in/held/$i"; done
wait_for 30 "the five failures" held_failed 5
wait_for 30 "the first three posts" has posts held. 3
wait_for 10 "the two held failures saved as not told yet" untold 2
kill -KILL "$DAEMON_PID"; wait "$DAEMON_PID" 2>/dev/null || true
SLUICE_LOG_LEVEL=debug SLUICE_NOTICE_WAIT_MS=600000 start_daemon
wait_for 30 "the two held failures told after the restart" has posts held. 5
[ "$(grep -c "failed for good before a restart, and its notifiers were not told yet" "$WORK/daemon.log")" = 2 ] ||
    fail "not exactly the two untold failures were told again: $(grep "not told yet" "$WORK/daemon.log")"
# A stop sends what a window holds, but a webhook's post cannot outlive the daemon: those
# failures stay untold, and the next start tells them.
for i in $(seq 6 10); do echo "$i" > "$WORK/in/held/$i"; done
wait_for 30 "five more failures" held_failed 10
wait_for 30 "the one the window still allows" has posts held. 6
wait_for 10 "the four held failures saved as not told yet" untold 4
kill -TERM "$DAEMON_PID"; wait "$DAEMON_PID" || true
untold 4 || fail "a stop marked held webhook failures as told: $(grep -c failed-untold "$WORK/state/instances")"
SLUICE_LOG_LEVEL=debug SLUICE_NOTICE_WAIT_MS=600000 start_daemon
wait_for 30 "three of the four told after the restart" has posts held. 9

# A command still telling a failure when the daemon stops, and killed with it (as a service's
# stop kills its children): the failure stays untold, and the next start tells it.
echo x > "$WORK/in/slowly/a"
wait_for 30 "the failure told slowly" logged "sluice-$PIPELINE-slowly@a.service failed for good"
wait_for 10 "the notifier's command" pgrep -f "slow-notifier-$PIPELINE"
kill -TERM "$DAEMON_PID"; wait "$DAEMON_PID" || true
pkill -f "slow-notifier-$PIPELINE" || true
grep -q "failed-untold.*slowly\|slowly.*failed-untold" "$WORK/state/instances" ||
    fail "a failure whose notifier was killed is marked told: $(grep slowly "$WORK/state/instances")"
SLUICE_LOG_LEVEL=debug SLUICE_NOTICE_WAIT_MS=600000 start_daemon
wait_for 30 "the failure told after the restart" test -s "$WORK/slow-notices"
grep -qx "sluice-$PIPELINE-slowly@a.service" "$WORK/slow-notices" || fail "slow notice: $(cat "$WORK/slow-notices")"

# A command killed at the notifier's timeout is said to be, not only "killed by signal KILL".
echo x > "$WORK/in/stalled/a"
wait_for 30 "the stalled notifier" \
    logged "Notifier 'stall' failed 1 time(s), giving up on: .*stalled n=a.*(/bin/sleep did not finish within the notifier's timeout, and was killed)"

# A webhook that fails is retried.
echo x > "$WORK/in/flaky/a"
wait_for 30 "the retried webhook" has posts flaky. 1
grep -q "Notifier 'flaky' failed (.*HTTP status 500); trying again" "$WORK/daemon.log" || fail "the failure was not logged"
# A mail, with its subject template and the task's last lines.
echo x > "$WORK/in/mailed/a"
mailed() { grep -q "Subject: \[sluice\] mailed n=a: failure" "$WORK/mail.log"; }
wait_for 30 "the mail" mailed
grep -q "To: ops@example.com" "$WORK/mail.log" || fail "mail: $(cat "$WORK/mail.log")"
grep -q "disk full" "$WORK/mail.log" || fail "no log lines in the mail: $(cat "$WORK/mail.log")"
grep -q "All of it: sluicectl --user logs $PIPELINE/mailed -p n=a" "$WORK/mail.log" ||
    fail "no logs command in the mail: $(cat "$WORK/mail.log")"

# systemd-native: OnFailure= starts the template for the last attempt's unit, once.
echo x > "$WORK/in/unitfail/a"
notified_unit() {
    journalctl --no-pager -q -o cat -t sluice-notify |
        grep -q "^sluice-$PIPELINE-unitfail@a.service failed for good"
}
wait_for 30 "the OnFailure= unit's line" notified_unit
# The hook unit is named after the failed unit once, not "...@a.service.service".
# (systemctl quotes a unit name with a backslash, and doubles the backslash.)
of=$(systemctl --user show -P OnFailure "sluice-$PIPELINE-unitfail@a.service" |
    sed 's/^"//; s/"$//; s/\\\\/\\/g')
[ "$of" = "sluice-notify-$PIPELINE@$(escape "sluice-$PIPELINE-unitfail@a").service" ] ||
    fail "OnFailure=$of"
[ "$(journalctl --no-pager -q -o cat -t sluice-notify | grep -c "sluice-$PIPELINE-unitfail@a.service")" = 1 ] ||
    fail "the template ran for every attempt"
# journald lags. A failure's notice waits for the daemon's own entry on the run's end to be in
# the journal: journald takes it after what it read of the task's output, and the run's end is
# recorded once it has read all. Here journald is stopped from after the task's last line
# until the run has ended: (a) resumed once the notice is waiting, the notice goes after that
# (the daemon runs with a bound far beyond this test's waits); (b) resumed only after the
# bound, the notice goes at the bound, with the line written before; (c) below. Stopped are the
# journalds of this mount namespace (a container's, in test-system, is not this test's), and
# only where this test's harness started them: on a host booted with systemd, journald is
# everyone's.
lag_test=
if [ "$(cat /proc/1/comm)" != systemd ]; then
    journalds=()
    for pid in $(pidof systemd-journald); do
        [ "$(readlink "/proc/$pid/ns/mnt")" = "$(readlink /proc/self/ns/mnt)" ] && journalds+=("$pid")
    done
    [ ${#journalds[@]} -gt 0 ] || fail "no journald to stop"
    lag_test=yes
    trap 'resume_journald; kill $HOOK_PID ${SMTP_PID:-} 2>/dev/null; rm -f "$units/sluice-notify-$PIPELINE@.service"; cleanup' EXIT
else
    echo "journald is the host's: the lagging journald part is left out" >&2
fi
# Whatever ends this test, journald runs again (the EXIT trap; a timer per stop, should the
# test be killed outright: a safety net, not a wait).
NET_PID=
stop_journald() {
    kill -STOP "${journalds[@]}"
    (sleep 45; kill -CONT "${journalds[@]}") >/dev/null 2>&1 &
    NET_PID=$!
}
resume_journald() {
    [ -z "${journalds[*]:-}" ] || kill -CONT "${journalds[@]}" 2>/dev/null || true
    [ -z "$NET_PID" ] || kill "$NET_PID" 2>/dev/null || true
    NET_PID=
}
# open_gate GATE: lets a task waiting at GATE (a FIFO) go on.
open_gate() { timeout 30 sh -c 'echo open > "$1"' sh "$1" || fail "no task at $1"; }
said() { journalctl --no-pager -q -o cat -t "$PIPELINE.lagged" | holds "^the last words of $1$"; }
lag_seen() { grep -q "sluice-$PIPELINE-lagged@$1.service$2" "$WORK/daemon.log"; }
# lagged N UNTIL NTH: instance N's run, journald stopped from after the task's line until the
# daemon logs UNTIL on it; its notice is the NTH and has the line.
lagged() {
    local n=$1 until=$2
    mkfifo "$WORK/gate.$n"
    echo x > "$WORK/in/lagged/$n"
    wait_for 30 "the last words of $n in the journal" said "$n"
    stop_journald
    open_gate "$WORK/gate.$n"
    wait_for 30 "$n: $until" lag_seen "$n" "$until"
    touch "$WORK/resumed"
    resume_journald
    notice_has_line "$n" "$3"
}
notice_has_line() {
    wait_for 30 "the notice of lagged $1" has envs "failure.lagged" "$2"
    # The command writes its log file after its environment's.
    wait_for 30 "the log of the notice of lagged $1" has logs "failure.lagged" "$2"
    env_file=$(ls -t "$WORK"/envs/failure.lagged.* | head -n 1)
    log_file=$(ls -t "$WORK"/logs/failure.lagged.* | head -n 1)
    grep -q "^the last words of $1$" "$log_file" || fail "the notice of $1 lacks the task's line: $(cat "$log_file")"
}
if [ -n "$lag_test" ]; then
    lagged a ": its notice waits for journald" 1
    grep -q "^JOURNALD_RESUMED=1" "$env_file" || fail "the notice of a went while journald was stopped"
fi

# A reload: hook posts elsewhere from now on; storm is gone, so the pipeline that names it
# keeps its running version (and says why), and its channel is retired.
cp "$WORK/config/sluiced.conf" "$WORK/sluiced.conf.before"
sed -i -e "s|/hook\"|/hook2\"|" -e '/^  storm /d' "$WORK/config/sluiced.conf"
kill -HUP "$DAEMON_PID"
reloaded() { grep -q "Reloaded:" "$WORK/daemon.log"; }
wait_for 30 "the reload" reloaded
grep -q "Notifier 'storm' is gone" "$WORK/daemon.log" || fail "storm was not retired"
grep -q "no notifier 'storm' in sluiced.conf" "$WORK/daemon.log" || fail "the pipeline's error was not said"
echo x > "$WORK/in/bad/b"
wait_for 30 "the failure webhook at the new address" has posts hook2. 1
grep -q '"unit":"sluice-'"$PIPELINE"'-bad@b.service"' "$WORK/posts/hook2.1" || fail "hook2: $(cat "$WORK/posts/hook2.1")"
[ "$(count posts "hook\\.")" = 1 ] || fail "the old address was posted to after the reload"

# (b), by a daemon started again with the default bound and the notifiers of before.
if [ -n "$lag_test" ]; then
    cp "$WORK/sluiced.conf.before" "$WORK/config/sluiced.conf"
    kill "$DAEMON_PID"
    wait "$DAEMON_PID" || true
    rm "$WORK/resumed"
    start_daemon
    lagged b ": the journal still lacks the end of run" 2
    # (c) stopped before the task writes: journald has not read its line when the run ends
    # (sluice-result waits 2 s for it), may then write the daemon's entry first, and the
    # notice gives it the whole bound.
    mkfifo "$WORK/gate.c" "$WORK/gate.d"
    stop_journald
    echo x > "$WORK/in/lagged/c"
    open_gate "$WORK/gate.c"
    wait_for 30 "c: journald behind" lag_seen c ": journald had not read all"
    resume_journald
    # (d) While c's notice waits out the bound, the retry notice of a task retried at once
    # queues behind it, and the second attempt starts and writes meanwhile: the notice has
    # the first attempt's line and not the second's.
    echo x > "$WORK/in/retried/d"
    said_by() { journalctl --no-pager -q -o cat -t "$PIPELINE.retried" | holds "^attempt $1 of d$"; }
    wait_for 30 "the first attempt's line in the journal" said_by 1
    open_gate "$WORK/gate.d"
    wait_for 30 "the second attempt's line in the journal" said_by 2
    notice_has_line c 3
    wait_for 30 "the retry notice of d" has logs retry.retried 1
    log_file=$(ls "$WORK"/logs/retry.retried.* | head -n 1)
    grep -q "^attempt 1 of d$" "$log_file" || fail "the retry notice lacks its attempt's line: $(cat "$log_file")"
    ! grep -q "^attempt 2 of d$" "$log_file" || fail "the retry notice has the next attempt's line: $(cat "$log_file")"
    open_gate "$WORK/gate.d"
fi
echo ok
