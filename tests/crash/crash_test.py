#!/usr/bin/python3
"""Crash test: a 50-step runbook whose every step appends to a side-effect file; the engine
is killed with SIGKILL at N random moments (some exactly between an action and the commit
of its outcome, through RUNBOOK_TEST_KILL_AFTER_ACTION), and resumed each time until the
run ends. Then: every non-idempotent step ran at most once, every step completed exactly
once in the timeline, seq has no gap and no duplicate, and the RTO clock's start never moved.

  crash_test.py [--kills N] [--store sqlite|postgres] [--seed S]
"""
import argparse
import json
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
import rbtest  # noqa: E402
from rbtest import Workdir, check, done, eq  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--kills", type=int, default=100)
ap.add_argument("--store", default="sqlite")
ap.add_argument("--seed", type=int, default=None)
args = ap.parse_args()
seed = args.seed if args.seed is not None else random.randrange(1 << 30)
rnd = random.Random(seed)
print(f"crash test: {args.kills} kills, {args.store} store, seed {seed}")

N = 50
NON_IDEMPOTENT = {i for i in range(N) if i % 5 == 4}
VERIFY_FIRST = {i for i in range(N) if i % 7 == 6 and i not in NON_IDEMPOTENT}


def book():
    out = ["runbook: crash\ntitle: Crash test\nobjectives: { rto: 1h }\nsteps:"]
    for i in range(N):
        nxt = f"s{i + 1}" if i + 1 < N else "done"
        s = f"  s{i}:\n    shell: echo s{i} >> effects.log; sleep 0.01\n    next: {nxt}\n"
        if i in NON_IDEMPOTENT:
            s += "    idempotent: false\n"
        if i in VERIFY_FIRST:
            s += f"    idempotent: verify-first\n    verify:\n      - shell: grep -qx s{i} effects.log\n"
        out.append(s.rstrip("\n"))
    out.append("  done:\n    end: recovered")
    return "\n".join(out) + "\n"


with Workdir() as wd:
    if args.store == "postgres":
        base = os.environ.get("RUNBOOK_TEST_PG_URL")
        if not base:
            rbtest.skip("RUNBOOK_TEST_PG_URL is not set")
        db = "crash_" + uuid.uuid4().hex[:8]
        subprocess.run(["psql", base, "-qc", f"CREATE DATABASE {db}"], check=True)
        store = base.rsplit("/", 1)[0] + "/" + db
    else:
        store = wd.store
    wd.file("crash.yaml", book())
    env = dict(os.environ, RUNBOOK_LEASE_TTL_MS="300")
    incident = "INC-CRASH-" + uuid.uuid4().hex[:6]

    def effects():
        p = os.path.join(wd.path, "effects.log")
        return open(p).read().split() if os.path.exists(p) else []

    def run_id():
        p = rbtest.run(["--json", "--store", store, "runs", "--limit", "50"], cwd=wd.path, env=env)
        for r in json.loads(p.out or "[]"):
            if r["incident"] == incident:
                return r["id"]
        return None

    def start(cmd, extra_env=None):
        e = dict(env, **(extra_env or {}))
        return subprocess.Popen([rbtest.BIN, "--store", store] + cmd, cwd=wd.path, env=e, stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def resume_cmd(rid):
        # An operator answers an interrupted non-idempotent step by looking at its effect.
        st = json.loads(rbtest.run(["--json", "--store", store, "status", rid], cwd=wd.path, env=env).out)
        cmd = ["resume", rid]
        step = st.get("current_step")
        if step and st.get("current_step_state") == "running":
            cmd += ["--answer", f"{step}={'done' if step in effects() else 'yes'}"]
        return cmd

    kills = hooked = 0
    proc = None
    rid = None
    ended = False
    attempts = 0
    while not ended and attempts < args.kills * 20 + 200:
        attempts += 1
        if rid is None:
            cmd = ["run", "crash.yaml", "--incident", incident]
        else:
            cmd = resume_cmd(rid)
        want_kill = kills < args.kills
        extra = {}
        # Spread the kills so that all of them land before the 50 steps are through.
        if want_kill and rnd.random() < 0.2:
            extra["RUNBOOK_TEST_KILL_AFTER_ACTION"] = str(rnd.randint(1, 2))
        proc = start(cmd, extra)
        if want_kill and not extra:
            time.sleep(rnd.uniform(0.0, min(0.25, 2.5 / args.kills)))
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
        proc.wait()
        err = proc.stderr.read().decode()
        if proc.returncode == -signal.SIGKILL:
            kills += 1
            hooked += bool(extra)
        rid = rid or run_id()
        if rid:
            info = rbtest.run(["--json", "--store", store, "status", rid], cwd=wd.path, env=env)
            ended = json.loads(info.out)["status"] != "running"
        if not ended and proc.returncode not in (-signal.SIGKILL, 0):
            # Refused (lease still live, a survivor still running): wait and try again.
            time.sleep(0.35)
    print(f"kills: {kills} ({hooked} between an action and its commit), engine starts: {attempts}")
    check(ended, "the run ended")
    check(kills >= min(args.kills, 1), f"the engine was killed {kills} times")

    info = json.loads(rbtest.run(["--json", "--store", store, "status", rid], cwd=wd.path, env=env).out)
    eq(info["status"], "recovered", "the run recovered")
    tl = rbtest.run(["--json", "--store", store, "timeline", rid], cwd=wd.path, env=env)
    events = [json.loads(l) for l in tl.out.splitlines() if l.strip()]
    eq([e["seq"] for e in events], list(range(1, len(events) + 1)), "seq has no gap and no duplicate")
    done_count = Counter(e["step"] for e in events if e["type"] == "step.succeeded")
    eq({f"s{i}": done_count.get(f"s{i}", 0) for i in range(N)}, {f"s{i}": 1 for i in range(N)},
       "every step completed exactly once in the timeline")
    eff = Counter(effects())
    for i in NON_IDEMPOTENT:
        check(eff.get(f"s{i}", 0) <= 1, f"non-idempotent s{i} ran at most once (ran {eff.get(f's{i}', 0)} times)")
    for i in range(N):
        check(eff.get(f"s{i}", 0) >= 1 or any(e["type"] == "step.confirmed" and e["step"] == f"s{i}" for e in events),
              f"s{i} took effect")
    starts = {e["data"]["incident_start"] for e in events if e["type"] == "run.started"}
    eq(len(starts), 1, "one run.started")
    eq(info["incident_start"], starts.pop(), "the RTO clock's start never moved")
    resumed = [e for e in events if e["type"] == "run.resumed"]
    check(len(resumed) >= 1, f"the run was resumed ({len(resumed)} times)")
    epochs = [e["data"]["epoch"] for e in resumed]
    eq(epochs, sorted(epochs), "each takeover raised the lease epoch")
    t = [e["t"] for e in events]
    eq(t, sorted(t), "t never goes backwards")
    print(f"timeline: {len(events)} events, {len(resumed)} resumes, effects {sum(eff.values())} for {N} steps")
done()
