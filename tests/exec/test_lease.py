#!/usr/bin/python3
"""One engine per incident: 50 concurrent starts of one incident (exactly one runs, the
others exit 4 naming the holder); kill -9 of the holder, then resume by another process;
a stale holder (SIGSTOP past its lease, SIGCONT after a takeover) stops without writing;
a store write failure (disk full, injected behind the store interface) stops the engine
with exit 4, and resume after the space is back continues correctly."""
import json
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
import rbtest  # noqa: E402
from rbtest import Run, Workdir, check, done, eq  # noqa: E402

with Workdir() as wd:
    env = dict(os.environ, RUNBOOK_LEASE_TTL_MS="2000")
    wd.file("slow.yaml", """
runbook: slow
title: Slow
steps:
  one:
    shell: sleep 1.5; echo one >> effects.log
    next: hold
  hold:
    shell: test -n "$HOLD" && sleep "$HOLD" || true
    env: { HOLD: "${{ env.HOLD }}" }
    next: two
  two:
    shell: echo two >> effects.log
    next: done
  done: { end: recovered }
""")
    # The holder keeps the incident long enough that all 50 contenders try while it runs,
    # even on a slow (sanitizer) build.
    procs = [subprocess.Popen([rbtest.BIN, "--store", wd.store, "run", "slow.yaml", "--incident", "INC-LOCK-1"],
                              cwd=wd.path, env=dict(env, HOLD="6"), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE) for _ in range(50)]
    results = [(p.wait(timeout=120), p.stdout.read().decode(), p.stderr.read().decode()) for p in procs]
    codes = [c for c, _, _ in results]
    eq(codes.count(0), 1, "50 starts: exactly one ran")
    eq(codes.count(4), 49, "50 starts: the others exit 4")
    refusals = [e for c, _, e in results if c == 4]
    check(all("held by" in e and "pid" in e for e in refusals), f"refusals name the holder: {refusals[0].strip()}")
    runs = json.loads(rbtest.run(["--json", "--store", wd.store, "runs"], cwd=wd.path).out)
    eq(len([r for r in runs if r["incident"] == "INC-LOCK-1"]), 1, "50 starts: one run recorded")

    # kill -9 the holder mid-step; another process resumes once the lease expired.
    p = subprocess.Popen([rbtest.BIN, "--store", wd.store, "run", "slow.yaml", "--incident", "INC-LOCK-2"],
                         cwd=wd.path, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    p.send_signal(signal.SIGKILL)
    p.wait()
    rid = [r for r in json.loads(rbtest.run(["--json", "--store", wd.store, "runs"], cwd=wd.path).out)
           if r["incident"] == "INC-LOCK-2"][0]["id"]
    early = rbtest.run(["--store", wd.store, "resume", rid], cwd=wd.path, env=env)
    eq(early.returncode, 4, "resume while the dead holder's lease is live: refused")
    check("held by" in early.err, f"resume refusal names the holder ({early.err.strip()})")
    time.sleep(2.6)  # the lease expires and the interrupted `sleep` is gone
    r = Run(rbtest.run(["--json", "--store", wd.store, "resume", rid], cwd=wd.path, env=env))
    eq(r.code, 0, f"resume after the holder died: exit code ({r.proc.err.strip()})")
    eq(r.of("run.resumed")[0]["data"]["epoch"], 2, "takeover with a higher epoch")
    again = rbtest.run(["--store", wd.store, "runs", "--json"], cwd=wd.path)
    eq([x["status"] for x in json.loads(again.out) if x["id"] == rid], ["recovered"], "resumed run recovered")

    # A survivor of an interrupted attempt: the engine is killed while its step's process
    # runs on; resume refuses to run the step beside it, naming it.
    wd.file("survivor.yaml", "runbook: survivor\ntitle: Survivor\nsteps:\n  long:\n    shell: sleep 4; echo done >> long.log\n"
                             "    next: done\n  done: { end: recovered }\n")
    p = subprocess.Popen([rbtest.BIN, "--store", wd.store, "run", "survivor.yaml", "--incident", "INC-SURVIVOR"],
                         cwd=wd.path, env=dict(env, RUNBOOK_LEASE_TTL_MS="300"), stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.2)
    p.send_signal(signal.SIGKILL)
    p.wait()
    time.sleep(0.5)  # the lease (300 ms) expired; the step's `sleep 4` still runs
    rid = [x for x in json.loads(rbtest.run(["--json", "--store", wd.store, "runs"], cwd=wd.path).out)
           if x["incident"] == "INC-SURVIVOR"][0]["id"]
    early = rbtest.run(["--store", wd.store, "resume", rid], cwd=wd.path, env=env)
    eq(early.returncode, 4, f"survivor: resume refused ({early.err.strip()})")
    check("still has processes" in early.err and "sleep 4" in early.err, "survivor: the refusal names the process")
    time.sleep(4)
    r = Run(rbtest.run(["--json", "--store", wd.store, "resume", rid], cwd=wd.path, env=env))
    eq(r.code, 0, f"survivor: resume once it is gone ({r.proc.err.strip()})")

    # A stale holder: stopped past its lease, taken over, continued: it must not write.
    wd.file("stale.yaml", """
runbook: stale
title: Stale
steps:
  wait-a-bit:
    shell: sleep 1
    next: mark
  mark:
    shell: echo stale-wrote >> stale.log
    next: done
  done: { end: recovered }
""")
    a = subprocess.Popen([rbtest.BIN, "--json", "--store", wd.store, "run", "stale.yaml", "--incident", "INC-STALE"],
                         cwd=wd.path, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    rid = None
    for _ in range(200):  # stop it once its run is under way
        found = [x for x in json.loads(rbtest.run(["--json", "--store", wd.store, "runs"], cwd=wd.path).out or "[]")
                 if x["incident"] == "INC-STALE"]
        if found:
            rid = found[0]["id"]
            break
        time.sleep(0.02)
    a.send_signal(signal.SIGSTOP)
    time.sleep(2.6)  # its lease (2 s) expires; its `sleep 1` ends meanwhile
    b = subprocess.Popen([rbtest.BIN, "--json", "--store", wd.store, "resume", rid], cwd=wd.path, env=env,
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(0.5)
    a.send_signal(signal.SIGCONT)
    a_out, a_err = a.communicate(timeout=60)
    b_out, b_err = b.communicate(timeout=60)
    eq(a.returncode, 4, f"stale holder: stops with exit 4 ({a_err.decode().strip()[-300:]})")
    check("lease" in a_err.decode(), "stale holder: says it lost the lease")
    eq(b.returncode, 0, f"new holder: finishes ({b_err.decode().strip()[-300:]})")
    lines = open(os.path.join(wd.path, "stale.log")).read().split() if os.path.exists(os.path.join(wd.path, "stale.log")) else []
    eq(lines, ["stale-wrote"], "the step after the takeover ran once, by the new holder")
    tl = [json.loads(l) for l in rbtest.run(["--json", "--store", wd.store, "timeline", rid], cwd=wd.path).out.splitlines()]
    eq([e["seq"] for e in tl], list(range(1, len(tl) + 1)), "stale holder: the timeline has no gap or duplicate")

    # Disk full: the N-th store write fails; the engine stops at once with exit 4.
    wd.file("disk.yaml", """
runbook: disk
title: Disk full
steps:
  a: { shell: echo a >> disk.log, next: b }
  b: { shell: echo b >> disk.log, next: c }
  c: { shell: echo c >> disk.log, next: d }
  d: { shell: echo d >> disk.log, next: done }
  done: { end: recovered }
""")
    p = rbtest.run(["--store", wd.store, "run", "disk.yaml", "--incident", "INC-DISK"], cwd=wd.path,
                   env=dict(env, RUNBOOK_TEST_STORE_FAIL_AFTER="8"))
    eq(p.returncode, 4, "disk full: exit 4")
    check("disk is full" in p.err and "engine stopped" in p.err, f"disk full: a clear error ({p.err.strip()[-200:]})")
    before = open(os.path.join(wd.path, "disk.log")).read().split()
    check(0 < len(before) < 4, f"disk full: it stopped part way and started nothing more ({before})")
    time.sleep(0.2)
    rid = [x for x in json.loads(rbtest.run(["--json", "--store", wd.store, "runs"], cwd=wd.path).out)
           if x["incident"] == "INC-DISK"][0]["id"]
    r = Run(rbtest.run(["--json", "--store", wd.store, "resume", rid], cwd=wd.path, env=env))
    eq(r.code, 0, f"disk full: resume after space is back ({r.proc.err.strip()})")
    after = open(os.path.join(wd.path, "disk.log")).read().split()
    eq(sorted(set(after)), ["a", "b", "c", "d"], "disk full: every step ran after the resume")
done()
