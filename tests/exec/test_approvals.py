#!/usr/bin/python3
"""Approvals and manual steps: --answer, --yes, second-person refusal (case-insensitive,
yes or no), rejection (on_reject), a manual "no" fails the step, unanswered by timeout,
who answered recorded, and `runbook approve` from another process answering a waiting
run within a second (contract §1, §3 v2)."""
import json
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
    wd.file("second-short.yaml", BOOK.format(second="true", timeout="1s"))

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

    # second_person: the operator's own answer is refused (the approval then waits for a
    # second person until its timeout); another person's is taken.
    r = run_runbook(wd, "second-short.yaml", "--operator", "alice", "--answer", "approve=yes", "--answer", "confirm=done")
    eq(r.code, 3, "second person: operator's own answer refused -> unanswered -> on_reject")
    refused = r.of("approval.refused", "approve")
    eq(len(refused), 1, "second person: refusal recorded")
    check("second person" in refused[0]["data"]["reason"], "second person: refusal says why")
    r = run_runbook(wd, "second.yaml", "--operator", "alice", "--answer", "approve=yes@bob", "--answer", "confirm=done")
    eq(r.code, 0, "second person: bob approves")
    eq(r.of("approval.answered", "approve")[0]["data"]["by"], "bob", "second person: approver recorded")
    # --yes is not a second person outside a drill; in a drill it is.
    r = run_runbook(wd, "second-short.yaml", "--operator", "alice", "--yes")
    eq(r.code, 3, "second person: --yes refused outside a drill")
    r = run_runbook(wd, "second-short.yaml", "--operator", "alice", "--answer", "approve=yes@ALICE", "--answer",
                    "confirm=done")
    eq(r.code, 3, "second person: the operator's name in another case is the operator")
    r = run_runbook(wd, "second.yaml", "--operator", "alice", "--yes", "--drill")
    eq(r.code, 0, "second person: --yes in a drill")

    # A manual step answered "no" is not done: the step fails (no on_reject, no on_failure:
    # the run ends failed, never "recovered").
    r = run_runbook(wd, "plain.yaml", "--answer", "approve=yes", "--answer", "confirm=no")
    eq(r.code, 1, "manual no: the run fails")
    eq(r.ended(), "failed", "manual no: not recovered")

    # No answer given and no terminal: the approval waits for `runbook approve` from anywhere
    # that reaches the store, until its timeout.
    def waiting_run(book, step, *args):
        p = subprocess.Popen([rbtest.BIN, "--json", "--store", wd.store, "run", book, "--operator", "alice"] + list(args),
                             cwd=wd.path, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        rid = None
        for line in iter(p.stdout.readline, b""):
            e = json.loads(line)
            rid = rid or e["data"].get("run")
            if e["type"] == "approval.requested" and e.get("step") == step:
                return p, rid
        return p, rid

    p, rid = waiting_run("second.yaml", "approve", "--answer", "confirm=done")
    own = rbtest.run(["--store", wd.store, "approve", rid, "approve", "yes", "--as", "ALICE"], cwd=wd.path)
    eq(own.returncode, 2, "approve: the operator's own identity (any case) is refused")
    check("second person" in own.err, f"approve: the refusal says why ({own.err.strip()})")
    own_no = rbtest.run(["--store", wd.store, "approve", rid, "approve", "no", "--as", "Alice"], cwd=wd.path)
    eq(own_no.returncode, 2, "approve: the operator cannot answer no either")
    other = rbtest.run(["--store", wd.store, "approve", rid, "confirm", "done", "--as", "bob"], cwd=wd.path)
    eq(other.returncode, 2, "approve: a step that is not waiting is refused")
    t0 = time.time()
    ok = rbtest.run(["--store", wd.store, "approve", rid, "approve", "yes", "--as", "bob", "--comment", "checked"],
                    cwd=wd.path)
    eq(ok.returncode, 0, f"approve: bob's answer recorded ({ok.err.strip()})")
    answered_at = None
    out = b""
    for line in iter(p.stdout.readline, b""):
        out += line
        if json.loads(line)["type"] == "approval.answered" and answered_at is None:
            answered_at = time.time() - t0
    p.wait(timeout=30)
    p.out, p.err = out.decode(), p.stderr.read().decode()
    r = Run(p)
    print(f"approve from another process: the run continued {answered_at:.3f}s after `runbook approve` returned",
          flush=True)
    eq(r.code, 0, "approve: the run goes on and recovers")
    check(answered_at is not None and answered_at < 1.0, f"approve: taken within 1 s ({answered_at})")
    a = r.of("approval.answered", "approve")
    check(a and a[0]["data"]["by"] == "bob" and a[0]["data"]["via"] == "approve" and a[0]["data"].get("comment") == "checked",
          f"approve: who, how and the comment recorded ({a})")

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
