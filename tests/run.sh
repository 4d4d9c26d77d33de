#!/bin/sh
# The test command: installs what is missing, builds the Release and the sanitizer
# (ASan + UBSan) builds, starts a throwaway PostgreSQL and a local HTTP(S) server on
# 127.0.0.1, and runs every test of both builds through ctest. The servers are stopped
# at the end, whatever happened.
set -eu
cd "$(dirname "$0")/.."
ROOT=$(pwd)
tests/support/deps.sh chromium chromium-driver python3-selenium
JOBS=$(nproc 2>/dev/null || echo 2)

echo "== build: Release"
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DCMAKE_UNITY_BUILD=ON -DCMAKE_UNITY_BUILD_BATCH_SIZE=6 >/dev/null
cmake --build build -j"$JOBS"
echo "== build: ASan + UBSan"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DRUNBOOK_SANITIZE=ON -DCMAKE_UNITY_BUILD=ON -DCMAKE_UNITY_BUILD_BATCH_SIZE=6 >/dev/null
cmake --build build-asan -j"$JOBS"

FIX=$(mktemp -d /tmp/runbook-fixtures.XXXXXX)
chmod 755 "$FIX"
cleanup() {
  [ -f "$FIX/httpd.pid" ] && kill "$(cat "$FIX/httpd.pid")" 2>/dev/null || true
  tests/support/pg.sh stop "$FIX/pg" || true
  rm -rf "$FIX"
}
trap cleanup EXIT INT TERM

echo "== fixtures: PostgreSQL and HTTP(S) on 127.0.0.1"
RUNBOOK_TEST_PG_URL=$(tests/support/pg.sh start "$FIX/pg")
/usr/bin/python3 tests/support/httpd.py "$FIX/http" >"$FIX/httpd.log" 2>&1 &
echo $! >"$FIX/httpd.pid"
i=0
while [ ! -f "$FIX/http/urls.json" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
[ -f "$FIX/http/urls.json" ] || { echo "the test HTTP server did not start"; cat "$FIX/httpd.log"; exit 1; }
export RUNBOOK_TEST_PG_URL
export RUNBOOK_TEST_HTTP=$FIX/http/urls.json

status=0
echo "== tests: Release"
ctest --test-dir build --output-on-failure -j"$JOBS" || status=1
echo "== tests: ASan + UBSan"
RUNBOOK_SANITIZED=1 ctest --test-dir build-asan --output-on-failure -j"$JOBS" -LE heavy || status=1
exit $status
