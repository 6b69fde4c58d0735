#!/bin/bash
# SPDX-License-Identifier: MIT
# Concurrency limits, seen from the tasks themselves: max_parallel of sluiced.conf, a resource
# pool of size 1, a task's own max_parallel; then priorities: with one slot, waiting instances
# of a higher-priority task go before older ones of a lower priority. Last, max_starting: a
# start holds its share until the manager's JobRemoved says its job is done, not only until
# the manager's reply (which comes as soon as the job is queued).
. "$(dirname "$0")/lib.sh"

mkdir -p "$WORK/config"
cat > "$WORK/config/sluiced.conf" <<'CONF'
max_parallel = 3;
resources = { db = 1; };
CONF
install_pipeline "$(dirname "$0")/concurrency.conf.in"
# busy OUTPUT GROUP...: +1 on each group's counter while it runs; the maximum is kept.
cat > "$WORK/busy" <<'SH'
#!/bin/sh
out=$1; shift
dir=$(dirname "$0")
count() {
    flock "$dir/lock" sh -c '
        d=$1; delta=$2; shift 2
        for g; do
            n=$(( $(cat "$d/cur-$g" 2>/dev/null || echo 0) + delta ))
            echo $n > "$d/cur-$g"
            [ "$n" -le "$(cat "$d/max-$g" 2>/dev/null || echo 0)" ] || echo $n > "$d/max-$g"
        done' count "$dir" "$@"
}
count 1 "$@"
sleep 0.3
count -1 "$@"
echo done > "$out"
SH
# order OUTPUT NAME: appends NAME to the order file; the first one waits for the gate.
cat > "$WORK/order" <<'SH'
#!/bin/sh
dir=$(dirname "$0")
echo "$2" >> "$dir/order-log"
[ "$2" != lo-0 ] || while [ ! -e "$dir/gate" ]; do sleep 0.05; done
echo done > "$1"
SH
chmod +x "$WORK/busy" "$WORK/order"
mkdir -p "$WORK"/in/{a,b,lo,hi}
start_daemon

for n in $(seq 1 12); do echo > "$WORK/in/a/$n"; done
for n in $(seq 1 6); do echo > "$WORK/in/b/$n"; done
done_count() { [ "$(ls "$WORK/out/$1" 2>/dev/null | wc -l)" = "$2" ]; }
wait_for 120 "all of a" done_count a 12
wait_for 120 "all of b" done_count b 6
wait_for 120 "all of c" done_count c 12
[ "$(cat "$WORK/max-all")" -le 3 ] || fail "max_parallel = 3 exceeded: $(cat "$WORK/max-all")"
[ "$(cat "$WORK/max-all")" = 3 ] || fail "never 3 at once (max $(cat "$WORK/max-all")): the test proves nothing"
[ "$(cat "$WORK/max-db")" = 1 ] || fail "pool db of size 1 held by $(cat "$WORK/max-db")"
[ "$(cat "$WORK/max-c")" -le 2 ] || fail "task c's max_parallel = 2 exceeded: $(cat "$WORK/max-c")"
[ "$(cat "$WORK/cur-all")" = 0 ] || fail "the counters do not add up"

# Priorities, with a single slot: lo-0 holds it until the gate opens, and meanwhile three lo
# and three hi instances queue up, the lo ones first.
kill -TERM "$DAEMON_PID"; wait "$DAEMON_PID"
SLUICE_LOG_LEVEL=debug start_daemon -j 1
echo > "$WORK/in/lo/0"
wait_for 30 "lo-0 to start" grep -q lo-0 "$WORK/order-log"
for n in 1 2 3; do echo > "$WORK/in/lo/$n"; done
for n in 1 2 3; do echo > "$WORK/in/hi/$n"; done
# All six must be waiting behind lo-0 before it lets go of the slot.
all_queued() { [ "$(grep -c "^Queued sluice-$PIPELINE-\(lo\|hi\)@[123]" "$WORK/daemon.log")" = 6 ]; }
wait_for 30 "six queued instances" all_queued
touch "$WORK/gate"
wait_for 30 "every ordered task" done_count hi 3
wait_for 30 "every ordered task" done_count lo 4
order=$(tr '\n' ' ' < "$WORK/order-log")
[ "$order" = "lo-0 hi-1 hi-2 hi-3 lo-1 lo-2 lo-3 " ] || fail "priority order: $order"

kill -TERM "$DAEMON_PID"; wait "$DAEMON_PID"
printf 'max_parallel = 100;\nmax_starting = 2;\nresources = { db = 1; };\n' > "$WORK/config/sluiced.conf"
mkdir -p "$WORK/in/q"
for n in $(seq 1 40); do echo "$n" > "$WORK/in/q/$n"; done
: > "$WORK/daemon.log"
SLUICE_LOG_LEVEL=debug start_daemon
wait_for 60 "all of q" done_count q 40
# The daemon's log, in order: how many starts were unsettled at once, and by what each
# settled. Every one must have been settled, most by the real manager's JobRemoved.
read -r most settled by_job < <(awk -v u="sluice-$PIPELINE-q@" '
    index($0, "Sent the start of " u) == 1 { if (++n > most) most = n }
    index($0, "Start of " u) == 1 && / settled: / { n--; settled++; by_job += / settled: done$/ }
    END { print most + 0, settled + 0, by_job + 0 }' "$WORK/daemon.log")
[ "$settled" = 40 ] || fail "$settled of 40 starts settled"
[ "$most" -le 2 ] || fail "max_starting = 2 exceeded: $most start jobs at once"
[ "$most" = 2 ] || fail "never 2 start jobs at once: the test proves nothing"
[ "$by_job" -ge 20 ] || fail "only $by_job of 40 starts were settled by their JobRemoved"
echo "max_starting: at most $most start(s) unsettled; $by_job of 40 settled by JobRemoved"
echo ok
