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

    # kill -9 the holder mid-step, then resume at once on the same machine (contract v2): the
    # dead engine's lease is taken over without waiting for it to expire (< 1 s), its
    # action that still ran is stopped first, and the step runs again exactly once.
    effects = os.path.join(wd.path, "effects.log")
    ones_before = open(effects).read().split().count("one") if os.path.exists(effects) else 0
    p = subprocess.Popen([rbtest.BIN, "--store", wd.store, "run", "slow.yaml", "--incident", "INC-LOCK-2"],
                         cwd=wd.path, env=dict(env, RUNBOOK_LEASE_TTL_MS="10000"), stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    p.send_signal(signal.SIGKILL)
    p.wait()
    rid = [r for r in json.loads(rbtest.run(["--json", "--store", wd.store, "runs"], cwd=wd.path).out)
           if r["incident"] == "INC-LOCK-2"][0]["id"]
    t0 = time.time()
    res = subprocess.Popen([rbtest.BIN, "--json", "--store", wd.store, "resume", rid], cwd=wd.path, env=env,
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    first = res.stdout.readline().decode()
    took = time.time() - t0
    out, err = res.communicate(timeout=60)
    res.out, res.err = first + out.decode(), err.decode()
    r = Run(res)
    print(f"kill -9 then resume: took over in {took:.2f}s", flush=True)
    eq(r.code, 0, f"resume after the holder died: exit code ({r.proc.err.strip()})")
    check(took < 1.0 + (3 if rbtest.SANITIZED else 0), f"resume took over at once ({took:.2f}s)")
    resumed = r.of("run.resumed")
    eq(resumed[0]["data"]["epoch"] if resumed else None, 2, "takeover with a higher epoch")
    check(resumed and any("sleep 1.5" in x for x in resumed[0]["data"].get("stopped", [])),
          f"the dead engine's action was stopped first ({resumed[0]['data'] if resumed else None})")
    eq(open(effects).read().split().count("one") - ones_before, 1, "the step's effect happened once")
    again = rbtest.run(["--store", wd.store, "runs", "--json"], cwd=wd.path)
    eq([x["status"] for x in json.loads(again.out) if x["id"] == rid], ["recovered"], "resumed run recovered")
    status = rbtest.run(["--store", wd.store, "status", rid], cwd=wd.path)
    check(status.returncode == 0, "status of the resumed run")

    # Markers never overlap: the engine is killed during a 5 s action that writes start/end
    # markers; an immediate resume stops that action before it runs the step again.
    wd.file("markers.yaml", "runbook: markers\ntitle: Markers\nsteps:\n  long:\n"
                            "    shell: echo \"start $$ $(date +%s.%N)\" >> markers.log; sleep 5; "
                            "echo \"end $$ $(date +%s.%N)\" >> markers.log\n"
                            "    next: done\n  done: { end: recovered }\n")
    p = subprocess.Popen([rbtest.BIN, "--store", wd.store, "run", "markers.yaml", "--incident", "INC-MARKERS"],
                         cwd=wd.path, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    for _ in range(100):
        if os.path.exists(os.path.join(wd.path, "markers.log")):
            break
        time.sleep(0.05)
    time.sleep(0.5)
    p.send_signal(signal.SIGKILL)
    p.wait()
    rid = [x for x in json.loads(rbtest.run(["--json", "--store", wd.store, "runs"], cwd=wd.path).out)
           if x["incident"] == "INC-MARKERS"][0]["id"]
    r = Run(rbtest.run(["--json", "--store", wd.store, "resume", rid], cwd=wd.path, env=env))
    eq(r.code, 0, f"markers: resume ends recovered ({r.proc.err.strip()})")
    time.sleep(5.5)  # had the first action survived, its `end` would land by now
    lines = [l.split() for l in open(os.path.join(wd.path, "markers.log")).read().splitlines()]
    open_at = None
    overlap = False
    for kind, pid, _ in lines:
        if kind == "start":
            overlap = overlap or open_at is not None and open_at != pid and any(
                k == "end" and p2 == open_at for k, p2, _ in lines[lines.index([kind, pid, _]):])
            open_at = pid
    ends = [pid for kind, pid, _ in lines if kind == "end"]
    starts = [pid for kind, pid, _ in lines if kind == "start"]
    eq(len(starts), 2, f"markers: started twice (killed, then again): {lines}")
    eq(ends, starts[-1:], f"markers: only the second attempt ended; the first never wrote after the second began")
    check(not overlap, "markers: no overlap")

    # Only the dead engine's in-flight action is stopped: a server a finished step started
    # on purpose (in a session of its own, like the sandbox's Redis) keeps running.
    tag = f"{os.getpid()}{int(time.time()) % 100000}"  # sleep 3000.TAG must stay a number
    wd.file("daemon.yaml", "runbook: daemon\ntitle: Daemon\nsteps:\n"
                           "  start-server:\n    shell: setsid -f sleep 3000.$TAG </dev/null >/dev/null 2>&1\n"
                           "    env: { TAG: \"${{ env.TAG }}\" }\n    next: slow\n"
                           "  slow:\n    shell: sleep 2000.$TAG\n    env: { TAG: \"${{ env.TAG }}\" }\n"
                           "    next: done\n  done: { end: recovered }\n")

    def alive(pattern):
        return subprocess.run(["pgrep", "-f", pattern], capture_output=True).returncode == 0

    p = subprocess.Popen([rbtest.BIN, "--store", wd.store, "run", "daemon.yaml", "--incident", "INC-DAEMON"],
                         cwd=wd.path, env=dict(env, TAG=tag), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    for _ in range(100):
        if alive(f"sleep 2000.{tag}"):
            break
        time.sleep(0.05)
    p.send_signal(signal.SIGKILL)
    p.wait()
    rid = [x for x in json.loads(rbtest.run(["--json", "--store", wd.store, "runs"], cwd=wd.path).out)
           if x["incident"] == "INC-DAEMON"][0]["id"]
    res = subprocess.Popen([rbtest.BIN, "--json", "--store", wd.store, "resume", rid], cwd=wd.path,
                           env=dict(env, TAG="0"), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE)
    for _ in range(100):
        if not alive(f"sleep 2000.{tag}"):
            break
        time.sleep(0.05)
    check(not alive(f"sleep 2000.{tag}"), "daemon: the dead engine's in-flight action was stopped")
    check(alive(f"sleep 3000.{tag}"), "daemon: the server a finished step started still runs after resume")
    res.kill()
    res.communicate()
    subprocess.run(["pkill", "-f", f"sleep [0-9]*000.{tag}"])

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
