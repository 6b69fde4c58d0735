#!/bin/bash
# SPDX-License-Identifier: MIT
# Every sluicectl verb that talks to the daemon, against a running sluiced on the user bus:
# status, list, why, run (with what it needs, and --force), retry, cancel, reset-failed,
# reload; --json;
# exit codes; a broken file on reload keeps the old pipeline running; a second daemon under the
# same bus name refuses to start.
. "$(dirname "$0")/lib.sh"

install_pipeline "$(dirname "$0")/control.conf.in"
mkdir -p "$WORK/raw"
printf 'a\nb\n' > "$WORK/raw/1999-01-01.log"       # before the look-back window: not run
start_daemon
ctl() { "$SLUICECTL" --user -C "$WORK/config" "$@"; }
attempts() { [ -f "$WORK/attempts-$1" ] && wc -l < "$WORK/attempts-$1" || echo 0; }
attempts_are() { [ "$(attempts "$1")" = "$2" ]; }

# A second daemon under the same bus name (one started by hand beside the service) refuses to
# start: it would run the same tasks again, out of sight of sluicectl.
set +e
timeout 30 "$SLUICED" --user -C "$WORK/config" --state-dir "$WORK/state2" \
    --bus-name "$SLUICE_BUS_NAME" >"$WORK/second.log" 2>&1; rc=$?
set -e
[ $rc != 0 ] && [ $rc != 124 ] &&
    grep -q "Another sluiced runs with the bus name $SLUICE_BUS_NAME on the user bus" "$WORK/second.log" ||
    fail "a second daemon with the same bus name: rc $rc, $(cat "$WORK/second.log")"
! grep -q "Started" "$WORK/second.log" || fail "the second daemon started units"

# Each verb says how it is used.
"$SLUICECTL" run --help | grep -q "^Usage: sluicectl run .*TASK -p NAME=VALUE" || fail "run --help"

# status: counts and the pipeline; --json for scripts.
ctl status | grep -q "0 running, 0 queued" || fail "status: $(ctl status)"
ctl status | grep -q "$PIPELINE" || fail "status does not list the pipeline"
ctl status --json | grep -q "\"name\":\"$PIPELINE\"" || fail "status --json: $(ctl status --json)"

# why: an instance outside the window, waiting on nothing but being asked for.
ctl why report -p day=1999-01-01 > "$WORK/why" || fail "why failed"
grep -q "^waiting .*report day=1999-01-01: 1 input(s) missing" "$WORK/why" || fail "why: $(cat "$WORK/why")"
grep -q "^    ready .*clean day=1999-01-01" "$WORK/why" || fail "why, upstream: $(cat "$WORK/why")"
[ ! -e "$WORK/clean/1999-01-01.tsv" ] || fail "why ran something"
ctl why report -p day=1999-01-09 | grep -q "external .*raw/1999-01-09.log" ||
    fail "why does not name the missing external input"
# A misspelt parameter gets a suggestion, as a misspelt key does in check.
! ctl why report -p dya=1999-01-09 2> "$WORK/why-typo" || fail "why took an unknown parameter"
grep -q "task 'report' has no parameter 'dya' (did you mean 'day'?)" "$WORK/why-typo" ||
    fail "why: $(cat "$WORK/why-typo")"

# run: the instance and what it needs; the report follows when the cleaned file lands.
ctl run report -p day=1999-01-01 > "$WORK/run" || fail "run failed"
grep -q "queued .*clean day=1999-01-01" "$WORK/run" || fail "run: $(cat "$WORK/run")"
wait_for 30 "the report of 1999-01-01" test -s "$WORK/report/1999-01-01.txt"
[ "$(cat "$WORK/report/1999-01-01.txt")" = 2 ] || fail "wrong report"
ctl why report -p day=1999-01-01 | grep -q "^complete" || fail "why after the run"

# run on a complete instance does nothing; --force runs it again.
ctl run report -p day=1999-01-01 | grep -q "^complete" || fail "run on a complete instance"
[ "$(attempts 1999-01-01)" = 1 ] || fail "a complete instance ran again"
ctl run --force report -p day=1999-01-01 | grep -q "^queued" || fail "run --force"
wait_for 30 "the forced run" attempts_are 1999-01-01 2

# show: the unit, the state and the runs of the instance.
shows_two_runs() { [ "$(ctl show report -p day=1999-01-01 | grep -c " success " || true)" = 2 ]; }
wait_for 10 "show to list both runs" shows_two_runs
shown=$(ctl show report -p day=1999-01-01)     # whole: grep -q would end it with SIGPIPE
grep -qF "Unit: $(unit report 1999-01-01)" <<<"$shown" || fail "show: unit: $shown"
grep -q "^complete" <<<"$shown" || fail "show: state: $shown"
shown=$(ctl show --json report -p day=1999-01-01)
grep -qF '"steps":[{"depth":0,"kind":"complete"' <<<"$shown" || fail "show --json: $shown"

# Mistakes: clear messages and exit codes.
set +e
ctl run report -p day=yesterday 2>"$WORK/err"; rc=$?
set -e
[ $rc = 2 ] && grep -q "not a valid date" "$WORK/err" || fail "bad parameter: rc $rc, $(cat "$WORK/err")"
set +e
ctl run nosuchtask 2>"$WORK/err"; rc=$?
set -e
[ $rc = 1 ] && grep -q "no task 'nosuchtask'" "$WORK/err" || fail "unknown task: rc $rc"
set +e
ctl retry reprot -p day=1999-01-01 2>"$WORK/err"; rc=$?
set -e
[ $rc = 1 ] && grep -q "no task 'reprot' (did you mean 'report'?)" "$WORK/err" ||
    fail "a misspelt task: rc $rc, $(cat "$WORK/err")"
set +e
SLUICE_BUS_NAME=org.sluice.nobody ctl status 2>"$WORK/err"; rc=$?
set -e
# ...named, on the bus asked, with the hint that fits (not "try --user" to one using it).
[ $rc = 3 ] && grep -q "no sluiced answers as org.sluice.nobody on the user bus (one started with --bus-name: set SLUICE_BUS_NAME" "$WORK/err" ||
    fail "no daemon: rc $rc, $(cat "$WORK/err")"

# A parameter given twice is refused, not the last taken; the daemon's refusal of several
# problems says each on a line of its own.
set +e
ctl why report -p day=1999-01-01 -p day=1999-01-02 2>"$WORK/err"; rc=$?
set -e
[ $rc = 2 ] && grep -q "^sluicectl: --param day is given twice" "$WORK/err" ||
    fail "a parameter given twice: rc $rc, $(cat "$WORK/err")"
set +e
ctl why report -p date=1999-01-01 2>"$WORK/err"; rc=$?
set -e
[ $rc = 2 ] && grep -q "has no parameter 'date'$" "$WORK/err" &&
    grep -q "^sluicectl: why: task 'report' needs --param day=VALUE" "$WORK/err" ||
    fail "a wrong parameter's refusal: rc $rc, $(cat "$WORK/err")"

# A failure: listed with its reason; retry runs it again at once.
printf 'x\n' > "$WORK/raw/1999-01-02.log"
failed_listed() { ctl list --state failed | grep -q "report .*day=1999-01-02 .*exit-code (status 4)"; }
wait_for 30 "the failed report in list" failed_listed
ctl list --json | grep -q '"state":"failed"' || fail "list --json: $(ctl list --json)"
# why gives the whole command that runs it again.
ctl why report -p day=1999-01-02 | grep -qF "\`sluicectl --user retry $PIPELINE/report -p day=1999-01-02\` or a new arrival" ||
    fail "why of a failed instance: $(ctl why report -p day=1999-01-02)"
ctl retry report -p day=1999-01-02 | grep -q "queued again" || fail "retry"
wait_for 30 "the retried report" attempts_are 1999-01-02 2
# graph marks what the daemon is doing with each instance of the tree.
failed_in_graph() { local g; g=$(ctl graph report -p day=1999-01-02); grep -q "{sluiced: failed}" <<<"$g"; }
wait_for 30 "graph to show the live state" failed_in_graph
# Without -C, the commands that read the pipeline files read the daemon's, wherever it is.
"$SLUICECTL" --user graph report -p day=1999-01-02 | grep -q "{sluiced: failed}" ||
    fail "graph without -C: $("$SLUICECTL" --user graph report -p day=1999-01-02 2>&1)"
shown=$("$SLUICECTL" --user show report -p day=1999-01-02 2>&1)
grep -q "^failed" <<<"$shown" || fail "show without -C: $shown"
set +e
ctl retry report -p day=1999-01-01 2>"$WORK/err"; rc=$?
set -e
[ $rc = 1 ] && grep -q "has not failed" "$WORK/err" || fail "retry of a good instance: rc $rc"

# cancel stops the unit, and the run is not retried.
held=$(unit hold 1999-01-03)
printf 'y\n' > "$WORK/raw/1999-01-03.log"
wait_for 30 "$held to run" systemctl --user is-active -q "$held"
# A daemon-reload re-reads the unit's transient file: every setting sluiced gave it must be
# one the unit file parser knows (systemd 252 wrote ExecStartEx=, which it does not).
# Its command ("case ... ;; esac; ...", with '$' and ';') must come back from the file as it
# went in (systemd 252 wrote such arguments escaped in a way it does not read back).
command_of() { systemctl --user show -P ExecStart "$1" | sed 's/.*argv\[\]=\(.*\) ; ignore_errors=.*/\1/'; }
before=$(command_of "$held")
systemctl --user daemon-reload
[ "$(systemctl --user show -P LoadState "$held")" = loaded ] ||
    fail "$held after a daemon-reload: $(systemctl --user show -P LoadState "$held")"
[ "$(command_of "$held")" = "$before" ] ||
    fail "the command changed in a daemon-reload: '$before' became '$(command_of "$held")'"
# A queued instance cancelled is failed, "cancelled", not dropped to be queued again later.
printf 'q\n' > "$WORK/raw/1999-01-08.log"
queued_listed() { ctl list --state queued | grep -q "hold .*day=1999-01-08"; }
wait_for 30 "hold 1999-01-08 to wait in the queue" queued_listed
ctl cancel hold -p day=1999-01-08 | grep -q cancelled || fail "cancel of a queued instance"
ctl list --state failed | grep -q "hold .*day=1999-01-08 .*cancelled" ||
    fail "the cancelled queued instance: $(ctl list)"
ctl cancel hold -p day=1999-01-03 | grep -q cancelled || fail "cancel"
cancelled_listed() { ctl list --state failed | grep -q "hold .*day=1999-01-03 .*cancelled"; }
wait_for 30 "the cancelled run to be listed as such" cancelled_listed
systemctl --user is-active -q "$held" && fail "$held still runs after cancel"
[ "$(runs_started "$held")" = 1 ] || fail "a cancelled run was retried"
# A cancel is asked for: not a failure for good (nor one told to notifiers), and why says so.
grep -qF "$held cancelled on request, after 1 attempt(s)" "$WORK/daemon.log" &&
    ! grep -qF "$held failed for good" "$WORK/daemon.log" || fail "the cancel was logged as a failure"
# Its journal entry, which history shows, says cancelled, not the signal the stop sent.
wait_for 30 "the cancelled run's journal entry" journal_has \
    MESSAGE_ID=f1220f814d0a400e8db049236917e2c7 "SLUICE_PIPELINE=$PIPELINE" SLUICE_FAILURE=cancelled
ctl why hold -p day=1999-01-03 | grep -q "cancelled on request" ||
    fail "why of a cancelled instance: $(ctl why hold -p day=1999-01-03)"
[ "$(runs_started "$(unit hold 1999-01-08)")" = 0 ] || fail "the cancelled queued instance ran"
ctl retry hold -p day=1999-01-08 | grep -q "queued again" || fail "retry of a cancelled instance"
! ctl list | grep "hold .*day=1999-01-08" | grep -q cancelled ||
    fail "a retried instance is still listed with its old reason: $(ctl list | grep 1999-01-08)"
wait_for 30 "the cancelled queued instance once retried" test -f "$WORK/held/1999-01-08.txt"
# A failed instance that can never run again (its input gone) is forgotten on request, not
# listed as failed for ever.
rm "$WORK/raw/1999-01-03.log"
! ctl retry hold -p day=1999-01-03 2>"$WORK/err" || fail "retry of an instance without its input"
grep -q "reset-failed. forgets its failure" "$WORK/err" || fail "retry does not point to reset-failed: $(cat "$WORK/err")"
ctl why hold -p day=1999-01-03 | grep -q "^failed .*input(s) missing now.*reset-failed. forgets the failure" ||
    fail "why of a failed instance without its input: $(ctl why hold -p day=1999-01-03)"
ctl reset-failed hold -p day=1999-01-03 | grep -q "forgotten" || fail "reset-failed"
! cancelled_listed || fail "a forgotten instance is still listed: $(ctl list --state failed)"
set +e
ctl reset-failed hold -p day=1999-01-03 2>"$WORK/err"; rc=$?
set -e
[ $rc = 1 ] && grep -q "has not failed" "$WORK/err" || fail "reset-failed twice: rc $rc, $(cat "$WORK/err")"
# A forced run of a complete instance, cancelled: the outputs from before stay, and it is
# complete again, not failed.
# (The output first: the input's arrival then finds the instance complete, and starts nothing.)
echo old > "$WORK/held/1999-01-03.txt"
printf 'y\n' > "$WORK/raw/1999-01-03.log"
ctl run --force hold -p day=1999-01-03 | grep -q "^queued" || fail "run --force hold"
wait_for 30 "the forced run to be running" systemctl --user is-active -q "$held"
ctl run --force hold -p day=1999-01-03 | grep -q "^running .*--force does nothing more while it is under way" ||
    fail "run --force of a running instance: $(ctl run --force hold -p day=1999-01-03)"
ctl cancel hold -p day=1999-01-03 | grep -q cancelled || fail "cancel of a forced run"
wait_for 30 "the forced run's cancel" \
    grep -qF "$held cancelled on request; its outputs from before stay" "$WORK/daemon.log"
! cancelled_listed || fail "a complete instance is listed as failed after a cancel"
[ "$(cat "$WORK/held/1999-01-03.txt")" = old ] || fail "the output from before was touched"

# reload: a broken file is refused and says why; the running version stays.
cp "$WORK/config/pipelines.d/$PIPELINE.conf" "$WORK/good.conf"
echo 'tasks = ( { name = "x" ' >> "$WORK/config/pipelines.d/$PIPELINE.conf"
set +e
ctl reload >"$WORK/out" 2>"$WORK/err"; rc=$?
set -e
[ $rc = 1 ] && grep -q "$PIPELINE.conf:[0-9]*:" "$WORK/err" && grep -q "has errors" "$WORK/err" ||
    fail "reload of a broken file: rc $rc, $(cat "$WORK/err")"
grep -qx "Partly reloaded: 1 pipeline(s) running, 1 file(s) with errors not taken" "$WORK/out" ||
    fail "reload of a broken file said: $(cat "$WORK/out")"
ctl status | grep -q "$PIPELINE .*its file has errors: the version before runs" ||
    fail "status does not say the pipeline runs its version before: $(ctl status)"
printf 'z\n' > "$WORK/raw/1999-01-04.log"
wait_for 30 "the old pipeline to keep running" test -s "$WORK/report/1999-01-04.txt"
cp "$WORK/good.conf" "$WORK/config/pipelines.d/$PIPELINE.conf"
ctl reload | grep -q "Reloaded: 1 pipeline" || fail "reload of a good file"
! ctl status | grep -q "its file has errors" || fail "status still says the file has errors: $(ctl status)"
# With every file loaded again, an unknown task is only unknown: no empty list of files.
set +e
ctl run nosuchtask 2>"$WORK/err"; rc=$?
set -e
[ $rc = 1 ] && grep -q "no task 'nosuchtask'" "$WORK/err" && ! grep -q "not loaded" "$WORK/err" ||
    fail "an unknown task after a reload: rc $rc, $(cat "$WORK/err")"
# ...and so is a sluiced.conf with errors: the daemon keeps its settings, and says so.
echo 'max_parallel = 0;' > "$WORK/config/sluiced.conf"
set +e
ctl reload >"$WORK/out" 2>"$WORK/err"; rc=$?
set -e
[ $rc = 1 ] && grep -q "sluiced.conf has errors" "$WORK/err" ||
    fail "reload with a broken sluiced.conf: rc $rc, $(cat "$WORK/err")"
rm "$WORK/config/sluiced.conf"
ctl reload | grep -q "Reloaded: 1 pipeline" || fail "reload once sluiced.conf is gone"
# reload checks the daemon's own files, wherever -C points (here nowhere).
"$SLUICECTL" --user -C "$WORK/nowhere" reload >"$WORK/out" 2>"$WORK/err" ||
    fail "reload with -C elsewhere: $(cat "$WORK/err")"
[ ! -s "$WORK/err" ] && grep -q "Reloaded: 1 pipeline" "$WORK/out" ||
    fail "reload with -C elsewhere checked other files: $(cat "$WORK/err")"
# A sluiced.conf that does not parse is its own error, not the pipelines' that name its
# notifiers.
mkdir -p "$WORK/cc/pipelines.d"
printf 'notifiers = {\n' > "$WORK/cc/sluiced.conf"
printf '%s\n' 'targets = { a = { path = "/tmp/a/{x}"; }; b = { path = "/tmp/b/{x}"; }; };' \
    'tasks = ( { name = "t"; inputs = [ "a" ]; outputs = [ "b" ]; exec = [ "/bin/true" ];' \
    '            on_failure = [ "note" ]; } );' > "$WORK/cc/pipelines.d/cc.conf"
set +e
"$SLUICECTL" check -C "$WORK/cc" >"$WORK/out" 2>"$WORK/err"; rc=$?
set -e
[ $rc = 1 ] && grep -q "sluiced.conf:.*syntax error" "$WORK/err" && ! grep -q "no notifier" "$WORK/err" ||
    fail "check with a sluiced.conf that does not parse: rc $rc, $(cat "$WORK/err")"

# status names the next retries: when, which instance, after which failure.
printf 'w\n' > "$WORK/raw/1999-01-05.log"
retry_listed() { ctl list --state retry > "$WORK/retries"; grep -q "later .*day=1999-01-05" "$WORK/retries"; }
wait_for 30 "the failed run to wait for its retry" retry_listed
ctl status > "$WORK/status"
grep -q "^Next retries:" "$WORK/status" &&
    grep -q "^  [0-9-]* [0-9:]*  $PIPELINE/later day=1999-01-05 (after attempt 1: exit-code (status 5))" "$WORK/status" ||
    fail "status: $(cat "$WORK/status")"

# A retry asked for after an input went is refused, and says which input.
rm "$WORK/raw/1999-01-05.log"
set +e
ctl retry later -p day=1999-01-05 2>"$WORK/err"; rc=$?
set -e
[ $rc = 1 ] && grep -qF "input 'raw' at '$WORK/raw/1999-01-05.log' is not there" "$WORK/err" ||
    fail "retry without its input: rc $rc, $(cat "$WORK/err")"
# ...and by task, with --json: each refusal is its unit and its reason.
set +e
ctl retry --json later >"$WORK/out" 2>"$WORK/err"; rc=$?
set -e
[ $rc = 1 ] && grep -q '^{"units":\[\],"refused":\[{"unit":"sluice-[^"]*-later@[^"]*","reason":"[^"]* cannot run again: input .raw. at [^"]* is not there' "$WORK/out" ||
    fail "retry --json by task with a refusal: rc $rc, $(cat "$WORK/out") $(cat "$WORK/err")"

# A forced run that exits 0 without writing its output fails, though an old output is there.
mkdir -p "$WORK/lazy"
echo old > "$WORK/lazy/1999-01-07.txt"
echo v > "$WORK/raw/1999-01-07.log"
ctl run --force lazy -p day=1999-01-07 | grep -q "^queued" || fail "run --force lazy"
lazy_failed() { ctl list --state failed | grep -q "lazy .*day=1999-01-07 .*did not write output"; }
wait_for 30 "the forced run that wrote nothing to fail" lazy_failed
[ "$(cat "$WORK/lazy/1999-01-07.txt")" = old ] || fail "the old output was replaced"
# why says what list says, though the old output makes it look complete.
ctl why lazy -p day=1999-01-07 | grep -q "^failed .*did not write output .*its outputs are there, from an earlier run" ||
    fail "why of a failed forced run: $(ctl why lazy -p day=1999-01-07)"
# reset-failed forgets systemd's failed unit too, as systemctl reset-failed would.
report2=$(unit report 1999-01-02)
systemctl --user is-failed -q "$report2" || fail "the failed report's unit is not failed: nothing tested"
# Without --param, retry and reset-failed take every failed instance of the task.
ctl retry report | grep -qxF "$report2 queued again (a new series of attempts)" ||
    fail "retry of every failed report: $(ctl retry report 2>&1)"
wait_for 30 "the report retried by task" attempts_are 1999-01-02 3
wait_for 30 "the report failed again" systemctl --user is-failed -q "$report2"
ctl reset-failed report | grep -qF "$report2 forgotten" || fail "reset-failed report"
unit_reset() { ! systemctl --user is-failed -q "$report2"; }
wait_for 10 "the unit's failed state to be reset" unit_reset
set +e
ctl retry report 2>"$WORK/err"; rc=$?
set -e
[ $rc = 1 ] && grep -qxF "sluicectl: retry: no instance of task 'report' has failed" "$WORK/err" ||
    fail "retry by task with nothing failed: rc $rc, $(cat "$WORK/err")"

# A cancel outlives a daemon killed before the run ended: the run ends as cancelled, its
# output not taken, not retried.
stub9=$(unit stubborn 1999-01-09)
printf 's\n' > "$WORK/raw/1999-01-09.log"
wait_for 30 "$stub9 to run" systemctl --user is-active -q "$stub9"
ctl cancel stubborn -p day=1999-01-09 | grep -q cancelled || fail "cancel of stubborn"
kill -KILL "$DAEMON_PID"; wait "$DAEMON_PID" 2>/dev/null || true
start_daemon
touch "$WORK/gate-1999-01-09"
stub_cancelled() { ctl list --state failed | grep -q "stubborn .*day=1999-01-09 .*cancelled"; }
wait_for 30 "the run cancelled before the crash to end as cancelled" stub_cancelled
[ ! -e "$WORK/stub/1999-01-09.txt" ] || fail "a run cancelled before a crash had its output taken"
[ "$(wc -l < "$WORK/stub-runs-1999-01-09")" = 1 ] || fail "a run cancelled before a crash was retried"

# A run in flight when the daemon is killed, whose pipeline file has an error at the next
# start: kept, not dropped, and taken back when a reload starts the pipeline again.
stub10=$(unit stubborn 1999-01-10)
printf 's\n' > "$WORK/raw/1999-01-10.log"
wait_for 30 "$stub10 to run" systemctl --user is-active -q "$stub10"
kill -KILL "$DAEMON_PID"; wait "$DAEMON_PID" 2>/dev/null || true
conf=$WORK/config/pipelines.d/$PIPELINE.conf
cp "$conf" "$WORK/good.conf"
echo 'tasks = ( { name = "x" ' >> "$conf"
start_daemon
logged "is kept until pipeline '$PIPELINE' runs again (its file has errors)" ||
    fail "the run of a pipeline whose file has errors was not kept"
touch "$WORK/gate-1999-01-10"
stub10_gone() { ! systemctl --user is-active -q "$stub10"; }
wait_for 30 "$stub10 to end while its pipeline is not running" stub10_gone
cp "$WORK/good.conf" "$conf"
ctl reload | grep -q "Reloaded" || fail "reload of the mended file"
wait_for 30 "the kept run's output taken" test -e "$WORK/stub/1999-01-10.txt"
[ "$(wc -l < "$WORK/stub-runs-1999-01-10")" = 1 ] || fail "the kept run's task ran again"

# A paused pipeline starts nothing (what becomes due is queued and says why), stays paused
# across a restart, and starts what waits once resumed.
ctl pause "$PIPELINE" | grep -q "^$PIPELINE paused" || fail "pause"
ctl status | grep -q "^  $PIPELINE .*(paused: nothing of it starts" || fail "status of a paused pipeline: $(ctl status)"
printf 'p\n' > "$WORK/raw/1999-01-20.log"
# run says so of what it queues.
printf 'q\n' > "$WORK/raw/1999-01-21.log"
ctl run clean -p day=1999-01-21 | grep -q "its pipeline is paused.*it starts once .sluicectl resume $PIPELINE." ||
    fail "run in a paused pipeline: $(ctl run clean -p day=1999-01-21)"
paused_queued() { ctl list --state queued | grep -q "clean .*day=1999-01-20 .*its pipeline is paused (.sluicectl resume $PIPELINE.)"; }
wait_for 30 "the instance due in a paused pipeline to wait in the queue" paused_queued
kill -TERM "$DAEMON_PID"; wait "$DAEMON_PID" 2>/dev/null || true
start_daemon
logged "Pipeline '$PIPELINE' is paused: nothing of it starts until" || fail "the pause was not kept"
wait_for 30 "the instance to wait again after the restart" paused_queued
[ ! -e "$WORK/clean/1999-01-20.tsv" ] || fail "a paused pipeline ran a task"
ctl resume "$PIPELINE" | grep -q "^$PIPELINE resumed" || fail "resume"
wait_for 30 "the instance to run once resumed" test -e "$WORK/report/1999-01-20.txt"
! ctl list | grep -q "its pipeline is paused" || fail "list still says paused after the resume: $(ctl list)"
set +e
ctl resume "$PIPELINE" 2>"$WORK/err"; rc=$?
ctl pause nosuch 2>>"$WORK/err"; rc2=$?
set -e
[ $rc = 1 ] && [ $rc2 = 1 ] && grep -q "pipeline '$PIPELINE' is not paused" "$WORK/err" &&
    grep -q "no pipeline 'nosuch'" "$WORK/err" || fail "pause/resume refusals: $rc $rc2 $(cat "$WORK/err")"
[ "$(ctl pause --json "$PIPELINE")" = "{\"pipelines\":[\"$PIPELINE\"],\"paused\":true}" ] &&
    [ "$(ctl resume --json "$PIPELINE")" = "{\"pipelines\":[\"$PIPELINE\"],\"paused\":false}" ] ||
    fail "pause/resume --json"

# A task name in two pipelines: the refusal names both, and how to say which.
printf '%s\n' "targets = { a = { path = \"$WORK/twin-in/{day:date}\"; }; b = { path = \"$WORK/twin-out/{day:date}\"; }; };" \
    'tasks = ( { name = "clean"; inputs = [ "a" ]; outputs = [ "b" ]; exec = [ "/bin/true" ]; } );' \
    > "$WORK/config/pipelines.d/twin.conf"
ctl reload | grep -q "Reloaded: 2 pipeline" || fail "reload with a second pipeline"
set +e
ctl retry clean 2>"$WORK/err"; rc=$?
set -e
grep -Eq "Task 'clean' is in pipelines ($PIPELINE and twin|twin and $PIPELINE): say which, ($PIPELINE/clean or twin/clean|twin/clean or $PIPELINE/clean)\$" "$WORK/err" ||
    fail "a task in two pipelines: rc $rc, $(cat "$WORK/err")"
echo ok
