#!/usr/bin/python3
"""`resume` from anywhere (contract §3, §4 v2):
- a run started in directory A with a relative runbook path and relative file paths in
  its steps, killed -9 mid-step, resumed from directory B: ends recovered, its relative
  files land in A (none in B), the step that was cut ran again in A;
- the commands it suggests carry the store in use, a relative SQLite store made absolute;
- secrets are never stored: a run given a secret (by --input or an --inputs file) must be
  given it again, refused (exit 2, naming the input) otherwise, rather than continuing
  against the default (another database); the suggested resume says what to give again;
  a secret left at its default needs nothing; `abort --no-rollback` needs no secret, an
  abort that runs rollbacks takes them again with --input."""
import json
import os
import shlex
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
import rbtest  # noqa: E402
from rbtest import Run, Workdir, check, done, eq  # noqa: E402


def start(args, cwd, env=None):
    return subprocess.Popen([rbtest.BIN, "--json"] + args, cwd=cwd, env=dict(os.environ, **(env or {})),
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def words_after(text, flag):
    """The word after `flag` in a suggested command (shell quoting undone)."""
    cmd = text.split("`")[1] if "`" in text else text
    words = shlex.split(cmd)
    return words[words.index(flag) + 1] if flag in words else None


def wait_file(path, timeout=20):
    end = time.time() + timeout
    while time.time() < end and not os.path.exists(path):
        time.sleep(0.02)
    return os.path.exists(path)


def events(p, timeout=60):
    out, err = p.communicate(timeout=timeout)
    p.out, p.err = out.decode(errors="replace"), err.decode(errors="replace")
    return Run(p)


with Workdir() as wd:
    a = os.path.join(wd.path, "A")
    b = os.path.join(wd.path, "B")
    os.makedirs(os.path.join(a, "books"))
    os.makedirs(b)
    wd.file("A/books/rel.yaml", """
runbook: rel
title: Relative paths
steps:
  first:
    shell: echo first >> out/effects.log
    next: cut
  cut:
    shell: >-
      echo started >> out/effects.log;
      if [ ! -e out/cut.started ]; then touch out/cut.started; sleep 30; fi;
      echo cut >> out/effects.log
    next: last
  last:
    shell: echo last >> out/effects.log; pwd > out/where.txt
    next: done
  done: { end: recovered }
""")
    os.makedirs(os.path.join(a, "out"))
    # A relative store: the commands suggested must still work from B.
    p = start(["--store", "rel-store.db", "run", "books/rel.yaml"], cwd=a)
    check(wait_file(os.path.join(a, "out", "cut.started")), "cwd: the step that will be cut started")
    p.send_signal(signal.SIGKILL)
    p.wait()
    store = os.path.join(a, "rel-store.db")
    runs = json.loads(rbtest.run(["--json", "--store", store, "runs"], cwd=b).out)
    rid = runs[0]["id"]
    eq(runs[0]["status"], "running", "cwd: the killed run is still 'running' in the store")
    st = rbtest.run(["--store", store, "status", rid], cwd=b)
    said = [l for l in st.out.splitlines() if l.startswith("engine:")]
    check(said and "dead" in said[0] and "is gone" in said[0] and words_after(said[0], "--store") == store,
          f"cwd: status says its engine is dead and how to resume, with the store made absolute:\n{st.out}")
    t0 = time.time()
    r = events(start(["--store", store, "resume", rid], cwd=b))
    took = time.time() - t0
    eq(r.code, 0, f"cwd: resumed from B, exit 0 ({r.proc.err.strip()[-500:]})")
    eq(r.ended(), "recovered", "cwd: ends recovered")
    log = open(os.path.join(a, "out", "effects.log")).read().split()
    eq(log, ["first", "started", "started", "cut", "last"], "cwd: the cut step ran again in A, the rest once")
    eq(open(os.path.join(a, "out", "where.txt")).read().strip(), a, "cwd: actions ran in A")
    eq(sorted(os.listdir(b)), [], "cwd: nothing landed in B")
    print(f"kill -9 in A, resume from B: recovered in {took:.2f}s", flush=True)

    # Secrets: given by --input, by an --inputs file, or left at the default.
    wd.file("sec.yaml", """
runbook: sec
title: Secret inputs
inputs:
  db: { default: "sqlite:default.db", secret: true }
  token: { secret: true, required: false }
  note: { default: plain }
steps:
  guard:
    shell: echo guarded >> sec.log
    env: { DB: "${{ inputs.db }}" }
    rollback:
      shell: echo "rolled back with $DB" >> sec.log
    next: cut
  cut:
    shell: if [ ! -e "cut.$NOTE" ]; then touch "cut.$NOTE"; sleep 30; fi
    env: { NOTE: "${{ inputs.note }}" }
    next: use
  use:
    shell: echo "used $DB $TOKEN" >> sec.log
    env: { DB: "${{ inputs.db }}", TOKEN: "${{ inputs.token }}" }
    next: done
  done: { end: recovered }
""")
    wd.file("secrets.yaml", "db: sqlite:from-file.db\n")

    def interrupted(tag, *inputs):
        p = start(["--store", wd.store, "run", "sec.yaml", "--input", f"note={tag}", *inputs], cwd=wd.path)
        check(wait_file(os.path.join(wd.path, f"cut.{tag}")), f"{tag}: the cut step started")
        time.sleep(0.1)
        p.send_signal(signal.SIGINT)
        r = events(p)
        eq(r.code, 3, f"{tag}: SIGINT exits 3")
        ev = r.of("run.interrupted")
        return r.run_id, (ev[0]["data"].get("resume", "") if ev else "")

    def used():
        lines = [l for l in open(os.path.join(wd.path, "sec.log")).read().splitlines() if l.startswith("used")]
        return lines[-1] if lines else ""

    rid, hint = interrupted("flag", "--input", "db=sqlite:given.db", "--input", "token=tok-123")
    check(words_after(hint, "--store") == wd.store and "--input db=…" in hint and "--input token=…" in hint
          and "tok-123" not in hint and "given.db" not in hint,
          f"secrets by flag: the resume suggested names them without their values ({hint})")
    p = rbtest.run(["--store", wd.store, "resume", rid], cwd=wd.path)
    check(p.returncode == 2 and "input 'db' is secret" in p.err and "input 'token' is secret" in p.err,
          f"secrets by flag: resume without them is refused, naming each ({p.returncode}: {p.err.strip()})")
    eq(json.loads(rbtest.run(["--json", "--store", wd.store, "status", rid], cwd=wd.path).out)["status"],
       "interrupted", "secrets by flag: the refused resume left the run interrupted")
    p = rbtest.run(["--store", wd.store, "resume", rid, "--input", "db=sqlite:given.db", "--input", "token=tok-123"],
                   cwd=wd.path)
    eq(p.returncode, 0, f"secrets by flag: resume with them ends recovered ({p.err.strip()[-300:]})")
    eq(used(), "used sqlite:given.db tok-123", "secrets by flag: the resumed run used the values given again")

    rid, hint = interrupted("file", "--inputs", "secrets.yaml")
    check(words_after(hint, "--inputs") == os.path.join(wd.path, "secrets.yaml"),
          f"secrets by file: the resume suggested gives the file again, absolute ({hint})")
    p = rbtest.run(["--store", wd.store, "resume", rid, "--inputs", os.path.join(wd.path, "secrets.yaml")], cwd="/")
    eq(p.returncode, 0, f"secrets by file: resume with the file (from /) ends recovered ({p.err.strip()[-300:]})")
    eq(used(), "used sqlite:from-file.db ", "secrets by file: the value from the file")

    rid, hint = interrupted("default")
    check("--input" not in hint, f"secret at its default: nothing to give again ({hint})")
    p = rbtest.run(["--store", wd.store, "resume", rid], cwd=wd.path)
    eq(p.returncode, 0, f"secret at its default: resume needs nothing ({p.err.strip()[-300:]})")
    eq(used(), "used sqlite:default.db ", "secret at its default: the default again")

    rid, _ = interrupted("abort", "--input", "db=sqlite:given.db")
    p = rbtest.run(["--store", wd.store, "abort", rid], cwd=wd.path)
    check(p.returncode == 2 and "input 'db' is secret" in p.err,
          f"abort with rollbacks needs the secret again ({p.returncode}: {p.err.strip()})")
    p = rbtest.run(["--store", wd.store, "abort", rid, "--input", "db=sqlite:given.db"], cwd=wd.path)
    eq(p.returncode, 3, f"abort --input: aborted, exit 3 ({p.err.strip()[-300:]})")
    check("rolled back with sqlite:given.db" in open(os.path.join(wd.path, "sec.log")).read(),
          "abort --input: the rollback used the secret given again")
    rid, _ = interrupted("abort-nr", "--input", "db=sqlite:given.db")
    p = rbtest.run(["--store", wd.store, "abort", rid, "--no-rollback"], cwd=wd.path)
    eq(p.returncode, 3, f"abort --no-rollback needs no secret: exit 3 ({p.err.strip()[-300:]})")

done()
