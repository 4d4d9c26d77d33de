#!/bin/sh
# `runbook import` speed: the five seed runbooks (tests/cases/import/*.txt) imported one
# after another, as a person importing a team's runbooks would (target: all five < 200 ms),
# against baselines measured in the same run: `cat` of the seeds, and `runbook validate`
# of one small runbook (the engine's start-up and a YAML load). Median of 21 rounds.
# Prints figures; asserts nothing on time. Usage: tests/bench/import_bench.sh [BUILD_DIR]
set -eu
cd "$(dirname "$0")/../.."
B=${1:-build}
RB=$(cd "$B" && pwd)/runbook
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
/usr/bin/python3 - "$RB" "$W" <<'PY'
import glob, os, statistics, subprocess, sys, time
rb, w = sys.argv[1:3]
seeds = sorted(glob.glob("tests/cases/import/*.txt"))
size = sum(os.path.getsize(s) for s in seeds)

def timed(cmds):
    t0 = time.perf_counter()
    for c in cmds:
        p = subprocess.run(c, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        assert p.returncode == 0, c
    return time.perf_counter() - t0

rounds = {"import": [], "cat": [], "validate": []}
for i in range(21):
    out = os.path.join(w, f"r{i}")
    rounds["import"].append(timed([[rb, "import", s, "-o", os.path.join(out, os.path.basename(s))] for s in seeds]))
    rounds["cat"].append(timed([["cat"] + seeds]))
    rounds["validate"].append(timed([[rb, "validate", "runbooks/database-disaster.yaml"]]))
med = {k: statistics.median(v) * 1000 for k, v in rounds.items()}
drafts = len(glob.glob(os.path.join(w, "r0", "*", "*.yaml")))
print(f"import of all {len(seeds)} seeds ({size / 1024:.1f} KiB -> {drafts} drafts, {len(seeds)} processes): "
      f"{med['import']:.1f} ms median of 21   target < 200 ms")
print(f"per seed: {med['import'] / len(seeds):.1f} ms; baseline validate of one small runbook: "
      f"{med['validate']:.1f} ms (ratio {med['import'] / len(seeds) / med['validate']:.2f}x per seed)")
print(f"baseline cat of the seeds: {med['cat']:.2f} ms (ratio {med['import'] / med['cat']:.1f}x)")
PY
