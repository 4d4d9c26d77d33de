#!/usr/bin/python3
"""Executor flow against real processes: choose, retries with exponential backoff (delays
measured on the timeline), timeouts and on_timeout, continue_on_failure, rollbacks
newest-first, parallel with cancel-on-first-failure, outputs feeding later steps."""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
from rbtest import Workdir, check, done, eq, run_runbook  # noqa: E402
import datetime as dt  # noqa: E402


def rbtest_run_bad_start(wd):
    import rbtest
    return rbtest.run(["--store", wd.store, "run", "clock.yaml", "--incident-start", "2099-01-01T00:00:00Z"],
                      cwd=wd.path).returncode


def ts(e):
    return dt.datetime.strptime(e["ts"], "%Y-%m-%dT%H:%M:%S.%fZ").timestamp()


with Workdir() as wd:
    # Branching: the first `when` that holds wins; outputs feed the condition.
    wd.file("branch.yaml", """
runbook: branch
title: Branching
steps:
  count:
    shell: echo 7
    outputs: { n: int(result.stdout) }
    choose:
      - when: steps.count.outputs.n > 10
        next: big
      - when: steps.count.outputs.n > 5
        next: medium
      - next: small
  big: { end: failed }
  medium:
    shell: echo medium
    next: done
  small: { end: failed }
  done: { end: recovered }
""")
    r = run_runbook(wd, "branch.yaml")
    eq(r.code, 0, "branch: exit code")
    eq([e["data"]["to"] for e in r.of("transition")], ["medium", "done"], "branch: path")
    eq(r.of("transition")[0]["data"]["via"], "choose[1]", "branch: via")

    # Retries: fails twice, passes on the third attempt; delays 300ms then 600ms.
    wd.file("retry.yaml", """
runbook: retry
title: Retry with backoff
steps:
  flaky:
    shell: |
      n=$(cat count 2>/dev/null || echo 0); n=$((n + 1)); echo $n > count
      [ $n -ge 3 ]
    retry: { attempts: 4, delay: 300ms, backoff: 2 }
    next: done
  done: { end: recovered }
""")
    r = run_runbook(wd, "retry.yaml")
    eq(r.code, 0, "retry: exit code")
    eq(len(r.of("step.started", "flaky")), 3, "retry: three attempts")
    eq([e["data"]["delay_ms"] for e in r.of("step.retrying")], [300, 600], "retry: backoff delays")
    starts = r.of("step.started", "flaky")
    fails = r.of("step.attempt_failed", "flaky")
    for i, want in enumerate([0.3, 0.6]):
        gap = ts(starts[i + 1]) - ts(fails[i])
        check(want - 0.02 <= gap <= want + 0.5, f"retry: measured delay {i + 1} is {gap:.3f}s, want ~{want}s")
    eq([e["attempt"] for e in starts], [1, 2, 3], "retry: attempt numbers")
    eq(r.of("step.succeeded", "flaky")[0]["data"]["attempts"], 3, "retry: attempts recorded")

    # Timeouts: each attempt is cut at 300ms; after the last one on_timeout decides.
    wd.file("timeout.yaml", """
runbook: timeout
title: Timeout
steps:
  slow:
    shell: sleep 30
    timeout: 300ms
    retry: { attempts: 2, delay: 100ms }
    on_timeout: handle
    on_failure: broken
    next: done
  handle:
    shell: echo handled
    next: done
  broken: { end: failed }
  done: { end: recovered }
""")
    t0 = time.time()
    r = run_runbook(wd, "timeout.yaml")
    took = time.time() - t0
    eq(r.code, 0, "timeout: exit code")
    eq(len(r.of("step.timed_out", "slow")), 1, "timeout: step.timed_out once (final attempt)")
    eq(len(r.of("step.attempt_failed", "slow")), 1, "timeout: first attempt failed and retried")
    eq(r.of("transition", "slow")[0]["data"]["via"], "on_timeout", "timeout: on_timeout taken")
    check(took < 3, f"timeout: run took {took:.2f}s")

    # continue_on_failure: the failure is recorded and the run goes on.
    wd.file("cont.yaml", """
runbook: cont
title: Continue on failure
steps:
  optional:
    shell: exit 3
    continue_on_failure: true
    next: after
  after:
    shell: echo after
    next: done
  done: { end: recovered }
""")
    r = run_runbook(wd, "cont.yaml")
    eq(r.code, 0, "continue: exit code")
    eq(len(r.of("step.failed", "optional")), 1, "continue: failure recorded")
    eq(r.of("transition", "optional")[0]["data"]["via"], "continue_on_failure", "continue: via")
    eq(len(r.of("step.succeeded", "after")), 1, "continue: next step ran")

    # Rollbacks run newest-first when the run fails.
    wd.file("rollback.yaml", """
runbook: rollback
title: Rollback order
steps:
  a:
    shell: echo a >> done.log
    rollback: { shell: echo undo-a >> undo.log }
    next: b
  b:
    shell: echo b >> done.log
    rollback: { shell: echo undo-b >> undo.log }
    next: c
  c:
    shell: echo c >> done.log
    rollback: { shell: echo undo-c >> undo.log }
    next: boom
  boom:
    shell: exit 1
    next: done
  done: { end: recovered }
""")
    r = run_runbook(wd, "rollback.yaml")
    eq(r.code, 1, "rollback: exit code (failed)")
    eq(open(os.path.join(wd.path, "undo.log")).read().split(), ["undo-c", "undo-b", "undo-a"], "rollback: order")
    eq([e["step"] for e in r.of("rollback.started")], ["c", "b", "a"], "rollback: events")
    eq(r.ended(), "failed", "rollback: run.ended failed")
    check(r.types()[-1] == "run.ended", "rollback: run.ended is last")

    # Parallel: one branch fails fast, the slow ones are cancelled (their processes die).
    wd.file("parallel.yaml", """
runbook: parallel
title: Parallel cancel
steps:
  fan:
    parallel:
      - shell: sleep 30
      - shell: sleep 30
      - { name: quick-fail, shell: "sleep 0.2; exit 4" }
    next: done
  done: { end: recovered }
""")
    t0 = time.time()
    r = run_runbook(wd, "parallel.yaml")
    took = time.time() - t0
    eq(r.code, 1, "parallel: exit code")
    check(took < 5, f"parallel: cancelled quickly ({took:.2f}s)")
    err = r.of("step.failed", "fan")[0]["data"]["error"]
    check("quick-fail" in err, f"parallel: error names the failed branch ({err})")

    # Parallel success with max_concurrency: 4 branches of 0.3s, 2 at a time: ~0.6s.
    wd.file("parallel-ok.yaml", """
runbook: parallel-ok
title: Parallel
steps:
  fan:
    parallel:
      - shell: sleep 0.3; echo 1
      - shell: sleep 0.3; echo 2
      - shell: sleep 0.3; echo 3
      - shell: sleep 0.3; echo 4
    max_concurrency: 2
    outputs:
      n: len(result.branches)
      second: trim(result.branches[1].stdout)
    next: done
  done: { end: recovered }
""")
    t0 = time.time()
    r = run_runbook(wd, "parallel-ok.yaml")
    took = time.time() - t0
    eq(r.code, 0, "parallel-ok: exit code")
    eq(r.of("step.succeeded", "fan")[0]["data"]["outputs"], {"n": 4, "second": "2"}, "parallel-ok: outputs")
    d = r.of("step.succeeded", "fan")[0]["data"]["duration_ms"]
    check(550 <= d < 2000, f"parallel-ok: max_concurrency 2 took {d} ms")

    # Verify gates poll within/interval until they hold.
    wd.file("gate.yaml", """
runbook: gate
title: Gate polling
steps:
  start-later:
    shell: (sleep 0.6; touch ready) > /dev/null 2>&1 &
    verify:
      - name: ready file appears
        shell: test -f ready
        within: 5s
        interval: 100ms
    next: never-ready
  never-ready:
    shell: "true"
    verify:
      - name: impossible
        shell: test -f nope
        within: 300ms
        interval: 100ms
    next: done
  done: { end: recovered }
""")
    r = run_runbook(wd, "gate.yaml")
    eq(r.code, 1, "gate: exit code")
    eq(len(r.of("check.passed", "start-later")), 1, "gate: polling until it holds")
    waited = r.of("check.passed", "start-later")[0]["data"]["elapsed_ms"]
    check(500 <= waited < 3000, f"gate: waited {waited} ms for the file")
    f = r.of("check.failed", "never-ready")
    eq(len(f), 1, "gate: failing gate recorded once")
    check(300 <= f[0]["data"]["elapsed_ms"] < 2000, f"gate: gave up after within ({f[0]['data']['elapsed_ms']} ms)")
    eq(r.of("step.failed", "never-ready")[0]["data"]["error"].startswith("gate 'impossible' failed"), True,
       "gate: step error names the gate")

    # wait: for and until
    wd.file("wait.yaml", """
runbook: wait
title: Wait
steps:
  pause:
    wait: { for: 300ms }
    next: until
  until:
    wait:
      until:
        shell: test -f flag
      interval: 100ms
    timeout: 5s
    next: done
  done: { end: recovered }
""")
    # The RTO clock: over budget, 80% warning, breach; the run continues (recovery still
    # matters) unless on_breach: abort; --incident-start moves the clock's start back.
    clock = '''
runbook: clock
title: The RTO clock
objectives: {{ rto: 1s{extra} }}
steps:
  slow:
    shell: sleep 1.5
    budget: 200ms
    next: done
  done: {{ end: recovered }}
'''
    wd.file("clock.yaml", clock.format(extra=""))
    r = run_runbook(wd, "clock.yaml")
    eq(r.code, 0, "rto: the run goes on after a breach")
    types = r.types()
    check(types.index("step.over_budget") < types.index("rto.warning") < types.index("rto.breached") < types.index("step.succeeded"),
          f"rto: over budget, then 80%, then breached ({types})")
    w = r.of("rto.warning")[0]["data"]
    check(780 <= w["elapsed_ms"] <= 1300 and w["rto_ms"] == 1000, f"rto: warning at 80% ({w})")
    eq(r.of("run.ended")[0]["data"]["rto"]["met"], False, "rto: recorded as missed")
    wd.file("clock-abort.yaml", clock.format(extra=", on_breach: abort"))
    r = run_runbook(wd, "clock-abort.yaml")
    eq(r.code, 3, "rto: on_breach abort ends the run aborted (exit 3)")
    check("RTO breached" in r.of("run.ended")[0]["data"]["reason"], "rto: the reason says why")
    wd.file("clock-long.yaml", clock.format(extra="").replace("rto: 1s", "rto: 1h").replace("sleep 1.5", "true"))
    import datetime as dt2
    start = (dt2.datetime.now(dt2.timezone.utc) - dt2.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    r = run_runbook(wd, "clock-long.yaml", "--incident-start", start)
    eq(r.types()[:3], ["run.started", "rto.warning", "rto.breached"], "--incident-start: the clock began 2h ago")
    check(r.of("run.ended")[0]["data"]["rto"]["elapsed_ms"] >= 7_200_000, "--incident-start: RTO measured from it")
    eq(rbtest_run_bad_start(wd), 2, "--incident-start in the future: exit 2")

    import subprocess
    subprocess.Popen(["sh", "-c", f"sleep 0.8; touch {wd.path}/flag"])
    r = run_runbook(wd, "wait.yaml")
    eq(r.code, 0, "wait: exit code")
    d = r.of("step.succeeded", "pause")[0]["data"]["duration_ms"]
    check(290 <= d < 1000, f"wait.for took {d} ms")
done()
