#!/bin/bash
# SPDX-License-Identifier: MIT
# Deadlines on polled targets (url here; s3, postgres and command poll the same way): an
# instance is judged on a poll begun at or after its due time, never on an older one: a target
# polled hourly is polled when due, so what arrived since its last poll is not told as missing;
# nor is what arrived while the daemon was stopped, before its first poll. One whose polls fail
# is told as unknown, with the poll's error, not as missing.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/servers.sh"
trap 'stop_servers; cleanup' EXIT

start_nginx
mkdir -p "$WORK/config" "$WORK/late" "$WORK/www/hourly" "$WORK/www/absent" "$WORK/www/restart"
printf '#!/bin/sh\nenv | grep ^SLUICE_ > "%s/late/$$"\n' "$WORK" > "$WORK/late.sh"
chmod +x "$WORK/late.sh"
printf 'notifiers = { late = { exec = [ "%s/late.sh" ]; }; };\n' "$WORK" > "$WORK/config/sluiced.conf"

now=$(date +%s)
hour=$(date -u -d "@$now" +%Y-%m-%dT%H)
# This hour's instances are due in 15 s (time to start and poll before, under a sanitizer on
# a loaded machine too), and 25 s.
due=$((now + 15)) due2=$((now + 25))
into=$((now / 3600 * 3600))
# The hour before is there: its deadline has passed, and it is not what is tested.
prev=$(date -u -d "@$((now - 3600))" +%Y-%m-%dT%H)
for d in hourly absent restart; do echo x > "$WORK/www/$d/$prev.csv"; done
sed -e "s/@PORT@/$NGINX_PORT/g" -e "s/@DUE@/$((due - into))s/" -e "s/@DUE2@/$((due2 - into))s/" \
    "$(dirname "$0")/deadline-remote.conf.in" > "$WORK/deadline.conf"
install_pipeline "$WORK/deadline.conf"
start_daemon

judged() { local v; read -r v _ < "$WORK/state/deadlines/$PIPELINE.$1" && [ "$v" = $((now / 3600)) ]; }
told() { grep -l "^SLUICE_LOCATION=.*/$1/$hour.csv$" "$WORK"/late/* 2>/dev/null | head -n 1; }
polled() { grep -q "GET /$1/ " "$WORK/nginx/access.log"; }
before() { [ "$(date +%s)" -lt "$1" ] || fail "too slow: $2 after its due time"; }

# Arrives after the first poll, before its deadline; the next poll is an hour away.
wait_for 10 "the first poll" polled hourly
echo a > "$WORK/www/hourly/$hour.csv"
before "$due" "the object arrived"
wait_for 20 "this hour's deadline checked" judged hourly
logged "hourly/$hour.csv was due" && fail "an object there by its deadline was told as missing"
wait_for 20 "the missing object's deadline checked" judged absent
wait_for 10 "the late notice of the missing object" told absent
f=$(told absent)
grep -q "^SLUICE_TARGET=absent$" "$f" && grep -q "^SLUICE_STATE=missing$" "$f" &&
    grep -q "^SLUICE_TEXT=.*absent/$hour.csv .* and is missing$" "$f" || fail "late notice: $(cat "$f")"

# Stopped before the next deadline; the object arrives while the daemon is away.
before "$due2" "the stop"
kill -TERM "$DAEMON_PID"; wait "$DAEMON_PID"; DAEMON_PID=
echo b > "$WORK/www/restart/$hour.csv"
past_due2() { [ "$(date +%s)" -gt "$due2" ]; }
wait_for 20 "the second deadline to pass" past_due2
start_daemon
# Judged on the first poll after the start, which comes within 30 s (min(poll, 30 s)).
wait_for 45 "the deadline due while stopped checked" judged restart
logged "restart/$hour.csv was due" && fail "an object that arrived while stopped was told as missing"

# Told, before or after the restart, as unknown and why.
wait_for 45 "the late notice of the target whose polls fail" told broken
f=$(told broken)
grep -q "^SLUICE_STATE=unknown$" "$f" && grep -q "^SLUICE_REASON=.*HTTP status 500$" "$f" &&
    grep -q "^SLUICE_TEXT=.* and its state is unknown: .*HTTP status 500$" "$f" ||
    fail "late notice: $(cat "$f")"
logged "broken/$hour.csv was due by its deadline and its state is unknown: .*HTTP status 500" ||
    fail "not logged as unknown"
echo ok
