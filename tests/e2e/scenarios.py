#!/usr/bin/python3
"""End-to-end: each of the six recovery runbooks against a live sandbox with its fault
injected for real. The run must end `recovered` within its RTO and the sandbox must be
healthy again (data restored, balances consistent, jobs flowing). With --negative, each
runbook meets a fault it cannot repair: its gate fails, the run ends `failed` (exit 1),
rollbacks run, and the report names the failed gate.

  scenarios.py [--backend sqlite|postgres] [--negative] [--only NAME]
"""
import argparse
import json
import os
import sys
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
import rbtest  # noqa: E402
from rbtest import Workdir, check, done, eq, run_runbook  # noqa: E402
from sandboxctl import SB, Sandbox  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--backend", default="sqlite")
ap.add_argument("--negative", action="store_true")
ap.add_argument("--only")
args = ap.parse_args()
if args.backend == "postgres" and not os.environ.get("RUNBOOK_TEST_PG_URL"):
    rbtest.skip("RUNBOOK_TEST_PG_URL is not set (tests/run.sh starts PostgreSQL)")
RB = os.path.join(rbtest.ROOT, "runbooks")


def get(url):
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def one(sb, sql):
    return sb.sql(sql)[0][0]


# ---- the six scenarios: fault, extra inputs, health afterwards ------------------------------

def db_disaster(sb, wd, negative):
    sb.fault("database-disaster")
    extra = []
    if negative:  # a backup taken after the damage: restoring it cannot bring the data back
        b = json.loads(sb.cli("backup", "--label", "broken").stdout)
        extra = ["--input", f"restore_point={b['file']}"]
    return "database-disaster.yaml", sb.inputs() + extra


def db_disaster_ok(sb):
    eq(one(sb, "SELECT count(*) FROM users"), 95, "database-disaster: users restored")
    eq(one(sb, "SELECT count(*) FROM images"), 1200, "database-disaster: images restored")
    status, body = get(sb.app_url + "/api/health")
    eq((status, body.get("healthy")), (200, True), "database-disaster: production healthy, maintenance off")


def worker(sb, wd, negative):
    sb.fault("worker-crash")
    if negative:
        open(os.path.join(sb.state, "worker.broken"), "w").close()
    return "worker-crash.yaml", sb.inputs()


def worker_ok(sb):
    eq(one(sb, "SELECT count(*) FROM jobs WHERE status IN ('pending', 'processing')"), 0, "worker-crash: queue drained")
    eq(one(sb, "SELECT count(*) FROM jobs WHERE id LIKE 'job-stuck-%' AND status = 'done'"), 2, "worker-crash: stuck jobs done")
    eq(one(sb, "SELECT count(*) FROM jobs WHERE id LIKE 'job-dead-transient-%' AND status = 'done'"), 2,
       "worker-crash: transient dead jobs re-queued under their own id and done")
    eq(one(sb, "SELECT count(*) FROM dead_jobs WHERE error_kind = 'bad_input'"), 1, "worker-crash: bad input left alone")
    eq(get(sb.app_url + "/api/admin/workers")[1]["alive"], True, "worker-crash: worker alive")


def credits(sb, wd, negative):
    sb.fault("credit-failure")
    if negative:  # something keeps corrupting user 7's balance after every correction
        sb.sql("CREATE TRIGGER keep_broken AFTER UPDATE ON user_credits BEGIN "
               "UPDATE user_credits SET balance = -1 WHERE user_id = 7 AND balance <> -1; END")
    return "credit-failure.yaml", ["--input", f"database_url={sb.database}"]


def credits_ok(sb):
    eq(one(sb, "SELECT count(*) FROM user_credits WHERE balance < 0"), 0, "credit-failure: no negative balance")
    eq(one(sb, "SELECT count(*) FROM user_credits uc WHERE uc.balance <> (SELECT COALESCE(sum(amount), 0) "
               "FROM credit_transactions ct WHERE ct.user_id = uc.user_id)"), 0,
       "credit-failure: balance = sum of transactions for every user")
    eq(one(sb, "SELECT count(*) FROM credit_transactions WHERE type = 'refund'"), 1, "credit-failure: the overcharged refunded")


def deploy(sb, wd, negative):
    sb.fault("bad-deploy")
    if negative:  # the previous release is broken too
        sb.cli("deploy", "v1-broken")
    return "deployment-rollback.yaml", sb.inputs(database=False)


def deploy_ok(sb):
    status, body = get(sb.app_url + "/api/health")
    eq((status, body.get("version")), (200, "v3"), "deployment-rollback: healthy on the fixed release")


def breach(sb, wd, negative):
    sb.fault("security-breach")
    if negative:
        open(os.path.join(sb.state, "lockdown.broken"), "w").close()
    return "security-breach.yaml", sb.inputs()


def breach_ok(sb):
    eq(one(sb, "SELECT value FROM system_config WHERE key = 'SYSTEM_LOCKDOWN'"), "false", "security-breach: lockdown lifted")
    eq(one(sb, "SELECT count(*) FROM users WHERE session_token IS NOT NULL"), 0, "security-breach: sessions invalidated")
    leaked = open(os.path.join(sb.state, "leaked_api_key")).read().strip()
    eq(open(os.path.join(sb.state, "api_key")).read().strip() == leaked, False, "security-breach: key rotated")
    notes = open(os.path.join(sb.state, "notifications.log")).read()
    check("status-page" in notes, "security-breach: users notified through the notify plugin")


def region(sb, wd, negative):
    sb.fault("region-down")
    if negative:
        sb.cli("sql", "SELECT 1")  # keep the replica, but take the secondary app down too
        import signal
        pid = int(open(os.path.join(sb.state, "app2.pid")).read())
        os.killpg(pid, signal.SIGTERM)
    replica = sb.database.replace("app.db", "app-replica.db") if sb.backend == "sqlite" else sb.database + "_replica"
    return "region-failover.yaml", sb.inputs(database=False) + ["--input", f"replica_url={replica}", "--input",
                                                                 f"app2_url={sb.app2_url}"]


def region_ok(sb):
    status, body = get(sb.app2_url + "/api/health")
    eq((status, body.get("region")), (200, "secondary"), "region-failover: secondary healthy")
    route = json.load(open(os.path.join(sb.state, "route.json")))
    eq(route["api"], sb.app2_url, "region-failover: traffic rerouted")
    eq(one_replica(sb, "SELECT count(*) FROM jobs WHERE payload = 'failover e2e' AND status = 'done'"), 1,
       "region-failover: an end-to-end job ran in the secondary")


def one_replica(sb, q):
    return sb.sql(q, replica=True)[0][0]


SCENARIOS = {
    "database-disaster": (db_disaster, db_disaster_ok, "users restored"),
    "worker-crash": (worker, worker_ok, "worker heartbeat is fresh"),
    "credit-failure": (credits, credits_ok, "no negative balance"),
    "deployment-rollback": (deploy, deploy_ok, "health is green on the previous release"),
    "security-breach": (breach, breach_ok, "new jobs are refused"),
    "region-failover": (region, region_ok, "the secondary region is up"),
}

with Workdir() as wd:
    results = []
    for name, (setup, healthy, gate) in SCENARIOS.items():
        if args.only and name != args.only:
            continue
        if args.negative and args.backend != "sqlite":
            continue
        sb = Sandbox(os.path.join(wd.path, f"sb-{name}"), args.backend)
        try:
            book, inputs = setup(sb, wd, args.negative)
            r = run_runbook(wd, os.path.join(RB, book), "--drill", "--yes", *inputs, timeout=600)
            end = r.of("run.ended")
            rto = end[0]["data"]["rto"] if end else {}
            took, target = rto.get("elapsed_ms", -1), rto.get("rto_ms")
            if not args.negative:
                eq(r.code, 0, f"{name}: exit code\n{r.dump()[-4000:]}")
                eq(r.ended(), "recovered", f"{name}: run.ended recovered")
                check(target and took <= target, f"{name}: within its RTO ({took} ms of {target} ms)")
                healthy(sb)
                if r.code == 0 and target:
                        results.append(f"{name}: recovered in {took / 1000:.1f}s of an RTO of {target / 1000:.0f}s "
                                   f"({100.0 * took / target:.3f}% used) on {args.backend}")
            else:
                eq(r.code, 1, f"{name} (unrepaired): exit code\n{r.dump()[-3000:]}")
                eq(r.ended(), "failed", f"{name} (unrepaired): run.ended failed")
                failed_gates = [e["data"]["check"] for e in r.of("check.failed")]
                check(gate in failed_gates, f"{name} (unrepaired): gate '{gate}' failed ({failed_gates})")
                ran_back = [e["step"] for e in r.of("rollback.finished")]
                has_rollbacks = any(e["type"] == "step.succeeded" and e["step"] in ("maintenance-on", "restore", "lockdown",
                                                                                    "backup-balances") for e in r.events)
                if has_rollbacks:
                    check(ran_back, f"{name} (unrepaired): rollbacks ran")
                p = rbtest.run(["--store", wd.store, "export", r.run_id, "--format", "markdown"], cwd=wd.path)
                check(f"gate '{gate}' failed" in p.out, f"{name} (unrepaired): the report names the failed gate")
                results.append(f"{name}: failed as it should at gate '{gate}', rollbacks: {ran_back or 'none needed'}")
        finally:
            sb.down()
    print("\n".join(results))
done()
