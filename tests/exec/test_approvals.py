#!/usr/bin/python3
"""Approvals and manual steps: --answer, --yes, second-person refusal, rejection without
on_reject (aborted, exit 3), unanswered by timeout, who answered recorded."""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
import rbtest  # noqa: E402
from rbtest import Run, Workdir, check, done, eq, run_runbook  # noqa: E402

BOOK = """
runbook: approvals
title: Approvals
steps:
  approve:
    approval:
      prompt: Restore over live data?
      second_person: {second}
      timeout: {timeout}
    next: act
    on_reject: rejected
  act:
    shell: echo acted
    next: confirm
  confirm:
    manual:
      instructions: Check the dashboard
      confirm: Looks good?
    next: done
  rejected: {{ end: aborted }}
  done: {{ end: recovered }}
"""

with Workdir() as wd:
    wd.file("plain.yaml", BOOK.format(second="false", timeout="10m"))
    wd.file("second.yaml", BOOK.format(second="true", timeout="10m"))
    wd.file("short.yaml", BOOK.format(second="false", timeout="500ms"))

    r = run_runbook(wd, "plain.yaml", "--operator", "alice", "--answer", "approve=yes", "--answer", "confirm=done")
    eq(r.code, 0, "--answer: exit code")
    a = r.of("approval.answered", "approve")[0]["data"]
    eq((a["approved"], a["by"], a["via"]), (True, "alice", "--answer"), "--answer: who and how")
    eq(len(r.of("approval.requested")), 2, "--answer: both requests recorded")

    r = run_runbook(wd, "plain.yaml", "--yes")
    eq(r.code, 0, "--yes: exit code")
    eq(r.of("approval.answered", "confirm")[0]["data"]["via"], "--yes", "--yes: via")

    r = run_runbook(wd, "plain.yaml", "--answer", "approve=no", "--yes")
    eq(r.code, 3, "rejected: exit code (aborted via on_reject end)")
    eq(r.of("transition", "approve")[0]["data"]["via"], "on_reject", "rejected: on_reject taken")

    # second_person: the operator's own answer is refused; another person's is taken.
    r = run_runbook(wd, "second.yaml", "--operator", "alice", "--answer", "approve=yes", "--answer", "confirm=done")
    eq(r.code, 3, "second person: operator's own answer refused -> rejected")
    refused = r.of("approval.refused", "approve")
    eq(len(refused), 1, "second person: refusal recorded")
    check("second person" in refused[0]["data"]["reason"], "second person: refusal says why")
    r = run_runbook(wd, "second.yaml", "--operator", "alice", "--answer", "approve=yes@bob", "--answer", "confirm=done")
    eq(r.code, 0, "second person: bob approves")
    eq(r.of("approval.answered", "approve")[0]["data"]["by"], "bob", "second person: approver recorded")
    # --yes is not a second person outside a drill; in a drill it is.
    r = run_runbook(wd, "second.yaml", "--operator", "alice", "--yes")
    eq(r.code, 3, "second person: --yes refused outside a drill")
    r = run_runbook(wd, "second.yaml", "--operator", "alice", "--yes", "--drill")
    eq(r.code, 0, "second person: --yes in a drill")

    # No answer and no terminal: rejected at once, not after the timeout.
    t0 = time.time()
    r = run_runbook(wd, "plain.yaml")
    eq(r.code, 3, "no answer: exit code")
    check(time.time() - t0 < 5, "no answer: rejected without waiting")
    eq(r.of("approval.answered")[0]["data"]["answered"], False, "no answer: recorded as unanswered")

    # A person at stdin who never answers: rejected when the approval's timeout passes.
    p = subprocess.Popen([rbtest.BIN, "--json", "--store", wd.store, "run", "short.yaml"], cwd=wd.path,
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    t0 = time.time()
    out = p.stdout.read()  # stdin stays open and silent: nobody answers
    took = time.time() - t0
    p.stdin.close()
    p.wait(timeout=30)
    p.out, p.err = out.decode(), ""
    r = Run(p)
    eq(r.code, 3, "timeout: unanswered approval -> aborted")
    check(0.4 < took < 10, f"timeout: waited about the approval's timeout ({took:.2f}s)")
    check("unanswered" in r.of("approval.answered")[0]["data"].get("note", ""), "timeout: note says unanswered")

    # An answer typed at stdin.
    r = run_runbook(wd, "plain.yaml", "--operator", "carol", input="yes\ndone\n")
    eq(r.code, 0, "stdin answer: exit code")
    eq(r.of("approval.answered", "approve")[0]["data"]["via"], "stdin", "stdin answer: via")

    # --answer for a step that is not an approval is a usage error: exit 2, nothing runs.
    r = run_runbook(wd, "plain.yaml", "--answer", "act=yes")
    eq(r.code, 2, "bad --answer: exit 2")
    eq(r.events, [], "bad --answer: nothing journaled")
done()
