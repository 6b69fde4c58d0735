#!/bin/bash
# SPDX-License-Identifier: MIT
# The dashboard in a real headless Chromium (Debian's, driven by playwright-core from npm):
# the page opens against a running daemon, a run appears and turns to success, a failed
# instance is retried with its button and runs again; 10,000 complete instances stay one box
# in the graph and a grid of the newest in the task's panel. Screenshots are kept in
# BUILD_ROOT/test-artifacts/dashboard/.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/servers.sh"

CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
PLAYWRIGHT_DIR=${PLAYWRIGHT_DIR:-/var/cache/sluice-test/npm}
[ -x "$CHROMIUM" ] || { echo "SKIP: $CHROMIUM is needed (contrib/install-deps)" >&2; exit 77; }
[ -d "$PLAYWRIGHT_DIR/node_modules/playwright-core" ] ||
    { echo "SKIP: playwright-core is needed (contrib/install-deps)" >&2; exit 77; }
ARTIFACTS=${BUILD_ROOT:-$WORK}/test-artifacts/dashboard
rm -rf "$ARTIFACTS"
mkdir -p "$ARTIFACTS" "$WORK/config" "$WORK/in"

PORT=$(free_port)
printf 'http = { listen = "127.0.0.1:%s"; control = true; };\n' "$PORT" > "$WORK/config/sluiced.conf"
install_pipeline "$(dirname "$0")/dashboard.conf.in"
touch "$WORK/flag"
mkdir -p "$WORK/bulk-out"
(cd "$WORK/bulk-out" && for ((n = 0; n < 10000; n++)); do : > "i$n"; done)
start_daemon

PLAYWRIGHT_DIR="$PLAYWRIGHT_DIR" node "$(dirname "$0")/dashboard.cjs" \
    "http://127.0.0.1:$PORT/" "$CHROMIUM" "$WORK" "$ARTIFACTS" "$PIPELINE" \
    "$(unit work a)" "$(unit flaky a)" || fail "the dashboard test failed (screenshots in $ARTIFACTS)"
ls "$ARTIFACTS"/*.png >/dev/null || fail "no screenshots"
# sluicectl logs finds the lines the page showed, though journald tagged them with no unit.
out=$("$SLUICECTL" --user -C "$WORK/config" logs flaky -p n=a)
grep -q flaky-broken <<<"$out" && grep -q flaky-fixed <<<"$out" || fail "sluicectl logs: $out"
echo "ok: screenshots in $ARTIFACTS"
