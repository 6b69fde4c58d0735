#!/bin/bash
# SPDX-License-Identifier: MIT
# A reload while the bus does not answer: sluiced reaches the bus through a proxy of the test's
# own, which is stopped (the shared bus and manager are left alone). The reload sets the limits
# of the changed pipeline's slice without waiting for the answer, so the loop goes on: the
# reload ends at once, and a call that times out says which slice it was for. Once the bus
# answers again, the slice has its new limits and an arrival runs.
. "$(dirname "$0")/lib.sh"

conf=$WORK/config/pipelines.d/$PIPELINE.conf
slice=sluice-$PIPELINE.slice
mkdir -p "$WORK/config/pipelines.d" "$WORK/in"
write_conf() {
    cat > "$conf" <<EOF
targets = { in  = { path = "$WORK/in/{n:int}"; };
            out = { path = "$WORK/out/{n:int}"; }; };
tasks = ( { name = "copy"; inputs = [ "in" ]; outputs = [ "out" ];
            exec = [ "/bin/cp", "\${input}", "\${output}" ]; } );
limits = { tasks_max = $1; };
EOF
}
write_conf 64

# One connection in, one out, both pumped by one process: SIGSTOP stops everything it relays.
python3 - "$WORK/bus.sock" "${DBUS_SESSION_BUS_ADDRESS#unix:path=}" <<'PY' &
import asyncio, sys
src, dst = sys.argv[1], sys.argv[2]
async def pipe(r, w):
    try:
        while data := await r.read(65536):
            w.write(data)
            await w.drain()
    finally:
        w.close()
async def relay(r, w):
    r2, w2 = await asyncio.open_unix_connection(dst)
    await asyncio.gather(pipe(r, w2), pipe(r2, w), return_exceptions=True)
async def main():
    async with await asyncio.start_unix_server(relay, src) as server:
        await server.serve_forever()
asyncio.run(main())
PY
proxy=$!
trap 'kill -CONT "$proxy" 2>/dev/null; cleanup; kill "$proxy" 2>/dev/null' EXIT
wait_for 10 "the bus proxy" test -S "$WORK/bus.sock"

DBUS_SESSION_BUS_ADDRESS=unix:path=$WORK/bus.sock SYSTEMD_BUS_TIMEOUT=6s start_daemon
slice_tasks_max() { systemctl --user show -P TasksMax "$slice"; }
slice_tasks_max_is() { [ "$(slice_tasks_max)" = "$1" ]; }
wait_for 10 "the slice's TasksMax of 64" slice_tasks_max_is 64
echo 1 > "$WORK/in/1"
wait_for 30 "a run through the proxy" test -f "$WORK/out/1"

kill -STOP "$proxy"
write_conf 32
before=$(reloads)
kill -HUP "$DAEMON_PID"
# Waiting for the manager's answer would take the bus timeout (6 s).
wait_for 3 "a reload while the bus does not answer" more_reloads_than "$before"
wait_for 15 "the unanswered call to time out" \
    logged "Cannot set the limits of $slice: Method call timed out"

kill -CONT "$proxy"
# The call reached the manager all the same, once the proxy relayed it.
wait_for 10 "the slice's TasksMax of 32" slice_tasks_max_is 32
echo 2 > "$WORK/in/2"
wait_for 30 "a run after the bus answers again" test -f "$WORK/out/2"
echo ok
