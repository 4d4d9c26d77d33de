"""Starts and stops the examples/sandbox "production" for the end-to-end tests: a state
folder of its own, free loopback ports, SQLite or a fresh PostgreSQL database."""
import json
import os
import socket
import subprocess
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
    def __init__(self, state, backend="sqlite"):
        self.state = state
        self.backend = backend
        self.database = None
        if backend == "postgres":
            base = os.environ["RUNBOOK_TEST_PG_URL"]
            db = "sandbox_" + uuid.uuid4().hex[:8]
            subprocess.run(["psql", base, "-qc", f"CREATE DATABASE {db}"], check=True)
            subprocess.run(["psql", base, "-qc", f"CREATE DATABASE {db}_replica"], check=True)
            self.database = base.rsplit("/", 1)[0] + "/" + db
        args = [SB, "--state", state] + (["--database", self.database] if self.database else []) + \
            ["up", "--port", str(free_port()), "--port2", str(free_port())]
        out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
        info = json.loads(out.strip().splitlines()[-1])
        self.app_url, self.app2_url = info["app_url"], info["app2_url"]
        if not self.database:
            self.database = "sqlite:" + os.path.join(state, "app.db")

    def cli(self, *args):
        return subprocess.run([SB, "--state", self.state] + list(args), capture_output=True, text=True)

    def sql(self, statement, replica=False):
        p = self.cli("sql", statement, *(["--replica"] if replica else []))
        if p.returncode != 0:
            raise RuntimeError(p.stderr)
        return json.loads(p.stdout)

    def fault(self, name):
        subprocess.run([os.path.join(FAULTS, name + ".sh"), self.state], check=True, capture_output=True)

    def inputs(self, database=True):
        out = ["--input", f"app_url={self.app_url}", "--input", f"sandbox={self.state}", "--input", f"sandbox_cli={SB}"]
        if database:
            out += ["--input", f"database_url={self.database}"]
        return out

    def down(self):
        self.cli("down")
