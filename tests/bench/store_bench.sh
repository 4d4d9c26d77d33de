#!/bin/sh
# The cost per step of the run store: 1000 `shell: "true"` steps with the store on SQLite
# (real disk) and on PostgreSQL (a throwaway local server unless RUNBOOK_TEST_PG_URL is
# set), as ms per step and their ratio. Asserts nothing on time.
#   tests/bench/store_bench.sh [BUILD_DIR] [STEPS]
set -eu
cd "$(dirname "$0")/../.."
B=${1:-build}
N=${2:-1000}
RB=$B/runbook
W=$(mktemp -d)
DISK=$(mktemp -d ./.bench.XXXXXX)
FIX=""
cleanup() { [ -n "$FIX" ] && tests/support/pg.sh stop "$FIX/pg"; rm -rf "$W" "$DISK" ${FIX:+"$FIX"}; }
trap cleanup EXIT
if [ -z "${RUNBOOK_TEST_PG_URL:-}" ]; then
  FIX=$(mktemp -d); chmod 755 "$FIX"
  RUNBOOK_TEST_PG_URL=$(tests/support/pg.sh start "$FIX/pg")
fi
/usr/bin/python3 - "$N" >"$W/steps.yaml" <<'PY'
import sys
n = int(sys.argv[1])
print("runbook: bench\ntitle: Bench\nsteps:")
for i in range(n):
    print(f"  s{i}:\n    shell: \"true\"\n    next: s{i + 1}")
print(f"  s{n}:\n    end: recovered")
PY
/usr/bin/python3 - "$RB" "$W/steps.yaml" "$DISK" "$RUNBOOK_TEST_PG_URL" "$N" <<'PY'
import subprocess, sys, time, uuid
rb, book, disk, pg, n = sys.argv[1:6]
n = int(n)
def best(store_for):
    b = None
    for _ in range(3):
        store = store_for()
        t0 = time.perf_counter()
        p = subprocess.run([rb, "--store", store, "run", book], capture_output=True)
        t = time.perf_counter() - t0
        assert p.returncode == 0, p.stderr.decode()
        b = t if b is None else min(b, t)
    return b
def pg_store():
    db = "bench_" + uuid.uuid4().hex[:8]
    subprocess.run(["psql", pg, "-qc", f"CREATE DATABASE {db}"], check=True)
    return pg.rsplit("/", 1)[0] + "/" + db
sq = best(lambda: f"{disk}/s-{uuid.uuid4().hex[:6]}.db")
pq = best(pg_store)
print(f"steps: {n} (best of 3)")
print(f"SQLite store (disk, synchronous=FULL): {sq:.3f}s  {sq * 1000 / n:.3f} ms/step")
print(f"PostgreSQL store (local server):       {pq:.3f}s  {pq * 1000 / n:.3f} ms/step")
# Round trips to the server per step: the engine's sendto() calls on the PostgreSQL socket
# (one per query or statement sent), counted by strace when it is there.
import shutil, tempfile
if shutil.which("strace"):
    out = tempfile.mktemp()
    subprocess.run(["strace", "-f", "-c", "-e", "trace=sendto", "-o", out, rb, "--store", pg_store(), "run", book],
                   capture_output=True)
    calls = [l.split()[3] for l in open(out) if l.strip().endswith("sendto")]
    if calls:
        print(f"PostgreSQL round trips per step:       {int(calls[0]) / n:.2f}")
print(f"ratio PostgreSQL / SQLite: {pq / sq:.2f}x")
PY
