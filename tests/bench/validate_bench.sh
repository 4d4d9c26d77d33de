#!/bin/sh
# `runbook validate` speed and memory:
#   - a generated 10,000-step runbook: wall time and peak RSS (targets: < 1 s, < 200 MB)
#   - start-up: validate of one small runbook, mean of 50 runs (target: < 20 ms), with the
#     cost of starting /bin/true measured in the same run as the baseline ratio.
# Prints figures; asserts nothing on time. Usage: tests/bench/validate_bench.sh [BUILD_DIR]
set -eu
cd "$(dirname "$0")/../.."
B=${1:-build}
RB=$(cd "$B" && pwd)/runbook
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
/usr/bin/python3 - "$W/big.yaml" <<'PY'
import sys
n = 10000
with open(sys.argv[1], "w") as f:
    f.write("runbook: big\ntitle: Ten thousand steps\nobjectives: { rto: 400h }\n")
    f.write("inputs:\n  url: { default: 'http://127.0.0.1:1' }\n  n: { type: int, default: 3 }\nsteps:\n")
    for i in range(n):
        nxt = f"s{i + 1}" if i + 1 < n else "done"
        kind = i % 4
        f.write(f"  s{i}:\n    title: Step {i}\n    phase: Phase {i // 100}\n    budget: 1m\n")
        if kind == 0:
            f.write(f"    shell: echo ${{{{ inputs.n }}}} step {i}\n")
        elif kind == 1:
            f.write(f"    http: {{ url: \"${{{{ inputs.url }}}}/health\" }}\n    expect: result.status == 200\n")
        elif kind == 2:
            f.write("    sql: { url: 'sqlite:app.db', query: 'SELECT count(*) AS n FROM t WHERE x = $1', params: [1] }\n")
            f.write("    outputs:\n      n: result.rows[0].n\n")
        else:
            f.write(f"    shell: echo ${{{{ steps.s{i - 1}.outputs.n }}}}\n")
        f.write(f"    next: {nxt}\n")
    f.write("  done:\n    end: recovered\n")
PY
/usr/bin/python3 - "$RB" "$W/big.yaml" "runbooks/database-disaster.yaml" <<'PY'
import os, resource, subprocess, sys, time
rb, big, small = sys.argv[1:4]
size = os.path.getsize(big)
best = None
for _ in range(3):
    t0 = time.perf_counter()
    p = subprocess.run([rb, "validate", big], capture_output=True)
    t = time.perf_counter() - t0
    best = t if best is None else min(best, t)
    assert p.returncode == 0, p.stderr.decode()
rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
print(f"validate 10,000 steps ({size / 1e6:.1f} MB): {best * 1000:.0f} ms (best of 3), peak RSS {rss:.1f} MB"
      f"   targets < 1000 ms, < 200 MB")
def mean(cmd, n=50):
    ts = []
    for _ in range(n):
        t0 = time.perf_counter()
        subprocess.run(cmd, capture_output=True)
        ts.append(time.perf_counter() - t0)
    ts.sort()
    return sum(ts[: int(n * 0.9)]) / int(n * 0.9)
base = mean(["/bin/true"])
v = mean([rb, "validate", small])
print(f"validate one small runbook: {v * 1000:.1f} ms mean (fastest 90% of 50)   target < 20 ms")
print(f"baseline /bin/true: {base * 1000:.2f} ms; ratio {v / base:.1f}x")
PY
