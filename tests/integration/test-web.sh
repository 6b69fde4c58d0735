#!/bin/bash
# SPDX-License-Identifier: MIT
# The daemon's HTTP server, on loopback where sluiced.conf says: Prometheus /metrics (runs by
# result, instances by state, the event-to-start histogram, poll failures) and /api/status.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/servers.sh"

PORT=$(free_port)
mkdir -p "$WORK/config" "$WORK/in"
printf 'http = { listen = "127.0.0.1:%s"; };\n' "$PORT" > "$WORK/config/sluiced.conf"
cat > "$WORK/web.conf" <<CONF
targets = {
  raw  = { path = "$WORK/in/{n}"; };
  out  = { path = "$WORK/out/{n}"; };
  down = { url = "http://127.0.0.1:$(free_port)/x/{n}"; poll = "1s"; };
  o2   = { path = "$WORK/out2/{n}"; };
  o3   = { path = "$WORK/out3/{n}"; };
};
tasks = (
  { name = "copy"; inputs = [ "raw" ]; outputs = [ "out" ]; exec = [ "/bin/cp", "\${input}", "\${output}" ]; },
  { name = "fail"; inputs = [ "raw" ]; outputs = [ "o2" ]; exec = [ "/bin/false" ]; },
  { name = "never"; inputs = [ "down" ]; outputs = [ "o3" ]; exec = [ "/bin/true" ]; }
);
CONF
install_pipeline "$WORK/web.conf"
start_daemon
get() { curl -sf "http://127.0.0.1:$PORT$1"; }

echo a > "$WORK/in/a"
wait_for 30 "the copy" test -s "$WORK/out/a"
ran() { get /metrics | grep -q '^sluice_runs_total{result="success"} 1$' && get /metrics | grep -q '^sluice_runs_total{result="failed"} 1$'; }
wait_for 30 "the runs in /metrics" ran
m=$(get /metrics)
grep -q '^sluice_instances{state="failed"} 1$' <<<"$m" || fail "instances: $m"
grep -q '^sluice_event_to_start_seconds_count [1-9]' <<<"$m" || fail "latency histogram: $m"
grep -q '^sluice_event_to_start_seconds_bucket{le="+Inf"} [1-9]' <<<"$m" || fail "histogram buckets: $m"
polled() { get /metrics | grep -q "^sluice_target_poll_failures{pipeline=\"$PIPELINE\",target=\"down\",kind=\"url\"} [1-9]"; }
wait_for 30 "the failing poll in /metrics" polled
get /api/status | grep -q "\"runs_succeeded\":1,\"runs_failed\":1,\"pipelines\":\[{\"name\":\"$PIPELINE\",\"tasks\":3}\]" ||
    fail "/api/status: $(get /api/status)"
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/nothing")
[ "$code" = 404 ] || fail "unknown path: $code"
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$PORT/metrics")
[ "$code" = 405 ] || fail "POST: $code"
echo ok
