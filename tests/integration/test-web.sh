#!/bin/bash
# SPDX-License-Identifier: MIT
# The daemon's HTTP server, on loopback where sluiced.conf says: Prometheus /metrics (runs by
# result, queue, running units, the event-to-start histogram, poll failures), the JSON API
# behind the dashboard, and what guards its buttons: off unless http.control is set, and then
# only with the CSRF token, from this server's own origin and Host.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/servers.sh"

PORT=$(free_port)
mkdir -p "$WORK/config" "$WORK/in"
printf 'http = { listen = "127.0.0.1:%s"; };\n' "$PORT" > "$WORK/config/sluiced.conf"
# A mistake in the http group is a config error with its line, and the daemon refuses it.
printf 'http = {\n  listen = "127.0.0.1:%s";\n  contrl = true;\n};\n' "$PORT" > "$WORK/sluiced.conf"
out=$("$SLUICECTL" -C "$WORK" check 2>&1) && fail "a bad http group passed: $out"
grep -q "sluiced.conf:3: 'http': unknown key 'contrl'" <<<"$out" || fail "bad http group: $out"
# So is an address the server cannot listen on: a host name passed check, then the start failed.
printf 'http = { listen = "localhost:%s"; };\n' "$PORT" > "$WORK/sluiced.conf"
out=$("$SLUICECTL" -C "$WORK" check 2>&1) && fail "a host name in http.listen passed: $out"
grep -q "sluiced.conf:1: 'http.listen': 'localhost:$PORT' is not an IPv4 address and a port" <<<"$out" ||
    fail "http.listen with a host name: $out"
rm "$WORK/sluiced.conf"
cat > "$WORK/web.conf" <<CONF
targets = {
  raw  = { path = "$WORK/in/{n}"; };
  out  = { path = "$WORK/out/{n}"; };
  down = { url = "http://127.0.0.1:$(free_port)/x/{n}"; poll = "1s"; };
  o2   = { path = "$WORK/out2/{n}"; };
  o3   = { path = "$WORK/out3/{n}"; };
  talk = { path = "$WORK/talk/{n}"; };
  said = { path = "$WORK/said/{n}"; };
  half = { path = "$WORK/half/{n}"; };
  both = { path = "$WORK/both/{n}"; };
};
tasks = (
  { name = "copy"; inputs = [ "raw" ]; outputs = [ "out" ]; exec = [ "/bin/cp", "\${input}", "\${output}" ]; },
  { name = "fail"; inputs = [ "raw" ]; outputs = [ "o2" ]; exec = [ "/bin/false" ]; },
  { name = "never"; inputs = [ "down" ]; outputs = [ "o3" ]; exec = [ "/bin/true" ]; },
  { name = "chatty"; inputs = [ "talk" ]; outputs = [ "said" ]; max_parallel = 1;
    exec = [ "/bin/sh", "-c", "for i in \$(seq 1 20); do echo \"chatty \$0 line \$i\"; done; : > \"\$1\"", "\${input}", "\${output}" ]; },
  { name = "pair"; inputs = [ "raw", "half" ]; outputs = [ "both" ]; exec = [ "/bin/true" ]; }
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
# pair has one of its two inputs: waiting, here as in `sluicectl list`.
grep -q '^sluice_instances{state="waiting"} 1$' <<<"$m" || fail "waiting instances: $m"
grep -q '^sluice_event_to_start_seconds_count [1-9]' <<<"$m" || fail "latency histogram: $m"
grep -q '^sluice_event_to_start_seconds_bucket{le="+Inf"} [1-9]' <<<"$m" || fail "histogram buckets: $m"
polled() { get /metrics | grep -q "^sluice_target_poll_failures{pipeline=\"$PIPELINE\",target=\"down\",kind=\"url\"} [1-9]"; }
wait_for 30 "the failing poll in /metrics" polled
# json EXPRESSION: evaluates a Python expression over the JSON on stdin (as j).
json() { python3 -c "import json, sys; j = json.load(sys.stdin); print($1)"; }
st=$(get /api/status)
[ "$(json 'j["runs_succeeded"], j["runs_failed"], j["failed"], j["control"], "csrf" in j' <<<"$st")" = \
    "1 1 1 False False" ] || fail "/api/status: $st"
[ "$(json 'j["waiting"]' <<<"$st")" = 1 ] || fail "/api/status waiting: $st"
[ "$(json '[(p["name"], p["tasks"], p["paused"]) for p in j["pipelines"]]' <<<"$st")" = "[('$PIPELINE', 5, False)]" ] ||
    fail "/api/status pipelines: $st"
# A paused pipeline says so, in the status and in the graph the dashboard draws.
"$SLUICECTL" --user -C "$WORK/config" pause "$PIPELINE" >/dev/null
[ "$(get /api/status | json '[p["paused"] for p in j["pipelines"]]')" = "[True]" ] &&
    [ "$(get /api/graph | json '[p["paused"] for p in j["pipelines"]]')" = "[True]" ] ||
    fail "a paused pipeline in the API: $(get /api/status)"
get /metrics | grep -qx "sluice_pipeline_paused{pipeline=\"$PIPELINE\"} 1" ||
    fail "no paused gauge: $(get /metrics | grep paused)"
"$SLUICECTL" --user -C "$WORK/config" resume "$PIPELINE" >/dev/null
grep -q '^sluice_queue_length 0$' <<<"$m" && grep -q '^sluice_units_running 0$' <<<"$m" ||
    fail "queue and running gauges: $m"

# The graph: tasks with their edges and instances by state; a complete one counted from disk.
g=$(get /api/graph)
tasks() { json '{t["name"]: (t["inputs"], t["outputs"], t["counts"]["complete"], t["counts"]["failed"], t["counts"]["waiting"]) for t in j["pipelines"][0]["tasks"]}'; }
[ "$(tasks <<<"$g")" = "{'copy': (['raw'], ['out'], 1, 0, 0), 'fail': (['raw'], ['o2'], 0, 1, 0), 'never': (['down'], ['o3'], 0, 0, 0), 'chatty': (['talk'], ['said'], 0, 0, 0), 'pair': (['raw', 'half'], ['both'], 0, 0, 1)}" ] ||
    fail "/api/graph tasks: $(tasks <<<"$g")"
[ "$(json '[t["producer"] for t in j["pipelines"][0]["targets"] if t["name"] == "out"]' <<<"$g")" = "['copy']" ] ||
    fail "/api/graph targets: $g"
i=$(get "/api/instances?task=$PIPELINE/fail")
[ "$(json '[(x["state"], x["params"], x["reason"]) for x in j["instances"]]' <<<"$i")" = \
    "[('failed', ['n=a'], 'exit-code (status 1)')]" ] || fail "/api/instances: $i"
i=$(get "/api/instances?task=$PIPELINE/pair")
[ "$(json '[(x["state"], x["params"], x["reason"]) for x in j["instances"]]' <<<"$i")" = \
    "[('waiting', ['n=a'], '1 input(s) not there yet: $WORK/half/a')]" ] || fail "/api/instances waiting: $i"
i=$(get "/api/instances?task=$PIPELINE/copy")
[ "$(json '[x["params"] for x in j["complete"]], j["complete_total"]' <<<"$i")" = "[['n=a']] 1" ] ||
    fail "/api/instances complete: $i"
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/api/instances?task=nope/x")
[ "$code" = 404 ] || fail "instances of no task: $code"

# History from the journal, newest first, with durations; the log lines of a run.
h=$(get /api/history)
[ "$(json 'sorted((r["task"], r["result"], r["duration_usec"] is not None) for r in j)' <<<"$h")" = \
    "[('copy', 'success', True), ('fail', 'failed', True)]" ] || fail "/api/history: $h"
logs() { get "/api/logs?unit=$(unit fail a)" | json '" | ".join(l["message"] for l in j)'; }
said_failed() { logs | grep -q "failed: exit-code"; }
wait_for 10 "the failed run's lines in /api/logs" said_failed
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/api/logs")
[ "$code" = 400 ] || fail "logs without a unit: $code"
# Only this daemon's task units: the daemon may read the whole journal, its clients may not.
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/api/logs?unit=systemd-journald.service")
[ "$code" = 404 ] || fail "logs of another unit: $code"
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/api/instances?task=$PIPELINE/copy&limit=99999999")
[ "$code" = 200 ] || fail "a huge limit: $code"
[ "$(get /api/units)" = "[]" ] || fail "/api/units while idle: $(get /api/units)"

# A busy task: 30 instances, one at a time, 20 lines each, which journald may tie to no unit;
# the last lines of one of them are its own, found within its run.
mkdir -p "$WORK/talk"
for n in $(seq 1 30); do : > "$WORK/talk/.$n" && mv "$WORK/talk/.$n" "$WORK/talk/$n"; done
all_said() { [ "$(ls "$WORK/said" 2>/dev/null | wc -l)" = 30 ]; }
wait_for 60 "30 chatty runs" all_said
tail5() { get "/api/logs?unit=$(unit chatty 1)&lines=5" | json '" | ".join(l["message"] for l in j)'; }
own_tail() { tail5 | grep -q "^chatty $WORK/talk/1 line 17 | .* line 18 | .* line 19 | .* line 20 | .*succeeded"; }
wait_for 10 "instance 1's own last lines in /api/logs" own_tail

# The dashboard itself, compiled in, with a policy that forbids framing and foreign scripts.
hdr=$(curl -sf -D - -o "$WORK/index.html" "http://127.0.0.1:$PORT/")
grep -q '<script src="/app.js"' "$WORK/index.html" || fail "no dashboard at /"
grep -qi "^content-security-policy: default-src 'self'" <<<"$hdr" || fail "no CSP: $hdr"
grep -qi '^x-frame-options: DENY' <<<"$hdr" || fail "framing allowed: $hdr"
grep -q "X-Sluice-CSRF" <<<"$(get /app.js)" || fail "no /app.js"

# Control is off by default: the buttons' endpoints refuse.
post() { curl -s -o "$WORK/post.out" -w '%{http_code}' -X POST "$@"; }
code=$(post "http://127.0.0.1:$PORT/api/retry?task=$PIPELINE/fail&param=n=a")
[ "$code" = 403 ] && grep -q "control is off" "$WORK/post.out" || fail "retry with control off: $code"
# Another Host (DNS rebinding) is refused before anything else.
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Host: evil.example:$PORT" "http://127.0.0.1:$PORT/api/status")
[ "$code" = 421 ] || fail "foreign Host: $code"

# With control on: no token, a wrong one, or another origin is refused; the token works.
kill "$DAEMON_PID"; wait "$DAEMON_PID" || true; DAEMON_PID=
printf 'http = { listen = "127.0.0.1:%s"; control = true; };\n' "$PORT" > "$WORK/config/sluiced.conf"
start_daemon
wait_for 30 "the HTTP server" get /api/status
token=$(get /api/status | json 'j["csrf"]')
[ ${#token} = 32 ] || fail "token: $token"
url="http://127.0.0.1:$PORT/api/retry?task=$PIPELINE/fail&param=n=a"
code=$(post "$url"); [ "$code" = 403 ] || fail "retry without a token: $code"
code=$(post -H "X-Sluice-CSRF: ${token%?}x" "$url"); [ "$code" = 403 ] || fail "wrong token: $code"
code=$(post -H "X-Sluice-CSRF: $token" -H "Origin: http://evil.example" "$url")
[ "$code" = 403 ] && grep -q "cross-origin" "$WORK/post.out" || fail "foreign origin: $code"
code=$(post -H "X-Sluice-CSRF: $token" "http://127.0.0.1:$PORT/api/cancel?task=$PIPELINE/copy&param=n=a")
[ "$code" = 409 ] && grep -q "neither queued, running" "$WORK/post.out" || fail "cancel of an idle one: $code $(cat "$WORK/post.out")"
code=$(post -H "X-Sluice-CSRF: $token" "http://127.0.0.1:$PORT/api/retry?task=$PIPELINE/nope")
[ "$code" = 404 ] || fail "retry of no task: $code"
code=$(post -H "X-Sluice-CSRF: $token" -H "Origin: http://127.0.0.1:$PORT" "$url")
[ "$code" = 200 ] && [ "$(json 'j["unit"]' < "$WORK/post.out")" = "$(unit fail a)" ] ||
    fail "retry with the token: $code $(cat "$WORK/post.out")"
failed_twice() { [ "$(runs_started "$(unit fail a)")" = 2 ]; }
wait_for 30 "the retried run" failed_twice
# ...and its failure forgotten, as sluicectl reset-failed does.
fail_failed() { "$SLUICECTL" --user -C "$WORK/config" list --state failed | grep -q "/fail "; }
wait_for 30 "the retried run to fail again" fail_failed
code=$(post -H "X-Sluice-CSRF: $token" "http://127.0.0.1:$PORT/api/reset-failed?task=$PIPELINE/fail&param=n=a")
[ "$code" = 200 ] && ! fail_failed || fail "reset-failed: $code $(cat "$WORK/post.out")"
# Run with force re-runs a complete instance.
code=$(post -H "X-Sluice-CSRF: $token" "http://127.0.0.1:$PORT/api/run?task=$PIPELINE/copy&param=n=a&force=1")
[ "$code" = 200 ] && grep -q '"steps":\[{' "$WORK/post.out" || fail "run --force: $code $(cat "$WORK/post.out")"
copied_twice() { [ "$(runs_started "$(unit copy a)")" = 2 ]; }
wait_for 30 "the forced run" copied_twice

# Listening on every address: an address of the machine or its name will do in Host, a name
# of someone else's (DNS rebinding) will not.
kill "$DAEMON_PID"; wait "$DAEMON_PID" || true; DAEMON_PID=
printf 'http = { listen = "0.0.0.0:%s"; };\n' "$PORT" > "$WORK/config/sluiced.conf"
start_daemon
wait_for 30 "the HTTP server" get /api/status
host_code() { curl -s -o /dev/null -w '%{http_code}' -H "Host: $1" "http://127.0.0.1:$PORT/api/status"; }
[ "$(host_code "evil.example:$PORT")" = 421 ] || fail "a foreign name on 0.0.0.0: $(host_code "evil.example:$PORT")"
[ "$(host_code "10.1.2.3:$PORT")" = 200 ] || fail "an address on 0.0.0.0: $(host_code "10.1.2.3:$PORT")"
[ "$(host_code "$(hostname):$PORT")" = 200 ] || fail "the host name on 0.0.0.0"
[ "$(host_code "127.0.0.1:1$PORT")" = 421 ] || fail "another port"

# sluiced.conf is reloaded with the pipelines: the server moves, max_parallel and pools change.
PORT2=$(free_port)
printf 'max_parallel = 3;\nresources = { db = 2; };\nhttp = { listen = "127.0.0.1:%s"; };\n' "$PORT2" \
    > "$WORK/config/sluiced.conf"
kill -HUP "$DAEMON_PID"
get2() { curl -sf "http://127.0.0.1:$PORT2$1"; }
moved() { [ "$(get2 /api/status | json 'j["max_parallel"], [p["name"] for p in j["pools"]]')" = "3 ['db']" ]; }
wait_for 10 "the server on its new address, with the new settings" moved
curl -s -o /dev/null "http://127.0.0.1:$PORT/api/status" && fail "the old address still answers"
# A sluiced.conf with errors changes nothing, and says where.
printf 'max_parallel = 0;\nmax_starting = 200;\nhttp = { listen = "127.0.0.1:%s"; };\n' "$(free_port)" \
    > "$WORK/config/sluiced.conf"
kill -HUP "$DAEMON_PID"
refused() {
    grep -q "sluiced.conf:1: .*max_parallel" "$WORK/daemon.log" &&
        grep -q "sluiced.conf:2: 'max_starting' must be from 1 to 100, not 200" "$WORK/daemon.log" &&
        grep -q "has errors: the daemon keeps its settings" "$WORK/daemon.log"
}
wait_for 10 "the refusal in the log" refused
moved || fail "a bad sluiced.conf changed the settings: $(get2 /api/status)"

# A port something else holds: said with the reason, and the pipelines run on without the
# server, on a reload and from the start (where the daemon exited, and systemd restarted it).
TAKEN=$(free_port)
python3 -c 'import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(); time.sleep(300)' "$TAKEN" &
HOLDER=$!
trap 'kill "$HOLDER" 2>/dev/null; cleanup' EXIT
taken() { (echo > "/dev/tcp/127.0.0.1/$TAKEN") 2>/dev/null; }
wait_for 10 "the port to be taken" taken
printf 'http = { listen = "127.0.0.1:%s"; };\n' "$TAKEN" > "$WORK/config/sluiced.conf"
cant="Cannot listen for HTTP on 127.0.0.1:$TAKEN: Address already in use"
kill -HUP "$DAEMON_PID"
wait_for 10 "the reload's error" logged "$cant"
kill -TERM "$DAEMON_PID"
wait "$DAEMON_PID" || fail "sluiced exited with $? on SIGTERM"
start_daemon
echo c > "$WORK/in/c"
wait_for 30 "a copy by a daemon that could not listen" test -s "$WORK/out/c"
[ "$(grep -c "$cant" "$WORK/daemon.log")" = 2 ] || fail "the start did not say why it runs without the server"
echo ok
