#!/bin/bash
# SPDX-License-Identifier: MIT
# A full state directory is the daemon's trouble, not the task's: a start whose run record
# cannot be written is not counted as an attempt and fails nothing; it runs once there is room.
# A run that did its work while the disk filled up ends as it did: its end is recorded in the
# space the daemon holds in reserve, not lost.
. "$(dirname "$0")/lib.sh"
mkdir -p "$WORK/state" "$WORK/in" "$WORK/out" "$WORK/fill" "$WORK/filled" "$WORK/config/pipelines.d"
mount -t tmpfs -o size=2m tmpfs "$WORK/state" || { echo "SKIP: cannot mount a tmpfs" >&2; exit 77; }
stop_then_unmount() {
    [ -n "$DAEMON_PID" ] && kill "$DAEMON_PID" 2>/dev/null && wait "$DAEMON_PID" 2>/dev/null
    DAEMON_PID=
    umount "$WORK/state" 2>/dev/null || true
    cleanup
}
trap stop_then_unmount EXIT
cat > "$WORK/config/pipelines.d/$PIPELINE.conf" <<CONF
targets = { raw = { path = "$WORK/in/{n}"; }; done = { path = "$WORK/out/{n}"; };
            fill = { path = "$WORK/fill/{n}"; }; filled = { path = "$WORK/filled/{n}"; }; };
tasks = ( { name = "copy"; inputs = [ "raw" ]; outputs = [ "done" ];
            exec = [ "/bin/cp", "\${input}", "\${output}" ]; },
          { name = "filler"; inputs = [ "fill" ]; outputs = [ "filled" ];
            exec = [ "/bin/sh", "-c", "cp \"\$1\" \"\$2\"; dd if=/dev/zero of=$WORK/state/filler bs=64k 2>/dev/null; exit 0",
                     "sh", "\${input}", "\${output}" ]; } );
CONF
start_daemon
[ "$(stat -c %s "$WORK/state/reserve")" = 1048576 ] || fail "no reserve: $(ls -l "$WORK/state")"
echo 1 > "$WORK/in/1"
wait_for 30 "a run with room" test -s "$WORK/out/1"

dd if=/dev/zero of="$WORK/state/filler" bs=4k count=1000 2>/dev/null || true
echo 2 > "$WORK/in/2"
wait_for 30 "the start held" \
    logged "sluice-$PIPELINE-copy@2.service: start failed: cannot write the run record (No space left on device); it runs again in 30s, not counted as an attempt"
rm "$WORK/state/filler"
wait_for 60 "the held start once there is room" test -s "$WORK/out/2"
! logged "copy@2.service failed for good" || fail "a full state directory failed the task"

# The disk fills up while a run works: it ends as it did, in the reserve.
echo 3 > "$WORK/fill/3"
wait_for 60 "the end of the run that filled the disk" \
    logged "The file system of the state directory '$WORK/state' was full when sluice-$PIPELINE-filler@3.service ended: its end was recorded in the space held in reserve. Free space there: until then, starts are held, and a run whose end cannot be recorded runs again"
wait_for 30 "the output of the run that filled the disk" test -s "$WORK/filled/3"
logged "filler@3.service succeeded" && ! logged "filler@3.service failed" ||
    fail "the run was lost: $(grep filler@3 "$WORK/daemon.log")"
# With the reserve spent and the disk still full, a start is held (its end could not be
# recorded), not counted; it runs once there is room, and the reserve is held again.
dd if=/dev/zero of="$WORK/state/filler2" bs=4k 2>/dev/null || true
echo 4 > "$WORK/in/4"
wait_for 30 "the start held while the reserve is spent" \
    logged "sluice-$PIPELINE-copy@4.service: start failed: the state directory's file system is full (the space held for the ends of runs is spent) (No space left on device); it runs again in 30s, not counted as an attempt"
rm "$WORK/state/filler" "$WORK/state/filler2"
wait_for 60 "the held start once there is room" test -s "$WORK/out/4"
[ "$(stat -c %s "$WORK/state/reserve")" = 1048576 ] || fail "the reserve was not made again: $(ls -l "$WORK/state")"
echo ok
