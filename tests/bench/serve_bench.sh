#!/bin/sh
# runbook serve's latencies, each against a baseline measured in the same run (a loopback
# GET /healthz on the same server): event commit -> SSE client (median, p99) for a run the
# server drives (pushed at commit) and for one a CLI engine drives (polled from the store),
# and alert -> run.started (POST /hooks/alertmanager to the run's first event). Prints the
# figures and ratios; asserts nothing on time.
#   tests/bench/serve_bench.sh [BUILD_DIR] [STEPS]
set -eu
cd "$(dirname "$0")/../.."
B=${1:-build}
N=${2:-200}
W=$(mktemp -d ./.bench.XXXXXX)
trap 'rm -rf "$W"' EXIT
RUNBOOK_BIN=$B/runbook /usr/bin/python3 - "$W" "$N" <<'PY'
import datetime, json, os, statistics, sys, threading, time, uuid
sys.path.insert(0, "tests/support")
import rbtest
from servetest import EventClient, Serve, token

work, n = os.path.abspath(sys.argv[1]), int(sys.argv[2])
os.makedirs(f"{work}/runbooks")
with open(f"{work}/runbooks/steps.yaml", "w") as f:
    f.write("runbook: bench-steps\ntitle: Steps\nsteps:\n  wait:\n    shell: sleep 1\n    next: s0\n")
    for i in range(n):
        f.write(f"  s{i}:\n    shell: \"true\"\n    next: s{i + 1}\n")
    f.write(f"  s{n}:\n    end: recovered\n")
with open(f"{work}/runbooks/alerted.yaml", "w") as f:
    f.write("runbook: bench-alert\ntitle: Alerted\nsteps:\n  one:\n    shell: \"true\"\n    next: done\n"
            "  done:\n    end: recovered\n")
with open(f"{work}/triggers.yaml", "w") as f:
    f.write("triggers:\n  - name: b\n    match: { alertname: Bench }\n    runbook: alerted.yaml\n")
store = f"{work}/store.db"
op, hook = token(store, "bench", "operator"), token(store, "am", "hook")

def stamp(ts):
    return datetime.datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp()

def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))]

def fmt(v):
    return f"median {statistics.median(v) * 1000:7.2f} ms  p99 {pct(v, 99) * 1000:7.2f} ms  (n={len(v)})"

def stream_latency(s, run):
    """Receipt time minus the engine's stamp of each event (stamped when it is emitted, just
    before its commit: the commit's own cost is inside). Only events emitted after the
    client joined count (not the backlog)."""
    c = EventClient(s.port, f"/api/runs/{run}/events", token=op, timeout=30)
    c.read_status()
    joined = time.time()
    lat = []
    while True:
        ev = c.next_event(timeout=30)
        if ev is None:
            break
        if stamp(ev[1]["ts"]) > joined:
            lat.append(time.time() - stamp(ev[1]["ts"]))
        if ev[1]["type"] == "run.ended":
            break
    c.close()
    return lat

with Serve(store, work, "--runbooks", "runbooks", "--triggers", "triggers.yaml") as s:
    base = []
    for _ in range(300):
        t0 = time.perf_counter()
        s.get("/healthz")
        base.append(time.perf_counter() - t0)
    # A run this server drives: events are pushed as they commit. The client joins while
    # the first step sleeps.
    import subprocess
    st, _, _, js = s.post("/api/runs", {"runbook": "steps.yaml"}, token=op)
    run = js["run"]
    local = stream_latency(s, run)
    # A run a CLI engine drives on the same store: the server polls the store (250 ms).
    out = open(f"{work}/cli.out", "w+")
    cli = subprocess.Popen([rbtest.BIN, "--store", store, "--json", "run", "runbooks/steps.yaml"], cwd=work,
                           stdout=out, stderr=subprocess.DEVNULL, text=True)
    while not open(f"{work}/cli.out").readline().strip():
        time.sleep(0.01)
    cli_run = json.loads(open(f"{work}/cli.out").readline())["data"]["run"]
    polled = stream_latency(s, cli_run)
    cli.wait()
    # Alert -> run.started.
    alert_lat, post_lat = [], []
    for i in range(30):
        body = {"version": "4", "status": "firing", "receiver": "r", "groupLabels": {}, "commonLabels": {},
                "commonAnnotations": {}, "externalURL": "", "groupKey": "g",
                "alerts": [{"status": "firing", "labels": {"alertname": "Bench"}, "annotations": {},
                            "startsAt": "2026-11-24T03:00:00Z", "endsAt": "0001-01-01T00:00:00Z",
                            "generatorURL": "", "fingerprint": "b" + uuid.uuid4().hex[:12]}]}
        t0 = time.time()
        st, _, _, js = s.post("/hooks/alertmanager", body, token=hook)
        post_lat.append(time.time() - t0)
        r = js["runs"][0]["run"]
        tl = s.get(f"/api/runs/{r}/timeline", token=op)[3]
        alert_lat.append(stamp(tl[0]["ts"]) - t0)
        time.sleep(0.05)
print(f"baseline: loopback GET /healthz             {fmt(base)}")
print(f"event -> SSE client, run driven by serve    {fmt(local)}   median x{statistics.median(local) / statistics.median(base):.1f} baseline")
print(f"event -> SSE client, run driven by a CLI    {fmt(polled)}   median x{statistics.median(polled) / statistics.median(base):.1f} baseline (store polled every 250 ms)")
print(f"alert POST -> run.started stamped           {fmt(alert_lat)}   median x{statistics.median(alert_lat) / statistics.median(base):.1f} baseline")
print(f"alert POST -> 202 answered (run started)    {fmt(post_lat)}   median x{statistics.median(post_lat) / statistics.median(base):.1f} baseline")
PY
