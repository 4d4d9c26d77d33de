#!/usr/bin/python3
"""The sandbox itself, failure paths first: an unreachable PostgreSQL is one sentence (no
traceback); a taken --port is refused; port 18080 taken means another port, said aloud;
`up --database URL` (the option after the command) creates the databases it needs, the
replica and the scratch copy too; STATE/inputs.yaml is accepted by every runbook; `check`
passes on a fresh sandbox and fails naming each broken invariant."""
import glob
import json
import os
import socket
import subprocess
import sys
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
import rbtest  # noqa: E402
from rbtest import Workdir, check, done, eq  # noqa: E402
from sandboxctl import SB, Sandbox, free_port  # noqa: E402


def sandbox(state, *args):
    return subprocess.run([SB, "--state", state] + list(args), capture_output=True, text=True, timeout=120)


def psql(sql):
    return subprocess.run(["psql", os.environ["RUNBOOK_TEST_PG_URL"], "-Atqc", sql], capture_output=True, text=True)


with Workdir() as wd:
    # ---- failure paths --------------------------------------------------------------------
    dead = free_port()
    p = sandbox(os.path.join(wd.path, "nopg"), "up", "--database", f"postgres://postgres@127.0.0.1:{dead}/x",
                "--port", str(free_port()))
    check(p.returncode != 0, "unreachable PostgreSQL: up fails")
    check("cannot reach PostgreSQL" in p.stderr and "Traceback" not in p.stderr,
          f"unreachable PostgreSQL: one sentence, no traceback: {p.stderr[-300:]}")

    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen(1)
    port = taken.getsockname()[1]
    p = sandbox(os.path.join(wd.path, "taken"), "up", "--port", str(port))
    check(p.returncode != 0 and f"port {port} (--port) is taken" in p.stderr and "Traceback" not in p.stderr,
          f"--port taken: refused with the reason: {p.stderr[-300:]}")

    default = socket.socket()
    try:
        default.bind(("127.0.0.1", 18080))
        default.listen(1)
    except OSError:
        pass  # someone else holds it: taken either way
    state = os.path.join(wd.path, "default")
    try:
        p = sandbox(state, "up", "--port2", str(free_port()), "--redis-port", str(free_port()))
        eq(p.returncode, 0, f"18080 taken: up still works\n{p.stderr}")
        check("port 18080 is taken" in p.stderr and "inputs.yaml" in p.stderr, f"18080 taken: said aloud: {p.stderr}")
        info = json.loads(p.stdout.strip().splitlines()[-1])
        check(not info["app_url"].endswith(":18080"), f"18080 taken: another port ({info['app_url']})")
        with open(os.path.join(state, "inputs.yaml")) as f:
            check(f'app_url: "{info["app_url"]}"' in f.read(), "18080 taken: inputs.yaml has the port picked")
        eq(oct(os.stat(os.path.join(state, "inputs.yaml")).st_mode & 0o777), "0o600", "inputs.yaml is 0600")
    finally:
        sandbox(state, "down")
        default.close()

    # ---- PostgreSQL: the option after the command, the databases created ---------------------
    if os.environ.get("RUNBOOK_TEST_PG_URL"):
        name = "sbtest_" + uuid.uuid4().hex[:8]
        url = os.environ["RUNBOOK_TEST_PG_URL"].rsplit("/", 1)[0] + "/" + name
        state = os.path.join(wd.path, "pg")
        try:
            p = sandbox(state, "up", "--database", url, "--port", str(free_port()), "--port2", str(free_port()),
                        "--redis-port", str(free_port()))
            eq(p.returncode, 0, f"up --database after the command\n{p.stderr[-1000:]}")
            dbs = set(psql(f"SELECT datname FROM pg_database WHERE datname LIKE '{name}%'").stdout.split())
            eq(dbs, {name, name + "_replica", name + "_scratch"}, "the database, its replica and scratch created")
            with open(os.path.join(state, "inputs.yaml")) as f:
                text = f.read()
            check(f'database_url: "{url}"' in text and f'replica_url: "{url}_replica"' in text,
                  "inputs.yaml names the PostgreSQL databases")
            p = sandbox(state, "check")
            eq(p.returncode, 0, f"check passes on a fresh PostgreSQL sandbox\n{p.stdout}")
        finally:
            sandbox(state, "down")
            for n in (name, name + "_replica", name + "_scratch"):
                psql(f'DROP DATABASE IF EXISTS "{n}" WITH (FORCE)')
    else:
        print("(PostgreSQL part skipped: RUNBOOK_TEST_PG_URL is not set)")

    # ---- inputs.yaml and check on SQLite --------------------------------------------------------
    sb = Sandbox(os.path.join(wd.path, "sb"))
    try:
        books = sorted(glob.glob(os.path.join(rbtest.ROOT, "runbooks", "*.yaml")))
        eq(len(books), 14, "fourteen runbooks")
        for b in books:
            p = rbtest.run(["--store", wd.store, "run", b, "--dry-run", "--inputs", sb.inputs_file], cwd=wd.path)
            eq(p.returncode, 0, f"{os.path.basename(b)} accepts STATE/inputs.yaml\n{p.err[-500:]}")
        code, out = sb.check()
        eq(code, 0, f"check passes on a fresh sandbox\n{out}")
        res = json.loads(sb.cli("check", "--json").stdout)
        check(res["ok"] and len(res["results"]) >= 20, f"check --json lists every invariant ({len(res['results'])})")
        sb.cli("maintenance", "on")
        sb.cli("lockdown", "on")
        sb.fault("credit-failure")
        code, out = sb.check()
        eq(code, 1, "check fails on a broken sandbox")
        for phrase in ("maintenance mode is on", "SYSTEM_LOCKDOWN is on", "user 7: balance -40",
                       "cache consistent with the database"):
            check(phrase in out, f"check names '{phrase}'\n{out}")
        code2, out2 = sb.check()
        eq((code2, out2), (code, out), "check changes nothing it checks: the same answer twice")
    finally:
        sb.down()
done()
