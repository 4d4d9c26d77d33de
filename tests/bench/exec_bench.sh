#!/bin/sh
# Executor cost per step, as ratios against baselines measured in the same run:
#   1. 1000 `shell: "true"` steps, store on tmpfs   vs a bash loop of 1000 `sh -c true`
#   2. the same run, store on the real disk          vs that loop plus 1 fdatasync per step
#      (tests/bench/baseline.cpp: posix_spawn + wait + pwrite + fdatasync): the engine
#      commits once per step (the outcome of step k, its transition and the start of k+1)
# The runs are interleaved (ours, baseline, ours, baseline …, ROUNDS pairs) so that the
# machine's drift hits both alike; the ratio printed is the median of the pairs' ratios.
# Prints figures and ratios; asserts nothing on time (machines are noisy).
# Usage: tests/bench/exec_bench.sh [BUILD_DIR] [STEPS] [ROUNDS]
set -eu
cd "$(dirname "$0")/../.."
B=${1:-build}
N=${2:-1000}
ROUNDS=${3:-7}
RB=$(pwd)/$B/runbook
BASE=$(pwd)/$B/tests/bench/bench_baseline
[ -x "$RB" ] && [ -x "$BASE" ] || { echo "build first: cmake --build $B"; exit 2; }
W=$(mktemp -d)
DISK=$(mktemp -d ./.bench.XXXXXX)
SHM=$(mktemp -d /dev/shm/runbook-bench.XXXXXX)
trap 'rm -rf "$W" "$DISK" "$SHM"' EXIT
/usr/bin/python3 - "$RB" "$BASE" "$N" "$ROUNDS" "$W" "$DISK" "$SHM" <<'PY'
import os, shutil, statistics, subprocess, sys, time
rb, base, n, rounds, w, disk, shm = sys.argv[1:8]
n, rounds = int(n), int(rounds)
book = os.path.join(w, "steps.yaml")
with open(book, "w") as f:
    f.write("runbook: bench\ntitle: Bench\nsteps:\n")
    for i in range(n):
        f.write(f"  s{i}:\n    shell: \"true\"\n    next: s{i + 1}\n")
    f.write(f"  s{n}:\n    end: recovered\n")
loop = ["bash", "-c", f"for ((i = 0; i < {n}; i++)); do sh -c true; done"]

def timed(cmd, cleanup=None):
    t0 = time.perf_counter()
    p = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    t = time.perf_counter() - t0
    assert p.returncode == 0, p.stderr.decode()[-500:]
    if cleanup:
        for x in os.listdir(cleanup):
            os.unlink(os.path.join(cleanup, x))
    return t

def pairs(ours, theirs):
    a, b = [], []
    for _ in range(rounds):
        a.append(ours())
        b.append(theirs())
    ratios = sorted(x / y for x, y in zip(a, b))
    return min(a), min(b), statistics.median(ratios)

shm_rb, shm_loop, r1 = pairs(lambda: timed([rb, "--store", f"{shm}/s.db", "run", book], shm), lambda: timed(loop))
disk_rb, disk_base, r2 = pairs(lambda: timed([rb, "--store", f"{disk}/s.db", "run", book], disk),
                               lambda: timed([base, "spawn", str(n), disk, "1"]))
per = lambda t: f"{t * 1000 / n:.3f} ms/step"
print(f"steps: {n}, {rounds} interleaved pairs (best times shown, ratio = median of the pairs)")
print(f"runbook, store on tmpfs:          {shm_rb:.3f}s  ({per(shm_rb)})")
print(f"bash loop of sh -c true:          {shm_loop:.3f}s  ({per(shm_loop)})")
print(f"ratio tmpfs run / bash loop:      {r1:.2f}x   (target <= 1.15x)")
print(f"runbook, store on disk:           {disk_rb:.3f}s  ({per(disk_rb)})")
print(f"spawn + 1 fdatasync per step:     {disk_base:.3f}s  ({per(disk_base)})")
print(f"ratio disk run / fsync loop:      {r2:.2f}x   (target <= 1.3x)")
PY
