"""Alerts in, end to end, with real Prometheus and Alertmanager (Debian's `prometheus` and
`prometheus-alertmanager`, started here on 127.0.0.1 with temporary data folders): the
sandbox's queue worker is killed -9; Prometheus, scraping the sandbox's /metrics, fires
SandboxWorkerDown (examples/prometheus/rules.yml); Alertmanager posts it to runbook serve,
which starts runbooks/worker-crash.yaml through examples/triggers.yaml; the run repairs the
sandbox; the alert resolves and alert.resolved lands in the run's timeline. Prometheus also
scrapes serve's own /metrics with a viewer token. Prints the time from the kill to
recovered."""
import datetime
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
import rbtest  # noqa: E402
import sandboxctl  # noqa: E402
from rbtest import check, eq  # noqa: E402
from servetest import Serve, token  # noqa: E402

ROOT = rbtest.ROOT
for tool in ("prometheus", "prometheus-alertmanager"):
    if not shutil.which(tool):
        rbtest.skip(f"{tool} is not installed (apt-get install prometheus prometheus-alertmanager)")


def get_json(url, tok=None):
    req = urllib.request.Request(url, headers={"Authorization": "Bearer " + tok} if tok else {})
    with urllib.request.urlopen(req, timeout=5) as r:
        return json.loads(r.read())


def wait(what, pred, timeout, every=0.2):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            v = pred()
        except OSError:
            v = None
        if v:
            return v
        time.sleep(every)
    raise AssertionError(f"{what}: not within {timeout}s")


def configs(d, sb, serve_port, prom_port, am_port, hook, viewer):
    """The example configuration, pointed at this test's ports and folders."""
    with open(os.path.join(ROOT, "examples", "prometheus", "rules.yml")) as f:
        rules = f.read()
    sandbox_state = sb.state
    rules = (rules.replace('"http://127.0.0.1:18080"', f'"{sb.app_url}"')
             .replace('"examples/sandbox/state"', f'"{sandbox_state}"')
             .replace('"examples/sandbox/sandbox.py"', f'"{sandboxctl.SB}"')
             .replace('"sqlite:examples/sandbox/state/app.db"', f'"{sb.database}"'))
    open(os.path.join(d, "rules.yml"), "w").write(rules)
    open(os.path.join(d, "viewer.token"), "w").write(viewer)
    open(os.path.join(d, "hook.token"), "w").write(hook)
    sandbox_target = sb.app_url.split("//", 1)[1]
    open(os.path.join(d, "prometheus.yml"), "w").write(f"""global: {{ scrape_interval: 1s, evaluation_interval: 1s }}
rule_files: [rules.yml]
alerting:
  alertmanagers:
    - static_configs: [{{ targets: ["127.0.0.1:{am_port}"] }}]
scrape_configs:
  - job_name: sandbox
    static_configs: [{{ targets: ["{sandbox_target}"] }}]
  - job_name: runbook
    authorization: {{ credentials_file: viewer.token }}
    static_configs: [{{ targets: ["127.0.0.1:{serve_port}"] }}]
""")
    open(os.path.join(d, "alertmanager.yml"), "w").write(f"""route:
  receiver: runbook
  group_by: [alertname, instance]
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: runbook
    webhook_configs:
      - url: http://127.0.0.1:{serve_port}/hooks/alertmanager
        send_resolved: true
        http_config:
          authorization: {{ credentials_file: {d}/hook.token }}
""")


def main():
    work = tempfile.mkdtemp(prefix="rbtest.am.")
    procs, sb = [], None
    try:
        sb = sandboxctl.Sandbox(os.path.join(work, "state"))
        store = os.path.join(work, "store.db")
        hook, viewer = token(store, "alertmanager", "hook"), token(store, "prometheus", "viewer")
        prom_port, am_port = sandboxctl.free_port(), sandboxctl.free_port()
        with Serve(store, work, "--runbooks", os.path.join(ROOT, "runbooks"), "--triggers",
                   os.path.join(ROOT, "examples", "triggers.yaml")) as s:
            check("1 trigger(s)" in s.first_line, "examples/triggers.yaml loads")
            configs(work, sb, s.port, prom_port, am_port, hook, viewer)
            log = open(os.path.join(work, "monitoring.log"), "w")
            procs.append(subprocess.Popen(["prometheus-alertmanager", f"--config.file={work}/alertmanager.yml",
                                           f"--storage.path={work}/am", f"--web.listen-address=127.0.0.1:{am_port}",
                                           "--cluster.listen-address="], stdout=log, stderr=log))
            procs.append(subprocess.Popen(["prometheus", f"--config.file={work}/prometheus.yml",
                                           f"--storage.tsdb.path={work}/prom",
                                           f"--web.listen-address=127.0.0.1:{prom_port}"], stdout=log, stderr=log))
            prom = f"http://127.0.0.1:{prom_port}"

            def targets_up():
                t = get_json(prom + "/api/v1/targets")["data"]["activeTargets"]
                return len(t) == 2 and all(x["health"] == "up" for x in t)
            wait("Prometheus scrapes the sandbox and runbook serve", targets_up, 60)
            eq(get_json(sb.app_url + "/api/admin/workers")["alive"], True, "the worker is alive before the fault")

            pid = int(open(os.path.join(sb.state, "worker.pid")).read().strip())
            t_kill = time.time()
            os.kill(pid, signal.SIGKILL)

            def run_started():
                runs = [r for r in get_json(s.base + "/api/runs", viewer) if r["runbook"] == "worker-crash"]
                return runs[0] if runs else None
            run = wait("Alertmanager's alert starts worker-crash", run_started, 90)
            eq(run["operator"], "alertmanager", "started by the hook token")
            v = s.wait_run(viewer, run["id"], lambda v: v["status"] != "running", timeout=180, what="worker-crash ends")
            eq(v["status"], "recovered", "worker-crash repaired the sandbox")
            eq(get_json(sb.app_url + "/api/admin/workers")["alive"], True, "the worker is alive again")
            tl = s.get(f"/api/runs/{run['id']}/timeline", token=viewer)[3]
            steps = [e["step"] for e in tl if e["type"] == "step.succeeded"]
            check("restart-worker" in steps, f"the worker was restarted by the run: {steps}")
            started = [e for e in tl if e["type"] == "run.started"][0]
            eq(started["data"]["inputs"]["sandbox"], sb.state, "inputs came from the alert's annotations")

            def resolved():
                ev = [e for e in s.get(f"/api/runs/{run['id']}/timeline", token=viewer)[3] if e["type"] == "alert.resolved"]
                return ev[0] if ev else None
            res = wait("the alert resolves: alert.resolved in the run's timeline", resolved, 120)
            eq(res["data"]["labels"]["alertname"], "SandboxWorkerDown", "alert.resolved names the alert")

            def scraped():
                q = urllib.parse.quote('runbook_runs_total{runbook="worker-crash",status="recovered"}')
                r = get_json(prom + "/api/v1/query?query=" + q)["data"]["result"]
                return r and r[0]["value"][1] == "1"
            import urllib.parse
            wait("Prometheus reads runbook_runs_total from serve's /metrics", scraped, 30)
            # The engine's own stamps (same machine, same clock as t_kill).
            tl = s.get(f"/api/runs/{run['id']}/timeline", token=viewer)[3]

            def at(kind):
                e = [x for x in tl if x["type"] == kind][0]
                return datetime.datetime.fromisoformat(e["ts"].replace("Z", "+00:00")).timestamp() - t_kill
            kill_to_run, kill_to_rec = at("run.started"), at("run.ended")
            print(f"kill -9 of the worker -> worker-crash started: {kill_to_run:.1f}s; -> recovered: {kill_to_rec:.1f}s "
                  f"(the run itself {kill_to_rec - kill_to_run:.1f}s); -> alert.resolved in its timeline: "
                  f"{at('alert.resolved'):.1f}s")
            check(kill_to_rec < 120, "recovered within two minutes of the kill")
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
        if sb:
            sb.down()
        if os.environ.get("KEEP") != "1":
            shutil.rmtree(work, ignore_errors=True)
        else:
            print("kept", work)
    rbtest.done()


main()
