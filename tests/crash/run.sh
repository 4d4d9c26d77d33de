#!/bin/sh
# The long crash test: 100 SIGKILLs on SQLite and on PostgreSQL (a throwaway server).
#   tests/crash/run.sh [KILLS]
set -eu
cd "$(dirname "$0")/../.."
K=${1:-100}
tests/support/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DCMAKE_UNITY_BUILD=ON -DCMAKE_UNITY_BUILD_BATCH_SIZE=6 >/dev/null && cmake --build build -j"$(nproc)" --target runbook
FIX=$(mktemp -d); chmod 755 "$FIX"
trap 'tests/support/pg.sh stop "$FIX/pg"; rm -rf "$FIX"' EXIT
export RUNBOOK_TEST_PG_URL=$(tests/support/pg.sh start "$FIX/pg")
export RUNBOOK_BIN=build/runbook
/usr/bin/python3 tests/crash/crash_test.py --kills "$K" --store sqlite
/usr/bin/python3 tests/crash/crash_test.py --kills "$K" --store postgres
