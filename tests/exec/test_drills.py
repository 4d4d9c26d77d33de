#!/usr/bin/python3
"""Drills: next-fire times agree with `systemd-analyze calendar` on every generated
OnCalendar= (which it accepts), CronJob manifests are valid YAML with the expected keys,
drills.yaml errors come as FILE:LINE:COL; a drill that injects a real fault recovers it and
records a passed scorecard; a drill whose gate fails records failed and still runs its
teardown; an interrupted drill still runs its teardown; `drill history` over a store
seeded with six months of drills shows the trend and flags the step that regressed; drill
medians feed the projected finish of later runs."""
import datetime as dt
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time

import yaml

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
import rbtest  # noqa: E402
from rbtest import Workdir, check, done, eq  # noqa: E402
from sandboxctl import SB, FAULTS  # noqa: E402

ROOT = rbtest.ROOT
EXPRS = [("*/15 * * * *", "UTC"), ("0 9 1-7 * *", "UTC"), ("30 8 * * MON-FRI", "UTC"), ("0 9 1-7 * MON", "UTC"),
         ("0 0 31 * *", "UTC"), ("0 12 29 FEB *", "UTC"), ("30 2 * * *", "Europe/Paris"), ("0 3 * * SUN", "Europe/Paris"),
         ("0 9 * * *", "America/New_York"), ("15 10 3 * *", "Europe/Paris"), ("0 */6 * * *", "Asia/Kolkata")]
BASES = ["2026-11-23T00:00:00Z", "2027-03-27T12:00:00Z", "2027-10-30T12:00:00Z", "2027-02-27T00:00:00Z"]


def systemd_times(cals, base, n):
    times = set()
    for cal in cals:
        p = subprocess.run(["systemd-analyze", "calendar", f"--base-time={base}", f"--iterations={n}", cal],
                           capture_output=True, text=True, env=dict(os.environ, TZ="UTC"))
        check(p.returncode == 0, f"systemd-analyze accepts {cal!r} ({p.stderr.strip()})")
        for m in re.finditer(r"(?:Next elapse|Iter\. #\d+): \w+ (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) UTC", p.stdout):
            times.add(m.group(1).replace(" ", "T") + "Z")
    return sorted(times)[:n]


with Workdir() as wd:
    # ---- schedules: ours against systemd-analyze ------------------------------------------
    drills = "drills:\n" + "".join(
        f"  - name: d{i}\n    runbook: {ROOT}/runbooks/deployment-rollback.yaml\n    schedule: \"{e}\"\n    timezone: {tz}\n"
        for i, (e, tz) in enumerate(EXPRS))
    wd.file("cron.yaml", drills)
    units = rbtest.run(["drill", "install", "--systemd", "--drills", "cron.yaml", "--dir", "units"], cwd=wd.path)
    eq(units.returncode, 0, f"install --systemd ({units.err})")
    have_systemd = shutil.which("systemd-analyze") is not None
    for base in BASES:
        ours = json.loads(rbtest.run(["--json", "drill", "list", "--drills", "cron.yaml", "--at", base], cwd=wd.path).out)
        for i, (e, tz) in enumerate(EXPRS):
            timer = open(os.path.join(wd.path, "units", f"runbook-drill-d{i}.timer")).read()
            cals = re.findall(r"^OnCalendar=(.*)$", timer, re.M)
            check("Persistent=true" in timer, "timer is Persistent")
            got = [dt.datetime.strptime(x[:19], "%Y-%m-%d %H:%M:%S") for x in ours[i]["next"]]
            import zoneinfo
            z = zoneinfo.ZoneInfo(tz)
            got_utc = [g.replace(tzinfo=z).astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ") for g in got]
            if have_systemd:
                eq(got_utc, systemd_times(cals, base.replace("T", " ").replace("Z", " UTC"), 3),
                   f"'{e}' ({tz}) from {base}: ours vs systemd-analyze")
    if not have_systemd:
        print("note: systemd-analyze is not installed; the hand-checked table in tests/unit/cron_test.cpp still ran")

    # ---- Kubernetes CronJobs and crontab ------------------------------------------------------
    k8s = rbtest.run(["drill", "install", "--k8s", "--drills", os.path.join(ROOT, "examples", "drills.yaml"),
                      "--image", "registry.example/runbook:1", "--store-secret", "runbook-store"], cwd=ROOT)
    eq(k8s.returncode, 0, f"install --k8s ({k8s.err})")
    docs = [d for d in yaml.safe_load_all(k8s.out) if d and d["kind"] == "CronJob"]
    with open(os.path.join(ROOT, "examples", "drills.yaml")) as f:
        shipped = len(yaml.safe_load(f)["drills"])
    eq(len(docs), shipped, "one CronJob per drill")
    for d in docs:
        eq((d["apiVersion"], d["kind"]), ("batch/v1", "CronJob"), f"{d['metadata']['name']}: kind")
        spec = d["spec"]
        check(re.match(r"^\S+ \S+ \S+ \S+ \S+$", spec["schedule"]) is not None, "CronJob: 5-field schedule")
        check(spec["concurrencyPolicy"] == "Forbid" and spec["timeZone"], "CronJob: no overlap, a time zone")
        c = spec["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
        eq(c["command"][:3], ["runbook", "drill", "run"], "CronJob: calls runbook drill run NAME")
        eq(spec["jobTemplate"]["spec"]["template"]["spec"]["restartPolicy"], "Never", "CronJob: restartPolicy")
    cron = rbtest.run(["drill", "install", "--cron", "--drills", os.path.join(ROOT, "examples", "drills.yaml")], cwd=ROOT)
    lines = [l for l in cron.out.splitlines() if l and not l.startswith("#") and not l.startswith("CRON_TZ=")]
    eq(len(lines), shipped, "a crontab line per drill")
    check(all(" drill run " in l for l in lines), "crontab lines call runbook drill run NAME")

    # ---- drills.yaml errors ----------------------------------------------------------------
    wd.file("bad.yaml", "drills:\n  - name: Bad Name\n    runbook: nope.yaml\n    schedule: \"0 25 * * *\"\n    timezone: Mars/Base\n")
    p = rbtest.run(["drill", "list", "--drills", "bad.yaml"], cwd=wd.path)
    eq(p.returncode, 2, "bad drills file: exit 2")
    eq(p.err.strip().splitlines(), [
        "bad.yaml:2:11: drill name 'Bad Name' must match [a-z0-9][a-z0-9-]*",
        "bad.yaml:3:14: runbook 'nope.yaml' of drill 'Bad Name' does not exist (paths are relative to the directory runbook runs in, or to the drills file)",
        "bad.yaml:4:18: schedule '0 25 * * *': hour 25 is out of range 0-23",
        "bad.yaml:5:15: unknown time zone 'Mars/Base' (e.g. UTC, Europe/Paris)"], "bad drills file: FILE:LINE:COL messages")

    # ---- real drills against the sandbox -----------------------------------------------------
    state = os.path.join(wd.path, "sb")
    port, port2 = 0, 0
    import socket
    def free():
        s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p
    port, port2, port3 = free(), free(), free()
    up = f"{SB} --state {state} up --port {port} --port2 {port2} --redis-port {port3}"

    watch = "      watch: 2s\n"  # the database runbook's error watch, 30 minutes by default

    def common(extra=""):
        return (f"    inputs:\n      app_url: \"http://127.0.0.1:{port}\"\n      sandbox: {state}\n      sandbox_cli: {SB}\n"
                f"      database_url: \"sqlite:{state}/app.db\"\n      redis_url: \"redis://127.0.0.1:{port3}\"\n{extra}"
                f"    teardown:\n      - shell: {SB} --state {state} down\n"
                f"      - shell: touch {wd.path}/teardown-ran-$RUNBOOK_RUN_ID\n")
    wd.file("drills.yaml", f"""
drills:
  - name: db-restore
    runbook: {ROOT}/runbooks/database-disaster.yaml
    schedule: "0 10 3 * *"
    setup:
      - shell: {up}
      - shell: {FAULTS}/database-disaster.sh {state}
{common(watch)}
  - name: worker-broken
    runbook: {ROOT}/runbooks/worker-crash.yaml
    schedule: "0 10 10 * *"
    setup:
      - shell: {up}
      - shell: {FAULTS}/worker-crash.sh {state}
      - shell: touch {state}/worker.broken
{common()}
  - name: interrupted
    runbook: interrupt.yaml
    schedule: "0 10 17 * *"
    setup:
      - shell: "true"
    teardown:
      - shell: touch {wd.path}/teardown-after-interrupt
""")
    wd.file("interrupt.yaml", "runbook: interrupt\ntitle: Long\nsteps:\n  long:\n    shell: sleep 60\n    next: done\n  done: { end: recovered }\n")

    def sandbox_down():
        st = json.loads(subprocess.run([SB, "--state", state, "status"], capture_output=True, text=True).stdout)
        return not any(st["processes"].values())

    p = rbtest.run(["--store", wd.store, "drill", "run", "db-restore", "--drills", "drills.yaml"], cwd=wd.path, timeout=300)
    eq(p.returncode, 0, f"passing drill: exit 0 ({p.out[-1500:]}{p.err[-500:]})")
    check("PASSED" in p.out, "passing drill: says PASSED")
    check(sandbox_down(), "passing drill: teardown stopped the sandbox")
    p = rbtest.run(["--store", wd.store, "drill", "run", "worker-broken", "--drills", "drills.yaml"], cwd=wd.path, timeout=300)
    eq(p.returncode, 1, "failing drill: exit 1")
    check("FAILED" in p.out, "failing drill: says FAILED")
    check(sandbox_down(), "failing drill: teardown still ran")
    pr = subprocess.Popen([rbtest.BIN, "--store", wd.store, "drill", "run", "interrupted", "--drills", "drills.yaml"],
                          cwd=wd.path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    time.sleep(1.5)
    pr.send_signal(signal.SIGINT)
    out, _ = pr.communicate(timeout=60)
    eq(pr.returncode, 1, "interrupted drill: exit 1")
    check(os.path.exists(os.path.join(wd.path, "teardown-after-interrupt")), "interrupted drill: teardown still ran")
    hist = json.loads(rbtest.run(["--json", "--store", wd.store, "drill", "history", "--drills", "drills.yaml"], cwd=wd.path).out)
    by = {h["drill"]: h["records"] for h in hist}
    eq([r["passed"] for r in by["db-restore"]], [True], "scorecard: db-restore passed")
    eq([(r["passed"], r["status"]) for r in by["worker-broken"]], [(False, "failed")], "scorecard: worker-broken failed")
    check(any("worker heartbeat is fresh" in g for g in by["worker-broken"][0]["gate_failures"]), "scorecard: the failed gate")
    eq([(r["passed"], r["status"]) for r in by["interrupted"]], [(False, "interrupted")], "scorecard: interrupted drill")
    due = rbtest.run(["--store", wd.store, "drill", "due", "--drills", "drills.yaml", "--at", "2099-01-01T00:00:00Z"], cwd=wd.path)
    eq(len(due.out.strip().splitlines()), 3, "drill due far ahead: all three are due")

    # ---- history over six months of seeded drills --------------------------------------------
    db = sqlite3.connect(wd.store)
    base = dt.datetime(2026, 5, 3, 8, 0, tzinfo=dt.timezone.utc)
    restore_ms = [60_000, 62_000, 58_000, 61_000, 59_000, 150_000]  # the last one regressed
    for m in range(6):
        t0 = base + dt.timedelta(days=30 * m)
        rid = f"RSEED{m}"
        iso = lambda t: t.strftime("%Y-%m-%dT%H:%M:%S.000Z")
        steps = {"maintenance-on": 5_000, "restore": restore_ms[m], "verify-restore": 20_000 + m * 100}
        total = sum(steps.values())
        db.execute("INSERT INTO runs(id, incident, runbook, title, file, content_hash, severity, status, started_at, ended_at, "
                   "incident_start, drill, drill_name, operator, inputs, rto_ms, rpo_ms, last_seq) VALUES "
                   "(?,?,?,?,?,?,?,?,?,?,?,1,?,?,?,?,?,?)",
                   (rid, f"INC-SEED-{m}", "database-disaster", "Database disaster recovery", "runbooks/database-disaster.yaml",
                    "0" * 64, "SEV-1", "recovered", iso(t0), iso(t0 + dt.timedelta(milliseconds=total)), iso(t0), "db-restore",
                    "drill", "{}", 7_200_000, 900_000, len(steps)))
        for i, (s, ms) in enumerate(steps.items()):
            db.execute("INSERT INTO events(run_id, seq, ts, t, type, step, attempt, data, chain) VALUES (?,?,?,?,?,?,?,?,?)",
                       (rid, i + 1, iso(t0), 0, "step.succeeded", s, 1, json.dumps({"duration_ms": ms}), "x"))
        db.execute("INSERT INTO drill_results(drill, run_id, runbook, started_at, ended_at, status, passed, rto_ms, measured_ms, "
                   "setup_ok, teardown_ok, note) VALUES (?,?,?,?,?,?,?,?,?,1,1,'')",
                   ("seeded", rid, "database-disaster", iso(t0), iso(t0 + dt.timedelta(milliseconds=total)), "recovered", 1,
                    7_200_000, total))
    db.commit()
    db.close()
    wd.file("seeded.yaml", f"drills:\n  - name: seeded\n    runbook: {ROOT}/runbooks/database-disaster.yaml\n    schedule: \"0 10 3 * *\"\n")
    h = rbtest.run(["--store", wd.store, "drill", "history", "--drills", "seeded.yaml"], cwd=wd.path)
    print(h.out)
    eq(len([l for l in h.out.splitlines() if re.match(r"^  2026-", l)]), 6, "history: six months of scorecards")
    check("REGRESSED: step 'restore'" in h.out and "2.5x its median" in h.out, "history: the regressed step is flagged")
    check("verify-restore" not in [l for l in h.out.splitlines() if "REGRESSED" in l][0], "history: only that step")
    # Drill medians feed the projected finish of later runs of the runbook.
    started = [json.loads(l) for l in rbtest.run(["--json", "--store", wd.store, "timeline", by["db-restore"][0]["run"]],
                                                 cwd=wd.path).out.splitlines()][0]
    check("projected_ms" in started["data"], "run.started records the projected finish")
    def projection(book):
        p = subprocess.run([rbtest.BIN, "--json", "--store", wd.store, "run", os.path.join(ROOT, "runbooks", book),
                            "--input", "app_url=http://127.0.0.1:1", "--input", "sandbox=/nonexistent"],
                           cwd=wd.path, capture_output=True, text=True)
        return [json.loads(l) for l in p.stdout.splitlines() if '"run.started"' in l][0]["data"]
    eq(projection("deployment-rollback.yaml")["projection"], "budgets", "no drills of this runbook: budgets project")
    seen = projection("database-disaster.yaml")
    check(seen["projection"].startswith("medians of past drills"), f"drilled runbook: medians project ({seen['projection']})")
    check(seen["projected_ms"] < 83 * 60_000, f"medians beat budgets: projected {seen['projected_ms']} ms < 83 min of budgets")
done()
