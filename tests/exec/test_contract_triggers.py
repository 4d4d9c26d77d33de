#!/usr/bin/python3
"""`runbook serve --triggers` (contract §7): a trigger's `answers` naming a second-person
approval is refused when the file is read (exit 2 at its FILE:LINE:COL), instead of
starting runs that wait forever without a word: the run's operator is the hook token
that posted the alert, so the trigger's own answer is refused by the second-person rule.
A manual step and an ordinary approval in `answers` are accepted."""
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
from rbtest import BIN, Workdir, check, done, eq  # noqa: E402

RUNBOOK = """runbook: gated
title: Gated
steps:
  fix:
    manual: { instructions: "Fix it" }
    next: plain
  plain:
    approval: { prompt: "Go?" }
    next: gate
  gate:
    approval: { prompt: "Promote?", second_person: true }
    next: done
  done:
    end: recovered
"""


def serve(wd, triggers):
    path = wd.file("triggers.yaml", triggers)
    p = subprocess.Popen([BIN, "--store", wd.store, "serve", "--listen", "127.0.0.1:0", "--runbooks", "rbs",
                          "--triggers", path], cwd=wd.path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = p.communicate(timeout=10)
        return p.returncode, err
    except subprocess.TimeoutExpired:
        p.terminate()
        out, err = p.communicate(timeout=20)
        return None, err


def main():
    with Workdir() as wd:
        wd.file("rbs/gated.yaml", RUNBOOK)
        trig = "triggers:\n  - name: t\n    match: {{ alertname: X }}\n    runbook: gated.yaml\n    answers: {{ {} }}\n"
        code, err = serve(wd, trig.format("fix: done, gate: yes"))
        eq(code, 2, "answers for a second-person approval: serve refuses the triggers file (exit 2)")
        check("triggers.yaml:5:" in err and "'gate' needs a second person" in err, f"FILE:LINE:COL and why: {err}")
        code, err = serve(wd, trig.format("fix: done, plain: yes"))
        eq(code, None, f"a manual step and an ordinary approval are accepted: serve starts ({err[-300:]})")


main()
done()
