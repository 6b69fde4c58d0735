#!/bin/bash
# SPDX-License-Identifier: MIT
# A target on a network file system (NFS, SMB, FUSE...) is scanned as well as watched: a file
# written through this machine's mount runs at its event, one written from elsewhere (here,
# into the directory a bindfs mount shows) at a scan, each exactly once, and not half-written.
# Unmounted while the daemon runs, the mount's files are not taken as deleted, nothing is
# written to the bare mount point, and all goes on once it is mounted again; not when another
# file system is mounted there instead, nor across a reload or a restart while it is away.
. "$(dirname "$0")/lib.sh"
command -v bindfs >/dev/null && [ -c /dev/fuse ] || { echo "SKIP: bindfs and /dev/fuse are needed" >&2; exit 77; }
unmount() {
    local m
    for m in "$WORK/mnt" "$WORK/late" "$WORK/mnt2" "$WORK"/spare*; do
        fusermount -u "$m" 2>/dev/null || true
    done
}
count() { grep -c -- "$1" "$WORK/daemon.log" || true; }
more_than() { [ "$(count "$1")" -gt "$2" ]; }
trap 'cleanup_daemon_first' EXIT
cleanup_daemon_first() {
    [ -n "$DAEMON_PID" ] && kill "$DAEMON_PID" 2>/dev/null && wait "$DAEMON_PID" 2>/dev/null
    DAEMON_PID=
    unmount
    cleanup
}

mkdir -p "$WORK/far/in" "$WORK/far/kept" "$WORK/far2" "$WORK/mnt" "$WORK/out" "$WORK/config" "$WORK/late" \
    "$WORK/farlate" "$WORK/local" "$WORK/far3/data" "$WORK/mnt2" "$WORK/local2" "$WORK/local3"
ln -s "$WORK/mnt2/data" "$WORK/link"
ctl() { "$SLUICECTL" --user -C "$WORK/config" "$@"; }
# When the next scan of a target (kept unless named) is due: a scan moves it on.
next_scan() {
    ctl status --json | grep -o "\"target\":\"${1:-kept}\",.*" | grep -o '"next_poll_usec":[0-9]*' |
        sed -n '1s/.*://p'
}
scanned_after() { [ "$(next_scan "${2:-kept}")" -gt $(($1 + 500000)) ]; }
# Without FUSE's attribute cache: with it the mount shows a size and mtime up to a second old,
# longer than the scan interval here (NFS's adapts, and is a few seconds for a file being
# written, against a default scan_interval of 30s).
bindfs -o attr_timeout=0,entry_timeout=0 "$WORK/far" "$WORK/mnt" || { echo "SKIP: bindfs cannot mount here" >&2; exit 77; }
bindfs -o attr_timeout=0,entry_timeout=0 "$WORK/far3" "$WORK/mnt2"
echo 'scan_interval = "1s";' > "$WORK/config/sluiced.conf"
install_pipeline "$(dirname "$0")/netfs.conf.in"
echo before > "$WORK/far/in/before.csv"
start_daemon

logged "'$WORK/mnt/in' of target 'shared' is on a network file system (fuse), where files written from other machines raise no inotify event: scanning the target every 1s as well as watching it" ||
    fail "the network file system was not told"
wait_for 30 "what was there before the start" test -s "$WORK/out/before"
"$SLUICECTL" --user -C "$WORK/config" status | grep -A1 "/shared (path $WORK/mnt/in/" |
    grep -q "scanned as well as watched (on a network file system" ||
    fail "status: $("$SLUICECTL" --user -C "$WORK/config" status)"

# Through the mount: watched.
echo near > "$WORK/mnt/in/near.csv"
wait_for 30 "the file written through the mount" test -s "$WORK/out/near"
# From elsewhere, slowly: found by a scan, and taken only once left alone for the interval.
for i in $(seq 1 10); do echo "line $i"; sleep 0.3; done > "$WORK/far/in/far.csv"
wait_for 30 "the file written from elsewhere" test -s "$WORK/out/far"
[ "$(wc -l < "$WORK/out/far")" = 10 ] || fail "taken half-written: $(wc -l < "$WORK/out/far") lines of 10"
# A network file system mounted over a watched directory after the start: the mount table's
# change is noticed, and the target scanned from then on.
bindfs -o attr_timeout=0,entry_timeout=0 "$WORK/farlate" "$WORK/late"
wait_for 30 "the mount over the watched directory to be noticed" \
    logged "'$WORK/late' of target 'late' is on a network file system (fuse)"
echo elsewhere > "$WORK/farlate/x.csv"
wait_for 30 "a file under the late mount" test -s "$WORK/out/late-x"

# An output reached through a link (link -> mnt2/data): the mount noted is the one it leads to
# (mnt2), with what the mount table says is mounted there, so that it is back when mounted
# again under another device number.
echo x > "$WORK/local2/x.txt"
wait_for 30 "the output written through the link" test -s "$WORK/far3/data/x"
grep -qxF "$WORK/mnt2 fuse $WORK/far3 /" "$WORK/state/mounts" ||
    fail "the mount behind the link is not noted: $(cat "$WORK/state/mounts")"
dev=$(stat -c %d "$WORK/mnt2")
fusermount -u "$WORK/mnt2"
wait_for 30 "the unmount behind the link to be noticed" \
    logged "'$WORK/mnt2' of target 'linked' is no longer on the file system it was on (fuse)"
echo y > "$WORK/local2/y.txt"
wait_for 30 "the start of link@y to be held" \
    logged "$(unit link y) waits: output 'linked' at '$WORK/link/y' cannot be written: '$WORK/mnt2' is no longer"
ctl graph link -p name=y > "$WORK/graph" 2>&1 || true
grep -F "[held: output 'linked' at '$WORK/link/y' cannot be written: '$WORK/mnt2' is no longer" "$WORK/graph" > /dev/null ||
    fail "graph through the link: $(cat "$WORK/graph")"
# Other mounts take the device number freed (the lowest free one), so that it comes back
# under another.
for n in $(seq 1 20); do
    mkdir -p "$WORK/spare$n"
    bindfs "$WORK/far2" "$WORK/spare$n"
    [ "$(stat -c %d "$WORK/spare$n")" != "$dev" ] || break
done
bindfs -o attr_timeout=0,entry_timeout=0 "$WORK/far3" "$WORK/mnt2"
[ "$(stat -c %d "$WORK/mnt2")" != "$dev" ] || fail "mounted again under the same device number"
wait_for 30 "the mount behind the link to be back" \
    logged "'$WORK/mnt2' of target 'linked' is back on its file system (fuse)"
wait_for 30 "the held start of link@y" test -s "$WORK/far3/data/y"
for m in "$WORK"/spare*; do fusermount -u "$m"; done

# A run that the unmount interrupts: the files it staged there, out of reach while the mount is
# away, go once it is back (they are no output, and would be there for ever), and the run is
# made again. One is in a directory of the mount, the other at its root, whose bare mount point
# is there to read, empty, while the mount is away.
staged() { compgen -G "$WORK/far3/slow/.sluice-*-s" > /dev/null; }
stagedroot() { compgen -G "$WORK/far3/.sluice-*-s.root" > /dev/null; }
echo s > "$WORK/local3/s.txt"
wait_for 30 "the run of slow@s to write its staged outputs" eval 'staged && stagedroot'
said=$(count "'$WORK/mnt2' of target 'slowout' is no longer on the file system it was on")
fusermount -u "$WORK/mnt2"
wait_for 30 "the unmount under slow@s to be noticed" \
    more_than "'$WORK/mnt2' of target 'slowout' is no longer on the file system it was on" "$said"
touch "$WORK/gate"
wait_for 30 "slow@s to be held again" logged "$(unit slow s) waits: output 'slowout'"
# Long enough away for the sweep of what the run left (a second after its end) to find it so.
for i in 1 2 3; do
    due=$(next_scan slowout)
    wait_for 30 "a scan of slowout while its mount is away" scanned_after "$due" slowout
done
bindfs -o attr_timeout=0,entry_timeout=0 "$WORK/far3" "$WORK/mnt2"
wait_for 30 "slow@s made again" eval 'test -s "$WORK/far3/slow/s" && test -s "$WORK/far3/s.root"'
[ "$(cat "$WORK/far3/slow/s")" = "$(printf 'part\ns')" ] || fail "slow@s: $(cat "$WORK/far3/slow/s")"
[ "$(cat "$WORK/far3/s.root")" = "$(printf 'part\ns')" ] || fail "slow@s: $(cat "$WORK/far3/s.root")"
wait_for 30 "the staged output of the interrupted run to go" eval '! staged'
wait_for 30 "the staged output at the mount's root to go" eval '! stagedroot'

# An output on the mount, and the mount goes away: the scans of its target would find every
# file gone, and run every instance again, writing to the bare mount point.
echo a > "$WORK/local/a.txt"
wait_for 30 "the output written through the mount" test -s "$WORK/far/kept/a"
fusermount -u "$WORK/mnt"
due=$(next_scan)
wait_for 30 "a scan of the target while its mount is away" scanned_after "$due"
! logged "Output 'kept' of task 'keep' is gone" || fail "the unmount was taken for deletions"
wait_for 30 "the unmount to be noticed" \
    logged "'$WORK/mnt' of target 'kept' is no longer on the file system it was on (fuse): its mount went away?"
# Meanwhile: written from elsewhere, for a scan once the mount is back; and an input whose
# output goes there, held.
echo during > "$WORK/far/in/during.csv"
echo b > "$WORK/local/b.txt"
wait_for 30 "the start of keep@b to be held" logged "$(unit keep b) waits: output 'kept' at '$WORK/mnt/kept/b' cannot be written: '$WORK/mnt' is no longer"
[ -z "$(ls -A "$WORK/mnt")" ] || fail "written to the bare mount point: $(ls -AR "$WORK/mnt")"
ctl status | grep -A2 "/kept (path $WORK/mnt/kept/" |
    holds "held: '$WORK/mnt' is no longer on the file system it was on (fuse)" ||
    fail "status: $(ctl status)"
ctl list | holds "^queued .*/keep .*output 'kept' at '$WORK/mnt/kept/b' cannot be written" ||
    fail "list: $(ctl list)"
ctl why keep -p name=b | holds "^queued .*, held: output 'kept' at '$WORK/mnt/kept/b'" ||
    fail "why: $(ctl why keep -p name=b)"
# graph, which looks at the disk, says so in the same words, and of an input there too.
ctl graph keep -p name=b > "$WORK/graph" 2>&1 || true
grep -F "keep name=b  {sluiced: queued} [held: output 'kept' at '$WORK/mnt/kept/b' cannot be written: '$WORK/mnt' is no longer on the file system it was on (fuse)" "$WORK/graph" > /dev/null ||
    fail "graph: $(cat "$WORK/graph")"
ctl graph copy -p name=during > "$WORK/graph" 2>&1 || true
grep -F "PENDING shared $WORK/mnt/in/during.csv  ('$WORK/mnt' is no longer on the file system it was on (fuse)" "$WORK/graph" > /dev/null ||
    fail "graph of an input on the mount away: $(cat "$WORK/graph")"

# Mounted again: the held start goes, what landed meanwhile runs once, and so does a new input.
bindfs -o attr_timeout=0,entry_timeout=0 "$WORK/far" "$WORK/mnt"
wait_for 30 "the mount to be back" logged "'$WORK/mnt' of target 'kept' is back on its file system (fuse)"
wait_for 30 "the held start" test -s "$WORK/far/kept/b"
wait_for 30 "the file that landed while the mount was away" test -s "$WORK/out/during"
echo c > "$WORK/local/c.txt"
wait_for 30 "a new input once the mount is back" test -s "$WORK/far/kept/c"
if ctl status | grep -A2 "/kept (path $WORK/mnt/kept/" | holds "held:"; then
    fail "status still says held: $(ctl status)"
fi
for n in copy@before copy@near copy@far copy@during keep@a keep@b keep@c; do
    [ "$(grep -c "Started sluice-$PIPELINE-$n\.service" "$WORK/daemon.log")" = 1 ] ||
        fail "$n did not run exactly once"
done
grep -qxF "$WORK/mnt fuse $WORK/far /" "$WORK/state/mounts" ||
    fail "the mount is not noted in the state directory: $(cat "$WORK/state/mounts")"

# Unmounted again, and another file system mounted there (FUSE gives it the device number the
# unmount freed): that is not the mount back. The target stays held, its outputs are not taken
# as deleted, and nothing is written there.
said=$(count "'$WORK/mnt' of target 'kept' is no longer on the file system it was on")
fusermount -u "$WORK/mnt"
wait_for 30 "the second unmount to be noticed" \
    more_than "'$WORK/mnt' of target 'kept' is no longer on the file system it was on" "$said"
bindfs -o attr_timeout=0,entry_timeout=0 "$WORK/far2" "$WORK/mnt"
wait_for 30 "the other file system to be noticed" \
    logged "'$WORK/mnt' of target 'kept' is on another file system (fuse $WORK/far2 /) than the one it was on (fuse $WORK/far /)"
echo d > "$WORK/local/d.txt"
wait_for 30 "the start of keep@d to be held" logged "$(unit keep d) waits: output 'kept' at '$WORK/mnt/kept/d' cannot be written: '$WORK/mnt' is on another file system"
due=$(next_scan)
wait_for 30 "a scan of the target while another file system is mounted there" scanned_after "$due"
! logged "Output 'kept' of task 'keep' is gone" || fail "the other file system was taken for the mount back"
[ -z "$(ls -A "$WORK/far2")" ] || fail "written to the other file system: $(ls -AR "$WORK/far2")"
ctl status | grep -A2 "/kept (path $WORK/mnt/kept/" | holds "held: '$WORK/mnt' is on another file system" ||
    fail "status: $(ctl status)"
# why: an output whose mount is away is not missing; its instance waits for it.
ctl why keep -p name=a | holds "^waiting .*output 'kept' at '$WORK/mnt/kept/a' cannot be written: '$WORK/mnt' is on another file system" ||
    fail "why: $(ctl why keep -p name=a)"
ctl graph keep -p name=a > "$WORK/graph" 2>&1 || true
grep -F "keep name=a  [held: output 'kept' at '$WORK/mnt/kept/a' cannot be written: '$WORK/mnt' is on another file system" "$WORK/graph" > /dev/null ||
    fail "graph: $(cat "$WORK/graph")"

# A reload while every network file system of the pipeline is held runs it on as it is...
fusermount -u "$WORK/late"
wait_for 30 "the unmount of the late mount to be noticed" \
    logged "'$WORK/late' of target 'late' is no longer on the file system it was on (fuse)"
said=$(count "'$WORK/mnt2' of target 'linked' is no longer on the file system it was on")
fusermount -u "$WORK/mnt2"
wait_for 30 "the unmount behind the link to be noticed again" \
    more_than "'$WORK/mnt2' of target 'linked' is no longer on the file system it was on" "$said"
reload
logged "Pipeline '$PIPELINE' is unchanged" || fail "a reload while held started the pipeline afresh"
# ...and one that starts it afresh (its file changed) holds it again, from the note.
echo "# changed" >> "$WORK/config/pipelines.d/$PIPELINE.conf"
said=$(count "'$WORK/mnt' of target 'kept' is on another file system")
reload
wait_for 30 "the target started afresh to be held" \
    more_than "'$WORK/mnt' of target 'kept' is on another file system" "$said"
ctl status | grep -A2 "/kept (path $WORK/mnt/kept/" | holds "held: '$WORK/mnt' is on another file system" ||
    fail "status after a reload: $(ctl status)"
# The start-up scan of the new version finds every output missing: each waits.
wait_for 30 "the start of keep@a to be held after the reload" logged "$(unit keep a) waits: output 'kept'"
[ -z "$(ls -A "$WORK/far2")" ] || fail "written to the other file system after a reload: $(ls -AR "$WORK/far2")"

# A restart while the mount is away: held from the note at the start, not run again into the
# bare mount point.
kill "$DAEMON_PID"; wait "$DAEMON_PID" 2>/dev/null || true; DAEMON_PID=
fusermount -u "$WORK/mnt"
said=$(count "'$WORK/mnt' of target 'kept' is no longer on the file system it was on")
start_daemon
more_than "'$WORK/mnt' of target 'kept' is no longer on the file system it was on" "$said" ||
    fail "the mount away was not seen at the restart"
wait_for 30 "the start of keep@a to be held after the restart" logged "$(unit keep a) waits: output 'kept' at '$WORK/mnt/kept/a' cannot be written: '$WORK/mnt' is no longer"
[ -z "$(ls -A "$WORK/mnt")" ] || fail "written to the bare mount point after a restart: $(ls -AR "$WORK/mnt")"
# Mounted again (it could not be over files left in the bare mount point): all goes on.
bindfs -o attr_timeout=0,entry_timeout=0 "$WORK/far" "$WORK/mnt"
bindfs -o attr_timeout=0,entry_timeout=0 "$WORK/farlate" "$WORK/late"
bindfs -o attr_timeout=0,entry_timeout=0 "$WORK/far3" "$WORK/mnt2"
wait_for 30 "the mount to be back after the restart" \
    more_than "'$WORK/mnt' of target 'kept' is back on its file system (fuse)" 1
wait_for 30 "the held start of keep@d" test -s "$WORK/far/kept/d"
echo e > "$WORK/local/e.txt"
wait_for 30 "a new input after the restart" test -s "$WORK/far/kept/e"
for n in copy@before copy@near copy@far copy@during keep@a keep@b keep@c keep@d keep@e link@x link@y; do
    [ "$(grep -c "Started sluice-$PIPELINE-$n\.service" "$WORK/daemon.log")" = 1 ] ||
        fail "$n did not run exactly once"
done

# The pipeline's paths moved off the mounts: their notes are dropped.
sed -i -e "s|$WORK/mnt/|$WORK/far/|" -e "s|$WORK/late/|$WORK/farlate/|" -e "s|$WORK/link/|$WORK/far3/data/|" \
    -e "s|$WORK/mnt2/|$WORK/far3/|" \
    "$WORK/config/pipelines.d/$PIPELINE.conf"
reload
wait_for 30 "the notes to be dropped" logged "network file system noted at '$WORK/mnt' any more"
[ ! -e "$WORK/state/mounts" ] || fail "notes left: $(cat "$WORK/state/mounts")"
echo ok
