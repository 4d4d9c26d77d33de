#!/bin/sh
# Executor cost per step, as ratios against baselines measured in the same run:
#   1. 1000 `shell: "true"` steps, store on tmpfs   vs a bash loop of 1000 `sh -c true`
#   2. the same run, store on the real disk          vs that loop plus 2 fdatasync per step
# Prints figures and ratios; asserts nothing on time (machines are noisy).
# Usage: tests/bench/exec_bench.sh [BUILD_DIR] [STEPS]
set -eu
cd "$(dirname "$0")/../.."
B=${1:-build}
N=${2:-1000}
RB=$B/runbook
BASE=$B/tests/bench/bench_baseline
[ -x "$RB" ] && [ -x "$BASE" ] || { echo "build first: cmake --build $B"; exit 2; }
W=$(mktemp -d)
DISK=$(mktemp -d ./.bench.XXXXXX)
SHM=$(mktemp -d /dev/shm/runbook-bench.XXXXXX)
trap 'rm -rf "$W" "$DISK" "$SHM"' EXIT
/usr/bin/python3 - "$N" >"$W/steps.yaml" <<'PY'
import sys
n = int(sys.argv[1])
print("runbook: bench\ntitle: Bench\nsteps:")
for i in range(n):
    print(f"  s{i}:\n    shell: \"true\"\n    next: s{i + 1}")
print(f"  s{n}:\n    end: recovered")
PY
now() { date +%s.%N; }
best() {  # best of 3 wall times of "$@"
  b=""
  for _ in 1 2 3; do
    t0=$(now); "$@" >/dev/null 2>&1; t1=$(now)
    t=$(awk "BEGIN { print $t1 - $t0 }")
    if [ -z "$b" ] || [ "$(awk "BEGIN { print ($t < $b) }")" = 1 ]; then b=$t; fi
    rm -f "$SHM"/s.db* "$DISK"/s.db*
  done
  echo "$b"
}
loop() { i=0; while [ $i -lt "$N" ]; do sh -c true; i=$((i + 1)); done; }

rb_shm=$(best "$RB" --store "$SHM/s.db" run "$W/steps.yaml")
bash_loop=$(best loop)
rb_disk=$(best "$RB" --store "$DISK/s.db" run "$W/steps.yaml")
fsync_loop=$(best "$BASE" spawn "$N" "$DISK")
spawn_loop=$(best "$BASE" spawn "$N")
ratio() { awk "BEGIN { printf \"%.2f\", $1 / $2 }"; }
per() { awk "BEGIN { printf \"%.3f\", $1 * 1000 / $N }"; }
echo "steps: $N (best of 3 each)"
echo "runbook, store on tmpfs:          ${rb_shm}s  ($(per "$rb_shm") ms/step)"
echo "bash loop of sh -c true:          ${bash_loop}s  ($(per "$bash_loop") ms/step)"
echo "ratio tmpfs run / bash loop:      $(ratio "$rb_shm" "$bash_loop")x   (target <= 1.3x)"
echo "runbook, store on disk:           ${rb_disk}s  ($(per "$rb_disk") ms/step)"
echo "spawn + 2 fdatasync per step:     ${fsync_loop}s  ($(per "$fsync_loop") ms/step)"
echo "ratio disk run / fsync loop:      $(ratio "$rb_disk" "$fsync_loop")x   (target <= 1.3x)"
echo "(spawn-only loop, no shell loop:  ${spawn_loop}s)"
