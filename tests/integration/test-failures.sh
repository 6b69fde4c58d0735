#!/bin/bash
# SPDX-License-Identifier: MIT
# Failure classes read from systemd, and the retry policy for each: an oom-kill is retried only
# with a larger MemoryMax (memory_grow) and is final without it; a timeout and an exit code
# follow attempts and delay. Under cgroup v1 (these machines) an oom-kill shows as SIGKILL or
# status 137, and the kernel's journal line names the unit; on cgroup v2 it is Result=oom-kill.
# A run that writes one of its two outputs commits neither; an output name too long fails at
# once. A unit that fails before its command runs (no working directory) is seen at once, its
# status in words; an output made a directory, or written to its final path, fails saying so;
# what a task leaves beside its staged output goes.
. "$(dirname "$0")/lib.sh"

install_pipeline "$(dirname "$0")/failures.conf.in"
mkdir -p "$WORK/in" "$WORK/attempts" "$WORK/out/both-b-a" "$WORK/dirin" "$WORK/sidein" "$WORK/keep"
echo kept > "$WORK/keep/file"
# A working directory that is not there is worth a warning, not an error (it may be made later).
"$SLUICECTL" -C "$WORK/config" check >"$WORK/check" 2>&1 ||
    fail "check refused a working directory not there yet: $(cat "$WORK/check")"
grep -q "warning: task 'nodir': working_directory '$WORK/nope' does not exist" "$WORK/check" ||
    fail "check did not warn of the missing working directory: $(cat "$WORK/check")"
start_daemon
touch "$WORK/in/a"

finished() {    # finished UNIT RESULT: how many runs of UNIT ended with RESULT
    journalctl --no-pager -q -o cat MESSAGE_ID=f1220f814d0a400e8db049236917e2c7 \
        "SLUICE_UNIT=$1" "SLUICE_RESULT=$2" | wc -l
}
attempts() { wc -l < "$WORK/attempts/$1-a" 2>/dev/null || echo 0; }
attempts_at_least() { [ "$(attempts "$1")" -ge "$2" ]; }
failed_for_good() { grep -q "$1 failed for good" "$WORK/daemon.log"; }

wait_for 60 "the memory-hungry task to succeed at last" test -f "$WORK/out/grow-a"
u=$(unit grow a)
[ "$(attempts grow)" = 3 ] || fail "grow ran $(attempts grow) times, not 3"
oom_kills() { journalctl --no-pager -q -o cat MESSAGE_ID=f1220f814d0a400e8db049236917e2c7 \
                  "SLUICE_UNIT=$1" SLUICE_FAILURE=oom-kill | wc -l; }
two_oom_kills() { [ "$(oom_kills "$1")" = 2 ]; }
wait_for 10 "grow's two oom-kills in the journal" two_oom_kills "$u"
for limit in $((32 << 20)) $((128 << 20)) $((512 << 20)); do
    wait_for 10 "grow's run with MemoryMax=$limit" journal_has \
        MESSAGE_ID=f1220f814d0a400e8db049236917e2c7 "SLUICE_UNIT=$u" "SLUICE_MEMORY_MAX=$limit"
done

wait_for 30 "the hog to fail for good" failed_for_good "$(unit hog a)"
[ "$(attempts hog)" = 1 ] || fail "an oom-kill was retried at the same limit"
grep -q "$(unit hog a) failed for good after 1 attempt(s): oom-kill (MemoryMax=32M)" \
    "$WORK/daemon.log" || fail "the hog's reason is not clear"
systemctl --user is-failed -q "$(unit hog a)" || fail "the failed unit was not kept loaded"

wait_for 30 "the slow task to fail for good" failed_for_good "$(unit slow a)"
[ "$(attempts slow)" = 2 ] || fail "slow ran $(attempts slow) times, not 2"
[ "$(systemctl --user show -P Result "$(unit slow a)")" = timeout ] || fail "not a timeout"
wait_for 10 "the timeout's classification" journal_has MESSAGE_ID=f1220f814d0a400e8db049236917e2c7 \
    "SLUICE_UNIT=$(unit slow a)" SLUICE_FAILURE=timeout
# ...and said as systemd says it, though the wrapper in the unit saw only the signal it sent.
journal_has MESSAGE_ID=f1220f814d0a400e8db049236917e2c7 "SLUICE_UNIT=$(unit slow a)" \
    SLUICE_UNIT_RESULT=timeout || fail "SLUICE_UNIT_RESULT is not timeout"
grep -q "$(unit slow a) failed for good after 2 attempt(s): timeout (stopped after " \
    "$WORK/daemon.log" || fail "the timeout's reason: $(grep "$(unit slow a) failed" "$WORK/daemon.log")"

wait_for 30 "the flaky task to succeed on its retry" test -f "$WORK/out/flaky-a"
[ "$(attempts flaky)" = 2 ] || fail "flaky ran $(attempts flaky) times, not 2"

wait_for 30 "the lingering task to succeed on its retry" test -f "$WORK/out/lingers-a"
[ "$(attempts lingers)" = 2 ] || fail "lingers ran $(attempts lingers) times, not 2"
grep -q "$(unit lingers a) is still there from its run before" "$WORK/daemon.log" ||
    fail "the retry did not wait for the unit of the run before"

# A run that wrote one output of two commits neither.
wait_for 30 "the half-writing task to fail" \
    logged "$(unit half a) failed: exited 0 but did not write output 'half_b'"
[ ! -e "$WORK/out/half-a-a" ] || fail "a failed run's other output was moved into place"
[ "$(runs_started "$(unit after a)")" = 0 ] || fail "a task ran on a failed run's output"

# ...nor does one whose second output cannot be moved into place (a directory in its way).
wait_for 30 "the task with a directory in its output's way to fail" \
    logged "$(unit both a) failed: cannot move output 'both_b' into place: Is a directory"
[ ! -e "$WORK/out/both-a-a" ] || fail "an output was moved into place though the other could not be"

# A program that is not there: the reason says what status 203 means.
nowhere_failed() {
    "$SLUICECTL" --user -C "$WORK/config" list --state failed |
        grep -q "nowhere .*status 203: the command could not be executed; its log says why"
}
wait_for 30 "the run of a program that is not there to fail, in words" nowhere_failed

# A working directory that is not there: the unit fails before the task starts, so no result
# file ever comes; the failed start job says so at once, not the sweep 30 s later, and the
# reason says what status 200 means.
touch "$WORK/dirin/a"
nodir_failed() {
    "$SLUICECTL" --user -C "$WORK/config" list --state failed |
        grep -q "nodir .*status 200: could not change to the working directory '$WORK/nope'; its log says why"
}
wait_for 20 "the run without its working directory to fail, in words, before the sweep" nodir_failed

# An output made a directory: the reason says a path target is one file, and the staged
# directory goes, with the log written beside it, without following the links in it.
wait_for 30 "the task that made a directory of its output to fail" logged "$(unit qcdir a) failed"
logged "$(unit qcdir a) failed: output 'qc' is a directory: a path target is one file (write a file, or an archive of the directory)" ||
    fail "the reason of a directory output: $(grep "$(unit qcdir a) failed" "$WORK/daemon.log")"
qc_empty() { [ -z "$(ls -A "$WORK/qc")" ]; }
wait_for 10 "the staged directory and the log beside it to go" qc_empty
[ "$(cat "$WORK/keep/file")" = kept ] || fail "removing a staged directory followed a link out of it"

# A task that writes its final path itself: failed, and said so, not "did not write".
wait_for 30 "the task writing its final path itself to fail" logged "$(unit direct a) failed"
logged "$(unit direct a) failed: exited 0 but did not write output 'direct' to \${output} (its staged name); it wrote '$WORK/out/direct-a' itself, which is not taken (moved to '$WORK/out/.sluice-rejected-[0-9a-f]*-direct-a'): write to \${output}" ||
    fail "the reason of a task writing its final path: $(grep "$(unit direct a) failed" "$WORK/daemon.log")"
# ...and what it wrote is out of the way: its reader ran on it neither while it ran (checked
# at the end, long after) nor after.
[ ! -e "$WORK/out/direct-a" ] && ls "$WORK"/out/.sluice-rejected-*-direct-a >/dev/null ||
    fail "what the failed run wrote in place is still there: $(ls -A "$WORK/out")"

# Files written beside the staged output that no output declares: removed after the run, and
# the task told once to declare them.
touch "$WORK/sidein/a" "$WORK/sidein/b"
wait_for 30 "the outputs of the task writing an index beside them" \
    test -f "$WORK/side/a.bam" -a -f "$WORK/side/b.bam"
side_clean() { [ "$(ls -A "$WORK/side")" = "$(printf 'a.bam\nb.bam')" ]; }
wait_for 10 "the files left beside the staged outputs to go" side_clean
[ "$(grep -c "a run of $PIPELINE/side wrote it beside its staged output" "$WORK/daemon.log")" = 1 ] ||
    fail "the task was not told once about its leftovers: $(grep "$PIPELINE/side" "$WORK/daemon.log")"
logged "Removed '$WORK/side/.sluice-[0-9a-f]*-[ab].bam.\(bai\|tmp\)': .*declare it as an output (in place, its name would be '[ab].bam.\(bai\|tmp\)')" ||
    fail "the notice does not name the file: $(grep "$PIPELINE/side" "$WORK/daemon.log")"

# An output made a FIFO: not taken, and the daemon goes on (it would wait in open() for a writer).
wait_for 30 "the run that made a FIFO to fail" \
    logged "$(unit fifo a) failed for good after 1 attempt(s): output 'fifo' is not a regular file (a FIFO, a socket or a device): a path target is one file"

# A task at its tasks_max: the reason says the kernel refused it a process, which the task's
# own exit status does not.
wait_for 30 "the task at its tasks_max to fail" logged "$(unit forks a) failed for good"
logged "$(unit forks a) failed for good after 1 attempt(s): exit-code (status [0-9]*), after the kernel refused it a new process at tasks_max = 3" ||
    fail "the reason of a refused fork: $(grep "$(unit forks a) failed" "$WORK/daemon.log")"

# An output name too long for the file system fails the run before it starts, and says why.
long=$(printf 'n%.0s' $(seq 1 250))
mkdir -p "$WORK/long"
touch "$WORK/long/$long.t"
wait_for 30 "the run with a name too long to fail" \
    logged "Failed to start .*: cannot prepare output 'long_out'"
"$SLUICECTL" --user -C "$WORK/config" list --state failed |
    grep -q "long .*start failed: cannot prepare output 'long_out' (File name too long)" ||
    fail "the reason of a name too long: $("$SLUICECTL" --user -C "$WORK/config" list --state failed)"
! logged "Started sluice-$PIPELINE-long@" || fail "a run whose output could never be moved into place started"

# Runs that failed before their command ran, or as soon as it did (their start job can fail
# then too), ended once each: the failed start job and the result file do not both count.
for t in nowhere nodir; do
    [ "$(finished "$(unit $t a)" failed)" = 1 ] ||
        fail "$t's run ended $(finished "$(unit $t a)" failed) times"
done
[ "$(finished "$(unit flaky a)" failed)" = 1 ] && [ "$(finished "$(unit flaky a)" success)" = 1 ] ||
    fail "flaky's runs: $(finished "$(unit flaky a)" failed) failed, $(finished "$(unit flaky a)" success) succeeded"

! logged "Started $(unit dnext a)" || fail "a task ran on what a failed run wrote in place"

# The failed marks survive a restart: nothing runs again by itself.
kill -TERM "$DAEMON_PID"; wait "$DAEMON_PID"
start_daemon
grep -q "Restored 11 failed or retrying instance(s)" "$WORK/daemon.log" ||
    fail "the failed marks were not restored"
# ...and a restart while the pipeline's file has errors: the marks are kept for when it is
# mended, not lost (its instances would then run again, failed for good as they are).
kill -TERM "$DAEMON_PID"; wait "$DAEMON_PID"
conf=$WORK/config/pipelines.d/$PIPELINE.conf
cp "$conf" "$WORK/good.conf"
echo 'tasks = ( { name = "x" ' >> "$conf"
start_daemon
logged "Kept 11 failed or retrying mark(s) of pipelines not running" || fail "the marks were not kept"
# ...and status and why say the file is not loaded, rather than nothing, or "no task".
"$SLUICECTL" --user -C "$WORK/config" status | grep -q "$PIPELINE.conf  (not running: the file has errors" ||
    fail "status hides a pipeline whose file has errors: $("$SLUICECTL" --user -C "$WORK/config" status)"
set +e
"$SLUICECTL" --user -C "$WORK/config" why slow -p name=a 2>"$WORK/err"
set -e
grep -q "no task 'slow'; not loaded, with errors (see sluicectl check): .*$PIPELINE.conf" "$WORK/err" ||
    fail "why of a task whose file has errors: $(cat "$WORK/err")"
cp "$WORK/good.conf" "$conf"
kill -HUP "$DAEMON_PID"
wait_for 30 "the marks restored by the reload" \
    logged "Restored 11 failed or retrying instance(s) of pipelines now running"
"$SLUICECTL" --user -C "$WORK/config" list | grep -q "^failed .*/nowhere " ||
    fail "a failed instance is not failed after the reload: $("$SLUICECTL" --user -C "$WORK/config" list)"
# A new arrival of the input re-arms them: a new series of attempts.
touch "$WORK/in/a"
wait_for 30 "slow to run again after a new arrival" attempts_at_least slow 3
echo ok
