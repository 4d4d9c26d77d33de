#!/bin/sh
# Plugin costs as ratios against tools doing the same work, measured in the same run:
#   1. 200 sequential `sql` steps against PostgreSQL  vs  one psql session running the same
#      200 queries (target <= 2x). The run store is on tmpfs so the plugin is measured.
#   2. one `parallel` step of 200 HTTP GETs  vs  curl --parallel on the same 200 URLs
#      (target <= 1.5x), against the local test HTTP server.
# Starts a throwaway PostgreSQL and the test HTTP server unless RUNBOOK_TEST_PG_URL /
# RUNBOOK_TEST_HTTP are set. Prints figures; asserts nothing on time.
#   tests/bench/plugins_bench.sh [BUILD_DIR]
set -eu
cd "$(dirname "$0")/../.."
B=${1:-build}
RB=$(pwd)/$B/runbook
W=$(mktemp -d)
SHM=$(mktemp -d /dev/shm/runbook-bench.XXXXXX)
FIX=""
HPID=""
cleanup() {
  [ -n "$HPID" ] && kill "$HPID" 2>/dev/null
  [ -n "$FIX" ] && tests/support/pg.sh stop "$FIX/pg"
  rm -rf "$W" "$SHM" ${FIX:+"$FIX"}
}
trap cleanup EXIT
if [ -z "${RUNBOOK_TEST_PG_URL:-}" ] || [ -z "${RUNBOOK_TEST_HTTP:-}" ]; then
  FIX=$(mktemp -d); chmod 755 "$FIX"
  RUNBOOK_TEST_PG_URL=$(tests/support/pg.sh start "$FIX/pg")
  /usr/bin/python3 tests/support/httpd.py "$FIX/http" >/dev/null 2>&1 &
  HPID=$!
  while [ ! -f "$FIX/http/urls.json" ]; do sleep 0.1; done
  RUNBOOK_TEST_HTTP=$FIX/http/urls.json
fi
/usr/bin/python3 - "$RB" "$RUNBOOK_TEST_PG_URL" "$RUNBOOK_TEST_HTTP" "$W" "$SHM" <<'PY'
import json, subprocess, sys, time
rb, pg, http, w, shm = sys.argv[1:6]
base = json.load(open(http))["http"]
subprocess.run(["psql", "-X", "-q", pg, "-c", "DROP TABLE IF EXISTS bench; CREATE TABLE bench AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 1000) g"], check=True)
n = 200
queries = [f"SELECT count(*) AS n FROM bench WHERE id > {i}" for i in range(n)]
with open(f"{w}/sql.yaml", "w") as f:
    f.write(f"runbook: bench-sql\ntitle: 200 SQL steps\nsteps:\n")
    for i, q in enumerate(queries):
        nxt = f"q{i + 1}" if i + 1 < n else "done"
        f.write(f"  q{i}:\n    sql: {{ url: \"{pg}\", query: \"{q}\" }}\n    next: {nxt}\n")
    f.write("  done:\n    end: recovered\n")
with open(f"{w}/q.sql", "w") as f:
    f.write(";\n".join(queries) + ";\n")
with open(f"{w}/http.yaml", "w") as f:
    f.write("runbook: bench-http\ntitle: 200 GETs\nsteps:\n  fan:\n    parallel:\n")
    for i in range(n):
        f.write(f"      - http: \"{base}/json?i={i}\"\n")
    f.write("    next: done\n  done:\n    end: recovered\n")
urls = [f"{base}/json?i={i}" for i in range(n)]

def best(cmd, k=5):
    b = None
    for j in range(k):
        t0 = time.perf_counter()
        p = subprocess.run(cmd(j), capture_output=True)
        t = time.perf_counter() - t0
        assert p.returncode == 0, (cmd(j), p.stderr.decode()[-500:])
        b = t if b is None else min(b, t)
    return b

ours_sql = best(lambda j: [rb, "--store", f"{shm}/s{j}.db", "run", f"{w}/sql.yaml"])
psql = best(lambda j: ["psql", "-X", "-q", "-o", "/dev/null", "-f", f"{w}/q.sql", pg])
ours_http = best(lambda j: [rb, "--store", f"{shm}/h{j}.db", "run", f"{w}/http.yaml"])
curl = best(lambda j: ["curl", "-s", "--parallel", "--parallel-max", "200", "-o", "/dev/null"] + sum((["-o", "/dev/null", u] for u in urls), []))
print(f"200 sequential sql steps (PostgreSQL): {ours_sql * 1000:.0f} ms   psql session, same 200 queries: {psql * 1000:.0f} ms"
      f"   ratio {ours_sql / psql:.2f}x (target <= 2x)")
print(f"parallel step of 200 HTTP GETs: {ours_http * 1000:.0f} ms   curl --parallel, same URLs: {curl * 1000:.0f} ms"
      f"   ratio {ours_http / curl:.2f}x (target <= 1.5x)")
PY
