#!/usr/bin/python3
"""HTTP values stay data (contract section 1, `http`, v2), against a raw local server that
records the bytes it receives: a `${{ }}` in the URL is percent-encoded for its component
(`q=1/../../admin?delete=all#` stays one path segment and one query value), a value never
changes the host, a header holding CR/LF is a step error and nothing is sent (a static one
is a validation error at its FILE:LINE:COL)."""
import os
import socket
import sys
import threading

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
import rbtest  # noqa: E402
from rbtest import Workdir, check, done, eq, run_runbook  # noqa: E402


class RawServer:
    """Accepts connections on 127.0.0.1, records each request's head, answers 200."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.requests = []
        threading.Thread(target=self.loop, daemon=True).start()

    def loop(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            c.settimeout(5)
            data = b""
            try:
                while b"\r\n\r\n" not in data:
                    chunk = c.recv(4096)
                    if not chunk:
                        break
                    data += chunk
                self.requests.append(data.split(b"\r\n\r\n")[0].decode(errors="replace"))
                c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
            except OSError:
                pass
            c.close()

    def stop(self):
        self.sock.close()


srv = RawServer()
BASE = f"http://127.0.0.1:{srv.port}"
Q = "1/../../admin?delete=all#"
QE = "1%2F..%2F..%2Fadmin%3Fdelete%3Dall%23"
try:
    with Workdir() as wd:
        wd.file("url.yaml", f"""
runbook: url
title: URL values
inputs:
  q: {{}}
  base: {{ default: "{BASE}" }}
  host: {{ default: "127.0.0.1" }}
steps:
  path-and-query:
    http: {{ url: "${{{{ inputs.base }}}}/api/users/${{{{ inputs.q }}}}/view?id=${{{{ inputs.q }}}}&x=1#${{{{ inputs.q }}}}" }}
    next: host
  host:
    http: "http://${{{{ inputs.host }}}}:{srv.port}/h/${{{{ inputs.q }}}}"
    next: done
  done: {{ end: recovered }}
""")
        r = run_runbook(wd, "url.yaml", "--input", f"q={Q}")
        eq(r.code, 0, f"the URL run recovered\n{r.dump()[-1500:]}")
        lines = [req.split("\r\n")[0] for req in srv.requests]
        eq(lines[0] if lines else None, f"GET /api/users/{QE}/view?id={QE}&x=1 HTTP/1.1",
           "path segment and query value encoded: one segment, no '..', no new query or fragment")
        eq(lines[1] if len(lines) > 1 else None, f"GET /h/{QE} HTTP/1.1", "the host form too")

        for q, want in [("..", "/api/users/%2E%2E/view"), (".", "/api/users/%2E/view"), ("a b&c=d", "/api/users/a%20b%26c%3Dd/view")]:
            srv.requests.clear()
            r = run_runbook(wd, "url.yaml", "--input", f"q={q}")
            got = srv.requests[0].split("\r\n")[0] if srv.requests else ""
            check(got.startswith(f"GET {want}?id="), f"q={q!r}: the path is {want} ({got!r})")

        # A value that would change the host or the base's shape: step error, no connection.
        for inp, value in [("host", "127.0.0.1@evil.example"), ("host", "evil.example/x"), ("base", f"{BASE}/?a=b"),
                           ("base", "file:///etc/passwd"), ("base", "javascript:alert(1)")]:
            srv.requests.clear()
            r = run_runbook(wd, "url.yaml", "--input", "q=1", "--input", f"{inp}={value}")
            eq(r.code, 1, f"{inp}={value!r}: the run fails")
            failed = r.of("step.failed")
            check(failed and "url:" in str(failed[0]["data"]), f"{inp}={value!r}: the step says why ({failed})")
            check(all(inp != "host" or "/h/" not in q for q in srv.requests), f"{inp}={value!r}: nothing sent to it")

        # Header values from inputs holding CR/LF: a step error, nothing sent.
        wd.file("header.yaml", f"""
runbook: header
title: Header values
inputs:
  v: {{}}
steps:
  send:
    http: {{ url: "{BASE}/hdr", headers: {{ X-Token: "${{{{ inputs.v }}}}" }} }}
    next: done
  done: {{ end: recovered }}
""")
        srv.requests.clear()
        r = run_runbook(wd, "header.yaml", "--input", "v=ok\r\nX-Injected: yes\r\nHost: evil")
        eq(r.code, 1, "a header value with CR/LF fails the step")
        eq(srv.requests, [], "nothing was sent")
        failed = r.of("step.failed", "send")
        check(failed and "CR, LF or NUL" in str(failed[0]["data"]), f"the step says why ({failed})")
        srv.requests.clear()
        r = run_runbook(wd, "header.yaml", "--input", "v=plain-token")
        eq(r.code, 0, "a plain header value is sent")
        heads = srv.requests[0].split("\r\n")[1:] if srv.requests else []
        eq([h for h in heads if h.lower().startswith("x-token:")], ["X-Token: plain-token"], "one X-Token header")
        eq(len([h for h in heads if h.lower().startswith("host:")]), 1, "one Host header")
        check(not any("x-injected" in h.lower() for h in heads), "no injected header")

        # A static header with CR/LF: validation error at the value's FILE:LINE:COL.
        text = (f"runbook: s\ntitle: s\nsteps:\n  a:\n    http:\n      url: \"{BASE}/\"\n      headers:\n"
                "        X-A: \"ok\\r\\nX-Injected: yes\"\n    next: b\n  b: { end: recovered }\n")
        path = wd.file("static.yaml", text)
        p = rbtest.run(["validate", path])
        eq(p.returncode, 2, "a static header with CR/LF is invalid")
        check(f"{path}:8:15: " in p.err and "CR, LF or NUL" in p.err, f"at the value's position: {p.err!r}")
        path = wd.file("badurl.yaml", text.replace(f"{BASE}/", f"{BASE}/a b").replace("ok\\r\\nX-Injected: yes", "ok"))
        p = rbtest.run(["validate", path])
        eq(p.returncode, 2, f"a static URL that is not a URL is invalid ({p.err!r})")
finally:
    srv.stop()
done()
