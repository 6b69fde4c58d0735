#!/bin/bash
# SPDX-License-Identifier: MIT
# SIGHUP reloads pipelines.d, the first time into a directory that was missing: a broken file
# keeps the previous version of its pipeline running (and says why, with file and line), a fixed
# file replaces it, a new file starts a pipeline, a removed file stops one, and an unchanged
# file leaves its pipeline running as it is.
. "$(dirname "$0")/lib.sh"

conf=$WORK/config/pipelines.d/$PIPELINE.conf

# No pipelines.d yet (a fresh install): a notice, not an error, and the first reload after
# files arrive there runs them.
mkdir -p "$WORK/config"
start_daemon
logged "No directory '$WORK/config/pipelines.d': no pipelines to run" ||
    fail "no notice of the missing pipelines.d"
! logged "cannot read directory" || fail "a missing pipelines.d logged as an error"
install_pipeline "$SOURCE_ROOT/contrib/examples/wordcount/wordcount.conf.in"
reload

mkdir -p "$WORK/logs"
echo "one two" > "$WORK/logs/a.log"
wait_for 30 "a's summary" test -f "$WORK/summary/a.txt"

# A broken file: the old pipeline keeps running, and the log says where the problem is.
cp "$conf" "$WORK/good.conf"
sed -i 's/outputs = \[ "counts" \]/outptus = [ "counts" ]/' "$conf"
reload
grep -q "$PIPELINE.conf:16: task 'wordcount': unknown key 'outptus' (did you mean 'outputs'?)" \
    "$WORK/daemon.log" || fail "the reload did not say what is wrong"
grep -q "Keeping the running version of pipeline '$PIPELINE'" "$WORK/daemon.log" ||
    fail "the reload did not keep the old version"
echo "three four" > "$WORK/logs/b.log"
wait_for 30 "b's summary, under the old version" test -f "$WORK/summary/b.txt"

# A problem in a file the pipeline @includes is said there; the journal entry names the
# pipeline file (what sluicectl check takes) and the part.
part=$WORK/config/pipelines.d/$PIPELINE.inc
printf '# a part\nbogus_top = 1;\n' > "$part"
{ cat "$WORK/good.conf"; echo "@include \"$PIPELINE.inc\""; } > "$conf"
reload
grep -q "^.*$part:2: unknown key 'bogus_top' (included by $conf)" "$WORK/daemon.log" ||
    fail "the reload did not say where in the included file: $(grep bogus_top "$WORK/daemon.log")"
wait_for 10 "the problem in the journal" journal_has MESSAGE_ID=4357e884d3a94c11bd5b09ed71a2e781 \
    "CONFIG_FILE=$conf" "CONFIG_INCLUDED_FILE=$part" CONFIG_LINE=2
rm "$part"

# A fixed file with a change: a third stage appears and runs for what exists already.
sed -e 's|^};$|  upper = { path = "'"$WORK"'/upper/{name:path}.txt"; };\n};|' \
    -e 's|^);$|  , { name = "upper"; inputs = [ "summary" ]; outputs = [ "upper" ];\n      exec = [ "/bin/sh", "-c", "tr a-z A-Z < \\"$0\\" > \\"$1\\"", "${input}", "${output}" ]; }\n);|' \
    "$WORK/good.conf" > "$conf"
"$SLUICECTL" check "$conf" >/dev/null || fail "the changed pipeline does not check"
reload
wait_for 30 "the new stage for a" test -f "$WORK/upper/a.txt"
wait_for 30 "the new stage for b" test -f "$WORK/upper/b.txt"
grep -q "^2 WORDS" "$WORK/upper/a.txt" || fail "new stage output: $(cat "$WORK/upper/a.txt")"

# A second file starts a pipeline of its own; removing it stops it.
sed -e "s|$WORK/|$WORK/other/|g" "$WORK/good.conf" > "$WORK/config/pipelines.d/${PIPELINE}b.conf"
reload
mkdir -p "$WORK/other/logs"
echo "five" > "$WORK/other/logs/c.log"
wait_for 30 "the second pipeline's summary" test -f "$WORK/other/summary/c.txt"
rm "$WORK/config/pipelines.d/${PIPELINE}b.conf"
reload
grep -q "Reloaded: 1 pipeline(s) running (1 unchanged), 0 kept" "$WORK/daemon.log" ||
    fail "the removed pipeline is still running"
grep -q "Pipeline '${PIPELINE}b' stopped: its file '.*${PIPELINE}b.conf' is gone" "$WORK/daemon.log" ||
    fail "the log does not say the removed pipeline stopped"

# An unchanged file leaves its pipeline running as it is: not watched afresh, not rescanned.
# Under complete = "moved" a file written in place makes no arrival and does not count; a
# pipeline a reload starts afresh scans it again, and still does not take it: the watching
# knows how it got there.
mconf=$WORK/config/pipelines.d/${PIPELINE}m.conf
mkdir -p "$WORK/m/in"
cat > "$mconf" <<EOF
targets = { in  = { path = "$WORK/m/in/{n:int}.ev"; complete = "moved"; };
            out = { path = "$WORK/m/out/{n:int}"; }; };
tasks = ( { name = "copy"; inputs = [ "in" ]; outputs = [ "out" ];
            exec = [ "/bin/cp", "\${input}", "\${output}" ]; } );
limits = { tasks_max = 64; };
EOF
reload
slice_tasks_max() { systemctl --user show -P TasksMax "sluice-${PIPELINE}m.slice"; }
slice_tasks_max_is() { [ "$(slice_tasks_max)" = "$1" ]; }
# Set without waiting for the manager's answer: it may come after the "Reloaded:" line.
wait_for 10 "the slice's TasksMax of 64" slice_tasks_max_is 64
# The kernel's watch descriptor on the directory: a watch removed and added again gets a new one.
wd_of() {
    local ino
    ino=$(printf '%x' "$(stat -c %i "$1")")
    cat /proc/"$DAEMON_PID"/fdinfo/* 2>/dev/null |
        sed -n "s/^inotify wd:\([0-9a-f]*\) ino:$ino sdev:.*/\1/p"
}
wd=$(wd_of "$WORK/m/in")
[ -n "$wd" ] || fail "the new pipeline's input is not watched"
echo 1 > "$WORK/m/in/1.ev"
reload
grep -q "Reloaded: 2 pipeline(s) running (2 unchanged), 0 kept" "$WORK/daemon.log" ||
    fail "a reload with no file changed did not leave both pipelines as they were"
[ "$(wd_of "$WORK/m/in")" = "$wd" ] || fail "an unchanged pipeline was watched afresh"
echo 2 > "$WORK/incoming"
mv "$WORK/incoming" "$WORK/m/in/2.ev"
wait_for 30 "an arrival after the reload" test -f "$WORK/m/out/2"
! grep -q -- "-copy@1\.service" "$WORK/daemon.log" ||
    fail "an unchanged pipeline was scanned again: it took the file written in place"
# The change removes the slice's limit: gone from the slice too, not left behind.
sed -i '/^limits/d' "$mconf"
reload
wait_for 10 "a limit removed from the file to go from the slice" slice_tasks_max_is infinity
[ "$(wd_of "$WORK/m/in")" != "$wd" ] || fail "a changed pipeline kept its old watch"
echo 3 > "$WORK/incoming"
mv "$WORK/incoming" "$WORK/m/in/3.ev"
wait_for 30 "an arrival after the changed pipeline's scan" test -f "$WORK/m/out/3"
[ ! -e "$WORK/m/out/1" ] || fail "the changed pipeline's scan took the file written in place"
mv "$WORK/m/in/1.ev" "$WORK/incoming"
mv "$WORK/incoming" "$WORK/m/in/1.ev"
wait_for 30 "the file written in place, once renamed into place" test -f "$WORK/m/out/1"

# A run in flight when its task gains an output finishes under the version it started with:
# it commits the one output it was given (the new version then runs the instance again, for
# the output it lacks).
hconf=$WORK/config/pipelines.d/${PIPELINE}h.conf
mkdir -p "$WORK/h/in"
cat > "$hconf" <<EOF
targets = { in = { path = "$WORK/h/in/{n:int}"; }; a = { path = "$WORK/h/a/{n:int}"; };
            b = { path = "$WORK/h/b/{n:int}"; }; };
tasks = ( { name = "hold"; inputs = [ "in" ]; outputs = [ "a" ];
            exec = [ "/bin/sh", "-c", "touch $WORK/h/running; while [ ! -e $WORK/h/go ]; do sleep 0.1; done; echo first > \"\$0\"", "\${output}" ]; } );
EOF
reload
echo x > "$WORK/h/in/1"
wait_for 30 "the held run" test -e "$WORK/h/running"
cat > "$hconf" <<EOF
targets = { in = { path = "$WORK/h/in/{n:int}"; }; a = { path = "$WORK/h/a/{n:int}"; };
            b = { path = "$WORK/h/b/{n:int}"; }; };
tasks = ( { name = "hold"; inputs = [ "in" ]; outputs = [ "a", "b" ];
            exec = [ "/bin/sh", "-c", "for o; do echo second > \"\$o\"; done", "sh", "\${outputs}" ]; } );
EOF
reload
touch "$WORK/h/go"
wait_for 30 "the instance under the new version" test -f "$WORK/h/b/1"
! grep -q "hold@1.service failed" "$WORK/daemon.log" ||
    fail "the run in flight failed across the reload: $(grep "hold@1" "$WORK/daemon.log")"
[ "$(grep -c "Started sluice-${PIPELINE}h-hold@1.service" "$WORK/daemon.log")" = 2 ] ||
    fail "hold@1 did not run once under each version: $(grep "hold@1" "$WORK/daemon.log")"
[ "$(cat "$WORK/h/a/1")" = second ] || fail "a/1: $(cat "$WORK/h/a/1")"
echo ok
