"""runbook serve, hostile and failure paths first (contract §7): no token 401, a wrong role
403 (viewer answering, hook token on /api/*), a cookie POST without the CSRF token 403,
the operator's own token on a second-person approval 403, <script> in a note shown as
text, a 10 MB body refused before it is read, oversized headers, a slow client that cannot
hold the server, a revoked token, bad flags and triggers (exit 2), TLS, and throttled
sign-in. Then the happy path: a second person approves from the web, recorded with
source: web."""
import os
import re
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
import rbtest  # noqa: E402
from rbtest import check, eq  # noqa: E402
from servetest import APPROVAL_RUNBOOK, Serve, token  # noqa: E402


def csrf_of(html):
    m = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    return m.group(1) if m else None


def raw(port, data, read_timeout=5):
    """Sends bytes on a new connection; returns what came back (until close or timeout)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=read_timeout)
    try:
        s.sendall(data)
        out = b""
        while True:
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                break
            if not chunk:
                break
            out += chunk
            if b"\r\n\r\n" in out and b"Content-Length" in out:
                head, _, body = out.partition(b"\r\n\r\n")
                n = int(re.search(rb"Content-Length: (\d+)", head).group(1))
                if len(body) >= n:
                    break
        return out
    finally:
        s.close()


def flags_and_files(wd):
    # Bad flags and a bad triggers file: exit 2, FILE:LINE:COL, nothing served.
    p = rbtest.run(["--store", wd.store, "serve", "--listen", "nowhere:port"], cwd=wd.path, timeout=20)
    eq(p.returncode, 2, "--listen that is no HOST:PORT exits 2")
    p = rbtest.run(["--store", wd.store, "serve", "--listen", "127.0.0.1:0", "--tls-cert", "x.pem"], cwd=wd.path, timeout=20)
    eq(p.returncode, 2, "--tls-cert without --tls-key exits 2")
    wd.file("bad-triggers.yaml", "triggers:\n  - name: a\n    match: { alertname: X }\n    runbook: ../../etc/passwd\n"
            "  - name: b\n    match: { alertname: Y }\n    runbook: restore.yaml\n    inputs: { nope: '${{ alert.labels.x }}' }\n"
            "    incident: '${{ env.HOME }}'\n    answerz: {}\n")
    p = rbtest.run(["--store", wd.store, "serve", "--listen", "127.0.0.1:0", "--triggers", "bad-triggers.yaml"],
                   cwd=wd.path, timeout=20)
    eq(p.returncode, 2, "a bad triggers file exits 2")
    check("bad-triggers.yaml:4:14: runbook '../../etc/passwd' must be a file under --runbooks" in p.err,
          f"a runbook outside --runbooks is refused at its FILE:LINE:COL: {p.err}")
    check(re.search(r"bad-triggers.yaml:8:\d+: runbook restore-approval has no input 'nope'", p.err),
          f"an unknown input is refused: {p.err}")
    check(re.search(r"bad-triggers.yaml:9:\d+: incident: 'env.HOME' is not known when an alert comes", p.err),
          f"a template reading more than the alert is refused: {p.err}")
    check(re.search(r"bad-triggers.yaml:10:\d+: unknown key 'answerz' \(did you mean 'answers'\?\)", p.err),
          f"an unknown key is refused with a suggestion: {p.err}")
    eq(p.out, "", "nothing is served")


def tls_part(wd):
    key, cert = os.path.join(wd.path, "key.pem"), os.path.join(wd.path, "cert.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=127.0.0.1"], check=True,
                   capture_output=True)
    tok = token(wd.store, "tls-viewer", "viewer")
    with Serve(wd.store, wd.path, "--runbooks", "runbooks", "--tls-cert", cert, "--tls-key", key, tls=True) as s:
        check(s.first_line.startswith("runbook serve: listening on https://"), f"TLS says https: {s.first_line}")
        st, _, body, _ = s.get("/healthz")
        eq((st, body), (200, "ok\n"), "GET /healthz over TLS")
        st, hs, _, _ = s.post("/login", form={"token": tok, "next": "/"})
        eq(st, 303, "sign-in over TLS")
        check("Secure" in hs.get("set-cookie", "") and "HttpOnly" in hs.get("set-cookie", ""),
              f"the session cookie is Secure and HttpOnly under TLS: {hs.get('set-cookie')}")
        check("max-age" in hs.get("strict-transport-security", ""), "HSTS under TLS")
        out = raw(s.port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", read_timeout=3)
        check(b"200 OK" not in out, "plain HTTP to the TLS port gets no page")
    p = rbtest.run(["--store", wd.store, "serve", "--listen", "127.0.0.1:0", "--tls-cert", cert, "--tls-key", cert],
                   cwd=wd.path, timeout=20)
    eq(p.returncode, 2, "a key file that holds no key exits 2")
    check("--tls-key" in p.err, f"and names --tls-key: {p.err}")


def main():
    with rbtest.Workdir() as wd:
        wd.file("runbooks/restore.yaml", APPROVAL_RUNBOOK)
        flags_and_files(wd)
        toks = {n: token(wd.store, n, r) for n, r in
                [("alice", "operator"), ("bob", "approver"), ("carol", "approver"), ("vic", "viewer"), ("am", "hook")]}
        env = {"RUNBOOK_SERVE_REQUEST_TIMEOUT_MS": "1500"}
        with Serve(wd.store, wd.path, "--runbooks", "runbooks", env=env) as s:
            # ---- no token, bad token ----
            st, hs, body, _ = s.get("/healthz")
            eq((st, body), (200, "ok\n"), "GET /healthz needs no token")
            for path in ["/api/runs", "/metrics", "/api/runs/x/events"]:
                st, hs, _, js = s.get(path)
                eq(st, 401, f"GET {path} without a token")
                check("Bearer" in hs.get("www-authenticate", ""), f"{path}: WWW-Authenticate says Bearer")
            st, _, _, _ = s.post("/api/runs", {"runbook": "restore.yaml"})
            eq(st, 401, "POST /api/runs without a token")
            st, _, html, _ = s.get("/")
            check(st == 401 and 'action="/login"' in html, "GET / without a token: 401 with the sign-in form")
            # A link from another site comes without the SameSite=Strict cookie: the page
            # reloads itself once (same-site, so the cookie would go), then asks for a token.
            st, _, html, _ = s.get("/runs/R1?x=1")
            check('http-equiv="refresh" content="0;url=/runs/R1?signin=1&amp;x=1"' in html,
                  "a page without a session reloads itself once from this server")
            st, _, html, _ = s.get("/runs/R1?signin=1&x=1")
            check(st == 401 and "http-equiv=\"refresh\" content=\"0;" not in html and 'value="/runs/R1?x=1"' in html,
                  "the second time: the form, and back to the page asked for after sign-in")
            st, _, html, _ = s.get("//evil.example/x")
            check("evil.example" not in html, "never a reload or a return to another host")
            st, _, _, js = s.get("/api/runs", token="rbt_" + "A" * 43)
            eq(st, 401, "a token that was never created")

            # ---- roles ----
            st, _, _, js = s.post("/api/runs", {"runbook": "restore.yaml"}, token=toks["vic"])
            eq(st, 403, "a viewer cannot start a run")
            for method, path in [("GET", "/api/runs"), ("POST", "/api/runs"), ("GET", "/"), ("GET", "/metrics")]:
                st, _, _, _ = s.request(method, path, body={"runbook": "restore.yaml"} if method == "POST" else None,
                                        token=toks["am"])
                eq(st, 403, f"a hook token on {method} {path}")
            st, _, _, js = s.post("/api/runs", {"runbook": "../restore.yaml"}, token=toks["alice"])
            eq(st, 400, "a runbook outside --runbooks is refused")
            st, _, _, js = s.post("/api/runs", {"runbook": "restore.yaml", "inputs": {"nope": 1}}, token=toks["alice"])
            check(st == 400 and "unknown input 'nope'" in str(js), f"an unknown input is refused: {st} {js}")

            # carol (an approver) starts the run: the second-person rule, not the role, refuses her.
            st, _, _, js = s.post("/api/runs", {"runbook": "restore.yaml"}, token=toks["carol"])
            eq(st, 201, f"carol starts a run: {js}")
            run = js["run"]
            s.wait_run(toks["vic"], run, lambda v: v.get("waiting"), what="the approval waits")
            answer = {"step": "approve-restore", "answer": "yes"}
            st, _, _, js = s.post(f"/api/runs/{run}/answers", answer, token=toks["vic"])
            eq(st, 403, "a viewer answering an approval")
            st, _, _, js = s.post(f"/api/runs/{run}/answers", answer, token=toks["alice"])
            check(st == 403 and "approver" in js["error"], f"an operator answering an approval: {st} {js}")
            st, _, _, js = s.post(f"/api/runs/{run}/answers", answer, token=toks["carol"])
            check(st == 403 and "second person" in js["error"], f"the operator's own token on a second-person "
                                                                  f"approval: {st} {js}")
            st, _, _, js = s.post(f"/api/runs/{run}/answers", {"step": "check", "answer": "yes"}, token=toks["bob"])
            eq(st, 409, "a step that is not waiting: 409")
            st, _, _, js = s.post(f"/api/runs/{run}/answers", {"step": "approve-restore", "answer": "done"},
                                  token=toks["bob"])
            eq(st, 400, "done to an approval")

            # ---- cookie sessions and CSRF ----
            st, hs, _, _ = s.post("/login", form={"token": toks["bob"], "next": "//evil.example/x"})
            cookie = hs.get("set-cookie", "")
            check(st == 303 and hs.get("location") == "/", f"sign-in sends back to this server only: {st} {hs}")
            check("HttpOnly" in cookie and "SameSite=Strict" in cookie, f"the cookie is HttpOnly, SameSite=Strict: {cookie}")
            jar = {"Cookie": cookie.split(";", 1)[0]}
            st, _, html, _ = s.get(f"/runs/{run}", headers=jar)
            eq(st, 200, "the room under the cookie")
            csrf = csrf_of(html)
            check(csrf, "the room carries a CSRF token")
            st, _, _, js = s.post(f"/api/runs/{run}/notes", {"text": "no csrf"}, headers=jar)
            eq(st, 403, "a cookie POST without the CSRF token")
            st, _, _, js = s.post(f"/runs/{run}/notes", form={"text": "bad csrf", "csrf": "0" * 32}, headers=jar)
            eq(st, 403, "a cookie form POST with a wrong CSRF token")
            st, _, _, js = s.post(f"/api/runs/{run}/notes", {"text": "with csrf"}, headers={**jar, "X-CSRF-Token": csrf})
            eq(st, 200, "a cookie POST with the page's CSRF token")

            # ---- escaping ----
            st, _, _, js = s.post(f"/api/runs/{run}/notes", {"text": "<script>alert('x')</script> & \"q\"",
                                                             "tag": "impact"}, token=toks["alice"])
            eq(st, 200, f"alice notes: {js}")
            s.wait_run(toks["vic"], run, lambda v: len(v["notes"]) >= 2, what="the notes recorded")
            st, hs, html, _ = s.get(f"/runs/{run}", token=toks["vic"])
            check("<script>alert('x')" not in html, "a note's <script> never reaches the page as markup")
            check("&lt;script&gt;alert(&apos;x&apos;)&lt;/script&gt; &amp; &quot;q&quot;" in html,
                  "the note shows as text")
            csp = hs.get("content-security-policy", "")
            check("script-src 'sha256-" in csp and "default-src 'none'" in csp, f"the page has a strict CSP: {csp}")
            check("rows affected" in html and "1234" in html, "the room shows the approval's show facts")

            # ---- bounded requests ----
            head = (f"POST /api/runs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {toks['alice']}\r\n"
                    f"Content-Type: application/json\r\nContent-Length: {10 * 1024 * 1024}\r\n\r\n").encode()
            t0 = time.time()
            out = raw(s.port, head, read_timeout=5)
            check(out.startswith(b"HTTP/1.1 413"), f"a 10 MB body is refused (413) before it is sent: {out[:80]!r}")
            check(time.time() - t0 < 3, "at once")
            sock = socket.create_connection(("127.0.0.1", s.port))
            sock.sendall(head)
            sent, t0 = 0, time.time()
            try:
                chunk = b"x" * 65536
                while sent < 10 * 1024 * 1024 and time.time() - t0 < 10:
                    sock.sendall(chunk)
                    sent += len(chunk)
            except OSError:
                pass
            sock.close()
            st, _, _, _ = s.get("/healthz")
            eq(st, 200, "the server is fine after a 10 MB body")
            out = raw(s.port, b"GET /api/runs HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n")
            check(out.startswith(b"HTTP/1.1 431"), f"20 KB of headers: 431 ({out[:40]!r})")
            slow = socket.create_connection(("127.0.0.1", s.port))
            slow.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # and never the end
            t0 = time.time()
            st, _, _, _ = s.get("/healthz")
            check(st == 200 and time.time() - t0 < 0.5, "a slow client does not hold the server")
            slow.settimeout(5)
            try:
                gone = slow.recv(100) == b""
            except (socket.timeout, ConnectionResetError):
                gone = False
            check(gone and time.time() - t0 < 4, f"the slow client is cut after the request timeout ({time.time() - t0:.1f}s)")
            slow.close()

            # ---- a second person answers from the web ----
            st, _, _, js = s.post(f"/api/runs/{run}/answers", {**answer, "comment": "checked the backup"}, token=toks["bob"])
            eq(st, 200, f"bob approves: {js}")
            eq(js.get("source"), "web", "the answer says source: web")
            v = s.wait_run(toks["vic"], run, lambda v: v["status"] != "running", timeout=5, what="the run ends")
            eq(v["status"], "recovered", "the run continues and recovers")
            st, _, _, tl = s.get(f"/api/runs/{run}/timeline", token=toks["vic"])
            ans = [e for e in tl if e["type"] == "approval.answered"]
            check(ans and ans[0]["data"].get("by") == "bob" and ans[0]["data"].get("source") == "web"
                  and ans[0]["data"].get("comment") == "checked the backup",
                  f"approval.answered: by bob, source web, the comment: {ans}")
            refused = [e for e in tl if e["type"] == "approval.refused"]
            eq(refused, [], "the refused answers never reached the engine (refused at the door)")
            st, _, _, js = s.post(f"/api/runs/{run}/answers", answer, token=toks["bob"])
            eq(st, 409, "answering an ended run: 409")

            # ---- a revoked token stops at once ----
            p = rbtest.run(["--store", wd.store, "token", "revoke", "vic"])
            eq(p.returncode, 0, "revoke vic")
            st, _, _, _ = s.get("/api/runs", token=toks["vic"])
            eq(st, 401, "a revoked token")
            p = rbtest.run(["--store", wd.store, "token", "revoke", "vic"])
            eq(p.returncode, 2, "revoking it again: exit 2")
            p = rbtest.run(["--store", wd.store, "token", "list"])
            check("vic" not in p.out and "alice" in p.out and "rbt_" not in p.out, f"token list shows names, never tokens: {p.out}")
            with open(wd.store, "rb") as f:
                check(toks["alice"].encode() not in f.read(), "the store never holds a token in clear")

            # ---- sign-in is throttled (last: it blocks this address) ----
            # Two bad tokens were presented above (one never created, one revoked): 8 more make 10.
            codes = [s.post("/login", form={"token": "rbt_wrong" + str(i)})[0] for i in range(12)]
            check(codes[:8] == [401] * 8 and codes[8:] == [429] * 4,
                  f"after 10 failures from one address, sign-in is refused: {codes}")
            st, hs, _, _ = s.get("/api/runs", token=toks["alice"])
            check(st == 429 and int(hs.get("retry-after", "0")) > 0, "and the address waits (Retry-After)")
        tls_part(wd)
    rbtest.done()


main()
