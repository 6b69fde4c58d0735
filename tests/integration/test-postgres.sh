#!/bin/bash
# SPDX-License-Identifier: MIT
# postgres targets (Luigi's marker table) against a real PostgreSQL: a row inserted by another
# system runs its task at once through LISTEN/NOTIFY (the poll is an hour away); a task marks
# its own completion, confirmed before the next task starts; a server that goes away is
# reported and nothing inserted meanwhile is lost; a refused role is reported in its words.
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

logged() { grep -q "$1" "$WORK/daemon.log"; }
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
for d in 2026-10-31 2026-11-01 2026-11-02; do
    started_once "$(unit report "$d")"
    started_once "$(unit publish "$d")"
done
echo ok
