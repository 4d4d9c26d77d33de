"""Helpers for the tests of `runbook serve`: start a real server on a free loopback port
(--listen 127.0.0.1:0; the port comes from its first line), make tokens, speak HTTP and
server-sent events to it, read a process's memory. Every server is stopped by the test
that started it (Serve is a context manager)."""
import http.client
import json
import os
import signal
import socket
import ssl
import subprocess
import time
import urllib.parse

import rbtest


def token(store, name, role, env=None):
    p = rbtest.run(["--store", store, "token", "create", name, "--role", role], env=env)
    assert p.returncode == 0, p.err
    return p.out.strip()


class Serve:
    """A `runbook serve` process: started in `cwd`, stopped (SIGTERM, then SIGKILL) on exit."""

    def __init__(self, store, cwd, *args, env=None, wait=True, tls=False):
        self.store, self.cwd, self.tls = store, cwd, tls
        self.log = open(os.path.join(cwd, f"serve-{time.time_ns()}.log"), "w+")
        e = dict(os.environ)
        e.update(env or {})
        cmd = [rbtest.BIN, "--store", store, "serve", "--listen", "127.0.0.1:0"] + list(args)
        self.proc = subprocess.Popen(cmd, cwd=cwd, env=e, stdout=subprocess.PIPE, stderr=self.log, text=True)
        self.port = None
        self.first_line = None
        if wait:
            try:
                self.wait_listening()
            except BaseException:
                self.kill9()
                raise

    def wait_listening(self, timeout=30):
        deadline = time.time() + timeout
        line = self.proc.stdout.readline()
        self.first_line = line
        if "listening on" not in line:
            raise RuntimeError(f"serve did not start: {line!r} {self.stderr()}")
        self.port = int(line.split("://", 1)[1].split(" ", 1)[0].rsplit(":", 1)[1])
        assert time.time() < deadline
        # The rest of stdout (the runs' event lines) drains into the log.
        import threading
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self):
        for line in self.proc.stdout:
            self.log.write(line)
            self.log.flush()

    def stderr(self):
        self.log.flush()
        self.log.seek(0)
        return self.log.read()

    @property
    def base(self):
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    def conn(self, timeout=10):
        if self.tls:
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            return http.client.HTTPSConnection("127.0.0.1", self.port, timeout=timeout, context=ctx)
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def request(self, method, path, body=None, token=None, headers=None, form=None, timeout=10):
        """(status, headers dict (lowercase), body text, parsed JSON or None)."""
        h = dict(headers or {})
        if token:
            h["Authorization"] = "Bearer " + token
        data = None
        if form is not None:
            data = urllib.parse.urlencode(form).encode()
            h.setdefault("Content-Type", "application/x-www-form-urlencoded")
        elif body is not None:
            data = body if isinstance(body, (bytes, str)) else json.dumps(body)
            h.setdefault("Content-Type", "application/json")
        c = self.conn(timeout)
        c.request(method, path, body=data, headers=h)
        r = c.getresponse()
        text = r.read().decode(errors="replace")
        hs = {k.lower(): v for k, v in r.getheaders()}
        c.close()
        try:
            js = json.loads(text)
        except ValueError:
            js = None
        return r.status, hs, text, js

    def get(self, path, token=None, **kw):
        return self.request("GET", path, token=token, **kw)

    def post(self, path, body=None, token=None, **kw):
        return self.request("POST", path, body=body, token=token, **kw)

    def wait_run(self, tok, run_id, pred, timeout=30, what="condition"):
        deadline = time.time() + timeout
        last = None
        while time.time() < deadline:
            st, _, _, js = self.get(f"/api/runs/{run_id}", tok)
            if st == 200:
                last = js
                if pred(js):
                    return js
            time.sleep(0.05)
        raise AssertionError(f"run {run_id}: {what} not reached in {timeout}s; last: {json.dumps(last)[:600]}")

    def stop(self, sig=signal.SIGTERM, timeout=20):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def kill9(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def rss_kb(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.stop()
        if os.environ.get("KEEP") == "1" or a[0] is not None:
            print("--- serve log (tail) ---\n" + self.stderr()[-4000:])
        self.log.close()


class EventClient:
    """A raw SSE client: sends the request, reads frames as they come."""

    def __init__(self, port, path, token=None, last_id=None, timeout=10, connect=True):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        req = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n"
        if token:
            req += f"Authorization: Bearer {token}\r\n"
        if last_id is not None:
            req += f"Last-Event-ID: {last_id}\r\n"
        self.sock.sendall((req + "\r\n").encode())
        self.buf = b""
        self.status = None

    def read_status(self):
        while b"\r\n\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                break
            self.buf += chunk
        head, _, rest = self.buf.partition(b"\r\n\r\n")
        self.buf = rest
        self.status = int(head.split(b" ", 2)[1]) if head else 0
        return self.status

    def next_event(self, timeout=5):
        """The next `id:`/`data:` frame as (id, data dict); None at timeout."""
        self.sock.settimeout(timeout)
        deadline = time.time() + timeout
        while True:
            while b"\n\n" in self.buf:
                frame, _, self.buf = self.buf.partition(b"\n\n")
                fid, data = None, None
                for line in frame.decode().splitlines():
                    if line.startswith("id: "):
                        fid = int(line[4:])
                    elif line.startswith("data: "):
                        data = json.loads(line[6:])
                if data is not None:
                    return fid, data
            if time.time() >= deadline:
                return None
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                return None
            if not chunk:
                return None
            self.buf += chunk

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


APPROVAL_RUNBOOK = """runbook: restore-approval
title: Restore after an approval
objectives: { rto: 10m }
steps:
  check:
    title: Check the backup
    budget: 1m
    shell: "echo backup ok"
    next: approve-restore
  approve-restore:
    title: Approve the restore
    budget: 5m
    approval:
      prompt: Restoring overwrites live data. Proceed?
      second_person: true
      timeout: 10m
      show:
        rows affected: "1234"
        backup age: "'3h12m'"
    next: restore
    on_reject: declined
  restore:
    title: Restore
    budget: 1m
    shell: "echo restored"
    next: done
  done:
    end: recovered
  declined:
    end: aborted
"""
