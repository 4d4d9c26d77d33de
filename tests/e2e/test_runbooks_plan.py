#!/usr/bin/python3
"""Each of the fourteen runbooks validates, plans within its RTO (every step on the
critical path has a budget), ends every failure path at an escalation that names who to
call, and has no rollback that lifts protection (maintenance, the kill switch, a paused
queue, a drained node) — the contract's v2 rule that a failed run runs its rollbacks."""
import glob
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
import rbtest  # noqa: E402
from rbtest import Workdir, check, done, eq  # noqa: E402
import scenario_defs as defs  # noqa: E402

LIFTS = ("maintenance off", "lockdown off", "queue resume", "banner clear", "node enable")

with Workdir() as wd:
    books = sorted(glob.glob(os.path.join(rbtest.ROOT, "runbooks", "*.yaml")))
    eq(len(books), 14, "fourteen runbooks")
    names = {os.path.basename(b)[:-5] for b in books}
    eq(names, {s.book for s in defs.SCENARIOS}, "every runbook has an end-to-end scenario")
    for b in books:
        name = os.path.basename(b)[:-5]
        p = rbtest.run(["validate", b], cwd=wd.path)
        eq(p.returncode, 0, f"{name}: validates\n{p.err}")
        p = rbtest.run(["plan", b, "--format", "json"], cwd=wd.path)
        cp = json.loads(p.out)["critical_path"]
        check(cp["found"] and cp["within_rto"] and cp["steps_without_budget"] == 0,
              f"{name}: plans within its RTO ({cp['total_ms'] / 60000:.0f} of {cp['rto_ms'] / 60000:.0f} min)")
        steps = defs.load(name)["steps"]
        for sid, s in steps.items():
            rb = json.dumps(s.get("rollback", ""))
            check(not any(x in rb for x in LIFTS), f"{name}/{sid}: no rollback lifts protection ({rb})")
            if s.get("end") == "failed":
                check(defs.names_who(defs.end_title(name, sid)), f"{name}/{sid}: the escalation names who to call")
            if "approval" in s or "manual" in s:
                target = s.get("on_reject")
                check(target in steps, f"{name}/{sid}: a rejection goes somewhere named ({target})")
        print(f"{name:22} plan {cp['total_ms'] / 60000:5.0f} min of RTO {cp['rto_ms'] / 60000:4.0f} min")
done()
