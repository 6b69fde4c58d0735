#!/bin/bash
# SPDX-License-Identifier: MIT
# s3 targets against a real S3 server (s3rver): ListObjectsV2 with pagination, SigV4 through
# libcurl, credentials from a file; an object that lands runs its task exactly once, or once its
# done-flag is listed beside it (complete = "flag:..."); an output
# written to S3 by its task is confirmed by the daemon (through its loop, which a hung server
# does not hold) and feeds the next task at once; wrong
# credentials and a server that is down are reported, and nothing is lost when it comes back.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/servers.sh"
trap 'stop_servers; cleanup' EXIT

start_s3rver
printf '[default]\naws_access_key_id = S3RVER\naws_secret_access_key = S3RVER\n' > "$WORK/s3.cred"
sed "s/@PORT@/$S3_PORT/g" "$(dirname "$0")/s3.conf.in" > "$WORK/s3.conf"
install_pipeline "$WORK/s3.conf"
# raw lists two keys a page: these make several pages, which fit no day.
for i in $(seq 1 5); do echo x | s3_put "incoming/not-a-day-$i.csv"; done
echo x | s3_put "elsewhere/2026-10-30.csv"   # outside the prefix
echo early | s3_put incoming/2026-10-31.csv
start_daemon

wait_for 30 "what was there before the first poll" test -s "$WORK/out/2026-10-31.csv"
# Its query in SigV4's order (sorted), which a server that checks signatures signs page 2 with.
grep -q "continuation-token=[^&]*&list-type=2&max-keys=2&prefix=incoming%2F 200" "$WORK/s3rver.log" ||
    fail "the listing was not paged: $(grep list-type "$WORK/s3rver.log" | head -n 3)"
# Only keys the template names are kept: not every key under its prefix.
grep -q "incoming/2026-10-31.csv" "$WORK/state/remote/$PIPELINE.raw" &&
    ! grep -q "not-a-day" "$WORK/state/remote/$PIPELINE.raw" ||
    fail "the keys kept: $(cat "$WORK/state/remote/$PIPELINE.raw")"
[ "$(cat "$WORK/out/2026-10-31.csv")" = EARLY ] || fail "wrong content: $(cat "$WORK/out/2026-10-31.csv")"
echo abc | s3_put incoming/2026-11-01.csv
wait_for 30 "an object landing in S3, cooked to S3, then served" test -s "$WORK/out/2026-11-01.csv"
[ "$(cat "$WORK/out/2026-11-01.csv")" = ABC ] || fail "wrong content"
grep -q "sluice-$PIPELINE-serve@2026\\\\x2d11\\\\x2d01.service" "$WORK/daemon.log" || fail "serve did not run"

# Down: reported; what lands meanwhile runs when it is back.
stop_s3rver
down() { grep -q "Cannot poll target 'raw' .*onnect" "$WORK/daemon.log"; }
wait_for 30 "the outage to be reported" down
start_s3rver
echo late | s3_put incoming/2026-11-02.csv
wait_for 60 "the object that landed after the outage" test -s "$WORK/out/2026-11-02.csv"
for d in 2026-10-31 2026-11-01 2026-11-02; do
    started_once "$(unit cook "$d")"
    started_once "$(unit serve "$d")"
done

# A run in flight when a reload removes its task finishes under the version it started with,
# whose targets have stopped: its output written to S3 is confirmed all the same.
conf=$WORK/config/pipelines.d/$PIPELINE.conf
cp "$conf" "$WORK/s3.conf.full"
touch "$WORK/hold"
echo held | s3_put incoming/2026-11-03.csv
cooking() { systemctl --user is-active -q "$(unit cook 2026-11-03)"; }
wait_for 30 "the held cook to start" cooking
sed -i '/name = "cook"/,/^  },$/d' "$conf"
kill -HUP "$DAEMON_PID"
wait_for 30 "the reload" grep -q "Reloaded:" "$WORK/daemon.log"
rm "$WORK/hold"
wait_for 30 "the held run's output, served" test -s "$WORK/out/2026-11-03.csv"
[ "$(cat "$WORK/out/2026-11-03.csv")" = HELD ] || fail "wrong content: $(cat "$WORK/out/2026-11-03.csv")"
cp "$WORK/s3.conf.full" "$conf"

# A run that ends while the daemon is away: the next daemon confirms its output on S3 before
# the target has started (and read its credentials), and what reads it runs.
reloads=$(grep -c "Reloaded:" "$WORK/daemon.log")
kill -HUP "$DAEMON_PID"         # cook back
more_reloads() { [ "$(grep -c "Reloaded:" "$WORK/daemon.log")" -gt "$reloads" ]; }
wait_for 30 "the reload that brings cook back" more_reloads
touch "$WORK/hold"
echo away | s3_put incoming/2026-11-04.csv
cooking4() { systemctl --user is-active -q "$(unit cook 2026-11-04)"; }
wait_for 30 "the cook to start" cooking4
kill -TERM "$DAEMON_PID"; wait "$DAEMON_PID"; DAEMON_PID=
rm "$WORK/hold"
wait_for 30 "the cook to end while the daemon is away" eval '! cooking4'
start_daemon
wait_for 30 "its output, confirmed by the next daemon, served" test -s "$WORK/out/2026-11-04.csv"
[ "$(cat "$WORK/out/2026-11-04.csv")" = AWAY ] || fail "wrong content: $(cat "$WORK/out/2026-11-04.csv")"

# Temporary credentials (STS, an instance role): the session token goes with every request.
# nginx in front of s3rver refuses a request without it (s3rver itself does not look).
NGINX_EXTRA="location /test { if (\$http_x_amz_security_token != \"t0ken\") { return 403; }
                              proxy_pass http://127.0.0.1:$S3_PORT; }"
start_nginx
printf '[default]\naws_access_key_id = S3RVER\naws_secret_access_key = S3RVER\naws_session_token = t0ken\n' \
    > "$WORK/s3-token.cred"
cat > "$WORK/config/pipelines.d/tokened.conf" <<CONF
targets = {
  tokened = { s3 = "s3://test/tokened/{day:date}.csv"; endpoint = "http://127.0.0.1:$NGINX_PORT";
              credentials_file = "$WORK/s3-token.cred"; poll = "1s"; };
  fetched = { path = "$WORK/out/tokened/{day:date}"; };
};
tasks = ( { name = "t"; inputs = [ "tokened" ]; outputs = [ "fetched" ];
            exec = [ "/usr/bin/touch", "\${output}" ]; } );
CONF
reloads=$(grep -c "Reloaded:" "$WORK/daemon.log")
kill -HUP "$DAEMON_PID"
wait_for 30 "the reload" more_reloads
echo tok | s3_put tokened/2026-11-05.csv
wait_for 30 "an object listed with a session token" test -f "$WORK/out/tokened/2026-11-05"
grep -q "GET /test?.*prefix=tokened%2F HTTP/1.1\" 200" "$WORK/nginx/access.log" ||
    fail "no listing through nginx: $(tail -n 3 "$WORK/nginx/access.log")"
rm "$WORK/config/pipelines.d/tokened.conf"

# complete = "flag:_SUCCESS": a part counts once the flag is listed beside it, though the key's
# literal start ("flagged/part-") does not cover the flag: the listing starts at its last '/'.
cat > "$WORK/config/pipelines.d/flagged.conf" <<CONF
targets = {
  parts = { s3 = "s3://test/flagged/part-{n}.csv"; endpoint = "http://127.0.0.1:$S3_PORT";
            credentials_file = "$WORK/s3.cred"; poll = "1s"; complete = "flag:_SUCCESS"; };
  got   = { path = "$WORK/out/flagged/{n}"; };
};
tasks = ( { name = "getpart"; inputs = [ "parts" ]; outputs = [ "got" ];
            exec = [ "/usr/bin/touch", "\${output}" ]; } );
CONF
reload
echo 0 | s3_put flagged/part-0.csv
held() {
    "$SLUICECTL" --user -C "$WORK/config" why getpart -p n=0 |
        grep -q "part-0.csv: input 'parts' is there but does not count yet: listed; counts once its flag '_SUCCESS' is listed in its directory"
}
wait_for 30 "the part held for its flag" held
[ ! -e "$WORK/out/flagged/0" ] || fail "a part taken before its flag"
echo | s3_put flagged/_SUCCESS
wait_for 30 "the part, once flagged" test -f "$WORK/out/flagged/0"
rm "$WORK/config/pipelines.d/flagged.conf"

# Credentials that cannot be read, here at a reload: the target fails its polls, in the log
# and in the status, until the file is there, which takes no reload.
cat > "$WORK/config/pipelines.d/late.conf" <<CONF
targets = {
  late = { s3 = "s3://test/late/{day:date}.csv"; endpoint = "http://127.0.0.1:$S3_PORT";
           credentials_file = "$WORK/late.cred"; poll = "1s"; };
  got  = { path = "$WORK/out/late/{day:date}"; };
};
tasks = ( { name = "t"; inputs = [ "late" ]; outputs = [ "got" ];
            exec = [ "/usr/bin/touch", "\${output}" ]; } );
CONF
kill -HUP "$DAEMON_PID"
wait_for 30 "the missing credentials to be reported" \
    logged "Cannot poll target 'late' .*cannot read credentials .* from $WORK/late.cred: No such file"
status_failing() {
    "$SLUICECTL" --user -C "$WORK/config" status > "$WORK/status"
    grep -A1 "^  late/late (s3 " "$WORK/status" | grep -q "failing after [0-9]* poll(s): cannot read credentials"
}
wait_for 30 "the status to show it" status_failing
echo x | s3_put late/2026-11-06.csv
printf 'access_key_id = S3RVER\nsecret_access_key = S3RVER\n' > "$WORK/late.cred"
wait_for 30 "an object listed once the credentials are there" test -f "$WORK/out/late/2026-11-06"

# A server that takes the confirmation's request and never answers: the run's end waits for
# it, and nothing else does (it was asked on the loop's thread, for up to 10 s a run).
start_staller
mkdir -p "$WORK/drop" "$WORK/near"
cat > "$WORK/config/pipelines.d/${PIPELINE}s.conf" <<CONF
targets = {
  drop     = { path = "$WORK/drop/{n:int}"; };
  stalled  = { s3 = "s3://test/stalled/{n:int}"; endpoint = "http://127.0.0.1:$STALL_PORT";
               credentials_file = "$WORK/s3.cred"; poll = "1h"; timeout = "15s"; };
  near     = { path = "$WORK/near/{n:int}"; };
  near_out = { path = "$WORK/out/near/{n:int}"; };
};
tasks = (
  { name = "mark"; inputs = [ "drop" ]; outputs = [ "stalled" ];
    exec = [ "/usr/bin/touch", "$WORK/mark-ran" ]; },
  { name = "near"; inputs = [ "near" ]; outputs = [ "near_out" ];
    exec = [ "/bin/cp", "\${input}", "\${output}" ]; }
);
CONF
reloads=$(grep -c "Reloaded:" "$WORK/daemon.log")
kill -HUP "$DAEMON_PID"
reloaded() { [ "$(grep -c "Reloaded:" "$WORK/daemon.log")" -gt "$reloads" ]; }
wait_for 30 "the reload" reloaded
echo x > "$WORK/drop/1"
wait_for 30 "the task writing to the hung server to run" test -f "$WORK/mark-ran"
mark_unit="sluice-${PIPELINE}s-mark@1.service"
unit_gone() { ! systemctl --user is-active --quiet "$mark_unit"; }
wait_for 30 "its unit to end" unit_gone
echo y > "$WORK/near/1"
wait_for 10 "a file that landed while a confirmation hangs" test -f "$WORK/out/near/1"
! logged "$mark_unit \(succeeded\|failed\)" ||
    fail "the confirmation ended before the arrival was handled: nothing tested"
wait_for 60 "the confirmation's end, in words" \
    logged "$mark_unit failed: cannot confirm output 'stalled': http://127.0.0.1:$STALL_PORT/test/stalled/1: Operation timed out"
rm "$WORK/config/pipelines.d/${PIPELINE}s.conf"

# A file of several profiles: [default]'s keys, not the last ones read; `profile` picks
# another, here one whose keys S3 refuses, in its own words.
kill -TERM "$DAEMON_PID"; wait "$DAEMON_PID"; DAEMON_PID=
printf '[default]\naws_access_key_id = S3RVER\naws_secret_access_key = S3RVER\n[profile prod]\naws_access_key_id = WRONG\naws_secret_access_key = WRONG\n' \
    > "$WORK/s3.cred"
start_daemon
echo profiled | s3_put incoming/2026-11-07.csv
wait_for 30 "an object listed with the default profile" test -s "$WORK/out/2026-11-07.csv"
kill -TERM "$DAEMON_PID"; wait "$DAEMON_PID"; DAEMON_PID=
sed -i 's|credentials_file = "[^"]*";|& profile = "prod";|' "$conf"
start_daemon
wait_for 30 "the refused credentials" grep -q "Cannot poll target 'raw' .*403.*InvalidAccessKeyId" "$WORK/daemon.log"
echo ok
