#!/usr/bin/python3
"""End-to-end: each of the fourteen recovery runbooks against a live sandbox with its fault
injected for real. Before the fault `sandbox.py check` passes; after it, it fails; the run
(`--drill --yes`) must end `recovered` within its RTO; then `check` passes again, plus the
runbook's own promises (ids kept, users named, nothing retried that must not be).

With --no-fault each runbook that repairs something runs on a healthy production (the fault
absent): it must end without failing, leave `check` passing and never start the steps that
would change production (scenario_defs.NO_FAULT_MUST_NOT_START).

With --negative each runbook meets a fault it cannot repair: the run ends `failed` (exit 1)
at its escalation end step (whose title names who to call), production is left safe (the
protection it engaged is still on) and `check` still fails.

One sandbox serves the whole file (`up` again between scenarios).

  scenarios.py [--backend sqlite|postgres] [--negative | --no-fault] [--only NAME[,NAME]]
"""
import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
import rbtest  # noqa: E402
from rbtest import Workdir, check, done, eq, run_runbook  # noqa: E402
from sandboxctl import Sandbox  # noqa: E402
import scenario_defs as defs  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--backend", default="sqlite")
ap.add_argument("--negative", action="store_true")
ap.add_argument("--no-fault", action="store_true")
ap.add_argument("--only")
args = ap.parse_args()
if args.backend == "postgres" and not os.environ.get("RUNBOOK_TEST_PG_URL"):
    rbtest.skip("RUNBOOK_TEST_PG_URL is not set (tests/run.sh starts PostgreSQL)")
ONLY = set(args.only.split(",")) if args.only else None


def facts_shown(r, who):
    """Every approval asked shows its facts (`show:`), each one evaluated."""
    for e in r.of("approval.requested"):
        if e["data"].get("kind") != "approval":
            continue
        spec = defs.load(who.split()[0])["steps"][e["step"]]["approval"]
        shown = e["data"].get("show") or {}
        eq(sorted(shown), sorted(spec.get("show") or {}), f"{who}: {e['step']} shows every fact of its show:")
        for k, v in shown.items():
            check(not str(v).startswith("(") and str(v) != "", f"{who}: {e['step']} fact '{k}' evaluated: {v!r}")
        if os.environ.get("SHOW_FACTS"):
            print(f"{who} {e['step']}: {json.dumps(shown)[:400]}")


def positive(sb, wd, sc):
    sb.up()
    code, out = sb.check()
    eq(code, 0, f"{sc.name}: check passes on a fresh sandbox\n{out}")
    sb.fault(sc.fault, sc.fault_env)
    before = sc.before(sb) if sc.before else None
    code, out = sb.check()
    eq(code, 1, f"{sc.name}: check fails after the fault")
    check(sc.symptom in out, f"{sc.name}: check names the symptom '{sc.symptom}'\n{out}")
    t0 = time.time()
    r = run_runbook(wd, defs.book(sc.book), "--drill", "--yes", *sb.inputs(**sc.inputs), timeout=600)
    wall = time.time() - t0
    rto = (r.of("run.ended") or [{"data": {}}])[-1]["data"].get("rto", {})
    took, target = rto.get("elapsed_ms", -1), rto.get("rto_ms")
    eq(r.code, 0, f"{sc.name}: exit code\n{r.dump()[-4000:]}")
    eq(r.ended(), "recovered", f"{sc.name}: run.ended recovered")
    check(target and 0 <= took <= target, f"{sc.name}: within its RTO ({took} ms of {target} ms)")
    code, out = sb.check()
    eq(code, 0, f"{sc.name}: check passes after the run\n{out}")
    facts_shown(r, sc.book)
    if sc.healthy:
        sc.healthy(sb, r, before)
    return f"{sc.name:22} {args.backend:8} recovered in {took / 1000:6.2f}s (wall {wall:5.1f}s) of RTO {defs.hms(target)}"


def negative(sb, wd, sc):
    sb.up()
    sb.fault(sc.fault, sc.neg_fault_env or sc.fault_env)
    extra = dict(sc.inputs)
    extra.update(sc.unrepairable(sb) or {})
    t0 = time.time()
    r = run_runbook(wd, defs.book(sc.book), "--drill", "--yes", *sb.inputs(**extra), timeout=600)
    wall = time.time() - t0
    eq(r.code, 1, f"{sc.name} (unrepairable): exit 1\n{r.dump()[-3000:]}")
    eq(r.ended(), "failed", f"{sc.name} (unrepairable): run.ended failed")
    end = (r.of("run.ended") or [{}])[-1].get("step")
    eq(end, sc.neg_end, f"{sc.name} (unrepairable): ends at its escalation")
    title = defs.end_title(sc.book, end)
    check(defs.names_who(title), f"{sc.name} (unrepairable): the escalation names who to call: {title!r}")
    eq(r.of("rollback.started"), [], f"{sc.name} (unrepairable): nothing rolled back")
    sc.safe(sb, r)
    facts_shown(r, sc.book)
    code, out = sb.check()
    eq(code, 1, f"{sc.name} (unrepairable): check still fails (production not declared healthy)")
    p = rbtest.run(["--store", wd.store, "export", r.run_id, "--format", "markdown"], cwd=wd.path)
    eq(p.returncode, 0, f"{sc.name} (unrepairable): the report exports")
    return f"{sc.name:22} {args.backend:8} failed safely at '{end}' in {wall:5.1f}s"


def no_fault(sb, wd, sc):
    sb.up()
    r = run_runbook(wd, defs.book(sc.book), "--drill", "--yes", *sb.inputs(**sc.inputs), timeout=600)
    end = (r.of("run.ended") or [{}])[-1].get("step")
    eq((r.code, r.ended()), (0, "recovered"), f"{sc.book} (no fault): ends without failing at {end}\n{r.dump()[-3000:]}")
    started = {e["step"] for e in r.of("step.started")}
    for step in defs.NO_FAULT_MUST_NOT_START[sc.book]:
        check(step not in started, f"{sc.book} (no fault): '{step}' never started (ran: {sorted(started)})")
    code, out = sb.check()
    eq(code, 0, f"{sc.book} (no fault): production still passes check\n{out}")
    return f"{sc.book:22} {args.backend:8} nothing to repair: ended at '{end}'"


with Workdir() as wd:
    sb = Sandbox(os.path.join(wd.path, "sb"), args.backend, start=False)
    results = []
    try:
        for sc in defs.SCENARIOS:
            if ONLY and sc.name not in ONLY:
                continue
            if args.negative and not sc.unrepairable:
                continue
            if args.no_fault and (sc.book not in defs.NO_FAULT_MUST_NOT_START or sc.name != sc.book):
                continue
            if args.backend != "sqlite" and not sc.uses_database:
                continue  # nothing in it depends on the database: SQLite proves it
            try:
                results.append((no_fault if args.no_fault else negative if args.negative else positive)(sb, wd, sc))
            except Exception as e:  # noqa: BLE001
                check(False, f"{sc.name}: {type(e).__name__}: {e}")
            finally:
                sb.cli("runaway", "stop")
    finally:
        sb.down()
    print("\n".join(results))
done()
