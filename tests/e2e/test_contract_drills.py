#!/usr/bin/python3
"""Drills (contract §6) written as the contract shows them: a drills file that is a plain
list, `answers` without an identity (`gate: no`). The drills file's answers are the
drill's answers: a `no` takes the approval's `on_reject` path (it used to be refused —
the drill's operator "drill:NAME" was not a valid identity — and `--yes` approved
instead, so a drill could never exercise a rejection); a second-person approval is
answered by the drill, as `--yes` answers it in a drill; `manual: done` confirms.
`drill history NAME` of a drill not in the file is exit 2, like `drill run NAME`."""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
from rbtest import Workdir, check, done, eq, run  # noqa: E402

RUNBOOK = """runbook: drill-answers
title: Drill answers
objectives: { rto: 10m }
steps:
  fix:
    manual: { instructions: "Fix it", confirm: "Done?" }
    next: gate
  gate:
    approval: { prompt: "Promote?", second_person: true }
    next: done
    on_reject: rejected
  done:
    end: recovered
  rejected:
    end: failed
"""

DRILLS = """- name: rejects
  runbook: rb.yaml
  schedule: "0 3 * * 1"
  setup:
    shell: touch injected
  teardown:
    shell: rm -f injected
  answers:
    fix: done
    gate: no
- name: approves
  runbook: rb.yaml
  schedule: "0 4 * * 1"
  answers:
    gate: yes
"""


def answers_of(wd, run_id):
    p = run(["--store", wd.store, "timeline", run_id, "--json"])
    eq(p.returncode, 0, f"timeline {run_id}: {p.err}")
    out = {}
    for line in p.out.splitlines():
        line = line.strip()
        if not line:
            continue
        items = json.loads(line)
        for e in items if isinstance(items, list) else [items]:
            if e["type"] == "approval.answered":
                out[e["step"]] = e["data"]
    return out


def main():
    with Workdir() as wd:
        wd.file("rb.yaml", RUNBOOK)
        drills = wd.file("drills.yaml", DRILLS)
        p = run(["--store", wd.store, "--json", "drill", "run", "rejects", "--drills", drills], cwd=wd.path)
        eq(p.returncode, 1, f"a drill answered 'no' ends failed (exit 1): {p.out[-800:]} {p.err[-400:]}")
        rec = json.loads(p.out.strip().splitlines()[-1])
        eq(rec.get("status"), "failed", "the rejection took on_reject to the failed end")
        check("refused" not in p.out + p.err, f"no answer of the drills file was refused: {p.out[-600:]}")
        got = answers_of(wd, rec["run"])
        eq(got.get("gate", {}).get("approved"), False, "gate: answered no, from the drills file")
        eq(got.get("gate", {}).get("by"), "drill", "gate: answered by the drill")
        eq(got.get("fix", {}).get("confirmed"), True, "fix: manual step confirmed 'done'")
        check(not os.path.exists(os.path.join(wd.path, "injected")), "teardown ran")

        p = run(["--store", wd.store, "--json", "drill", "run", "approves", "--drills", drills], cwd=wd.path)
        eq(p.returncode, 0, f"a drill answered 'yes' passes: {p.out[-800:]} {p.err[-400:]}")
        rec = json.loads(p.out.strip().splitlines()[-1])
        got = answers_of(wd, rec["run"])
        eq(got.get("gate", {}).get("approved"), True, "gate: a second-person approval answered yes by the drill")

        p = run(["--store", wd.store, "drill", "history", "nope", "--drills", drills], cwd=wd.path)
        eq(p.returncode, 2, "history of a drill not in the file: exit 2")
        check("no drill 'nope'" in p.err, f"history: names the drill: {p.err}")
        p = run(["--store", wd.store, "drill", "history", "approves", "--drills", drills], cwd=wd.path)
        eq(p.returncode, 0, "history of a known drill: exit 0")
        check("1 passed" in p.out, f"history: the scorecard: {p.out}")
        # Each step's time, every step (not only the slowest few): a runbook of 5 steps.
        five = "runbook: five\ntitle: Five\nobjectives: { rto: 1m }\nsteps:\n" + "".join(
            f"  s{i}:\n    shell: 'true'\n    next: s{i + 1}\n" for i in range(1, 5)) + "  s5:\n    shell: 'true'\n"
        wd.file("five.yaml", five)
        d5 = wd.file("d5.yaml", "- name: five\n  runbook: five.yaml\n  schedule: '0 3 * * *'\n")
        for _ in range(2):
            eq(run(["--store", wd.store, "drill", "run", "five", "--drills", d5], cwd=wd.path).returncode, 0, "five: passes")
        p = run(["--store", wd.store, "drill", "history", "five", "--drills", d5], cwd=wd.path)
        rows = [ln.split() for ln in p.out.splitlines() if ln.startswith("    s") and "median" in ln]
        eq(sorted(r[0] for r in rows), ["s1", "s2", "s3", "s4", "s5"], f"history: every step's time: {p.out}")
        check(all(len(r) == 5 for r in rows), f"history: two drills' times and the median per step: {rows}")


main()
done()
