#!/usr/bin/python3
"""examples/drills.yaml as it is shipped — every drill run for real (setup injects the fault,
the runbook recovers it as a drill, teardown runs `sandbox.py down --check`), each in a
sandbox of its own on free ports instead of the fixed ones: every drill passes, its
teardown's `check` passes (production healthy again), and `drill history` shows them all."""
import json
import os
import sys

import yaml

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
import rbtest  # noqa: E402
from rbtest import Workdir, check, done, eq  # noqa: E402
from sandboxctl import FAULTS, SB, free_port  # noqa: E402

SHIPPED = os.path.join(rbtest.ROOT, "examples", "drills.yaml")
UP = "examples/sandbox/sandbox.py up --port 18080 --port2 18081 --redis-port 16379"


def localize(drill, state, ports):
    """The shipped drill, pointed at STATE and PORTS instead of the defaults."""
    def shell(cmd):
        cmd = cmd.replace(UP, f"{SB} --state {state} up --port {ports[0]} --port2 {ports[1]} --redis-port {ports[2]}")
        cmd = cmd.replace("examples/sandbox/sandbox.py down", f"{SB} --state {state} down")
        if "examples/sandbox/faults/" in cmd:
            cmd = cmd.replace("examples/sandbox/faults/", FAULTS + "/") + f" {state}"
        check(rbtest.ROOT in cmd, f"{drill['name']}: every setup/teardown command is localized: {cmd}")
        return cmd
    d = dict(drill)
    d["runbook"] = os.path.join(rbtest.ROOT, drill["runbook"])
    d["setup"] = [{"shell": shell(a["shell"])} for a in drill["setup"]]
    d["teardown"] = [{"shell": shell(a["shell"])} for a in drill["teardown"]]
    inputs = {"app_url": f"http://127.0.0.1:{ports[0]}", "app2_url": f"http://127.0.0.1:{ports[1]}", "sandbox": state,
              "sandbox_cli": SB, "database_url": f"sqlite:{state}/app.db", "replica_url": f"sqlite:{state}/app-replica.db",
              "scratch_url": f"sqlite:{state}/app-scratch.db", "redis_url": f"redis://127.0.0.1:{ports[2]}"}
    inputs.update(drill.get("inputs") or {})
    d["inputs"] = inputs
    return d


with Workdir() as wd:
    with open(SHIPPED) as f:
        shipped = yaml.safe_load(f)["drills"]
    eq(len(shipped), 14, "a drill for each of the fourteen runbooks")
    eq(sorted({d["runbook"] for d in shipped}), sorted(f"runbooks/{f}" for f in os.listdir(os.path.join(rbtest.ROOT, "runbooks"))),
       "every runbook is drilled")
    state = os.path.join(wd.path, "sb")
    ports = [free_port(), free_port(), free_port()]
    drills = [localize(d, state, ports) for d in shipped]
    path = wd.file("drills.yaml", yaml.safe_dump({"drills": drills}, sort_keys=False))
    p = rbtest.run(["drill", "list", "--drills", path], cwd=rbtest.ROOT)
    eq(p.returncode, 0, f"the localized drills file loads\n{p.err}")
    lines = []
    for d in drills:
        p = rbtest.run(["--json", "--store", wd.store, "drill", "run", d["name"], "--drills", path], cwd=rbtest.ROOT,
                       timeout=600)
        rec = [json.loads(line) for line in p.out.splitlines() if line.startswith('{"drill"')]
        r = rec[-1] if rec else {}
        eq((p.returncode, r.get("passed")), (0, True), f"drill {d['name']} passes\n{p.out[-2500:]}{p.err[-500:]}")
        eq(r.get("teardown_ok"), True, f"drill {d['name']}: sandbox.py check passes after it (teardown)")
        lines.append(f"{d['name']:24} {r.get('status')} in {r.get('measured_ms', 0) / 1000:.1f}s of RTO "
                     f"{r.get('rto_ms', 0) / 60000:.0f}m")
    p = rbtest.run(["--json", "--store", wd.store, "drill", "history", "--drills", path], cwd=rbtest.ROOT)
    hist = {h["drill"]: h["records"] for h in json.loads(p.out)}
    for d in drills:
        eq([r["passed"] for r in hist.get(d["name"], [])], [True], f"drill history shows {d['name']} passed")
    p = rbtest.run(["--store", wd.store, "drill", "history", "--drills", path], cwd=rbtest.ROOT)
    check(all(d["name"] in p.out for d in drills), "the text scorecard lists every drill")
    print("\n".join(lines))
done()
