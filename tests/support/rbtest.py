"""Helpers for the engine's integration tests: run the real `runbook` binary, read its
JSON events, assert on them. The binary comes from $RUNBOOK_BIN (set by ctest)."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.path.abspath(os.environ.get("RUNBOOK_BIN") or os.path.join(ROOT, "build", "runbook"))
SANITIZED = os.environ.get("RUNBOOK_SANITIZED") == "1"

_failures = []
_checks = 0


def check(cond, msg):
    global _checks
    _checks += 1
    if not cond:
        _failures.append(msg)
        print(f"FAIL: {msg}", flush=True)


def eq(got, want, msg):
    check(got == want, f"{msg}: got {got!r}, want {want!r}")


def done():
    """Ends a test script: prints the count and exits non-zero on any failure."""
    if _failures:
        print(f"{len(_failures)} of {_checks} checks failed")
        sys.exit(1)
    if _checks == 0:
        print("no checks ran")
        sys.exit(1)
    print(f"{_checks} checks passed")
    sys.exit(0)


def skip(why):
    print(f"SKIP: {why}")
    sys.exit(77)


class Workdir:
    """A temporary directory with its own store, removed at exit unless KEEP=1."""

    def __init__(self):
        self.path = tempfile.mkdtemp(prefix="rbtest.")
        self.store = os.path.join(self.path, "store.db")

    def file(self, name, text):
        p = os.path.join(self.path, name)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "w") as f:
            f.write(text)
        return p

    def __enter__(self):
        return self

    def __exit__(self, *a):
        if os.environ.get("KEEP") != "1":
            shutil.rmtree(self.path, ignore_errors=True)


def run(args, cwd=None, env=None, timeout=300, stdin=subprocess.DEVNULL, input=None):
    e = dict(os.environ)
    e.update(env or {})
    t0 = time.time()
    kw = {"input": input.encode()} if input is not None else {"stdin": stdin}
    p = subprocess.run([BIN] + list(args), cwd=cwd, env=e, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=timeout, **kw)
    p.elapsed = time.time() - t0
    p.out = p.stdout.decode(errors="replace")
    p.err = p.stderr.decode(errors="replace")
    return p


class Run:
    """The result of `runbook --json run …`: exit code, events, ids."""

    def __init__(self, proc):
        self.proc = proc
        self.code = proc.returncode
        self.events = []
        self.run_id = self.incident = None
        for line in proc.out.splitlines():
            if not line.strip():
                continue
            try:
                v = json.loads(line)
            except ValueError:
                continue
            self.events.append(v)
            if v.get("type") in ("run.started", "run.resumed") and self.run_id is None:
                self.run_id, self.incident = v["data"].get("run"), v["data"].get("incident")

    def types(self, step=None):
        return [e["type"] for e in self.events if step is None or e.get("step") == step]

    def of(self, type_, step=None):
        return [e for e in self.events if e["type"] == type_ and (step is None or e.get("step") == step)]

    def ended(self):
        ends = self.of("run.ended")
        return ends[-1]["data"]["status"] if ends else None

    def dump(self):
        return "\n".join(json.dumps(e) for e in self.events) + "\n--- stderr ---\n" + self.proc.err


def run_runbook(wd, runbook_path, *args, env=None, timeout=300, input=None):
    p = run(["--json", "--store", wd.store, "run", runbook_path] + list(args), cwd=wd.path, env=env,
            timeout=timeout, input=input)
    return Run(p)


def http_urls():
    path = os.environ.get("RUNBOOK_TEST_HTTP")
    if not path:
        return None
    with open(path) as f:
        return json.load(f)
