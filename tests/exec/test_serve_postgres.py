"""Two `runbook serve` on one PostgreSQL store (contract §7): the same alert posted to both
at once, 20 times, starts 20 runs, never 21 (the incident's lease decides); posted again
once they ended, nothing more; and when one server is killed -9 mid-run, the other takes
its run over. Uses $RUNBOOK_TEST_PG_URL, else starts a throwaway PostgreSQL."""
import os
import subprocess
import sys
import threading
import time
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
import rbtest  # noqa: E402
from rbtest import check, eq  # noqa: E402
from servetest import Serve, token  # noqa: E402

ROOT = rbtest.ROOT
ROUNDS = 20

BOOK = """runbook: on-alert
title: Answer the alert
inputs:
  instance: { description: The instance }
steps:
  look:
    shell: 'echo "looking at $I"; sleep 1'
    env: { I: "${{ inputs.instance }}" }
    next: done
  done:
    end: recovered
"""

SLOW = """runbook: slow-pg
title: Slow
steps:
  slow:
    shell: "sleep 3"
    next: done
  done:
    end: recovered
"""

TRIGGERS = """triggers:
  - name: down
    match: { alertname: Down }
    runbook: on-alert.yaml
    inputs: { instance: "${{ alert.labels.instance }}" }
"""


def body(fp, starts):
    a = {"status": "firing", "labels": {"alertname": "Down", "instance": f"host-{fp}"}, "annotations": {},
         "startsAt": starts, "endsAt": "0001-01-01T00:00:00Z", "generatorURL": "", "fingerprint": fp}
    return {"version": "4", "status": "firing", "receiver": "r", "groupLabels": {}, "commonLabels": {},
            "commonAnnotations": {}, "externalURL": "", "groupKey": "g", "alerts": [a]}


def post_both(servers, tok, b):
    """Posts `b` to every server at the same moment; returns their answers."""
    out = [None] * len(servers)
    gate = threading.Barrier(len(servers))

    def one(i):
        c = servers[i].conn()
        import json
        gate.wait()
        c.request("POST", "/hooks/alertmanager", body=json.dumps(b),
                  headers={"Authorization": "Bearer " + tok, "Content-Type": "application/json"})
        r = c.getresponse()
        out[i] = (r.status, json.loads(r.read()))
        c.close()

    ts = [threading.Thread(target=one, args=(i,)) for i in range(len(servers))]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return out


def pg_base():
    url = os.environ.get("RUNBOOK_TEST_PG_URL")
    if url:
        return url, None
    fix = subprocess.run(["mktemp", "-d"], capture_output=True, text=True).stdout.strip()
    os.chmod(fix, 0o755)
    p = subprocess.run([os.path.join(ROOT, "tests", "support", "pg.sh"), "start", fix + "/pg"], capture_output=True,
                       text=True)
    if p.returncode != 0:
        rbtest.skip(f"no PostgreSQL: {p.stderr.strip()}")
    return p.stdout.strip(), fix


def main():
    base, fix = pg_base()
    try:
        db = "serve_" + uuid.uuid4().hex[:8]
        subprocess.run(["psql", base, "-qc", f"CREATE DATABASE {db}"], check=True, capture_output=True)
        store = base.rsplit("/", 1)[0] + "/" + db
        with rbtest.Workdir() as wd:
            wd.file("runbooks/on-alert.yaml", BOOK)
            wd.file("runbooks/slow.yaml", SLOW)
            wd.file("triggers.yaml", TRIGGERS)
            hook, op = token(store, "alertmanager", "hook"), token(store, "olive", "operator")
            args = ["--runbooks", "runbooks", "--triggers", "triggers.yaml"]
            with Serve(store, wd.path, *args) as a, Serve(store, wd.path, *args) as b:
                starts = "2026-11-24T03:00:00.000Z"
                outcomes, runs = [], set()
                for i in range(ROUNDS):
                    res = post_both([a, b], hook, body(f"fp{i:02}-{uuid.uuid4().hex[:6]}", starts))
                    statuses = sorted(r[1]["runs"][0]["status"] for r in res)
                    outcomes.append(statuses)
                    for st, js in res:
                        eq(st, 202, "the webhook is taken")
                        if js["runs"][0]["status"] == "started":
                            runs.add(js["runs"][0]["run"])
                started = sum(o.count("started") for o in outcomes)
                eq(started, ROUNDS, f"one start per alert between the two servers: {outcomes}")
                check(all(o.count("started") == 1 for o in outcomes), "never two for one alert")
                by = {}
                for o in outcomes:
                    other = [x for x in o if x != "started"][0]
                    by[other] = by.get(other, 0) + 1
                print(f"{ROUNDS} alerts posted to both servers at once: {started} runs; the other server said {by}")
                deadline = time.time() + 60
                while time.time() < deadline:
                    st, _, _, js = a.get("/api/runs?limit=100", token=op)
                    mine = [r for r in js if r["runbook"] == "on-alert"]
                    if len(mine) >= ROUNDS and all(r["status"] != "running" for r in mine):
                        break
                    time.sleep(0.2)
                eq(len(mine), ROUNDS, f"the store holds {ROUNDS} runs, never {ROUNDS + 1}")
                eq(sorted(r["status"] for r in mine), ["recovered"] * ROUNDS, "every one recovered")
                eq(len({r["incident"] for r in mine}), ROUNDS, "one per incident (fingerprint)")
                # The same alerts again (Alertmanager's repeat) once their runs ended: nothing starts.
                again = post_both([a, b], hook, body(mine[0]["incident"], starts))
                eq(sorted(r[1]["runs"][0]["status"] for r in again), ["repeated", "repeated"], "the same episode again")
                st, _, _, js = a.get("/api/runs?limit=100", token=op)
                eq(len([r for r in js if r["runbook"] == "on-alert"]), ROUNDS, "still 20 runs")

                # One server dies mid-run; the other takes its run over.
                st, _, _, js = a.post("/api/runs", {"runbook": "slow.yaml"}, token=op)
                run = js["run"]
                a.wait_run(op, run, lambda v: v["current_step"] == "slow", what="the slow step runs on A")
                a.kill9()
                t0 = time.time()
                v = b.wait_run(op, run, lambda v: v["status"] != "running", timeout=30, what="B takes it over")
                eq(v["status"], "recovered", "the other server took the run over and it recovered")
                tl = b.get(f"/api/runs/{run}/timeline", token=op)[3]
                check(any(e["type"] == "run.resumed" for e in tl), "run.resumed in its timeline")
                print(f"server A killed -9: server B took its run over and it recovered {time.time() - t0:.1f}s later")
        subprocess.run(["psql", base, "-qc", f"DROP DATABASE IF EXISTS {db} WITH (FORCE)"], capture_output=True)
    finally:
        if fix:
            subprocess.run([os.path.join(ROOT, "tests", "support", "pg.sh"), "stop", fix + "/pg"], capture_output=True)
            subprocess.run(["rm", "-rf", fix])
    rbtest.done()


main()
