#!/usr/bin/python3
"""Protection stays on: for every approval in the runbooks, an end-to-end run where it is
answered `no`, and for one approval per runbook a run where nobody answers it (its timeout
shortened to 2 s in a copy of the runbook; stdin stays open, so the engine really waits).
Each must end `failed` (exit 1) at an escalation end step whose title names who to call,
roll nothing back, and leave production safe: maintenance, the kill switch or the paused
queue still on, data untouched, nothing half switched.

  protection.py [--backend sqlite|postgres] [--only RUNBOOK[,RUNBOOK]]
"""
import argparse
import os
import re
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
import rbtest  # noqa: E402
from rbtest import Run, Workdir, check, done, eq, run_runbook  # noqa: E402
from sandboxctl import Sandbox  # noqa: E402
import scenario_defs as defs  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--backend", default="sqlite")
ap.add_argument("--only")
args = ap.parse_args()
if args.backend == "postgres" and not os.environ.get("RUNBOOK_TEST_PG_URL"):
    rbtest.skip("RUNBOOK_TEST_PG_URL is not set (tests/run.sh starts PostgreSQL)")
ONLY = set(args.only.split(",")) if args.only else None
APPROVER = "second-person"


def redis_aof_untouched(sb):
    p = subprocess.run(["redis-check-aof", os.path.join(sb.state, "redis", "appendonlydir", "appendonly.aof.manifest")],
                       capture_output=True, text=True)
    return p.returncode != 0


# What "left safe" means when each approval is refused or unanswered.
SAFE = {
    ("database-disaster", "approve-restore"): lambda sb: (
        defs.maintenance_on(sb, "approve-restore"),
        check(sb.one("SELECT count(*) FROM users") < 95, "approve-restore: nothing restored")),
    ("credit-failure", "approve-correction"): lambda sb: (
        eq(sb.one("SELECT balance FROM user_credits WHERE user_id = 7"), -40, "approve-correction: balances untouched")),
    ("security-breach", "approve-lift"): lambda sb: (
        defs.maintenance_on(sb, "approve-lift"), defs.lockdown_on(sb, "approve-lift")),
    ("region-failover", "declare"): lambda sb: (
        eq((sb.json("status")["region"], sb.json("status")["serving"]), ("primary", "primary"),
           "declare: nothing failed over")),
    ("redis-recovery", "approve-aof-fix"): lambda sb: (
        defs.maintenance_on(sb, "approve-aof-fix"),
        check(redis_aof_untouched(sb), "approve-aof-fix: the AOF was not truncated")),
    ("migration-failure", "approve-rollback"): lambda sb: (
        defs.maintenance_on(sb, "approve-rollback"),
        check(sb.json("migrate", "status")["dirty"] is not None, "approve-rollback: the schema was left as found")),
    ("restore-verify", "approve-promote"): lambda sb: (
        defs.maintenance_on(sb, "approve-promote"),
        eq(sb.one("SELECT count(*) FROM user_credits WHERE balance = 0"), 5, "approve-promote: live untouched")),
    ("region-failback", "approve-failback"): lambda sb: defs.fb_safe(sb, None),
    ("kill-switch", "approve-disengage"): lambda sb: defs.lockdown_on(sb, "approve-disengage"),
}


def asks(book):
    """[(step, kind)] of every approval and manual step, in file order."""
    return [(sid, "approval" if "approval" in s else "manual") for sid, s in defs.load(book)["steps"].items()
            if "approval" in s or "manual" in s]


def short_timeout_copy(wd, book, step):
    """A copy of the runbook whose approval STEP times out after 2 s."""
    lines = open(defs.book(book)).read().splitlines()
    start = lines.index(f"  {step}:")
    for i in range(start + 1, len(lines)):
        if re.match(r"^  [a-z0-9-]+:$", lines[i]):
            break
        if re.match(r"^      timeout: \S+$", lines[i]):
            lines[i] = "      timeout: 2s"
            return wd.file(f"{book}-{step}-timeout.yaml", "\n".join(lines) + "\n")
    raise AssertionError(f"{book}: approval {step} has no timeout")


def run_open_stdin(wd, path, argv, timeout=300):
    """`runbook run` with stdin an open pipe nobody writes to (a terminal nobody answers)."""
    p = subprocess.Popen([rbtest.BIN, "--json", "--store", wd.store, "run", path] + argv, cwd=wd.path,
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out = {}
    ts = [threading.Thread(target=lambda k, s: out.__setitem__(k, s.read()), args=(k, s))
          for k, s in (("o", p.stdout), ("e", p.stderr))]
    for t in ts:
        t.start()
    try:
        p.wait(timeout=timeout)
    finally:
        p.stdin.close()
        for t in ts:
            t.join()
    p.out, p.err = out["o"].decode(errors="replace"), out["e"].decode(errors="replace")
    return Run(p)


def escalated(sb, r, book, step, how):
    who = f"{book}/{step} {how}"
    eq(r.code, 1, f"{who}: exit 1\n{r.dump()[-2500:]}")
    eq(r.ended(), "failed", f"{who}: run.ended failed")
    ans = r.of("approval.answered", step)
    check(ans and ans[-1]["data"]["approved"] is False, f"{who}: the approval was not given ({ans})")
    end = (r.of("run.ended") or [{}])[-1].get("step")
    spec = defs.load(book)["steps"].get(end or "", {})
    eq(spec.get("end"), "failed", f"{who}: ends at an escalation end step ({end})")
    check(defs.names_who(defs.end_title(book, end)), f"{who}: the escalation names who to call: {spec.get('title')!r}")
    eq(r.of("rollback.started"), [], f"{who}: nothing rolled back")
    SAFE[(book, step)](sb)
    return end


def main():
    results = []
    with Workdir() as wd:
        sb = Sandbox(os.path.join(wd.path, "sb"), args.backend, start=False)
        try:
            seen = set()
            for sc in defs.SCENARIOS:
                if (ONLY and sc.book not in ONLY) or sc.book in seen:
                    continue
                seen.add(sc.book)
                steps = asks(sc.book)
                approvals = [s for s, kind in steps if kind == "approval"]
                for i, step in enumerate(approvals):
                    for how in (["no", "unanswered"] if i == 0 else ["no"]):
                        sb.up()
                        sb.fault(sc.fault, sc.fault_env)
                        t0 = time.time()
                        if how == "no":
                            r = run_runbook(wd, defs.book(sc.book), "--drill", "--yes", "--answer",
                                            f"{step}=no@{APPROVER}", *sb.inputs(**sc.inputs), timeout=300)
                        else:
                            others = [a for s, _ in steps if s != step
                                      for a in ("--answer", f"{s}=yes@{APPROVER}")]
                            r = run_open_stdin(wd, short_timeout_copy(wd, sc.book, step),
                                               ["--drill", *others, *sb.inputs(**sc.inputs)])
                            asked = r.of("approval.requested", step)
                            answered = r.of("approval.answered", step)
                            waited = answered[0]["t"] - asked[0]["t"] if asked and answered else -1
                            check(waited >= 1.9, f"{sc.book}/{step} unanswered: the engine waited for the timeout "
                                                 f"({waited:.2f}s of 2s)")
                            eq(answered and answered[0]["data"]["answered"], False,
                               f"{sc.book}/{step} unanswered: recorded as not answered")
                        end = escalated(sb, r, sc.book, step, how)
                        results.append(f"{sc.book:20} {step:20} {how:10} -> {end} ({time.time() - t0:.1f}s)")
                        sb.cli("runaway", "stop")
        finally:
            sb.down()
    print("\n".join(results))
    eq(len(results) > 0, True, "some approvals were exercised")


main()
done()
