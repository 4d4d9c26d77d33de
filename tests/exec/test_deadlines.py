#!/usr/bin/python3
"""Every action's deadline is the engine's, for every kind of action (issue 11): a verify
check, a parallel branch, a wait.until check and an external plugin that hang are stopped
at their own `timeout` with their processes gone; a SQLite query that never ends and a
SQLite database under an exclusive lock stop at the limit; a PostgreSQL server that
accepts and never answers does not freeze the engine: the step is timed_out on time,
on_timeout is taken, SIGINT works during the hang, the RTO clock keeps ticking and the
lease is renewed."""
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
import rbtest  # noqa: E402
from rbtest import BIN, Run, Workdir, check, done, eq, run_runbook  # noqa: E402

SLACK = 3.0 if rbtest.SANITIZED else 1.0  # sanitizer builds start slower


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[1][0] != "Z"
    except OSError:
        return False


def group_alive(pgid):
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                if int(fields[2]) == pgid and fields[0] != "Z":
                    return True
            except (OSError, IndexError):
                pass
    return False


def timed(wd, book, *args, env=None):
    t0 = time.time()
    r = run_runbook(wd, book, *args, env=env, timeout=60)
    took = time.time() - t0
    print(f"{book}: exit {r.code} after {took:.2f}s", flush=True)
    return r, took


class HungServer:
    """Accepts TCP connections on 127.0.0.1 and never answers (a hung database)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.conns = []
        threading.Thread(target=self.loop, daemon=True).start()

    def loop(self):
        while True:
            try:
                c, _ = self.sock.accept()
                self.conns.append(c)
            except OSError:
                return


with Workdir() as wd:
    # -- a verify check that hangs, bounded by its own timeout ---------------------------
    wd.file("gate.yaml", """
runbook: gate
title: A gate that hangs
steps:
  act:
    shell: "true"
    verify:
      - name: hangs
        shell: sleep 30
        timeout: 500ms
    next: done
  done: { end: recovered }
""")
    r, took = timed(wd, "gate.yaml")
    eq(r.code, 1, "gate: exit code")
    check(took < 1.5 + SLACK, f"gate: failed in {took:.2f}s (< 2s)")
    failed = r.of("check.failed", "act")
    check(len(failed) == 1 and "timed out after 500ms" in failed[0]["data"].get("error", ""),
          f"gate: check.failed says it timed out ({failed})")
    pid = failed[0]["data"].get("result", {}).get("pid") if failed else None
    check(isinstance(pid, int) and not group_alive(pid), f"gate: the check's process group {pid} is gone")

    # -- a parallel branch that hangs ----------------------------------------------------
    wd.file("branch.yaml", """
runbook: branch
title: A branch that hangs
steps:
  both:
    parallel:
      - name: quick
        shell: "true"
      - name: hangs
        shell: sleep 30
        timeout: 500ms
    next: done
  done: { end: recovered }
""")
    r, took = timed(wd, "branch.yaml")
    eq(r.code, 1, "branch: exit code")
    check(took < 1.5 + SLACK, f"branch: failed in {took:.2f}s (< 2s)")
    f = r.of("step.failed", "both")
    branches = f[0]["data"].get("result", {}).get("branches", []) if f else []
    pid = branches[1].get("pid") if len(branches) == 2 and isinstance(branches[1], dict) else None
    check(isinstance(pid, int) and not group_alive(pid), f"branch: the branch's process group {pid} is gone")

    # -- a wait.until check that hangs: each poll cut at its timeout, the step at its own --
    wd.file("until.yaml", """
runbook: until
title: A wait whose check hangs
steps:
  waiting:
    wait:
      until: { shell: sleep 30, timeout: 500ms }
      interval: 100ms
    timeout: 1200ms
    next: done
    on_timeout: gave-up
  done: { end: recovered }
  gave-up: { end: failed }
""")
    r, took = timed(wd, "until.yaml")
    eq(r.code, 1, "until: exit code")
    check(took < 1.7 + SLACK, f"until: ended in {took:.2f}s (< 2s)")
    eq(len(r.of("step.timed_out", "waiting")), 1, "until: step.timed_out")
    tr = r.of("transition", "waiting")
    check(tr and tr[0]["data"]["via"] == "on_timeout", f"until: on_timeout taken ({tr})")
    out = subprocess.run(["pgrep", "-f", "sleep 30"], stdout=subprocess.PIPE).stdout.decode().split()
    own = [p for p in out if os.path.exists(f"/proc/{p}/environ") and
           b"RUNBOOK_STEP=waiting" in open(f"/proc/{p}/environ", "rb").read()]
    eq(own, [], "until: no poll of the check is left running")

    # -- an external plugin that hangs ---------------------------------------------------
    plugdir = os.path.join(wd.path, "plugins")
    os.makedirs(plugdir)
    pidfile = os.path.join(wd.path, "plugin.pid")
    plug = wd.file("plugins/runbook-plugin-sleepy", f"#!/bin/sh\necho $$ > {pidfile}\nexec sleep 30\n")
    os.chmod(plug, 0o755)
    wd.file("external.yaml", """
runbook: external
title: A plugin that hangs
steps:
  call:
    sleepy: { what: nothing }
    timeout: 500ms
    next: done
    on_timeout: gave-up
  done: { end: recovered }
  gave-up: { end: failed }
""")
    t0 = time.time()
    p = rbtest.run(["--json", "--store", wd.store, "--plugin-path", plugdir, "run", "external.yaml"], cwd=wd.path,
                   timeout=60)
    took = time.time() - t0
    print(f"external.yaml: exit {p.returncode} after {took:.2f}s", flush=True)
    r = Run(p)
    eq(r.code, 1, "external: exit code")
    check(took < 1.5 + SLACK, f"external: ended in {took:.2f}s (< 2s)")
    eq(len(r.of("step.timed_out", "call")), 1, "external: step.timed_out")
    ppid = int(open(pidfile).read()) if os.path.exists(pidfile) else None
    check(ppid is not None and not alive(ppid), f"external: the plugin process {ppid} is gone")

    # -- SQLite: a query that never ends, as a parallel branch ----------------------------
    db = os.path.join(wd.path, "app.db")
    sqlite3.connect(db).execute("CREATE TABLE t(x)").connection.commit()
    wd.file("cte.yaml", f"""
runbook: cte
title: An endless query
steps:
  count:
    parallel:
      - name: endless
        sql:
          url: sqlite:{db}
          query: WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) AS n FROM c
        timeout: 500ms
    next: done
  done: {{ end: recovered }}
""")
    r, took = timed(wd, "cte.yaml")
    eq(r.code, 1, "cte: exit code")
    check(took < 1.5 + SLACK, f"cte: ended in {took:.2f}s (< 2s)")

    # -- SQLite under an exclusive lock: the step's limit, not SQLite's 5 s busy wait --------
    holder = sqlite3.connect(db, timeout=0, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    wd.file("locked.yaml", f"""
runbook: locked
title: A locked database
steps:
  write:
    sql: {{ url: "sqlite:{db}", query: "INSERT INTO t VALUES (1)" }}
    timeout: 2s
    next: done
  done: {{ end: recovered }}
""")
    r, took = timed(wd, "locked.yaml")
    holder.execute("ROLLBACK")
    eq(r.code, 1, "locked: exit code")
    check(1.8 < took < 2.6 + SLACK, f"locked: ended at the 2s limit ({took:.2f}s)")
    f = r.of("step.failed", "write")
    check(f and f[0]["data"].get("outcome") == "timed_out" and "timed out after 2s" in f[0]["data"].get("error", ""),
          f"locked: says timed out after 2s ({f})")

    # -- PostgreSQL: a server that accepts and never answers -------------------------------
    hung = HungServer()
    url = f"postgres://u@127.0.0.1:{hung.port}/x"
    wd.file("pg.yaml", f"""
runbook: pg
title: A hung database
objectives: {{ rto: 1s }}
steps:
  query:
    sql: {{ url: "{url}", query: SELECT 1 }}
    timeout: 1s
    next: done
    on_timeout: escalate
  done: {{ end: recovered }}
  escalate: {{ end: failed }}
""")
    r, took = timed(wd, "pg.yaml")
    eq(r.code, 1, "pg hung: exit code")
    check(took < 1.6 + SLACK, f"pg hung: timed out in {took:.2f}s (< 2s)")
    eq(len(r.of("step.timed_out", "query")), 1, "pg hung: step.timed_out")
    tr = r.of("transition", "query")
    check(tr and tr[0]["data"]["via"] == "on_timeout", f"pg hung: on_timeout taken ({tr})")
    br = r.of("rto.breached")
    check(len(br) == 1 and br[0]["t"] < 1.5, f"pg hung: rto.breached recorded during the hang ({br})")

    # Two hosts in the URL, both hung, a hang longer than the lease TTL: the lease holds.
    url2 = f"postgres://u@127.0.0.1:{hung.port},127.0.0.1:{hung.port}/x"
    wd.file("pg2.yaml", f"""
runbook: pg2
title: Two hung hosts
steps:
  query:
    sql: {{ url: "{url2}", query: SELECT 1 }}
    timeout: 2500ms
    next: done
    on_timeout: escalate
  done: {{ end: recovered }}
  escalate: {{ end: failed }}
""")
    r, took = timed(wd, "pg2.yaml", env={"RUNBOOK_LEASE_TTL_MS": "400"})
    eq(r.code, 1, f"pg two hosts: exit 1 (timed out), not 4 (lease lost): {r.proc.err[-300:]}")
    check("lease" not in r.proc.err, f"pg two hosts: no lease trouble ({r.proc.err[-300:]})")
    check(took < 3.2 + SLACK, f"pg two hosts: ended in {took:.2f}s")

    # SIGINT 0.5 s into the hang: the engine stops within 1 s.
    wd.file("pg3.yaml", f"""
runbook: pg3
title: Interrupted during a hang
steps:
  query:
    sql: {{ url: "{url}", query: SELECT 1 }}
    timeout: 30s
    next: done
  done: {{ end: recovered }}
""")
    proc = subprocess.Popen([BIN, "--json", "--store", wd.store, "run", "pg3.yaml"], cwd=wd.path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(0.5 + (2 if rbtest.SANITIZED else 0))
    t0 = time.time()
    proc.send_signal(signal.SIGINT)
    try:
        out, err = proc.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
    took = time.time() - t0
    print(f"pg3.yaml: SIGINT at 0.5s, exit {proc.returncode} {took:.2f}s after the signal", flush=True)
    eq(proc.returncode, 3, f"pg SIGINT: exit code ({err.decode()[-300:]})")
    check(took < 1.0 + SLACK, f"pg SIGINT: stopped {took:.2f}s after the signal (< 1s)")

done()
