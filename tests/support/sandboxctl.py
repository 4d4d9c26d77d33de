"""Starts and stops the examples/sandbox "production" for the end-to-end tests: a state
folder of its own, free loopback ports, SQLite or fresh PostgreSQL databases (the sandbox
creates the replica and scratch databases itself). One Sandbox can be brought up again
between scenarios (`up()` re-seeds everything), which is much cheaper than a new one."""
import json
import os
import socket
import subprocess
import time
import uuid

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SB = os.path.join(ROOT, "examples", "sandbox", "sandbox.py")
FAULTS = os.path.join(ROOT, "examples", "sandbox", "faults")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Sandbox:
    def __init__(self, state, backend="sqlite", start=True):
        self.state = state
        self.backend = backend
        self.database = None
        self.pg_names = []
        if backend == "postgres":
            base = os.environ["RUNBOOK_TEST_PG_URL"]
            name = "sandbox_" + uuid.uuid4().hex[:8]
            self.pg_base = base
            self.pg_names = [name, name + "_replica", name + "_scratch"]
            self.database = base.rsplit("/", 1)[0] + "/" + name
        self.ports = [free_port(), free_port(), free_port()]
        self.up_seconds = None
        if start:
            self.up()

    def up(self):
        """(Re)starts the sandbox: fresh data, every service, no flag left."""
        args = [SB, "--state", self.state, "up", "--port", str(self.ports[0]), "--port2", str(self.ports[1]),
                "--redis-port", str(self.ports[2])]
        if self.database:
            args += ["--database", self.database]  # after the command: the operator's way
        t0 = time.time()
        p = subprocess.run(args, capture_output=True, text=True)
        if p.returncode != 0:
            raise RuntimeError(f"sandbox up failed: {p.stderr}{p.stdout}")
        self.up_seconds = time.time() - t0
        info = json.loads(p.stdout.strip().splitlines()[-1])
        self.app_url, self.app2_url = info["app_url"], info["app2_url"]
        self.inputs_file = info["inputs"]
        if not self.database:
            self.database = "sqlite:" + os.path.join(self.state, "app.db")
        return info

    def cli(self, *args, env=None):
        e = dict(os.environ)
        e.update(env or {})
        return subprocess.run([SB, "--state", self.state] + list(args), capture_output=True, text=True, env=e)

    def json(self, *args):
        p = self.cli(*args)
        if p.returncode != 0 and not p.stdout.strip():
            raise RuntimeError(f"sandbox {' '.join(args)}: {p.stderr}")
        return json.loads(p.stdout.strip().splitlines()[-1])

    def sql(self, statement, replica=False):
        p = self.cli("sql", statement, *(["--replica"] if replica else []))
        if p.returncode != 0:
            raise RuntimeError(p.stderr)
        return json.loads(p.stdout)

    def one(self, statement, replica=False):
        return self.sql(statement, replica)[0][0]

    def fault(self, name, env=None):
        e = dict(os.environ)
        e.update(env or {})
        p = subprocess.run([os.path.join(FAULTS, name + ".sh"), self.state], capture_output=True, text=True, env=e)
        if p.returncode != 0:
            raise RuntimeError(f"fault {name}: {p.stderr}{p.stdout}")
        return p.stdout.strip()

    def check(self):
        """(exit code, the lines it printed)."""
        p = self.cli("check")
        return p.returncode, p.stdout.strip()

    def health(self, url=None):
        import urllib.error
        import urllib.request
        try:
            with urllib.request.urlopen((url or self.app_url) + "/api/health", timeout=5) as r:
                return r.status, json.loads(r.read() or b"{}")
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"{}")

    def flag(self, name, on=True):
        path = os.path.join(self.state, name)
        if on:
            open(path, "w").close()
        elif os.path.exists(path):
            os.unlink(path)

    def inputs(self, **extra):
        out = ["--inputs", self.inputs_file]
        for k, v in extra.items():
            out += ["--input", f"{k}={v}"]
        return out

    def down(self):
        self.cli("runaway", "stop")
        self.cli("down")
        for name in self.pg_names:
            subprocess.run(["psql", self.pg_base, "-qc", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'],
                           capture_output=True)
