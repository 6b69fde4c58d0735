#!/bin/bash
# SPDX-License-Identifier: MIT
# url targets against a real nginx: listings one and two levels deep, a single object, auth
# headers from a file, read again on reload; an arrival runs exactly once; an object being
# written is not taken before it is left alone (complete = "quiet:..."), parts not before their
# done-flag (complete = "flag:..."); objects that answer 404 for a moment and come back as they
# were are not new; a server that is
# down, answers 500, hangs, sends too much or redirects is reported and retried with back-off, and
# nothing is lost when it comes back; a restarted daemon remembers what it had seen.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/servers.sh"
trap 'stop_servers; cleanup' EXIT

# A maintenance or login page that every name under /moved/ is sent to; /hop/ leads to objects.
NGINX_EXTRA='location /moved/ { return 302 /maint.html; } location /hop/ { rewrite ^/hop/(.*)$ /data/$1 redirect; } location /noetag/ { etag off; } location /nm/ { return 304; } location /choice/ { return 300; }'
start_nginx
echo "down for maintenance" > "$WORK/www/maint.html"
mkdir -p "$WORK/www/data" "$WORK/www/nested/2026-11-01" "$WORK/www/private" "$WORK/www/names" \
    "$WORK/www/redo" "$WORK/www/noetag" "$WORK/www/grow" "$WORK/www/flagged/2026-11-01" \
    "$WORK/www/flagone"
echo "Authorization: Bearer expired" > "$WORK/auth.headers"    # replaced below
sed "s/@PORT@/$NGINX_PORT/g" "$(dirname "$0")/http.conf.in" > "$WORK/http.conf"
install_pipeline "$WORK/http.conf"
echo early > "$WORK/www/data/2026-10-31.csv"      # there before the daemon: a first poll runs it
echo old > "$WORK/www/redo/2026-10-30.csv"
echo h > "$WORK/www/hourly.csv"
start_daemon
ctl() { "$SLUICECTL" --user -C "$WORK/config" "$@"; }
ACCESS=$WORK/nginx/access.log

# complete = "quiet:1s" on a target polled hourly: its first poll holds what it finds, and the
# poll that lets it count comes a second later, not an hour.
wait_for 15 "the object polled hourly, held for a second" test -f "$WORK/out/hourly"

wait_for 30 "what was there before the first poll" test -s "$WORK/out/daily/2026-10-31.csv"
echo a > "$WORK/www/data/2026-11-01.csv"
wait_for 30 "the arrival over HTTP" test -s "$WORK/out/daily/2026-11-01.csv"
[ "$(cat "$WORK/out/daily/2026-11-01.csv")" = a ] || fail "wrong content"
echo p > "$WORK/www/nested/2026-11-01/part-7.csv"
echo x > "$WORK/www/nested/2026-11-01/other.csv"  # fits no template
wait_for 30 "the nested arrival" test -s "$WORK/out/nested/2026-11-01-7.csv"
# Over max_body (16 MiB by default): a single object is polled with HEAD, not held to it.
head -c 20M /dev/zero > "$WORK/ready.tmp"
mv "$WORK/ready.tmp" "$WORK/www/ready.txt"
wait_for 30 "the single object" test -s "$WORK/out/ready"
# Names a URL must encode: '%41' would be 'A' (another object), a space or '#' none.
echo decoy > "$WORK/www/names/cA.txt"
echo right > "$WORK/www/names/c%41.txt"
echo spaced > "$WORK/www/names/a b#1.txt"
wait_for 30 "the object named with a percent sign" test -s "$WORK/out/names/c%41.txt"
[ "$(cat "$WORK/out/names/c%41.txt")" = right ] ||
    fail "\${input} named another object: $(cat "$WORK/out/names/c%41.txt")"
wait_for 30 "the object named with a space and a '#'" test -s "$WORK/out/names/a b#1.txt"
[ "$(cat "$WORK/out/names/a b#1.txt")" = spaced ] || fail "wrong content for 'a b#1'"
# rerun = "newer": an object published again (another size: nginx dates its listing to the
# second) is as new as when the daemon saw it, newer than the output made before.
echo v1 > "$WORK/www/redo/2026-11-01.csv"
wait_for 30 "the first version's fetch" test -s "$WORK/out/redo/2026-11-01.csv"
echo "version 2" > "$WORK/www/redo/2026-11-01.csv"
second_version() { [ "$(cat "$WORK/out/redo/2026-11-01.csv")" = "version 2" ]; }
wait_for 30 "the object published again to be fetched again" second_version
# Without an ETag: published again with the same modification time (cp -p, rsync -t), the size
# tells the new version.
echo v1 > "$WORK/www/noetag/obj.csv"
wait_for 30 "the object without an ETag" test -s "$WORK/out/bare.csv"
m=$(stat -c %Y "$WORK/www/noetag/obj.csv")
echo "version two" > "$WORK/www/noetag/obj.csv"
touch -d "@$m" "$WORK/www/noetag/obj.csv"
bare_again() { [ "$(cat "$WORK/out/bare.csv")" = "version two" ]; }
wait_for 30 "the same-second version told by its size" bare_again

# A listing that answers 404 for a moment, and a single object that does, then both back as they
# were: nothing is new, and no rerun = "newer" task runs again (counted at the end).
objects() { ctl status | grep -A1 "^  $PIPELINE/$1 (url " | grep -q "^ *$2 object(s);"; }
wait_for 10 "the versions fetched to be polled" objects redo 2
mv "$WORK/www/redo" "$WORK/redo.away"
mv "$WORK/www/noetag/obj.csv" "$WORK/obj.away"
wait_for 10 "the listing to answer 404" objects redo 0
wait_for 10 "the object to answer 404" objects bare 0
mv "$WORK/redo.away" "$WORK/www/redo"
mv "$WORK/obj.away" "$WORK/www/noetag/obj.csv"
wait_for 10 "the listing back" objects redo 2
wait_for 10 "the object back" objects bare 1

# complete = "quiet:3s": an object that each poll finds changed is still being written; it is
# taken once polls have found it unchanged for 3 s, whole.
grow_polls() { grep -c '"GET /grow/ ' "$ACCESS" || true; }
polled_since() { [ "$(grow_polls)" -gt "$1" ]; }
for i in 1 2 3; do
    n=$(grow_polls)
    echo "line $i" >> "$WORK/www/grow/2026-11-01.csv"
    wait_for 10 "a poll of the object being written" polled_since "$n"
    if [ "$i" = 1 ]; then
        ctl why getgrown -p day=2026-11-01 > "$WORK/why-grow"
        grep -q "2026-11-01.csv: input 'grow' is there but does not count yet: listed; counts once polls find it unchanged for 3s" "$WORK/why-grow" ||
            fail "why: $(cat "$WORK/why-grow")"
        # status counts it apart: "0 object(s)" alone would say the server has nothing.
        ctl status > "$WORK/status-grow"
        grep -A1 "^  $PIPELINE/grow (url " "$WORK/status-grow" |
            grep -q "^ *0 object(s), 1 held (listed, not counted yet under 'complete'); last good poll" ||
            fail "status of a held object: $(cat "$WORK/status-grow")"
        ctl graph getgrown -p day=2026-11-01 > "$WORK/graph-grow"
        grep -q "PENDING grow http://127.0.0.1:$NGINX_PORT/grow/2026-11-01.csv  (listed; counts once polls find it unchanged for 3s" "$WORK/graph-grow" ||
            fail "graph of a held object: $(cat "$WORK/graph-grow")"
    fi
done
[ ! -e "$WORK/out/grow/2026-11-01.csv" ] ||
    fail "an object still being written was taken: $(cat "$WORK/out/grow/2026-11-01.csv")"
wait_for 15 "the object once left alone" test -s "$WORK/out/grow/2026-11-01.csv"
cmp -s "$WORK/out/grow/2026-11-01.csv" "$WORK/www/grow/2026-11-01.csv" ||
    fail "taken half-written: $(cat "$WORK/out/grow/2026-11-01.csv")"

# complete = "flag:_SUCCESS": parts listed, and a single object, count once the flag is there.
echo p0 > "$WORK/www/flagged/2026-11-01/part-0.csv"
echo p1 > "$WORK/www/flagged/2026-11-01/part-1.csv"
echo o > "$WORK/www/flagone/obj.csv"
held_for_flag() {
    ctl why "$1" "${@:3}" | grep -q "$2: input '[a-z]*' is there but does not count yet: listed; counts once its flag '_SUCCESS' is listed in its directory"
}
wait_for 10 "the parts held for their flag" held_for_flag getflagged part-1.csv -p day=2026-11-01 -p n=1
wait_for 10 "the object held for its flag" held_for_flag getflagone obj.csv
[ -z "$(ls "$WORK/out/flagged" 2>/dev/null)" ] && [ ! -e "$WORK/out/flagone" ] ||
    fail "taken before its flag: $(ls "$WORK/out/")"
touch "$WORK/www/flagged/2026-11-01/_SUCCESS" "$WORK/www/flagone/_SUCCESS"
wait_for 10 "the first part, once flagged" test -f "$WORK/out/flagged/2026-11-01-0"
wait_for 10 "the second part, once flagged" test -f "$WORK/out/flagged/2026-11-01-1"
wait_for 10 "the single object, once flagged" test -f "$WORK/out/flagone"
echo s > "$WORK/www/private/k.txt"
wait_for 30 "the expired token refused" logged "Cannot poll target 'private' .*HTTP status 401"
# A token replaced in the headers file is read on reload, though the pipeline file is unchanged.
echo "Authorization: Bearer s3cret" > "$WORK/auth.headers"
kill -HUP "$DAEMON_PID"
wait_for 30 "the object behind the Authorization header" test -s "$WORK/out/private/k.txt"
# The target the reload started afresh knows it was failing: it says it answers again.
wait_for 30 "the mended target's recovery" logged "Target 'private' answers again, after [1-9]"

# Down: reported, retried with back-off; what arrives meanwhile runs once it is back.
stop_nginx
down_logged() { grep -q "Cannot poll target 'daily' .*onnect" "$WORK/daemon.log"; }
wait_for 30 "the outage to be reported" down_logged
status_failing() {
    ctl status > "$WORK/status"
    grep -A1 "^  $PIPELINE/daily (url http" "$WORK/status" | grep -q "failing after [0-9]* poll(s): .*onnect"
}
wait_for 30 "status to show the failing target" status_failing
ctl status --json | grep -q '"target":"daily","kind":"url",.*"failures":[1-9]' ||
    fail "status --json: $(ctl status --json)"
ctl why fetch -p day=2026-11-02 | holds "input 'daily' comes from outside the pipeline: the polls of target 'daily' are failing .*onnect" ||
    fail "why of an input of a target that is down: $(ctl why fetch -p day=2026-11-02)"
echo b > "$WORK/www/data/2026-11-02.csv"
start_nginx
back_logged() { grep -q "Target 'daily' answers again" "$WORK/daemon.log"; }
wait_for 60 "the recovery to be reported" back_logged
wait_for 30 "the arrival during the outage" test -s "$WORK/out/daily/2026-11-02.csv"
status_ok() {
    ctl status > "$WORK/status"
    grep -A1 "^  $PIPELINE/daily (url http" "$WORK/status" | grep -q "3 object(s); last good poll"
}
wait_for 30 "status to show the target healthy again" status_ok
# A healthy target's input not there yet: when it was polled, and when it is polled next.
why_healthy() {
    ctl why fetch -p day=2026-11-09 | holds "input 'daily' comes from outside the pipeline: waiting for it to arrive; not there at the last poll of target 'daily', 20[0-9-]* [0-9:]*; \(next at\|polling since\) 20[0-9-]* [0-9:]*$"
}
wait_for 30 "why to tell the last and next poll" why_healthy
ctl graph fetch -p day=2026-11-09 | holds "MISSING daily http://127.0.0.1:$NGINX_PORT/data/2026-11-09.csv  (external: waiting for it to arrive; not there at the last poll of target 'daily', 20" ||
    fail "graph of an input not there yet: $(ctl graph fetch -p day=2026-11-09)"
# What the polls found is there for graph too, which cannot see a server's objects itself.
ctl graph --all fetch -p day=2026-11-02 | holds "present daily http://127.0.0.1:$NGINX_PORT/data/2026-11-02.csv$" ||
    fail "graph of an object the polls found: $(ctl graph --all fetch -p day=2026-11-02)"

# A restart: the state directory remembers what was seen; what arrived meanwhile runs.
kill -TERM "$DAEMON_PID"; wait "$DAEMON_PID"
ls "$WORK/state/remote/" | grep -q "daily" || fail "nothing kept in the state directory"
echo c > "$WORK/www/data/2026-11-03.csv"
hourly_mark=$(wc -l < "$ACCESS")
start_daemon
# Known from before and polled hourly: its first poll comes within 30 s, not up to an hour.
hourly_polled() { tail -n +"$((hourly_mark + 1))" "$ACCESS" | grep -q " /hourly.csv "; }
wait_for 30 "the arrival while the daemon was away" test -s "$WORK/out/daily/2026-11-03.csv"
for d in 2026-10-31 2026-11-01 2026-11-02 2026-11-03; do
    started_once "$(unit fetch "$d")"
done
# Versions seen before the restart, and the object there before the first poll, are not
# newer than their outputs for having been read back.
started_once "$(unit refetch 2026-10-30)"
[ "$(runs_started "$(unit refetch 2026-11-01)")" = 2 ] ||
    fail "refetch of 2026-11-01 started $(runs_started "$(unit refetch 2026-11-01)") times, not 2"
[ "$(runs_started "$(unit rebare)")" = 2 ] ||
    fail "rebare started $(runs_started "$(unit rebare)") times, not 2"
[ "$(grep -c /data/ "$WORK/fetches")" = 4 ] || fail "fetch ran $(grep -c /data/ "$WORK/fetches") times for 4 days"
wait_for 45 "the first poll after a restart of the target polled hourly" hourly_polled

# Faults, each reported in words: a 500, a server that hangs, a body too large, bad auth.
kill -TERM "$DAEMON_PID"; wait "$DAEMON_PID"; DAEMON_PID=
start_staller
# More than 1K of listing (names that fit no date: the fetch task ignores them).
for i in $(seq 1 50); do echo "$i" > "$WORK/www/data/not-a-date-$i.csv"; done
cat > "$WORK/config/pipelines.d/faults.conf" <<CONF
targets = {
  broken = { url = "http://127.0.0.1:$NGINX_PORT/broken/{x}.csv"; poll = "1s"; };
  hung   = { url = "http://127.0.0.1:$STALL_PORT/{x}.csv"; poll = "1s"; timeout = "1s"; };
  big    = { url = "http://127.0.0.1:$NGINX_PORT/data/{x}.csv"; poll = "1s"; max_body = "1K"; };
  denied = { url = "http://127.0.0.1:$NGINX_PORT/private/{x}.txt"; poll = "1s"; };
  nohdr  = { url = "http://127.0.0.1:$NGINX_PORT/private/{x}.txt"; poll = "1s";
             headers_file = "$WORK/late.headers"; };
  sa     = { path = "$WORK/out/faults/a/{x}"; };
  se     = { path = "$WORK/out/faults/e/{x}"; };
  rare   = { url = "http://127.0.0.1:$NGINX_PORT/data/{x}.csv"; poll = "1h"; };
  sr     = { path = "$WORK/out/faults/r/{x}"; };
  sb     = { path = "$WORK/out/faults/b/{x}"; };
  sc     = { path = "$WORK/out/faults/c/{x}"; };
  sd     = { path = "$WORK/out/faults/d/{x}"; };
  maint  = { url = "http://127.0.0.1:$NGINX_PORT/moved/{x}.csv"; poll = "1s"; };
  gone   = { url = "http://127.0.0.1:$NGINX_PORT/moved/obj.csv"; poll = "1s"; };
  hop    = { url = "http://127.0.0.1:$NGINX_PORT/hop/one.csv"; poll = "1s";
             follow_redirects = true; };
  nm     = { url = "http://127.0.0.1:$NGINX_PORT/nm/obj.csv"; poll = "1s"; };
  choice = { url = "http://127.0.0.1:$NGINX_PORT/choice/obj.csv"; poll = "1s";
             follow_redirects = true; };
  sn     = { path = "$WORK/out/faults/n"; };
  so     = { path = "$WORK/out/faults/o"; };
  sm     = { path = "$WORK/out/faults/m/{x}"; };
  sg     = { path = "$WORK/out/faults/g"; };
  sh     = { path = "$WORK/out/faults/h"; };
};
tasks = (
  { name = "a"; inputs = [ "broken" ]; outputs = [ "sa" ]; exec = [ "/bin/true" ]; },
  { name = "b"; inputs = [ "hung" ]; outputs = [ "sb" ]; exec = [ "/bin/true" ]; },
  { name = "c"; inputs = [ "big" ]; outputs = [ "sc" ]; exec = [ "/bin/true" ]; },
  { name = "d"; inputs = [ "denied" ]; outputs = [ "sd" ]; exec = [ "/bin/true" ]; },
  { name = "e"; inputs = [ "nohdr" ]; outputs = [ "se" ]; exec = [ "/usr/bin/touch", "\${output}" ]; },
  { name = "r"; inputs = [ "rare" ]; outputs = [ "sr" ]; exec = [ "/usr/bin/touch", "\${output}" ]; },
  { name = "m"; inputs = [ "maint" ]; outputs = [ "sm" ]; exec = [ "/usr/bin/touch", "\${output}" ]; },
  { name = "g"; inputs = [ "gone" ]; outputs = [ "sg" ]; exec = [ "/usr/bin/touch", "\${output}" ]; },
  { name = "h"; inputs = [ "hop" ]; outputs = [ "sh" ]; exec = [ "/usr/bin/touch", "\${output}" ]; },
  { name = "nm"; inputs = [ "nm" ]; outputs = [ "sn" ]; exec = [ "/usr/bin/touch", "\${output}" ]; },
  { name = "ch"; inputs = [ "choice" ]; outputs = [ "so" ]; exec = [ "/usr/bin/touch", "\${output}" ]; }
);
CONF
start_daemon
wait_for 30 "the 500" logged "Cannot poll target 'broken' .*HTTP status 500"
# why says what is wrong, not "waiting for it to arrive": the last error, and the next try.
why_failing() {
    ctl why a -p x=k | holds "external  http://127.0.0.1:$NGINX_PORT/broken/k.csv: input 'broken' comes from outside the pipeline: the polls of target 'broken' are failing ([1-9][0-9]* in a row): .*/broken/: HTTP status 500; \(next try at\|trying again since\) 20[0-9-]* [0-9:]*$"
}
wait_for 30 "why to tell the failing polls" why_failing
graph_failing() {
    ctl graph a -p x=k | holds "MISSING broken http://127.0.0.1:$NGINX_PORT/broken/k.csv  (external: the polls of target 'broken' are failing ([1-9][0-9]* in a row): .*/broken/: HTTP status 500; \(next try at\|trying again since\) 20[0-9-]* [0-9:]*)$"
}
wait_for 30 "graph to tell the failing polls" graph_failing
wait_for 30 "the hung server" logged "Cannot poll target 'hung' .*[Tt]imeout\|Cannot poll target 'hung' .*timed out"
wait_for 30 "the body too large" logged "Cannot poll target 'big' .*larger than max_body"
wait_for 30 "the refused credentials" logged "Cannot poll target 'denied' .*HTTP status 401"
# A redirect is not the object: the page it leads to would be there under every name.
wait_for 30 "the redirected object" logged "Cannot poll target 'gone' .*/moved/obj.csv: HTTP status 302, a redirect to http://127.0.0.1:$NGINX_PORT/maint.html, not followed (follow_redirects = true follows redirects)"
wait_for 30 "the redirected listing" logged "Cannot poll target 'maint' .*/moved/: HTTP status 302, a redirect to"
# A 304 to a request without a condition, and a 300 that names no location, are no redirect
# that following would mend, and are not called one.
wait_for 30 "the 304" logged "Cannot poll target 'nm' .*/nm/obj.csv: HTTP status 304 (not modified), though the request made no condition"
wait_for 30 "the 300" logged "Cannot poll target 'choice' .*/choice/obj.csv: HTTP status 300, which names no location to go to"
if grep "Cannot poll target '\(nm\|choice\)'" "$WORK/daemon.log" | grep -q follow_redirects; then
    fail "a 304 or a 300 pointed at follow_redirects: $(grep "Cannot poll target '\(nm\|choice\)'" "$WORK/daemon.log")"
fi
# ...unless the target says redirects lead to its objects.
echo 1 > "$WORK/www/data/one.csv"
wait_for 30 "the object behind a redirect followed" test -f "$WORK/out/faults/h"
[ ! -e "$WORK/out/faults/g" ] && [ -z "$(ls "$WORK/out/faults/m" 2>/dev/null)" ] ||
    fail "a redirect to a page was taken for an object"
# The hung server's failures differ only in curl's milliseconds: told once, not at every poll.
hung_failed_twice() { ctl status | grep -A1 "^  faults/hung (url " | grep -q "failing after [2-9]"; }
wait_for 30 "a second failed poll of the hung server" hung_failed_twice
[ "$(grep -c "Cannot poll target 'hung'" "$WORK/daemon.log")" = 1 ] ||
    fail "the hung server's failure was told more than once: $(grep "Cannot poll target 'hung'" "$WORK/daemon.log")"
# A headers_file that is not there: polls fail with the reason until it is, without a reload.
wait_for 30 "the missing headers file" \
    logged "Cannot poll target 'nohdr' .*cannot read headers_file $WORK/late.headers"
echo "Authorization: Bearer s3cret" > "$WORK/late.headers"
wait_for 30 "the object behind the headers file that came late" test -f "$WORK/out/faults/e/k"
# Meanwhile the healthy targets of the other pipeline go on.
echo d > "$WORK/www/data/2026-11-04.csv"
wait_for 30 "an arrival beside the failing targets" test -s "$WORK/out/daily/2026-11-04.csv"
# A reload starts the changed pipeline afresh: its target polled hourly still tells when it
# last polled well, not "-" until its next poll, up to an hour away.
rare_polled() { ctl status | grep -A1 "^  faults/rare (url " | grep -q "last good poll [0-9]"; }
wait_for 30 "the hourly target's first poll" rare_polled
echo "# changed" >> "$WORK/config/pipelines.d/faults.conf"
reloads=$(grep -c "^Reloaded:" "$WORK/daemon.log" || true)
kill -HUP "$DAEMON_PID"
reloaded() { [ "$(grep -c "^Reloaded:" "$WORK/daemon.log")" -gt "$reloads" ]; }
wait_for 30 "the reload" reloaded
rare_polled || fail "after a reload: $(ctl status | grep -A1 "^  faults/rare (url ")"

# A listing of 40 directories from a server that answers 10 requests a second: 4 s for all of
# them, 2 s allowed for each. Requests beyond 8 to one server wait in the daemon's queue, where
# their timeout has not started; with all of them sent at once, every poll timed out.
kill -TERM "$DAEMON_PID"; wait "$DAEMON_PID"; DAEMON_PID=
rm "$WORK/config/pipelines.d/faults.conf"
for i in $(seq 1 40); do mkdir -p "$WORK/www/slow/d$i"; echo "$i" > "$WORK/www/slow/d$i/x.csv"; done
echo 1 > "$WORK/www/data/one.txt"
cat > "$WORK/config/pipelines.d/slow.conf" <<CONF
targets = {
  slow = { url = "http://127.0.0.1:$NGINX_PORT/slow/{d}/x.csv"; poll = "1s"; timeout = "2s"; };
  got  = { path = "$WORK/out/slow/{d}"; };
  one  = { url = "http://127.0.0.1:$NGINX_PORT/data/one.txt"; poll = "1s"; };
  seen = { path = "$WORK/out/one"; };
};
tasks = ( { name = "s"; inputs = [ "slow" ]; outputs = [ "got" ];
            exec = [ "/bin/sh", "-c", "echo > \"\$0\"", "\${output}" ]; },
          { name = "o"; inputs = [ "one" ]; outputs = [ "seen" ];
            exec = [ "/bin/sh", "-c", "echo > \"\$0\"", "\${output}" ]; } );
CONF
mark=$(wc -l < "$ACCESS")
start_daemon
# Its first poll takes 4 s: status says it is under way, not a time past for the next one.
slow_polling() { ctl status | grep -A1 "^  slow/slow (url " | grep -q "; last good poll -, polling since "; }
wait_for 30 "status to show the poll under way" slow_polling
all_slow() { [ "$(ls "$WORK/out/slow" 2>/dev/null | wc -l)" = 40 ]; }
wait_for 60 "every object of the slow listing" all_slow
if grep -q "Cannot poll target 'slow'" "$WORK/daemon.log"; then
    fail "a poll of the slow server failed: $(grep "Cannot poll target 'slow'" "$WORK/daemon.log" | head -n 1)"
fi
# The single object on the same server takes turns with the listing: between two of its polls
# (1 s apart) about 10 directory requests are answered, not the whole queue of 40 as well.
head_gaps() {
    tail -n +"$((mark + 1))" "$ACCESS" | awk '
        / \/data\/one\.txt / { if (heads++) print n; n = 0; next }
        / \/slow\// { n++ }'
}
four_gaps() { [ "$(head_gaps | grep -c .)" -ge 4 ]; }
wait_for 60 "five polls of the single object" four_gaps
max_gap=$(head_gaps | sort -n | tail -n 1)
[ "$max_gap" -le 22 ] ||
    fail "the single object waited behind $max_gap listing requests (gaps: $(head_gaps | xargs))"

# A directory that answers 500 fails the poll at once: the requests of it still waiting are
# not sent (with 40 more to wait for, the failure would take 4 s to be known).
mkdir -p "$WORK/www/slow/0fail"
wait_for 30 "the failing directory" logged "Cannot poll target 'slow' .*0fail/: HTTP status 500"
after=$(sed -n '\| /slow/0fail/ |,$p' "$ACCESS" | grep -c " /slow/d")
[ "$after" -lt 25 ] || fail "$after directory requests of a failed poll were still sent"
echo ok
