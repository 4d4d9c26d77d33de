#!/bin/sh
# Fuzzes the loader + validator (+ plan) with libFuzzer for N seconds (default 60).
#   tests/fuzz/run.sh [SECONDS]
# Builds build-fuzz/ with clang (installed if missing), seeds the corpus with every runbook
# and validation case in the tree, and prints libFuzzer's summary (executions run).
set -eu
cd "$(dirname "$0")/../.."
SECS=${1:-60}
tests/support/deps.sh clang libclang-rt-14-dev
CC=clang CXX=clang++ cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRUNBOOK_FUZZ=ON >/dev/null
cmake --build build-fuzz -j"$(nproc 2>/dev/null || echo 2)" --target fuzz_loader
CORPUS=tests/fuzz/corpus-run
mkdir -p "$CORPUS"
cp runbooks/*.yaml tests/cases/validate/*.yaml tests/schema/bad/*.yaml "$CORPUS"/ 2>/dev/null || true
cp tests/fuzz/seeds/* "$CORPUS"/ 2>/dev/null || true
mkdir -p tests/fuzz/crashes
build-fuzz/tests/fuzz_loader "$CORPUS" -max_total_time="$SECS" -timeout=10 -rss_limit_mb=2048 \
  -max_len=65536 -dict=tests/fuzz/yaml.dict -artifact_prefix=tests/fuzz/crashes/ -print_final_stats=1 2>&1 |
  tee build-fuzz/fuzz.log | grep -E "^(#[0-9]+ +DONE|stat::|==|SUMMARY|INFO: Running|Done)" || true
grep -q "^stat::number_of_executed_units" build-fuzz/fuzz.log
! ls tests/fuzz/crashes/crash-* tests/fuzz/crashes/leak-* tests/fuzz/crashes/timeout-* 2>/dev/null | grep -q .
