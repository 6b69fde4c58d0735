#!/bin/bash
# SPDX-License-Identifier: MIT
# sluiced installed by `meson install` into a Debian with systemd as PID 1 (systemd-nspawn) and
# run as the system service: the system bus with the shipped policy (anyone reads, only root
# and the group sluice change anything), the sysusers.d group, a DynamicUser= task, the
# task's own journal lines carrying SLUICE_* fields (LogExtraFields, system units only), runs
# by MESSAGE_ID, the dashboard's API reading the journal from inside the hardened service,
# a failure notice of a DynamicUser= task ending with its last line (sluice-result --exec),
# reload and a clean stop; a reboot stopping a task is no failure of it, and it runs again.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/container.sh"
. "$(dirname "$0")/servers.sh"

machine_copy
meson install -C "$(dirname "$SLUICED")" --destdir "$ROOT" --quiet --no-rebuild ||
    fail "meson install failed"
[ -f "$ROOT/usr/lib/sysusers.d/sluice.conf" ] || fail "no sysusers.d file installed"
[ -d "$ROOT/etc/sluice/pipelines.d" ] || fail "meson install made no /etc/sluice/pipelines.d"
mkdir -p "$ROOT/srv/in" "$ROOT/srv/out"
# The container shares the host's network: the host reaches the dashboard on loopback.
HTTP_PORT=$(free_port)
printf 'http = { listen = "127.0.0.1:%s"; };\n' "$HTTP_PORT" > "$ROOT/etc/sluice/sluiced.conf"
cat >> "$ROOT/etc/sluice/sluiced.conf" <<'EOF'
notifiers = { last = { exec = [ "/bin/sh", "-c", "printf '%s\\n' \"$SLUICE_LOG\" > /srv/notice" ]; }; };
EOF
# Fails after a flood of lines: its failure notice must still end with its last one.
cat > "$ROOT/etc/sluice/pipelines.d/loud.conf" <<'EOF'
targets = { in = { path = "/srv/loud/{name}"; }; out = { path = "/srv/out/loud-{name}"; }; };
tasks = ( { name = "loud"; inputs = [ "in" ]; outputs = [ "out" ]; dynamic_user = true;
            exec = [ "/bin/sh", "-c", "seq 20000; echo the last words; exit 5" ];
            on_failure = [ "last" ]; } );
EOF
mkdir -p "$ROOT/srv/loud"
# Held: a file written in place does not count; anyone's graph must say so (ListHeld).
cat > "$ROOT/etc/sluice/pipelines.d/held.conf" <<'EOF'
targets = { in = { path = "/srv/held/{name}"; complete = "moved"; };
            out = { path = "/srv/out/held-{name}"; }; };
tasks = ( { name = "hcopy"; inputs = [ "in" ]; outputs = [ "out" ];
            exec = [ "/bin/cp", "${input}", "${output}" ]; } );
EOF
mkdir -p "$ROOT/srv/held"
cat > "$ROOT/etc/sluice/pipelines.d/sys.conf" <<'EOF'
targets = {
  raw = { path = "/srv/in/{name}.txt"; };
  out = { path = "/srv/out/{name}.txt"; };
};
tasks = (
  { name = "copy"; inputs = [ "raw" ]; outputs = [ "out" ]; dynamic_user = true;
    exec = [ "/bin/sh", "-c", "echo copying $0 as uid $(id -u); cp \"$0\" \"$1\"", "${input}", "${output}" ];
  }
);
EOF
if ldd "$SLUICED" | grep -q libasan; then
    # LeakSanitizer stops the world with ptrace, which the service's syscall filter denies.
    mkdir -p "$ROOT/etc/systemd/system/sluiced.service.d"
    printf '[Service]\nEnvironment=ASAN_OPTIONS=detect_leaks=0\n' \
        > "$ROOT/etc/systemd/system/sluiced.service.d/asan.conf"
fi
trap 'machine_stop; cleanup' EXIT
machine_boot

# The group comes from sysusers.d at boot, as on a host where the package was installed.
guest getent group sluice >/dev/null || fail "systemd-sysusers did not create the group sluice"
guest systemctl start sluiced || fail "systemctl start sluiced: $(guest journalctl -u sluiced -n 20 --no-pager)"
[ "$(guest systemctl show -P Type sluiced)" = notify ] || fail "not Type=notify"
status_says() { guest systemctl show -P StatusText sluiced | grep -q "0 running, 0 queued"; }
wait_for 10 "the daemon's STATUS=" status_says
guest busctl --system introspect org.sluice.sluice1 /org/sluice/sluice1 | grep -q "\.Backfill" ||
    fail "the API is not introspectable on the system bus"

# An arrival runs the task under a dynamic user; its own lines carry the SLUICE_* fields.
guest sh -c 'echo hello > /srv/in/.a.txt.part && mv /srv/in/.a.txt.part /srv/in/a.txt'
wait_for 30 "the copy" test -s "$ROOT/srv/out/a.txt"
[ "$(cat "$ROOT/srv/out/a.txt")" = hello ] || fail "wrong output"
task_line() {
    guest journalctl --no-pager -q -o cat SLUICE_PIPELINE=sys SLUICE_TASK=copy \
        _SYSTEMD_UNIT=sluice-sys-copy@a.service | grep "^copying /srv/in/a.txt as uid"
}
wait_for 10 "the task's own line with its SLUICE_* fields" task_line
uid=$(task_line | awk '{print $NF}')
[ "$uid" -gt 0 ] || fail "the task did not run under a dynamic user (uid $uid)"
# The dashboard's history and log tail, read from the journal by the service itself.
api() { curl -sf "http://127.0.0.1:$HTTP_PORT/api/$1"; }
in_history() { api history | grep -q '"unit":"sluice-sys-copy@a.service","result":"success"'; }
wait_for 10 "the run in /api/history" in_history
api "logs?unit=sluice-sys-copy@a.service" | grep -q '"message":"copying /srv/in/a.txt as uid' ||
    fail "/api/logs: $(api "logs?unit=sluice-sys-copy@a.service")"
runs() {
    guest journalctl --no-pager -q -o cat MESSAGE_ID=f1220f814d0a400e8db049236917e2c7 \
        SLUICE_UNIT=sluice-sys-copy@a.service | grep -c "succeeded" || true
}
one_run() { [ "$(runs)" = 1 ]; }
wait_for 10 "the run in the journal by MESSAGE_ID" one_run
guest sluicectl history copy -p name=a | grep -q "sys/copy .*a .*success" ||
    fail "history: $(guest sluicectl history copy -p name=a)"

guest sh -c 'echo > /srv/loud/a'
wait_for 30 "the loud task's failure notice" test -s "$ROOT/srv/notice"
[ "$(tail -n 1 "$ROOT/srv/notice")" = "the last words" ] ||
    fail "the notice lacks the task's last line: $(tail -n 2 "$ROOT/srv/notice" | tr '\n' '|')"

# Anyone reads; someone else may not change anything; a member of the group sluice may.
nobody() { guest setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }
nobody sluicectl status | grep -q "1 runs succeeded" || fail "status as nobody: $(nobody sluicectl status 2>&1)"
rc=0
nobody sluicectl run --force copy -p name=a 2>"$WORK/err" || rc=$?
[ $rc = 1 ] && grep -q "permission denied" "$WORK/err" || fail "run as nobody: rc $rc, $(cat "$WORK/err")"
# Every method that changes nothing is open to all in the policy (one left out was refused).
for m in ListPipelines ListInstances ListBackfills ListTargets ListHeld; do
    nobody busctl --system call org.sluice.sluice1 /org/sluice/sluice1 org.sluice.sluice1.Manager \
        "$m" >/dev/null 2>"$WORK/err" || fail "$m as nobody: $(cat "$WORK/err")"
done
# ...and ListObjects, which takes a target: answered (there is no such one), not refused.
nobody busctl --system call org.sluice.sluice1 /org/sluice/sluice1 org.sluice.sluice1.Manager \
    ListObjects ss none none >/dev/null 2>"$WORK/err" || true
grep -q "No polled target" "$WORK/err" || fail "ListObjects as nobody: $(cat "$WORK/err")"
guest sh -c 'echo written > /srv/held/a'
held() { guest sluicectl why hcopy -p name=a | grep -q "written in place"; }
wait_for 10 "the daemon to hold the file written in place" held
nobody sluicectl graph hcopy -p name=a 2>"$WORK/err" | grep -q "PENDING in /srv/held/a  (written in place" ||
    fail "graph as nobody: $(nobody sluicectl graph hcopy -p name=a 2>&1)"
# A policy without it: the refusal is said, not a graph that looks complete.
sed -i 's/"ListHeld"/"NoSuchMethod"/' "$ROOT/usr/share/dbus-1/system.d/org.sluice.sluice1.conf"
guest systemctl reload dbus
nobody sluicectl graph hcopy -p name=a 2>"$WORK/err" >/dev/null
grep -q "the daemon refused ListHeld (access denied" "$WORK/err" ||
    fail "graph as nobody, ListHeld refused: $(cat "$WORK/err")"
# Someone who may not read the system's journal is told so, not shown "(no runs)" alone.
nobody sluicectl history copy -p name=a 2>"$WORK/err" >/dev/null || true
grep -q "you may not read the system's journal" "$WORK/err" ||
    fail "history as nobody: $(cat "$WORK/err")"
guest useradd -G sluice etl
guest runuser -u etl -- sluicectl run --force copy -p name=a | grep -q "^queued" ||
    fail "run as a member of the group sluice"
two_runs() { [ "$(runs)" = 2 ]; }
wait_for 30 "the forced run" two_runs

# Reload picks up a new pipeline; stop leaves a clean result.
sed 's/raw/raw2/; s|/srv/in/|/srv/in2/|; s|/srv/out/|/srv/out2/|' "$ROOT/etc/sluice/pipelines.d/sys.conf" \
    > "$ROOT/etc/sluice/pipelines.d/more.conf"
guest systemctl reload sluiced || fail "systemctl reload sluiced: $(guest journalctl -u sluiced -n 15 --no-pager)"
reloaded() { guest sluicectl status | grep -q "more "; }
wait_for 10 "the reload to load the new pipeline" reloaded
guest systemctl is-active -q sluiced || fail "sluiced is not active after the reload"
# A file with errors: systemctl reload says the reload failed; the daemon runs on as it was.
echo 'targets = { broken' > "$ROOT/etc/sluice/pipelines.d/broken.conf"
! guest systemctl reload sluiced 2>/dev/null || fail "systemctl reload succeeded with a broken file"
guest systemctl is-active -q sluiced || fail "sluiced is not active after a failed reload"
rm "$ROOT/etc/sluice/pipelines.d/broken.conf"
guest systemctl stop sluiced
[ "$(guest systemctl show -P Result sluiced)" = success ] || fail "sluiced did not stop cleanly"

# A burst against the system bus's limits, tightened so that 100 units meet them: dbus-daemon
# refuses a connection's call beyond max_replies_per_connection (128 on a stock system bus)
# waiting replies, and PID 1 holds a match rule per start job not yet done, so past
# max_match_rules_per_connection (512) it falls off the bus with every call in flight. sluiced
# sends the refused starts again, and bounds start jobs, not only calls, so nothing is lost.
mkdir -p "$ROOT/etc/dbus-1/system.d"
cat > "$ROOT/etc/dbus-1/system.d/limits.conf" <<'EOF'
<busconfig>
  <limit name="max_replies_per_connection">8</limit>
  <limit name="max_match_rules_per_connection">64</limit>
</busconfig>
EOF
guest systemctl reload dbus
printf 'max_parallel = 500;\n' > "$ROOT/etc/sluice/sluiced.conf"
mkdir -p "$ROOT/srv/burst-in" "$ROOT/srv/burst-out"
cat > "$ROOT/etc/sluice/pipelines.d/burst.conf" <<'EOF'
targets = { in = { path = "/srv/burst-in/{n:int}"; }; out = { path = "/srv/burst-out/{n:int}"; }; };
tasks = ( { name = "copy"; inputs = [ "in" ]; outputs = [ "out" ]; exec = [ "/bin/cp", "${input}", "${output}" ]; } );
EOF
since=$(guest date +%s)
# In place before the start, so that the start-up scan queues all of them at once.
for n in $(seq 1 100); do echo "$n" > "$ROOT/srv/burst-in/$n"; done
guest systemctl start sluiced
burst_done() { [ "$(ls "$ROOT/srv/burst-out" | wc -l)" = 100 ]; }
wait_for 120 "100 units past the bus's limits" burst_done
log=$(guest journalctl --since "@$since" --no-pager -q -o cat -u sluiced)
! grep "Failed to start" <<<"$log" || fail "starts failed at the bus's limits"
grep -q "The bus refused the start of sluice-burst-copy@" <<<"$log" ||
    fail "no start was refused: the limits were not met, the test proves nothing"
! guest journalctl --since "@$since" --no-pager -q -o cat _PID=1 | grep "disconnect on API bus" ||
    fail "PID 1 fell off the bus"

# A reboot while a task runs: the shutdown stops it, which is not the task's failure; it runs
# again once the machine is back, and nothing counts it as an attempt.
mkdir -p "$ROOT/srv/long-in" "$ROOT/srv/long-out"
cat > "$ROOT/etc/sluice/pipelines.d/long.conf" <<'EOF'
targets = { in = { path = "/srv/long-in/{n}"; }; out = { path = "/srv/long-out/{n}"; }; };
tasks = ( { name = "wait"; inputs = [ "in" ]; outputs = [ "out" ];
            exec = [ "/bin/sh", "-c", "echo started >> /srv/long-runs; until [ -e /srv/long-gate ]; do sleep 0.1; done; echo > \"$0\"", "${output}" ]; } );
EOF
# (loud.conf names a notifier the burst's sluiced.conf has not: a reload would fail on it.)
rm "$ROOT/etc/sluice/pipelines.d/loud.conf"
guest systemctl reload sluiced || fail "systemctl reload for the long pipeline"
long_loaded() { guest sluicectl status | grep -q "long "; }
wait_for 10 "the long pipeline" long_loaded
echo x > "$ROOT/srv/long-in/x"
long_started() { [ "$(grep -c started "$ROOT/srv/long-runs" 2>/dev/null)" = 1 ]; }
wait_for 30 "the long task to start" long_started
machine_stop
touch "$ROOT/srv/long-gate"
machine_boot
guest systemctl start sluiced
# (Whether the daemon or the task went first in the shutdown, the journal of one boot or the
# other says so; the run's coming back is what counts.)
wait_for 60 "the interrupted run to run again" test -e "$ROOT/srv/long-out/x"
[ "$(grep -c started "$ROOT/srv/long-runs")" = 2 ] || fail "long runs: $(cat "$ROOT/srv/long-runs")"
echo PASS
