#!/usr/bin/python3
"""Process hygiene of shell actions: a timed-out group dies whole (checked in /proc), 1 GiB
of output on stdout and stderr without deadlock in bounded memory, 1,000 steps with missing
binaries leave no zombie and no leaked descriptor, SIGINT aborts with rollbacks (exit 3)."""
import os
import resource
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
import rbtest  # noqa: E402
from rbtest import Run, Workdir, check, done, eq, run_runbook  # noqa: E402


def group_members(pgid):
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2:].split()
        if int(fields[2]) == pgid:
            out.append((int(d), fields[0]))
    return out


with Workdir() as wd:
    # A shell that leaves a background sleep and a pipeline: all of it dies on timeout.
    wd.file("group.yaml", """
runbook: group
title: Kill the whole group
steps:
  hang:
    shell: sleep 999 & sleep 999 | cat
    timeout: 300ms
    next: done
  done: { end: recovered }
""")
    t0 = time.time()
    r = run_runbook(wd, "group.yaml")
    took = time.time() - t0
    eq(r.code, 1, "group: exit code")
    check(took < 1.0 or rbtest.SANITIZED, f"group: ended in {took:.3f}s (< 1s)")
    failed = r.of("step.failed", "hang")[0]["data"]
    pid = failed.get("result", {}).get("pid")
    check(isinstance(pid, int), f"group: the step recorded its pid ({failed})")
    if isinstance(pid, int):
        eq(group_members(pid), [], f"group: no process of group {pid} left in /proc")

    # 1 GiB through stdout and stderr at once; the engine keeps only the capped head.
    wd.file("flood.yaml", """
runbook: flood
title: A flood of output
steps:
  flood:
    shell: head -c 536870912 /dev/zero >&2 & head -c 536870912 /dev/zero; wait
    timeout: 5m
    outputs:
      out: result.stdout_bytes
      err: result.stderr_bytes
      kept: len(result.stdout)
    next: done
  done: { end: recovered }
""")
    probe = ("import resource,subprocess,sys; subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL); "
             "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    p = subprocess.run([sys.executable, "-c", probe, rbtest.BIN, "--json", "--store", wd.store, "run", "flood.yaml"],
                       cwd=wd.path, capture_output=True, timeout=600)
    rss_kb = int(p.stdout.decode().split()[-1])
    ev = rbtest.run(["--json", "--store", wd.store, "runs", "--limit", "1"], cwd=wd.path)
    import json
    last = json.loads(ev.out)[0]
    eq(last["status"], "recovered", "flood: run recovered")
    tl = rbtest.run(["--json", "--store", wd.store, "timeline", last["id"]], cwd=wd.path)
    outs = [json.loads(l) for l in tl.out.splitlines() if '"step.succeeded"' in l][0]["data"]["outputs"]
    eq((outs["out"], outs["err"]), (536870912, 536870912), "flood: every byte read from both streams")
    eq(outs["kept"], 1 << 20, "flood: output kept in memory is capped at 1 MiB")
    limit = 100 * 1024 if not rbtest.SANITIZED else 400 * 1024
    check(rss_kb < limit, f"flood: engine peak RSS {rss_kb // 1024} MB (< {limit // 1024} MB)")
    print(f"flood: peak RSS {rss_kb / 1024:.1f} MB")

    # 1,000 steps, every 7th runs a binary that does not exist (argv form, so no shell).
    steps = []
    n = 1000
    for i in range(n):
        nxt = f"s{i + 1}" if i + 1 < n else "fds-after"
        if i == 10:
            steps.append(f"  s{i}:\n    shell: sleep 0.2; ls /proc/$PPID/fd | wc -l\n    outputs: {{ fds: int(trim(result.stdout)) }}\n    next: {nxt}\n")
        elif i % 7 == 3:
            steps.append(f"  s{i}:\n    shell: {{ command: [no-such-binary-{i}, --flag] }}\n    continue_on_failure: true\n    next: {nxt}\n")
        else:
            steps.append(f"  s{i}:\n    shell: \"true\"\n    next: {nxt}\n")
    wd.file("many.yaml", "runbook: many\ntitle: Many steps\nsteps:\n" + "".join(steps) + """
  fds-after:
    shell: sleep 0.2; ls /proc/$PPID/fd | wc -l
    outputs: { fds: int(trim(result.stdout)) }
    next: zombies
  zombies:
    shell: |
      n=0
      for s in /proc/[0-9]*/status; do
        if grep -q "^PPid:[[:space:]]*$PPID$" "$s" 2>/dev/null && grep -q "^State:[[:space:]]*Z" "$s" 2>/dev/null; then n=$((n+1)); fi
      done
      echo $n
    outputs: { zombies: int(trim(result.stdout)) }
    next: done
  done: { end: recovered }
""")
    r = run_runbook(wd, "many.yaml", timeout=900)
    eq(r.code, 0, "many: exit code")
    eq(len(r.of("step.failed")), len([i for i in range(n) if i % 7 == 3 and i != 10]), "many: every missing binary failed")
    missing = r.of("step.failed")[0]["data"]["error"]
    check("no-such-binary" in missing and "not found" in missing, f"many: the error says what is missing ({missing})")
    before = r.of("step.succeeded", "s10")[0]["data"]["outputs"]["fds"]
    after = r.of("step.succeeded", "fds-after")[0]["data"]["outputs"]["fds"]
    eq(after, before, "many: file-descriptor count flat across 1,000 steps")
    eq(r.of("step.succeeded", "zombies")[0]["data"]["outputs"]["zombies"], 0, "many: no zombie children")

    # SIGINT pauses (contract v2): the current action is cancelled, nothing is rolled back,
    # run.interrupted is recorded, exit 3; `resume` continues and ends recovered.
    wd.file("sigint.yaml", """
runbook: sigint
title: Interrupted
steps:
  prepare:
    shell: echo prepared
    rollback: { shell: echo rolled-back > rollback.txt }
    next: long
  long:
    shell: test -f again || { touch again; sleep 60; }
    next: done
  done: { end: recovered }
""")
    p = subprocess.Popen([rbtest.BIN, "--json", "--store", wd.store, "run", "sigint.yaml"], cwd=wd.path,
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 10
    while time.time() < deadline:
        time.sleep(0.1)
        tl = rbtest.run(["--json", "--store", wd.store, "runs", "--limit", "1"], cwd=wd.path)
        try:
            rid = json.loads(tl.out)[0]["id"]
            if '"long"' in rbtest.run(["--json", "--store", wd.store, "timeline", rid], cwd=wd.path).out:
                break
        except (ValueError, IndexError):
            pass
    t0 = time.time()
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=30)
    p.out, p.err = out.decode(), err.decode()
    r = Run(p)
    eq(r.code, 3, "sigint: exit code")
    check(time.time() - t0 < 5, "sigint: stopped promptly")
    eq(r.ended(), None, "sigint: no run.ended (paused, not given up)")
    check(not os.path.exists(os.path.join(wd.path, "rollback.txt")), "sigint: nothing rolled back")
    intr = r.of("run.interrupted")
    check(len(intr) == 1 and "SIGINT" in intr[0]["data"]["reason"] and intr[0]["data"].get("step") == "long",
          f"sigint: run.interrupted names the signal and the step ({intr})")
    check("resume" in intr[0]["data"].get("resume", "") if intr else False, "sigint: it says how to resume")
    status = json.loads(rbtest.run(["--json", "--store", wd.store, "runs", "--limit", "1"], cwd=wd.path).out)[0]
    eq(status["status"], "interrupted", "sigint: the run's status")
    r2 = Run(rbtest.run(["--json", "--store", wd.store, "resume", status["id"]], cwd=wd.path))
    eq(r2.code, 0, f"sigint: resume ends recovered ({r2.proc.err.strip()[-300:]})")
    eq(r2.ended(), "recovered", "sigint: resumed run recovered")
    check(not os.path.exists(os.path.join(wd.path, "rollback.txt")), "sigint: still nothing rolled back")
done()
