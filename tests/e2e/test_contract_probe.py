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


def unknown_output_cases(wd):
    # An output of a step that did not run is unknown: a step error naming it, never an
    # empty string passed on to a command (`rm -rf "$DIR/"`). `&&` still guards it.
    wd.file("not-run.yaml", """
runbook: not-run
title: Output of a step that did not run
steps:
  decide:
    shell: "true"
    choose:
      - when: "false"
        next: find
      - next: guarded
  find:
    shell: echo /tmp/somewhere
    outputs: { dir: result.stdout }
    next: guarded
  guarded:
    shell: "true"
    choose:
      - when: steps.find.status == 'succeeded' && steps.find.outputs.dir != ''
        next: clean
      - next: clean
  clean:
    shell: echo "cleaning [$DIR]" > cleaned
    env: { DIR: "${{ steps.find.outputs.dir }}" }
    next: done
  done: { end: recovered }
""")
    r = run_runbook(wd, "not-run.yaml", timeout=20)
    eq(r.code, 1, "output of a step not run: exit 1 " + r.proc.err)
    failed = r.of("step.failed", "clean")
    check(failed and "step 'find' has not run" in failed[0]["data"]["error"],
          "output of a step not run: the step error names it: " + r.dump())
    eq(len(r.of("step.succeeded", "guarded")), 1, "output of a step not run: && guards the read")
    check(not os.path.exists(os.path.join(wd.path, "cleaned")), "output of a step not run: the command never ran")


def result_field_cases(wd):
    # `result` of a built-in action has the fields the contract lists: a typo is an
    # error at its FILE:LINE:COL (it was null, and the gate failed for no visible reason).
    wd.file("typo.yaml", """
runbook: typo
title: Result typos
steps:
  a:
    shell: "true"
    outputs: { code: result.exitcode }
    verify:
      - http: { url: "http://127.0.0.1:9/" }
        expect: result.status == 200 && result.json != null
    next: b
  b:
    parallel:
      - sql: { url: "sqlite:x.db", query: "SELECT 1 AS n" }
    outputs: { n: "result.branches[0].rows[0].n", bad: result.branch }
""")
    p = rbtest.run(["validate", "typo.yaml"], cwd=wd.path)
    eq(p.returncode, 2, "result typo: invalid")
    check("typo.yaml:7:22: the result of this shell action has no 'exitcode'" in p.err and "did you mean 'exit_code'" in p.err,
          "result typo: at its position with the fix: " + p.err)
    check("typo.yaml:15:56:" in p.err and "'branch'" in p.err, "result typo in a parallel step: " + p.err)
    eq(p.err.count("has no"), 2, "result typo: only the typos are reported")


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

    # The other duration parameters of actions take a duration input too: http `timeout`,
    # approval `timeout` (checked once rendered: a value that is not one fails the step).
    urls = rbtest.http_urls()
    if urls:
        wd.file("param-durations.yaml", """
runbook: param-durations
title: Duration inputs in action parameters
inputs:
  limit: { type: duration, default: 300ms }
  base: { default: "%s" }
steps:
  slow:
    http: { url: "${{ inputs.base }}/slow/3000", timeout: "${{ inputs.limit }}" }
    on_timeout: ask
    on_failure: broke
    next: ask
  ask:
    approval: { prompt: "go?", timeout: "${{ inputs.limit }}" }
    on_reject: done
    next: done
  broke: { end: failed }
  done: { end: recovered }
""" % urls["http"])
        r = run_runbook(wd, "param-durations.yaml", timeout=30)
        eq(r.code, 0, "duration params: exit code " + r.proc.err)
        # The request's own `timeout` is a timeout (contract §1: on_timeout), not a failure,
        # and it came from the input (300ms, the endpoint answers after 3s).
        t = r.of("step.timed_out", "slow")
        check(len(t) == 1 and t[0]["data"]["duration_ms"] < 2500, "http timeout: step.timed_out at 300ms: " + r.dump())
        a = r.of("approval.answered", "ask")
        check(a and a[0]["data"].get("timed_out") and "0.3s" in a[0]["data"].get("note", ""),
              "approval timeout from the input: unanswered after 0.3s")
        p = rbtest.run(["validate", "param-durations.yaml"], cwd=wd.path)
        check("on_timeout' but no 'timeout'" not in p.err, "http timeout: no warning about a missing timeout: " + p.err)
        eq([e["data"]["via"] for e in r.of("transition")], ["on_timeout", "on_reject"], "duration params: path")


def json_cases(wd):
    # `--json makes every command print JSON`: --dry-run too (nothing journaled, secrets
    # masked), and validate lists each problem with its line and column.
    wd.file("dry.yaml", """
runbook: dry
title: Dry run as JSON
objectives: { rto: 5m }
inputs:
  pw: { default: hunter2, secret: true }
steps:
  touch:
    budget: 1m
    shell: echo "$PW" > touched
    env: { PW: "${{ inputs.pw }}" }
    verify:
      - shell: test -f touched
    next: done
  done:
    end: recovered
""")
    p = rbtest.run(["--store", wd.store, "run", "dry.yaml", "--dry-run", "--json"], cwd=wd.path)
    eq(p.returncode, 0, "dry-run --json: exit code " + p.err)
    try:
        plan = json.loads(p.out)
    except ValueError:
        plan = {}
    check(plan.get("dry_run") is True, "dry-run --json: one JSON object: " + p.out[:200])
    eq([s["id"] for s in plan.get("steps", [])], ["touch", "done"], "dry-run --json: the path")
    eq(plan.get("steps", [{}])[0].get("budget_ms"), 60000, "dry-run --json: budgets")
    check("hunter2" not in p.out, "dry-run --json: secret masked")
    check(not os.path.exists(os.path.join(wd.path, "touched")), "dry-run --json: nothing executed")
    runs = rbtest.run(["--json", "--store", wd.store, "runs"], cwd=wd.path)
    eq([r["id"] for r in json.loads(runs.out or "[]") if r["runbook"] == "dry"], [], "dry-run --json: nothing journaled")

    wd.file("broken.yaml", "runbook: broken\ntitle: t\nsteps:\n  a:\n    shell: 'true'\n    next: nowhere\n")
    p = rbtest.run(["validate", "--json", "broken.yaml", "dry.yaml"], cwd=wd.path)
    eq(p.returncode, 2, "validate --json: exit 2")
    res = json.loads(p.out)
    eq([r["valid"] for r in res], [False, True], "validate --json: validity per file")
    errs = res[0].get("errors", [])
    check(errs and errs[0]["line"] == 6 and errs[0]["col"] == 11 and "nowhere" in errs[0]["message"],
          f"validate --json: the error with its position: {errs}")
    check("broken.yaml:6:11:" in p.err, "validate --json: FILE:LINE:COL on stderr too")


def cli_json_cases(wd):
    # Bool inputs take what people type (yes/no); `export --json` is the JSON report;
    # `abort --json` of a run a live engine drives prints one JSON object.
    wd.file("flag.yaml", """
runbook: flag
title: Bool input
inputs:
  force: { type: bool, default: false }
steps:
  show:
    shell: echo "force=$F"
    env: { F: "${{ inputs.force }}" }
    outputs: { out: result.stdout }
""")
    r = run_runbook(wd, "flag.yaml", "--input", "force=yes")
    eq(r.code, 0, "bool input yes: exit code " + r.proc.err)
    ok = r.of("step.succeeded", "show")
    eq(ok[0]["data"]["outputs"]["out"] if ok else None, "force=true\n", "bool input yes: true")
    p = rbtest.run(["--store", wd.store, "run", "flag.yaml", "--input", "force=maybe"], cwd=wd.path)
    eq(p.returncode, 2, "bool input maybe: exit 2")
    # A required input given empty (`--input db=$UNSET`) is exit 2 at the input's line,
    # nothing journaled; an input with a default may be set to "".
    wd.file("needs.yaml", """
runbook: needs
title: Required input
inputs:
  db: { description: the database }
  note: { default: "x" }
steps:
  show:
    shell: echo "$DB"
    env: { DB: "${{ inputs.db }}" }
""")
    before = len(json.loads(rbtest.run(["--json", "--store", wd.store, "runs", "--limit", "1000"], cwd=wd.path).out))
    for args in (["--input", "db="], ["--input", "db=  "]):
        p = rbtest.run(["--store", wd.store, "run", "needs.yaml"] + args, cwd=wd.path)
        eq(p.returncode, 2, f"required input given empty {args}: exit 2")
        check("needs.yaml:5:3:" in p.err and "given empty" in p.err, "required input given empty: says so: " + p.err)
    wd.file("empty-inputs.yaml", "db:\n")
    p = rbtest.run(["--store", wd.store, "run", "needs.yaml", "--inputs", "empty-inputs.yaml"], cwd=wd.path)
    eq(p.returncode, 2, "required input empty in the inputs file: exit 2")
    after = len(json.loads(rbtest.run(["--json", "--store", wd.store, "runs", "--limit", "1000"], cwd=wd.path).out))
    eq(after, before, "required input given empty: nothing journaled")
    r = run_runbook(wd, "needs.yaml", "--input", "db=sqlite:x.db", "--input", "note=")
    eq(r.code, 0, "an input with a default may be empty")
    p = rbtest.run(["--json", "--store", wd.store, "export", r.run_id], cwd=wd.path)
    eq(p.returncode, 0, "export --json: exit code")
    check(p.out.lstrip().startswith("{") and json.loads(p.out)["run"]["id"] == r.run_id, "export --json: JSON report")

    wd.file("hold.yaml", """
runbook: hold
title: Hold
steps:
  ask:
    approval: { prompt: "go?", timeout: 30s }
    next: done
  done: { end: recovered }
""")
    proc = subprocess.Popen([rbtest.BIN, "--json", "--store", wd.store, "run", "hold.yaml"], cwd=wd.path,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        rid = None
        for _ in range(50):
            e = json.loads(proc.stdout.readline().decode() or "{}")
            rid = rid or e.get("data", {}).get("run")
            if e.get("type") == "approval.requested":
                break
        st = json.loads(rbtest.run(["--json", "--store", wd.store, "status", rid], cwd=wd.path).out)
        w = st.get("waiting") or {}
        eq((w.get("step"), w.get("kind"), w.get("prompt"), w.get("answers")), ("ask", "approval", "go?", ["yes", "no"]),
           "status --json: what the run waits for")
        text = rbtest.run(["--store", wd.store, "status", rid], cwd=wd.path).out
        check(f"approve {rid} ask yes|no" in text, "status: how to answer: " + text)
        p = rbtest.run(["--json", "--store", wd.store, "abort", rid], cwd=wd.path, timeout=30)
        eq(p.returncode, 3, "abort --json: exit 3")
        try:
            v = json.loads(p.out)
        except ValueError:
            v = {}
        eq((v.get("run"), v.get("status")), (rid, "aborted"), "abort --json: one JSON object: " + p.out)
        proc.wait(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def status_cases(wd):
    # `status`: the RTO clock with its projected finish (elapsed + the budgets left on the
    # planned path); an interrupted run's clock keeps counting (resume continues it).
    wd.file("clock.yaml", """
runbook: clock
title: Clock
objectives: { rto: 10m }
steps:
  one:
    budget: 1m
    shell: "true"
    next: two
  two:
    budget: 2m
    shell: sleep 30
    next: three
  three:
    budget: 3m
    shell: "true"
    next: done
  done:
    end: recovered
""")
    proc = subprocess.Popen([rbtest.BIN, "--json", "--store", wd.store, "run", "clock.yaml"], cwd=wd.path,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        rid = None
        deadline = time.time() + 20
        while time.time() < deadline:
            line = proc.stdout.readline().decode()
            if not line:
                break
            e = json.loads(line)
            rid = rid or e["data"].get("run")
            if e["type"] == "step.started" and e["step"] == "two":
                break
        st = json.loads(rbtest.run(["--json", "--store", wd.store, "status", rid], cwd=wd.path).out)
        proj = st.get("rto_projected_ms")
        # two's 2m (less the moment it has run) + three's 3m, after the elapsed time.
        check(proj is not None and 290000 < proj <= 300000 + st["rto_elapsed_ms"],
              f"status --json: projected finish {proj}")
        eq(st.get("rto_projected_met"), True, "status --json: projected within the RTO")
        text = rbtest.run(["--store", wd.store, "status", rid], cwd=wd.path).out
        check("projected finish 5m" in text, "status: projected finish shown: " + text)
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    eq(proc.returncode, 3, "SIGINT: exit 3")
    first = json.loads(rbtest.run(["--json", "--store", wd.store, "status", rid], cwd=wd.path).out)
    time.sleep(1.2)
    st = json.loads(rbtest.run(["--json", "--store", wd.store, "status", rid], cwd=wd.path).out)
    eq(st["status"], "interrupted", "interrupted: status")
    eq(st["current_step_state"], "interrupted", "interrupted: the step's state")
    check(st["rto_elapsed_ms"] >= first["rto_elapsed_ms"] + 1000,
          f"interrupted: the clock keeps counting ({first['rto_elapsed_ms']} then {st['rto_elapsed_ms']})")
    eq(st.get("rto_met"), None, "interrupted: RTO met undecided")
    text = rbtest.run(["--store", wd.store, "status", rid], cwd=wd.path).out
    check("so far" in text and "at the end" not in text, "interrupted: status says the clock runs: " + text)
    row = json.loads(rbtest.run(["--json", "--store", wd.store, "runs"], cwd=wd.path).out)[0]
    check(row.get("started") == row["started_at"] and isinstance(row.get("duration_ms"), int),
          f"runs --json: started and duration_ms: {row}")
    eq(row.get("rto_met"), None, "runs --json: an interrupted run's RTO met is undecided")
    p = rbtest.run(["--store", wd.store, "abort", rid, "--no-rollback"], cwd=wd.path)
    eq(p.returncode, 3, "abort: exit 3")
    st = json.loads(rbtest.run(["--json", "--store", wd.store, "status", rid], cwd=wd.path).out)
    check(st["status"] == "aborted" and str(st.get("end_reason")).startswith("aborted by "),
          f"status of an ended run: how it ended: {st.get('end_reason')}")
    p = rbtest.run(["--store", wd.store, "abort", rid], cwd=wd.path)
    eq(p.returncode, 2, "abort of an ended run: exit 2")
    check("nothing to abort" in p.err, "abort of an ended run says so: " + p.err)


def approval_cases(wd):
    # An approval bounded by the step's `timeout` (not the action's): unanswered is
    # treated as rejected (on_reject), not as a failed step.
    wd.file("ask-timeout.yaml", """
runbook: ask-timeout
title: Unanswered approval
steps:
  ask:
    approval: { prompt: "Restore?" }
    timeout: 300ms
    next: done
    on_reject: declined
    on_failure: broke
  declined: { end: aborted }
  broke: { end: failed }
  done: { end: recovered }
""")
    r = run_runbook(wd, "ask-timeout.yaml", timeout=20)
    eq(r.code, 3, "approval step timeout: exit 3 (rejected path) " + r.proc.err)
    eq([e["data"]["via"] for e in r.of("transition")], ["on_reject"], "approval step timeout: via on_reject")
    eq(r.ended(), "aborted", "approval step timeout: run aborted")
    # `--answer ask=done` answers a manual step; for an approval it is a usage error
    # before anything runs (it used to be refused when reached, then wait its timeout).
    p = rbtest.run(["--store", wd.store, "run", "ask-timeout.yaml", "--answer", "ask=done"], cwd=wd.path, timeout=20)
    eq(p.returncode, 2, "--answer approval=done: exit 2")
    check("answer yes or no" in p.err, "--answer approval=done: says why: " + p.err)


with Workdir() as wd:
    approval_cases(wd)
    defaults_cases(wd)
    unknown_output_cases(wd)
    result_field_cases(wd)
    wait_cases(wd)
    json_cases(wd)
    cli_json_cases(wd)
    status_cases(wd)
done()
