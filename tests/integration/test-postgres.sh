#!/bin/bash
# SPDX-License-Identifier: MIT
# postgres targets (Luigi's marker table) against a real PostgreSQL: a row inserted by another
# system runs its task at once through LISTEN/NOTIFY (the poll is an hour away); a task marks
# its own completion, confirmed before the next task starts (without holding the daemon when
# the server hangs); a server that goes away is reported and nothing inserted meanwhile is
# lost; a restarted daemon listens again at once; a refused role is reported in its words.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/servers.sh"
trap 'stop_servers; cleanup' EXIT

start_postgres
psql -X -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres \
    -f "$SOURCE_ROOT/contrib/postgres/marker-table.sql" || fail "cannot load marker-table.sql"
psql_do "INSERT INTO table_updates (update_id) VALUES ('load/2026-10-31')"
sed "s/@PORT@/$PG_PORT/g" "$(dirname "$0")/postgres.conf.in" > "$WORK/postgres.conf"
install_pipeline "$WORK/postgres.conf"
start_daemon

wait_for 30 "the row that was there at start-up, and the chain" test -s "$WORK/out/2026-10-31"
psql_do "INSERT INTO table_updates (update_id) VALUES ('load/2026-11-01')"
wait_for 30 "an inserted row, through NOTIFY" test -s "$WORK/out/2026-11-01"
[ "$(cat "$WORK/out/2026-11-01")" = report/2026-11-01 ] || fail "publish read $(cat "$WORK/out/2026-11-01")"

wait_for 30 "the refused role" logged "Cannot poll target 'denied' .*role \"nobody_here\" does not exist"
# A query that fails (no such table yet) fails its poll, and the next polls go on: once the
# table is there, what is in it runs.
wait_for 30 "the missing table" logged "Cannot poll target 'later' .*\"later_updates\" does not exist"
psql_do "CREATE TABLE later_updates (LIKE table_updates INCLUDING ALL)"
psql_do "INSERT INTO later_updates (update_id) VALUES ('later/2026-11-05')"
wait_for 30 "the row in the table made later" test -s "$WORK/out/later/2026-11-05"

# Gone: reported at once (the connection drops); what is inserted meanwhile is found after.
stop_postgres
wait_for 30 "the lost connection to be reported" logged "Target 'loaded': connection lost"
start_postgres
psql_do "INSERT INTO table_updates (update_id) VALUES ('load/2026-11-02')"
wait_for 60 "the row inserted after the outage" test -s "$WORK/out/2026-11-02"
# A restart: the target listens again at once, not from its first poll, which comes at a
# random point of the hour.
kill -TERM "$DAEMON_PID"; wait "$DAEMON_PID"; DAEMON_PID=
start_daemon
psql_do "INSERT INTO table_updates (update_id) VALUES ('load/2026-11-03')"
wait_for 30 "a row inserted after a restart, through NOTIFY" test -s "$WORK/out/2026-11-03"
for d in 2026-10-31 2026-11-01 2026-11-02 2026-11-03; do
    started_once "$(unit report "$d")"
    started_once "$(unit publish "$d")"
done
# A connection the server ends says why before it drops (a FATAL outside any query): in the
# log under its target's name, not bare on stderr.
psql_do "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()" >/dev/null
wait_for 30 "the server's last word, with its target" \
    logged "^Target '[a-z]*': the server says: FATAL: terminating connection due to administrator command$"
if grep -q "^\(FATAL\|WARNING\|NOTICE\):" "$WORK/daemon.log"; then
    fail "the server's words in the log without a target: $(grep "^\(FATAL\|WARNING\|NOTICE\):" "$WORK/daemon.log" | head -n 3)"
fi

# A DNS server that takes queries and never answers: the host name is looked up off the loop,
# so the daemon goes on (a file that lands runs) while the lookup hangs, and the lookup's end
# is said in words. libpq looks names up on the caller's thread, which held the whole daemon
# for the resolver's timeouts (and a few such targets, past the watchdog).
kill -TERM "$DAEMON_PID"; wait "$DAEMON_PID"; DAEMON_PID=
start_silent_dns
start_staller
printf 'nameserver 127.0.0.2\noptions timeout:15 attempts:1\n' > "$WORK/resolv.conf"
cat > "$WORK/config/pipelines.d/$PIPELINE.conf" <<CONF
targets = {
  far      = { postgres = "far/{day:date}"; poll = "1h"; connect_timeout = "60s";
               connection = "host=db.sluice.test port=$PG_PORT dbname=postgres user=postgres"; };
  far_out  = { path = "$WORK/out/far/{day:date}"; };
  near     = { path = "$WORK/near/{n:int}"; };
  near_out = { path = "$WORK/out/near/{n:int}"; };
  mark     = { path = "$WORK/mark/{n:int}"; };
  stalled  = { postgres = "stalled/{n:int}"; poll = "1h"; connect_timeout = "15s";
               connection = "host=127.0.0.1 port=$STALL_PORT dbname=postgres user=postgres"; };
  hdrop    = { path = "$WORK/hdrop/{n:int}"; };
  hmark    = { postgres = "half/{n:int}"; poll = "1h";
               connection = "host=127.0.0.1 port=$PG_PORT dbname=postgres user=postgres"; };
  hside    = { path = "$WORK/out/hside/{n:int}"; };
  hnext    = { path = "$WORK/out/hnext/{n:int}"; };
};
tasks = (
  { name = "far"; inputs = [ "far" ]; outputs = [ "far_out" ]; exec = [ "/bin/true" ]; },
  { name = "mark"; inputs = [ "mark" ]; outputs = [ "stalled" ];
    exec = [ "/bin/touch", "$WORK/mark-ran" ]; },
  { name = "half"; inputs = [ "hdrop" ]; outputs = [ "hmark", "hside" ];
    exec = [ "/bin/sh", "-c", "psql -X -q -h 127.0.0.1 -p $PG_PORT -U postgres -d postgres -c \"INSERT INTO table_updates (update_id) VALUES ('\$0')\"", "\${output.hmark}" ]; },
  { name = "hnext"; inputs = [ "hmark" ]; outputs = [ "hnext" ];
    exec = [ "/usr/bin/touch", "\${output}" ]; },
  { name = "near"; inputs = [ "near" ]; outputs = [ "near_out" ];
    exec = [ "/bin/cp", "\${input}", "\${output}" ]; }
);
CONF
mkdir -p "$WORK/near" "$WORK/mark" "$WORK/hdrop"
# The daemon alone sees that resolv.conf, in a mount namespace of its own.
DAEMON_PREFIX=(unshare -m -- sh -c 'mount --bind "$0" /etc/resolv.conf && exec "$@"' "$WORK/resolv.conf")
start_daemon
wait_for 30 "the lookup to reach the DNS server" test -s "$WORK/dns-queries"
# A reload meanwhile: the lookup's thread must not be where SIGHUP lands (it would end the daemon).
reloads_before=$(grep -c "Reloaded:" "$WORK/daemon.log" || true)
kill -HUP "$DAEMON_PID"
reloaded() { [ "$(grep -c "Reloaded:" "$WORK/daemon.log")" -gt "$reloads_before" ]; }
wait_for 30 "the reload while the lookup hangs" reloaded
echo x > "$WORK/near/1"
wait_for 30 "a file that landed while the lookup hangs" test -f "$WORK/out/near/1"
if logged "Cannot poll target 'far'"; then
    fail "the arrival waited for the lookup: $(grep "Cannot poll target 'far'" "$WORK/daemon.log")"
fi
wait_for 60 "the lookup's end, in words" logged "Cannot poll target 'far' .*cannot resolve 'db.sluice.test'"

# A server that accepts and never answers, holding a task's marker row: the run's end waits
# for its confirmation, and nothing else does (it was asked on the loop's thread, which held
# the whole daemon for connect_timeout and then timeout).
echo x > "$WORK/mark/1"
wait_for 30 "the marking task to run" test -f "$WORK/mark-ran"
mark_unit=$(unit mark 1)
unit_gone() { ! systemctl --user is-active --quiet "$mark_unit"; }
wait_for 30 "the marking task's unit to end" unit_gone
echo y > "$WORK/near/2"
wait_for 10 "a file that landed while a confirmation hangs" test -f "$WORK/out/near/2"
! logged "$mark_unit \(succeeded\|failed\)" ||
    fail "the confirmation ended before the arrival was handled: nothing tested"
"$SLUICECTL" --user -C "$WORK/config" list |
    grep -q "^running  *[^ ]*/mark  *n=1 .*its unit ended; confirming its outputs" ||
    fail "the run being confirmed is not listed as running: $("$SLUICECTL" --user -C "$WORK/config" list)"
# A cancel meanwhile ends the run at once, as cancelled (test-s3 waits out such a timeout).
"$SLUICECTL" --user -C "$WORK/config" cancel mark -p n=1 | grep -q cancelled || fail "cancel"
wait_for 10 "the run being confirmed to end as cancelled" \
    logged "$mark_unit was cancelled: cancelled while its outputs were being confirmed"
DAEMON_PREFIX=()
# A run that inserts its row but does not write its other output fails, and what reads the row
# does not start on it (the confirmation found the row, but is told only of a run that succeeded).
echo x > "$WORK/hdrop/1"
wait_for 30 "the half-done run to fail" logged "$(unit half 1) failed: exited 0 but did not write output 'hside'"
echo z > "$WORK/near/3"
wait_for 30 "a later arrival's run" test -f "$WORK/out/near/3"
! logged "Started $(unit hnext 1)" || fail "a task started on a failed run's marker row"
echo ok
