#!/usr/bin/python3
"""The HTML report of a real run of runbooks/database-disaster.yaml, opened in headless
Chromium: screenshotted to PNG, loaded with no network request (every connection would go
to a recording proxy), and the chart's SVG has one bar per executed step.
UPDATE_SCREENSHOT=1 copies the PNG to examples/report-screenshot.png."""
import os
import re
import shutil
import socket
import subprocess
import sys
import threading

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
import rbtest  # noqa: E402
from rbtest import Workdir, check, done, eq, run_runbook  # noqa: E402
from sandboxctl import Sandbox  # noqa: E402

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
if not CHROMIUM:
    rbtest.skip("chromium is not installed (tests/run.sh installs it)")


class Recorder:
    """A TCP listener that records every connection made to it."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.seen = []
        threading.Thread(target=self.loop, daemon=True).start()

    def loop(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            c.settimeout(1)
            try:
                self.seen.append(c.recv(256).decode(errors="replace").splitlines()[0] if True else "")
            except (OSError, IndexError):
                self.seen.append("?")
            c.close()


def chromium(args, profile, proxy_port):
    base = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--disable-default-apps", "--disable-extensions", "--metrics-recording-only", "--no-default-browser-check",
            "--disable-client-side-phishing-detection", "--disable-domain-reliability", "--no-pings",
            "--disable-component-extensions-with-background-pages", "--disable-breakpad",
            "--disable-features=NetworkTimeServiceQuerying,OptimizationHints,MediaRouter,Translate,AccountConsistency,"
            "DialMediaRouteProvider,AutofillServerCommunication,CertificateTransparencyComponentUpdater",
            f"--user-data-dir={profile}", f"--proxy-server=http://127.0.0.1:{proxy_port}", "--proxy-bypass-list=<-loopback>"]
    return subprocess.run(base + args, capture_output=True, text=True, timeout=120)


with Workdir() as wd:
    sb = Sandbox(os.path.join(wd.path, "sandbox"))
    try:
        sb.fault("database-disaster")
        r = run_runbook(wd, os.path.join(rbtest.ROOT, "runbooks", "database-disaster.yaml"), "--drill", "--yes",
                        *sb.inputs(watch="2s"))
        eq(r.code, 0, f"database-disaster drill: exit code\n{r.proc.err[-2000:]}")
    finally:
        sb.down()
    executed = sorted({e["step"] for e in r.events if e["type"] == "step.started"})
    html = os.path.join(wd.path, "report.html")
    p = rbtest.run(["--store", wd.store, "export", r.run_id, "--format", "html", "-o", html], cwd=wd.path)
    eq(p.returncode, 0, "export html")
    check(not re.search(r'(src|href)\s*=\s*"(https?:)?//', open(html).read()), "the HTML references nothing outside")

    rec = Recorder()
    profile = os.path.join(wd.path, "profile")
    png = os.path.join(wd.path, "report.png")
    shot = chromium([f"--screenshot={png}", "--window-size=1280,2600", "--hide-scrollbars", f"file://{html}"], profile,
                    rec.port)
    check(os.path.exists(png) and os.path.getsize(png) > 20_000, f"screenshot taken ({shot.stderr[-500:]})")
    dom = chromium(["--dump-dom", f"file://{html}"], profile, rec.port)
    bars = re.findall(r'<rect class="bar (\w+)" data-step="([^"]+)"', dom.stdout)
    eq(sorted(step for _, step in bars), executed, "the chart has one bar per executed step")
    check(all(k in ("succeeded", "confirmed") for k, _ in bars), "every bar of a recovered drill is green")
    check("Incident report" in dom.stdout, "the page rendered")
    # Chromium's own background traffic (component updates, sign-in probes) is not the page's:
    # those hosts are the browser's, never referenced by a report.
    browser_own = ("update.googleapis.com", "accounts.google.com", "clients2.google.com/time")
    page = [s for s in rec.seen if not any(h in s for h in browser_own)]
    eq(page, [], "no network request while loading the report")
    print(f"connections seen: {len(rec.seen)}, of which the page's: {len(page)}")
    if os.environ.get("UPDATE_SCREENSHOT") == "1":
        shutil.copy(png, os.path.join(rbtest.ROOT, "examples", "report-screenshot.png"))
done()
