#!/bin/bash
# SPDX-License-Identifier: MIT
# sluicectl graph without a daemon: the tree of one instance read from the targets themselves,
# the whole pipeline as Graphviz, and clear errors for a wrong task or parameter.
. "$(dirname "$0")/lib.sh"

install_pipeline "$SOURCE_ROOT/contrib/examples/rollup/rollup.conf.in"
mkdir -p "$WORK/logs" "$WORK/counts"
for h in 00 01 02; do echo x > "$WORK/logs/2026-11-27T$h.log"; done
echo x > "$WORK/counts/2026-11-27T00.tsv"
ctl() { LC_ALL=C "$SLUICECTL" -C "$WORK/config" "$@"; }

out=$(ctl graph daily --param day=2026-11-27)
expect() { grep -qxF -- "$1" <<<"$out" || fail "graph lacks: $1"$'\n'"$out"; }
expect "daily day=2026-11-27  [waiting: 23 of 24 inputs missing]"
expect "|- present counts $WORK/counts/2026-11-27T00.tsv"
expect "|- MISSING counts $WORK/counts/2026-11-27T01.tsv"
expect "|  \`- count hour=2026-11-27T01  [ready: inputs present, outputs missing]"
expect "|     \`- present logs $WORK/logs/2026-11-27T01.log"
expect "|     \`- MISSING logs $WORK/logs/2026-11-27T03.log  (external: waits for it to arrive)"
expect "\`- MISSING counts $WORK/counts/2026-11-27T23.tsv"
[ "$(grep -c "^|- \|^\`- " <<<"$out")" = 24 ] || fail "the day does not have 24 inputs"

# A complete instance is not expanded, unless --all.
mkdir -p "$WORK/daily"
echo x > "$WORK/daily/2026-11-27.tsv"
[ "$(ctl graph daily -p day=2026-11-27)" = "daily day=2026-11-27  [complete]" ] ||
    fail "a complete instance was expanded"
[ "$(ctl graph --all daily -p day=2026-11-27 | wc -l)" -gt 24 ] || fail "--all did not expand"

# Mistakes get a clear message and a non-zero status.
err=$(ctl graph dayly -p day=2026-11-27 2>&1) && fail "unknown task accepted"
grep -q "no task 'dayly' (did you mean 'daily'?)" <<<"$err" || fail "unhelpful: $err"
err=$(ctl graph daily -p day=2026-11-31 2>&1) && fail "invalid date accepted"
grep -q "'2026-11-31' is not a valid date" <<<"$err" || fail "unhelpful: $err"
err=$(ctl graph daily 2>&1) && fail "missing parameter accepted"
grep -q "needs --param day=VALUE" <<<"$err" || fail "unhelpful: $err"
# Not UTF-8: a usage error (2) in words, for every verb, before any daemon is asked.
set +e
err=$(ctl why daily -p "day=$(printf '\xff\xfe')" 2>&1); rc=$?
set -e
[ $rc = 2 ] && grep -q "a --param is not valid UTF-8" <<<"$err" || fail "non-UTF-8 param: rc $rc, $err"

# Names are data: control characters in a parameter (a file's name) are shown escaped, never
# sent to the terminal, where they could move the cursor or recolour the screen.
cat > "$WORK/config/pipelines.d/names.conf" <<CONF
targets = { nin = { path = "$WORK/names/{name}.in"; }; nout = { path = "$WORK/names/{name}.out"; }; };
tasks = ( { name = "named"; inputs = [ "nin" ]; outputs = [ "nout" ]; exec = [ "/bin/true" ]; } );
CONF
out=$(ctl graph named -p "name=$(printf 'esc\033[31mRED\033[0m\rZZ')")
[[ $out != *$'\033'* && $out != *$'\r'* ]] || fail "graph printed control characters: $(cat -A <<<"$out")"
grep -qF 'named name=esc\x1b[31mRED\x1b[0m\x0dZZ  [waiting' <<<"$out" &&
    grep -qF "MISSING nin $WORK/names/esc\x1b[31mRED\x1b[0m\x0dZZ.in" <<<"$out" ||
    fail "graph did not show the name escaped: $out"
rm "$WORK/config/pipelines.d/names.conf"

# The whole pipeline for Graphviz, with the mappings on the edges.
dot=$(ctl graph --dot)
grep -qF '"t:'"$PIPELINE"'/counts" -> "T:'"$PIPELINE"'/daily" [label="hour = hours(${day})"];' <<<"$dot" ||
    fail "no fan-in edge in: $dot"
if command -v dot >/dev/null; then
    dot -Tsvg <<<"$dot" >/dev/null || fail "Graphviz rejects the output"
fi

# An output older than its input: out of date under rerun = "newer", and under the default
# "missing" complete, with a word on why nothing runs, in graph and in why (the daemon's).
mkdir -p "$WORK/age/in" "$WORK/age/out"
cat > "$WORK/config/pipelines.d/age.conf" <<CONF
targets = { src = { path = "$WORK/age/in/{s}.src"; }; kept = { path = "$WORK/age/out/{s}.kept"; };
            made = { path = "$WORK/age/out/{s}.made"; }; };
tasks = ( { name = "keep"; inputs = [ "src" ]; outputs = [ "kept" ];
            exec = [ "/bin/cp", "\${input}", "\${output}" ]; },
          { name = "make"; inputs = [ "src" ]; outputs = [ "made" ]; rerun = "newer";
            exec = [ "/bin/cp", "\${input}", "\${output}" ]; } );
CONF
echo old > "$WORK/age/out/x.kept"
echo old > "$WORK/age/out/x.made"
touch -d 2020-01-01 "$WORK/age/out/x.kept" "$WORK/age/out/x.made"
echo new > "$WORK/age/in/x.src"
[ "$(ctl graph keep -p s=x)" = 'keep s=x  [complete, though an input is newer than an output: rerun = "missing" keeps it]' ] ||
    fail "graph of an older output kept: $(ctl graph keep -p s=x)"
ctl graph make -p s=x | grep -qxF 'make s=x  [ready: an output is older than an input (rerun = "newer")]' ||
    fail "graph of an older output under rerun = newer: $(ctl graph make -p s=x)"
start_daemon
made_again() { [ "$(cat "$WORK/age/out/x.made")" = new ]; }
wait_for 30 "the out-of-date output made again" made_again
why=$(ctl --user why keep -p s=x)
grep -qF "its outputs exist, though input 'src' is newer than output 'kept': with rerun = \"missing\" (the default) that runs nothing again; \`sluicectl run --force\` does" <<<"$why" ||
    fail "why of an older output kept: $why"
[ "$(cat "$WORK/age/out/x.kept")" = old ] || fail "rerun = missing ran an instance whose output exists"
echo ok
