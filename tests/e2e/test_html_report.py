#!/usr/bin/python3
"""The HTML report of a real run of runbooks/database-disaster.yaml, opened in headless
Chromium through WebDriver: screenshotted to PNG, loaded with no request of its own (the
page's requests are read from DevTools' network log, filtered by the page's document, so
whatever Chromium's background services contact on a given machine does not count; those
services are switched off anyway), and the chart's SVG has one bar per executed step. A
control page that does reference another host proves the count sees such requests.
UPDATE_SCREENSHOT=1 copies the PNG to examples/report-screenshot.png."""
import json
import os
import re
import shutil
import socket
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
import rbtest  # noqa: E402
from rbtest import Workdir, check, done, eq, run_runbook  # noqa: E402
from sandboxctl import Sandbox  # noqa: E402

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
if not CHROMIUM or not os.path.exists(DRIVER):
    rbtest.skip("chromium and chromium-driver are not installed (tests/run.sh installs them)")
try:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
except ImportError:
    rbtest.skip("python3-selenium is not installed (tests/run.sh installs it)")


class Browser:
    """Headless Chromium with its background services off, a fresh profile, and DevTools'
    network log on."""

    def __init__(self, profile):
        o = webdriver.ChromeOptions()
        o.binary_location = CHROMIUM
        for a in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--hide-scrollbars",
                  "--window-size=1280,2600", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-default-browser-check", "--no-first-run", "--metrics-recording-only",
                  "--disable-default-apps", "--disable-extensions", "--disable-domain-reliability", "--no-pings",
                  "--disable-client-side-phishing-detection", "--disable-breakpad", f"--user-data-dir={profile}"]:
            o.add_argument(a)
        o.set_capability("goog:loggingPrefs", {"performance": "ALL"})
        self.d = webdriver.Chrome(service=Service(DRIVER), options=o)

    def load(self, url):
        """Opens `url`; returns the URLs of the requests that page made itself (its own
        document excluded), read from DevTools' Network.requestWillBeSent events."""
        self.d.get(url)
        self.d.execute_script("return document.readyState")
        own = []
        for entry in self.d.get_log("performance"):
            m = json.loads(entry["message"])["message"]
            if m.get("method") != "Network.requestWillBeSent":
                continue
            params = m["params"]
            if params.get("documentURL") == url and params["request"]["url"] != url:
                own.append(params["request"]["url"])
        return own

    def quit(self):
        self.d.quit()


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

    png = os.path.join(wd.path, "report.png")
    # The control page's requests go to a closed port on loopback: they fail at once,
    # on any machine, with or without a network.
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    closed = s.getsockname()[1]
    s.close()
    control_urls = [f"http://127.0.0.1:{closed}/x.png", f"http://127.0.0.1:{closed}/a.css"]
    control = wd.file("control.html", f'<html><body><img src="{control_urls[0]}">'
                                      f'<link rel="stylesheet" href="{control_urls[1]}"></body></html>')
    browser = Browser(tempfile.mkdtemp(prefix="chromium.", dir=wd.path))
    try:
        seen = browser.load(f"file://{control}")
        eq(sorted(seen), sorted(control_urls), "control: the count sees a page's own requests")
        page = browser.load(f"file://{html}")
        browser.d.save_screenshot(png)
        dom = browser.d.page_source
    finally:
        browser.quit()
    check(os.path.exists(png) and os.path.getsize(png) > 20_000, "screenshot taken")
    bars = re.findall(r'<rect class="bar (\w+)" data-step="([^"]+)"', dom)
    eq(sorted(step for _, step in bars), executed, "the chart has one bar per executed step")
    check(all(k in ("succeeded", "confirmed") for k, _ in bars), "every bar of a recovered drill is green")
    check("Incident report" in dom, "the page rendered")
    eq(page, [], "no network request while loading the report")
    print(f"requests of the report page: {len(page)}; of the control page: {len(seen)}")
    if os.environ.get("UPDATE_SCREENSHOT") == "1":
        shutil.copy(png, os.path.join(rbtest.ROOT, "examples", "report-screenshot.png"))
done()
