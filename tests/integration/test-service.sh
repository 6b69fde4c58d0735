#!/bin/bash
# SPDX-License-Identifier: MIT
# sluiced as installed by `meson install`, started as a user service: Type=notify with its
# STATUS=, reload, the watchdog armed, runs in the journal by MESSAGE_ID, `sluicectl history`
# and `logs`, and a clean stop.
. "$(dirname "$0")/lib.sh"

install_pipeline "$(dirname "$0")/service.conf.in"
mkdir -p "$WORK/in"
DEST=$WORK/root
meson install -C "$(dirname "$SLUICED")" --destdir "$DEST" --quiet --no-rebuild ||
    fail "meson install failed"
installed=$DEST/usr/lib/systemd/user/sluiced.service
[ -f "$installed" ] && [ -x "$DEST/usr/sbin/sluiced" ] && [ -x "$DEST/usr/sbin/sluice-result" ] ||
    fail "meson install did not install the user unit and the daemon"
[ -f "$DEST/usr/share/dbus-1/system.d/org.sluice.sluice1.conf" ] || fail "no bus policy installed"

# The installed unit under a name of its own, pointed at the installed daemon and this test's
# directories by a drop-in, as an administrator would.
service=sluiced-$PIPELINE.service
units=$XDG_RUNTIME_DIR/systemd/user
mkdir -p "$units/$service.d"
cp "$installed" "$units/$service"
cat > "$units/$service.d/test.conf" <<EOF
[Service]
ExecStart=
ExecStart=$DEST/usr/sbin/sluiced --user -C $WORK/config --state-dir $WORK/state --bus-name $SLUICE_BUS_NAME
# The reload goes through the bus, to the daemon of that name, with the installed sluicectl.
Environment=SLUICE_BUS_NAME=$SLUICE_BUS_NAME
ExecReload=
ExecReload=$DEST/usr/bin/sluicectl --user reload
EOF
cleanup_service() {
    systemctl --user stop "$service" 2>/dev/null || true
    rm -rf "$units/$service" "$units/$service.d"
    systemctl --user daemon-reload || true
    cleanup
}
trap cleanup_service EXIT
systemctl --user daemon-reload
systemctl --user start "$service" || fail "systemctl --user start $service failed"
systemctl --user is-active -q "$service" || fail "$service is not active"
[ "$(systemctl --user show -P Type "$service")" = notify ] || fail "not Type=notify"
[ "$(systemctl --user show -P WatchdogUSec "$service")" != 0 ] || fail "no watchdog"
status_says() { systemctl --user show -P StatusText "$service" | grep -q "0 running, 0 queued"; }
wait_for 10 "the daemon's STATUS=" status_says

echo hello > "$WORK/in/a.txt"
wait_for 30 "the copy" test -s "$WORK/out/a.txt"
unit_a=$(unit copy a)
finished() {
    journalctl --no-pager -q -o cat MESSAGE_ID=f1220f814d0a400e8db049236917e2c7 \
        "SLUICE_PIPELINE=$PIPELINE" | grep -q "$unit_a succeeded"
}
wait_for 10 "the run in the journal by MESSAGE_ID" finished

ctl() { "$SLUICECTL" --user -C "$WORK/config" "$@"; }
ctl status | grep -q "$PIPELINE" || fail "sluicectl status through the service"
ctl history "$PIPELINE/copy" | grep -q "$PIPELINE/copy .*a .*success" ||
    fail "history: $(ctl history "$PIPELINE/copy")"
ctl history copy -p name=a --json | grep -q '"result":"success"' || fail "history --json"
# sluice-result measured what the task used (systemd 252 keeps no peak, v1 no CPU here).
ctl history copy -p name=a --json | grep -q '"cpu_usec":[0-9][0-9]*,"memory_peak":[1-9][0-9]*,' ||
    fail "history: no CPU or memory peak: $(ctl history copy -p name=a --json)"
ctl history --since 1h | grep -q "$PIPELINE/copy" || fail "history --since"
for when in yesterday "$(date +%FT%H:%M -d '1 hour ago')"; do
    ctl history --since "$when" | grep -q "$PIPELINE/copy" || fail "history --since $when"
done
set +e
ctl history --since yesterdayish 2>/dev/null; rc=$?
set -e
[ $rc = 2 ] || fail "a bad --since is not a usage error"
# A configuration directory that cannot be read: said, not every run of the host instead.
set +e
"$SLUICECTL" -C "$WORK/nowhere" history >/dev/null 2>"$WORK/err"; rc=$?
set -e
[ $rc = 2 ] && grep -q "cannot read the pipelines in $WORK/nowhere/pipelines.d" "$WORK/err" ||
    fail "history without pipelines: rc $rc, $(cat "$WORK/err")"
ctl logs copy -p name=a | grep -q "Started $unit_a" || fail "logs: $(ctl logs copy -p name=a)"

# Reload through systemd: RELOADING=1, then READY=1 again, still running.
systemctl --user reload "$service" || fail "systemctl --user reload failed"
systemctl --user is-active -q "$service" || fail "$service died on reload"
echo again > "$WORK/in/b.txt"
wait_for 30 "a copy after the reload" test -s "$WORK/out/b.txt"

systemctl --user stop "$service"
[ "$(systemctl --user show -P Result "$service")" = success ] || fail "unclean stop"
echo ok
