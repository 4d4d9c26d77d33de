#!/bin/sh
# Fuzzes with libFuzzer for N seconds in all (default 60), split between the two targets:
#   fuzz_loader  bytes -> loader -> parser -> validator -> plan
#   fuzz_expr    expressions, `${{ }}` templates, shell commands and argv lists (the shell
#                lexer), http URL templates, matches() patterns
#   tests/fuzz/run.sh [SECONDS]
# Builds build-fuzz/ with clang (installed if missing), seeds the corpora with every
# runbook and validation case in the tree and tests/fuzz/seeds-expr, and prints libFuzzer's
# summary (executions run) for each target. Fails when a target crashed, leaked or hung.
set -eu
cd "$(dirname "$0")/../.."
SECS=${1:-60}
HALF=$((SECS / 2))
tests/support/deps.sh clang libclang-rt-14-dev
CC=clang CXX=clang++ cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRUNBOOK_FUZZ=ON >/dev/null
cmake --build build-fuzz -j"$(nproc 2>/dev/null || echo 2)" --target fuzz_loader fuzz_expr
mkdir -p tests/fuzz/crashes

CORPUS=tests/fuzz/corpus-run
mkdir -p "$CORPUS"
cp runbooks/*.yaml tests/cases/validate/*.yaml tests/schema/bad/*.yaml "$CORPUS"/ 2>/dev/null || true
cp tests/fuzz/seeds/* "$CORPUS"/ 2>/dev/null || true
echo "== fuzz_loader: $HALF s"
build-fuzz/tests/fuzz_loader "$CORPUS" -max_total_time="$HALF" -timeout=10 -rss_limit_mb=2048 \
  -max_len=65536 -dict=tests/fuzz/yaml.dict -artifact_prefix=tests/fuzz/crashes/ -print_final_stats=1 2>&1 |
  tee build-fuzz/fuzz.log | grep -E "^(#[0-9]+ +DONE|stat::number_of_executed_units|stat::peak|==|SUMMARY|Done)" || true
grep -q "^stat::number_of_executed_units" build-fuzz/fuzz.log

CORPUS_E=tests/fuzz/corpus-expr
mkdir -p "$CORPUS_E"
cp tests/fuzz/seeds-expr/* "$CORPUS_E"/
echo "== fuzz_expr: $((SECS - HALF)) s"
build-fuzz/tests/fuzz_expr "$CORPUS_E" -max_total_time="$((SECS - HALF))" -timeout=10 -rss_limit_mb=2048 \
  -max_len=8192 -dict=tests/fuzz/expr.dict -artifact_prefix=tests/fuzz/crashes/ -print_final_stats=1 2>&1 |
  tee build-fuzz/fuzz-expr.log | grep -E "^(#[0-9]+ +DONE|stat::number_of_executed_units|stat::peak|==|SUMMARY|Done)" || true
grep -q "^stat::number_of_executed_units" build-fuzz/fuzz-expr.log

! grep -h "runtime error" build-fuzz/fuzz.log build-fuzz/fuzz-expr.log
! ls tests/fuzz/crashes/crash-* tests/fuzz/crashes/leak-* tests/fuzz/crashes/timeout-* tests/fuzz/crashes/oom-* 2>/dev/null | grep -q .
