#!/usr/bin/python3
"""Interrupt pauses, end to end (contract §3 v2): each recovery runbook runs against a live
sandbox with its fault injected and gets SIGINT (Ctrl-C) while a step in the middle of the
recovery runs — a step slowed through the sandbox's SANDBOX_SLOW hook, or one that is long
by itself. The engine must stop at once with exit 3, record run.interrupted, leave the run
`interrupted`, roll nothing back, stop the step's action, leave the protection it had
turned on (maintenance, the kill switch, a node out of rotation, the paused queue) and
suggest `resume` with the `--store` in use. `runbook resume RUN` must then end `recovered`,
`sandbox.py check` pass and the runbook's own promises hold. Two resumes are themselves
cut by SIGHUP (a closed terminal) and resumed once more.

The run store is SQLite, or with --backend postgres a PostgreSQL database of its own (the
sandbox then runs on PostgreSQL too). One sandbox serves the whole file.

  interrupt.py [--backend sqlite|postgres] [--only RUNBOOK[,RUNBOOK]]
"""
import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Callable, Optional

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
import rbtest  # noqa: E402
from rbtest import Workdir, check, done, eq  # noqa: E402
from sandboxctl import Sandbox  # noqa: E402
import scenario_defs as defs  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--backend", default="sqlite")
ap.add_argument("--only")
args = ap.parse_args()
if args.backend == "postgres" and not os.environ.get("RUNBOOK_TEST_PG_URL"):
    rbtest.skip("RUNBOOK_TEST_PG_URL is not set (tests/run.sh starts PostgreSQL)")
ONLY = set(args.only.split(",")) if args.only else None
SLOW_SECONDS = 120      # a slowed step lasts this long unless it is interrupted
AFTER_START = 0.3       # the signal comes this long after the step started
STOP_BOUND = 5.0        # the engine exits within this after the signal (kill grace is 3 s)


@dataclass
class Cut:
    step: str                                     # the step running when SIGINT comes
    slow: str = ""                                # SANDBOX_SLOW command that makes it long ("": long by itself)
    protected: Optional[Callable] = None          # (sb) -> asserts what must still hold after the interrupt
    hup_step: str = ""                            # the resume is cut again, by SIGHUP, in this step
    hup_slow: str = ""


def node2_out(sb, who):
    st = {n["name"]: n for n in sb.json("node", "status")["nodes"]}
    eq(st["node2"]["enabled"], False, f"{who}: node2 still out of rotation")
    eq(sb.json("probe", "--n", "5")["failed"], 0, f"{who}: every request still served")


def release_serving(sb, who):
    status, body = sb.health()
    eq((status, body.get("version")), (200, "v1"), f"{who}: the release rolled back to still serves (no rollback ran)")


CUTS = {
    "database-disaster": Cut("restore", "restore", lambda sb: (
        defs.maintenance_on(sb, "database-disaster"),
        check(sb.one("SELECT count(*) FROM users") < 95, "database-disaster: nothing restored yet")),
        hup_step="watch-errors"),
    "worker-crash": Cut("restart-worker", "worker restart", lambda sb: check(
        sb.one("SELECT count(*) FROM jobs WHERE status = 'pending'") >= 1, "worker-crash: queued jobs kept")),
    "credit-failure": Cut("invalidate-cache", "cache audit", lambda sb: eq(
        sb.one("SELECT count(*) FROM user_credits_backup"), 95, "credit-failure: the balances before are kept")),
    "deployment-rollback": Cut("redeploy", "deploy", lambda sb: release_serving(sb, "deployment-rollback")),
    "security-breach": Cut("invalidate-sessions", "invalidate-sessions", lambda sb: (
        defs.maintenance_on(sb, "security-breach"), defs.lockdown_on(sb, "security-breach"))),
    "region-failover": Cut("reroute", "reroute", lambda sb: eq(
        sb.json("status")["region"], "secondary", "region-failover: the promotion stays")),
    "redis-recovery": Cut("signin-check", "signin-check", lambda sb: defs.maintenance_on(sb, "redis-recovery")),
    "api-node-recovery": Cut("start-node", "node start", lambda sb: node2_out(sb, "api-node-recovery")),
    "migration-failure": Cut("roll-back", "migrate down", lambda sb: defs.maintenance_on(sb, "migration-failure")),
    "restore-verify": Cut("restore-scratch", "restore", lambda sb: (
        defs.maintenance_on(sb, "restore-verify"),
        eq(sb.one("SELECT count(*) FROM user_credits WHERE balance = 0"), 5, "restore-verify: live untouched"))),
    "region-failback": Cut("promote-primary", "promote", lambda sb: defs.maintenance_on(sb, "region-failback")),
    "dead-job-triage": Cut("bad-input", "dead-jobs --kind bad_input", lambda sb: eq(
        sb.one("SELECT count(*) FROM jobs j JOIN dead_jobs d ON d.id = j.id WHERE d.error_kind = 'internal_bug' "
               "AND j.status <> 'dead'"), 0, "dead-job-triage: the internal bug is not re-queued")),
    "kill-switch": Cut("block-client", "clients block", lambda sb: defs.lockdown_on(sb, "kill-switch"),
                       hup_step="disengage"),
    "provider-outage": Cut("wait-for-provider", "", lambda sb: defs.po_safe(sb, None)),
}


class Engine:
    """`runbook --json …` running: its events as they come, its stderr."""

    def __init__(self, argv, cwd, env):
        self.p = subprocess.Popen([rbtest.BIN, "--json"] + argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.events, self.err = [], b""
        self.cond = threading.Condition()
        self.t_out = threading.Thread(target=self._read, daemon=True)
        self.t_err = threading.Thread(target=self._read_err, daemon=True)
        self.t_out.start()
        self.t_err.start()

    def _read(self):
        for line in self.p.stdout:
            try:
                e = json.loads(line)
            except ValueError:
                continue
            with self.cond:
                self.events.append(e)
                self.cond.notify_all()
        with self.cond:
            self.cond.notify_all()

    def _read_err(self):
        self.err = self.p.stderr.read()

    def wait_step(self, step, timeout=120):
        """Waits until `step` has started; False if the run ended first."""
        end = time.time() + timeout
        with self.cond:
            while time.time() < end:
                if any(e["type"] == "step.started" and e.get("step") == step for e in self.events):
                    return True
                if self.p.poll() is not None and not self.t_out.is_alive():
                    return False
                self.cond.wait(0.1)
        return False

    def finish(self, timeout=300):
        code = self.p.wait(timeout=timeout)
        self.t_out.join()
        self.t_err.join()
        return code

    def of(self, type_, step=None):
        return [e for e in self.events if e["type"] == type_ and (step is None or e.get("step") == step)]

    def dump(self):
        return "\n".join(json.dumps(e) for e in self.events[-30:]) + "\n--- stderr ---\n" + self.err.decode(errors="replace")


def processes_of(run_id, step):
    """Processes still carrying the run id and step in their environment (the step's action)."""
    out = []
    want = [f"RUNBOOK_RUN_ID={run_id}".encode(), f"RUNBOOK_STEP={step}".encode()]
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/environ", "rb") as f:
                env = f.read().split(b"\0")
            with open(f"/proc/{pid}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if all(w in env for w in want) and state != "Z":
            out.append(pid)
    return out


def cut(eng, step, sig, who):
    """Sends `sig` while `step` runs; asserts the pause. Returns (seconds to exit, run id)."""
    started = eng.wait_step(step)
    check(started, f"{who}: step '{step}' started before the run ended\n{eng.dump()[-3000:]}")
    if not started:
        eng.finish()
        return None, None
    time.sleep(AFTER_START)
    run_id = next((e["data"]["run"] for e in eng.events if e["type"] in ("run.started", "run.resumed")), None)
    t0 = time.time()
    eng.p.send_signal(sig)
    code = eng.finish()
    took = time.time() - t0
    name = signal.Signals(sig).name
    eq(code, 3, f"{who}: {name} exits 3\n{eng.dump()[-3000:]}")
    check(took < STOP_BOUND, f"{who}: {name}: the engine stopped {took:.2f}s after the signal (< {STOP_BOUND}s)")
    paused = eng.of("run.interrupted")
    check(paused and paused[-1].get("step") == step and paused[-1]["data"].get("signal") == name,
          f"{who}: run.interrupted at '{step}' by {name} ({paused})")
    eq(eng.of("run.ended"), [], f"{who}: the run did not end")
    eq(eng.of("rollback.started"), [], f"{who}: nothing rolled back")
    hint = paused[-1]["data"].get("resume", "") if paused else ""
    check("--store" in hint and "--inputs" in hint,
          f"{who}: the resume command it suggests carries the --store and the inputs file for the secrets ({hint})")
    eq(processes_of(run_id, step), [], f"{who}: the step's action was stopped")
    return took, run_id


def status_of(wd_store, run_id, cwd):
    p = rbtest.run(["--json", "--store", wd_store, "status", run_id], cwd=cwd)
    return json.loads(p.out).get("status") if p.returncode == 0 else f"exit {p.returncode}: {p.err}"


class Combined:
    """The events of a run across its engines (run, resumes), for the scenario checks."""

    def __init__(self, engines):
        self.events = [e for eng in engines for e in eng.events]

    def of(self, type_, step=None):
        return [e for e in self.events if e["type"] == type_ and (step is None or e.get("step") == step)]


def scenario(sb, wd, store, sc, c):
    who = f"{sc.book} ({args.backend})"
    sb.up()
    sb.fault(sc.fault, sc.fault_env)
    before = sc.before(sb) if sc.before else None
    env = dict(os.environ)
    if c.slow:
        env["SANDBOX_SLOW"] = f"{c.slow}={SLOW_SECONDS}"
    t_run = time.time()
    first = Engine(["--store", store, "run", defs.book(sc.book), "--drill", "--yes", *sb.inputs(**sc.inputs)],
                   wd.path, env)
    took, run_id = cut(first, c.step, signal.SIGINT, who)
    if run_id is None:
        return f"{sc.book:20} {args.backend:8} NOT INTERRUPTED"
    eq(status_of(store, run_id, wd.path), "interrupted", f"{who}: status interrupted")
    if c.protected:
        c.protected(sb)
    if sc.book == "database-disaster":
        # Secrets are never stored: without them a resume would fall back to the defaults
        # (another database): refused, naming the input, and the run stays interrupted.
        p = rbtest.run(["--store", store, "resume", run_id, "--yes"], cwd=wd.path)
        check(p.returncode == 2 and "database_url" in p.err and "give the value" in p.err,
              f"{who}: resume without the secret inputs is refused ({p.returncode}: {p.err.strip()})")
        eq(status_of(store, run_id, wd.path), "interrupted", f"{who}: still interrupted after the refusal")
    again_args = ["--yes", "--inputs", sb.inputs_file]
    engines = [first]
    hup = ""
    if c.hup_step:
        env2 = dict(os.environ)
        if c.hup_slow:
            env2["SANDBOX_SLOW"] = f"{c.hup_slow}={SLOW_SECONDS}"
        again = Engine(["--store", store, "resume", run_id, *again_args], wd.path, env2)
        took2, _ = cut(again, c.hup_step, signal.SIGHUP, who + " resumed")
        eq(status_of(store, run_id, wd.path), "interrupted", f"{who}: status interrupted after SIGHUP")
        engines.append(again)
        hup = f", SIGHUP in {c.hup_step} stopped in {took2 or -1:.2f}s"
    t_res = time.time()
    last = Engine(["--store", store, "resume", run_id, *again_args], wd.path, dict(os.environ))
    code = last.finish()
    resume_wall = time.time() - t_res
    engines.append(last)
    eq(code, 0, f"{who}: resume ends recovered (exit 0)\n{last.dump()[-3000:]}")
    ends = last.of("run.ended")
    eq(ends[-1]["data"]["status"] if ends else None, "recovered", f"{who}: run.ended recovered")
    resumed = last.of("run.resumed")
    check(resumed and resumed[0]["data"].get("how", "").startswith(("rerun", "verify", "continue")),
          f"{who}: resumed by its idempotent policy ({resumed[0]['data'] if resumed else None})")
    eq(Combined(engines).of("rollback.started"), [], f"{who}: nothing rolled back in the whole run")
    code, out = sb.check()
    eq(code, 0, f"{who}: check passes after the resume\n{out}")
    if sc.healthy:
        sc.healthy(sb, Combined(engines), before)
    return (f"{sc.book:20} {args.backend:8} SIGINT in {c.step:18} stopped in {took:.2f}s{hup}; "
            f"resume recovered in {resume_wall:5.1f}s (total {time.time() - t_run:5.1f}s)")


def pg_store():
    base = os.environ["RUNBOOK_TEST_PG_URL"]
    name = "rb_interrupt_" + uuid.uuid4().hex[:8]
    subprocess.run(["psql", base, "-qc", f"CREATE DATABASE {name}"], check=True, capture_output=True)
    return base, name, base.rsplit("/", 1)[0] + "/" + name


def main():
    results = []
    t_all = time.time()
    with Workdir() as wd:
        sb = Sandbox(os.path.join(wd.path, "sb"), args.backend, start=False)
        store, pg = wd.store, None
        if args.backend == "postgres":
            base, name, store = pg_store()
            pg = (base, name)
        try:
            seen = set()
            for sc in defs.SCENARIOS:
                if sc.book in seen or (ONLY and sc.book not in ONLY):
                    continue
                seen.add(sc.book)
                if args.backend != "sqlite" and not sc.uses_database:
                    continue  # nothing in it depends on the database: SQLite proves it
                try:
                    results.append(scenario(sb, wd, store, sc, CUTS[sc.book]))
                except Exception as e:  # noqa: BLE001
                    check(False, f"{sc.book}: {type(e).__name__}: {e}")
                finally:
                    sb.cli("runaway", "stop")
        finally:
            sb.down()
            if pg:
                subprocess.run(["psql", pg[0], "-qc", f'DROP DATABASE IF EXISTS "{pg[1]}" WITH (FORCE)'],
                               capture_output=True)
    print("\n".join(results))
    print(f"{len(results)} runbooks interrupted and resumed in {time.time() - t_all:.1f}s")
    check(len(results) > 0, "some runbooks were interrupted")


main()
done()
