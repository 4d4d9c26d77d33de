#!/usr/bin/python3
"""runbook import (contract §9) on Markdown written unlike the seeds, the way other teams
write runbooks: "### Step N" headings under phase headings ("## Detection", "## Recovery"),
"## Phase N: …" sections, a numbered procedure followed by a "## Checklist", a table of
steps, "**Step N: …**" paragraphs, `console` transcripts with "$ " prompts, curl lines with a query string. Each gives
ONE runbook whose steps keep their order and take their `phase` from the enclosing
heading (only "Scenario N" headings, or separate procedures each numbered from 1, give
several); every draft validates; no prompt or output line reaches a shell action.
Distinct procedures (each section's list restarting at 1, as in seed 000) still split."""
import os
import sys

import yaml

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
from rbtest import Workdir, check, done, eq, run  # noqa: E402

HEADINGS = """# Redis Cache Recovery

RTO: 30 minutes

## Detection

### Step 1: Check Redis health (2 minutes)

```
redis-cli -h 127.0.0.1 ping
```

### Step 2: Look at memory usage (~5 min)

```sh
redis-cli info memory
```

## Recovery

### Step 3: Restart Redis (5-10 minutes)

```bash
systemctl restart redis-server
```

### Step 4: Confirm with the team

Open the Grafana dashboard and confirm the hit rate recovered.
"""

PHASES = """# API Node Recovery

RTO 2h

## Phase 1: Triage

1. Confirm the alert in the dashboard (2 minutes)
2. Capture diagnostics

   ```bash
   journalctl -u api --since "10 min ago" > /tmp/api.log
   ```

## Phase 2: Recover

1. Restart the API

   ```bash
   systemctl restart api
   ```

## Post-incident

- [ ] File the postmortem
- [ ] Update this runbook
"""

CHECKLIST = """# Postgres Failover Runbook

## Steps

1. Check replication lag (2 minutes)

   ```sql
   SELECT now() - pg_last_xact_replay_timestamp() AS lag;
   ```

2. Promote the replica (5-10 minutes)

   ```bash
   pg_ctlcluster 15 main promote
   ```

## Checklist

- [ ] Notify the incident channel
- [ ] Update the status page
"""

CONTINUED = """# Storage Outage

## Stop the bleeding

1. Put the site in maintenance
   ```bash
   touch /srv/maintenance.flag
   ```
2. Stop the importers
   ```bash
   systemctl stop importer
   ```

## Bring it back

3. Remount the volume
   ```bash
   mount -o remount,rw /srv/data
   ```
4. Start the importers
   ```bash
   systemctl start importer
   ```
"""

TABLE = """# Cache Flush Runbook

**RTO:** 20 minutes

| Step | Action | Command | Time |
|------|--------|---------|------|
| 1 | Drain traffic | `./drain.sh --all` | 2 min |
| 2 | Flush the cache | `redis-cli FLUSHALL` | 5 minutes |
| 3 | Tell the support team | | |
| 4 | Restore traffic | `./undrain.sh <region>` | |
"""

CONSOLE = """# Queue Backlog

1. Drain the dead-letter queue
   ```console
   $ ./drain-dlq.sh --all
   drained 42 messages
   $ ./requeue.sh \\
       --from dlq
   ok
   ```
2. Check the queue depth
   ```
   curl -s http://127.0.0.1:9090/api/v1/query?query=queue_depth
   ```
3. Same, quoted
   ```bash
   curl -fsS 'http://127.0.0.1:9090/api/v1/query?query=up&time=1'
   ```
4. Check the app answers: `curl -fsS http://127.0.0.1:8080/healthz`
5. Restart it with `systemctl restart app`
"""

BOLD = """# Payment Gateway Outage

RTO: 1 hour

**Step 1: Check the gateway status (5 min)**

```bash
./gw-status.sh
```

**Step 2: Fail over to the backup gateway**

```bash
./gw-failover.sh backup
```

**Step 3: Verify payments**

Watch the payments dashboard for 5 minutes.
"""

SEPARATE = """# Platform Procedures

## Dead job retry

1. Inspect the job document in the console
2. Copy it back into the jobs collection

## Global kill switch

1. Set SYSTEM_LOCKDOWN to true in the console
2. Watch new job requests get rejected
"""


SEPARATE2 = """# Database Procedures

## Restore the database from backup

1. Stop the application
2. Run the restore script

## Rollback a deployment

1. Pick the previous release
2. Deploy it
"""


def import_one(wd, name, text):
    md = wd.file(name + ".md", text)
    out = os.path.join(wd.path, name + ".yaml")
    p = run(["import", md, "-o", out], cwd=wd.path)
    eq(p.returncode, 0, f"{name}: import makes one runbook: {p.err[-600:]}")
    if p.returncode != 0:
        return None
    p = run(["validate", out])
    eq(p.returncode, 0, f"{name}: the draft validates: {p.out}{p.err}")
    with open(out) as f:
        doc = yaml.safe_load(f)
    return doc


def order(doc):
    return [k for k, v in doc["steps"].items() if "end" not in v and not k.startswith("decide-")]


def phases(doc):
    return {k: v.get("phase") for k, v in doc["steps"].items() if "end" not in v}


def main():
    with Workdir() as wd:
        d = import_one(wd, "headings", HEADINGS)
        if d:
            eq(d["runbook"], "redis-cache-recovery", "headings: the runbook is the document's title")
            eq(order(d), ["check-redis-health", "look-at-memory-usage", "restart-redis", "confirm-with-the-team"],
               "headings: Step N headings in order, across the phase sections")
            eq(phases(d)["check-redis-health"], "Detection", "headings: phase from the enclosing heading")
            eq(phases(d)["restart-redis"], "Recovery", "headings: phase from the enclosing heading (2)")
            eq(d["steps"]["restart-redis"].get("budget"), "10m", "headings: (5-10 minutes) → the upper bound")
            eq(d["steps"]["look-at-memory-usage"].get("budget"), "5m", "headings: ~5 min → 5m")
            check("manual" in d["steps"]["confirm-with-the-team"], "headings: an instruction for a person is manual")
            eq(d.get("objectives", {}).get("rto"), "30m", "headings: RTO: 30 minutes")

        d = import_one(wd, "phases", PHASES)
        if d:
            eq(len(order(d)), 5, f"phases: every step of the three phases in one runbook: {order(d)}")
            eq(sorted(set(v for v in phases(d).values() if v)), ["Phase 1: Triage", "Phase 2: Recover", "Post-incident"],
               "phases: each step's phase is its section")
            eq(d.get("objectives", {}).get("rto"), "2h", "phases: RTO 2h")

        d = import_one(wd, "checklist", CHECKLIST)
        if d:
            ids = order(d)
            eq(len(ids), 4, f"checklist: the numbered steps then the checklist, one runbook: {ids}")
            check("sql" in d["steps"][ids[0]] and d["steps"][ids[0]].get("mutates") is False,
                  "checklist: a lone SELECT is a read-only sql step")
            check(all("manual" in d["steps"][i] for i in ids[2:]), "checklist: '- [ ]' items are manual confirmations")

        d = import_one(wd, "continued", CONTINUED)
        if d:
            eq(len(order(d)), 4, f"continued: numbering that runs on across sections is one procedure: {order(d)}")

        d = import_one(wd, "table", TABLE)
        if d:
            ids = order(d)
            eq(ids, ["drain-traffic", "flush-the-cache", "tell-the-support-team", "restore-traffic"],
               "table: one step per row, titled by the Action column")
            eq(d["steps"]["drain-traffic"].get("shell"), "./drain.sh --all", "table: the Command cell runs")
            eq(d["steps"]["drain-traffic"].get("budget"), "2m", "table: the Time column is the budget")
            eq(d["steps"]["flush-the-cache"].get("budget"), "5m", "table: 5 minutes")
            check("manual" in d["steps"]["tell-the-support-team"], "table: a row without a command is manual")
            check("manual" in d["steps"]["restore-traffic"], "table: a placeholder <region> is manual, never run")
            check(":" in d["steps"]["drain-traffic"]["description"], "table: description cites FILE:LINE")
            line = int(d["steps"]["drain-traffic"]["description"].split(":")[1].split()[0].rstrip("."))
            eq(line, 7, "table: the row's own line")

        d = import_one(wd, "console", CONSOLE)
        if d:
            ids = order(d)
            sh = d["steps"][ids[0]].get("shell", "")
            check("$ " not in sh and "drained 42" not in sh and "ok" not in sh.split(),
                  f"console: prompts and output dropped: {sh!r}")
            check("./drain-dlq.sh --all" in sh and "--from dlq" in sh, f"console: the commands kept: {sh!r}")
            eq(d["steps"][ids[1]].get("http", {}).get("url"), "http://127.0.0.1:9090/api/v1/query?query=queue_depth",
               "console: a curl GET with a query string is an http step")
            eq(d["steps"][ids[2]].get("http", {}).get("url"), "http://127.0.0.1:9090/api/v1/query?query=up&time=1",
               "console: a quoted curl URL is an http step")
            eq(d["steps"][ids[3]].get("http", {}).get("url"), "http://127.0.0.1:8080/healthz",
               "console: an inline `curl URL` in a step's text is an http step")
            check("manual" in d["steps"][ids[4]], "console: other inline code stays for a person (manual)")

        d = import_one(wd, "bold", BOLD)
        if d:
            eq(order(d), ["check-the-gateway-status", "fail-over-to-the-backup-gateway", "verify-payments"],
               "bold: '**Step N: …**' paragraphs are steps, in order, titled by their words")
            eq(d["steps"]["check-the-gateway-status"].get("budget"), "5m", "bold: (5 min) → budget")
            eq(d["steps"]["fail-over-to-the-backup-gateway"].get("shell"), "./gw-failover.sh backup",
               "bold: the block after the paragraph is its action")
            check("manual" in d["steps"]["verify-payments"], "bold: prose only → manual")

        # Objectives in the forms people write them.
        for i, (form, rto, rpo) in enumerate([("RTO — 2 hours\nRPO: 0", "2h", "0s"), ("RTO - 90 minutes\nRPO: 15 min", "1h30m", "15m"),
                               ("**RTO:** < 4 hours | **RPO:** zero (no data loss)", "4h", "0s"),
                               ("RTO: under 30 minutes", "30m", None)]):
            d = import_one(wd, f"objectives{i}", f"# Obj\n\n{form}\n\n1. Do it\n   ```bash\n   true\n   ```\n")
            if d:
                eq(d.get("objectives", {}).get("rto"), rto, f"objectives: RTO of {form!r}")
                eq(d.get("objectives", {}).get("rpo"), rpo, f"objectives: RPO of {form!r}")

        md = wd.file("separate.md", SEPARATE)
        p = run(["import", md, "-o", os.path.join(wd.path, "sep")], cwd=wd.path)
        eq(p.returncode, 0, f"separate: import: {p.err}")
        got = sorted(os.listdir(os.path.join(wd.path, "sep"))) if p.returncode == 0 else []
        eq(got, ["dead-job-retry.yaml", "global-kill-switch.yaml"],
           "separate procedures (each numbered from 1, not phases) stay one runbook each")
        md = wd.file("separate2.md", SEPARATE2)
        p = run(["import", md, "-o", os.path.join(wd.path, "sep2")], cwd=wd.path)
        eq(p.returncode, 0, f"separate2: import: {p.err}")
        got = sorted(os.listdir(os.path.join(wd.path, "sep2"))) if p.returncode == 0 else []
        eq(len(got), 2, f"'Restore the database …' and 'Rollback a deployment' are procedures, not phases: {got}")


main()
done()
