#!/bin/bash
# SPDX-License-Identifier: MIT
# SIGHUP reloads pipelines.d: a broken file keeps the previous version of its pipeline running
# (and says why, with file and line), a fixed file replaces it, a new file starts a pipeline,
# and a removed file stops one.
. "$(dirname "$0")/lib.sh"

conf=$WORK/config/pipelines.d/$PIPELINE.conf
install_pipeline "$SOURCE_ROOT/contrib/examples/wordcount/wordcount.conf.in"
start_daemon
reloads() { grep -c "Reloaded:" "$WORK/daemon.log" || true; }
more_reloads_than() { [ "$(reloads)" -gt "$1" ]; }
reload() {
    local before
    before=$(reloads)
    kill -HUP "$DAEMON_PID"
    wait_for 30 "reload number $((before + 1))" more_reloads_than "$before"
}

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
grep -q "Reloaded: 1 pipeline(s) running, 0 kept" "$WORK/daemon.log" ||
    fail "the removed pipeline is still running"
echo ok
