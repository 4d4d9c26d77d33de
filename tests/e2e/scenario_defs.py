"""The fourteen recovery scenarios the end-to-end tests run: the fault each runbook
repairs, what `check` says about it, what must hold after the run besides `check`, and
for the unrepairable variant what breaks it, where the run must end and what "left safe"
means for it. Shared by scenarios.py and the protection tests."""
import json
import os
import re
from dataclasses import dataclass, field
from typing import Callable, Optional

import yaml

from rbtest import ROOT, check, eq

RUNBOOKS = os.path.join(ROOT, "runbooks")


def book(name):
    return os.path.join(RUNBOOKS, name + ".yaml")


def load(name):
    with open(book(name)) as f:
        return yaml.safe_load(f)


def end_title(name, step):
    s = load(name)["steps"].get(step or "", {})
    return (s.get("title") or "") + " " + (s.get("description") or "")


def names_who(text):
    """An escalation names a person or team to call."""
    return bool(re.search(r"\b(page|call|on-call|lead|Head of Engineering|support@)\b", text or "", re.I))


def hms(ms):
    if not ms:
        return "?"
    s = ms // 1000
    return f"{s // 3600}h{s % 3600 // 60:02d}m" if s >= 3600 else f"{s // 60}m"


def notifications(sb):
    path = os.path.join(sb.state, "notifications.log")
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def maintenance_on(sb, who):
    status, body = sb.health()
    eq((status, body.get("maintenance")), (503, True), f"{who}: production still in maintenance")


def lockdown_on(sb, who):
    eq(sb.one("SELECT value FROM system_config WHERE key = 'SYSTEM_LOCKDOWN'"), "true", f"{who}: kill switch still on")


@dataclass
class Scenario:
    name: str
    book: str
    fault: str
    symptom: str                                   # a phrase `check` prints after the fault
    inputs: dict = field(default_factory=dict)
    fault_env: Optional[dict] = None
    before: Optional[Callable] = None              # (sb) -> facts captured before the run
    healthy: Optional[Callable] = None             # (sb, run, before) -> asserts
    unrepairable: Optional[Callable] = None        # (sb) -> extra inputs; makes the fault unrepairable
    neg_fault_env: Optional[dict] = None
    neg_end: str = ""
    safe: Optional[Callable] = None                # (sb, run) -> asserts production was left safe
    uses_database: bool = True                     # False: no step touches the database (SQLite only)


# ---- database-disaster ------------------------------------------------------------------------

def dd_healthy(sb, r, _):
    eq(sb.one("SELECT count(*) FROM users"), 95, "database-disaster: users restored")
    eq(sb.one("SELECT count(*) FROM images"), 1200, "database-disaster: images restored")
    rpo = r.of("rpo.recorded")
    check(rpo and rpo[0]["data"].get("met") is True, f"database-disaster: RPO measured and met ({rpo})")
    watch = r.of("step.succeeded", "watch-errors")
    check(bool(watch), "database-disaster: the watch gate ran")
    check(r.of("step.succeeded", "health-check") and r.of("step.succeeded", "jobs-in-flight"),
          "database-disaster: sign-in checked and the jobs in flight at the backup named (seeds 003 step 6, 000 section 3)")
    told = [n["message"] for n in notifications(sb) if n["channel"] == "status-page"]
    check(told and "restored from the backup" in told[-1] and "double billing" in told[-1],
          f"database-disaster: users told on the status page (seed 000 step 4): {told}")
    handover = [e["data"]["prompt"] for e in r.of("approval.requested", "post-mortem")]
    check(handover and re.search(r"`runbook --store (/|postgres(ql)?://)\S+ export R\S+ --format markdown`", handover[0]),
          f"database-disaster: the post-mortem's export command carries the store in use ({handover})")


def dd_bad_latest(sb):
    """The nightly backup ran after the damage: the newest scheduled backup is bad."""
    return sb.json("backup", "--label", "scheduled")["file"]


def dd_bad_latest_healthy(sb, r, bad):
    dd_healthy(sb, r, None)
    out = [e["data"]["outputs"] for e in r.of("step.succeeded", "choose-restore-point")]
    check(out and out[0]["passed_over"] == 1 and out[0]["file"] != bad,
          f"database-disaster: the bad newest backup was passed over for the last good one ({out})")
    check(out and bad in str(out[0]["rejected"]), "database-disaster: the passed-over backup is named")


def dd_unrepairable(sb):
    b = sb.json("backup", "--label", "broken")  # taken after the damage: it fails verification
    return {"restore_point": b["file"]}


def dd_safe(sb, r):
    maintenance_on(sb, "database-disaster")
    check(sb.one("SELECT count(*) FROM users") < 95, "database-disaster: nothing was restored")
    prompts = [e["data"]["prompt"] for e in r.of("approval.requested", "no-good-backup")]
    check(prompts and "_broken.sql" in prompts[0] and "expected at least 95" in prompts[0],
          f"database-disaster: the escalation names the backup and why it was refused ({prompts})")


# ---- worker-crash and dead-job-triage ---------------------------------------------------------

def wc_healthy(sb, r, _):
    eq(sb.one("SELECT count(*) FROM jobs WHERE id LIKE 'job-stuck-%' AND status = 'done'"), 2, "worker-crash: stuck jobs done")
    eq(sb.one("SELECT count(*) FROM jobs WHERE id LIKE 'job-dead-transient-%' AND status = 'done'"), 2,
       "worker-crash: transient dead jobs re-queued under their own id and done")
    triage_promises(sb, "worker-crash", bug_ids=["job-dead-bug-1"], bad_users=["user6@example.com"],
                    bad_ids=["job-dead-bad-1"])


def triage_promises(sb, who, bug_ids, bad_users, bad_ids):
    for jid in bug_ids:
        eq(sb.one(f"SELECT status FROM jobs WHERE id = '{jid}'"), "dead", f"{who}: internal bug {jid} never re-queued")
        check(sb.one(f"SELECT triage FROM dead_jobs WHERE id = '{jid}'").startswith("escalated"),
              f"{who}: internal bug {jid} parked as escalated")
    notes = notifications(sb)
    tickets = [n["message"] for n in notes if n["channel"] == "incident-tickets"]
    check(tickets and all(j in tickets[0] for j in bug_ids) and "HIGH PRIORITY" in tickets[0],
          f"{who}: the escalation ticket names the job ids {bug_ids}: {tickets}")
    check(tickets and "Logs:" in tickets[0] and "renderAsset" in tickets[0], f"{who}: the ticket carries the logs")
    told = [n["message"] for n in notes if n["channel"] == "users"]
    check(told and all(u in told[0] for u in bad_users) and all(j in told[0] for j in bad_ids),
          f"{who}: the bad-input job's user is named: {told}")
    for jid in bad_ids:
        eq(sb.one(f"SELECT status FROM jobs WHERE id = '{jid}'"), "dead", f"{who}: bad input {jid} not retried")


def wc_safe(sb, r):
    check(sb.one("SELECT count(*) FROM jobs WHERE status = 'pending'") >= 8, "worker-crash: queued jobs kept, not lost")


def djt_before(sb):
    return {k: [r[0] for r in sb.sql(f"SELECT id FROM dead_jobs WHERE error_kind = '{k}' ORDER BY id")]
            for k in ("transient", "bad_input", "internal_bug")}


def djt_healthy(sb, r, before):
    eq(len(before["transient"]), 2, "dead-job-triage: two transient dead jobs before the run")
    for jid in before["transient"]:
        eq(sb.one(f"SELECT status FROM jobs WHERE id = '{jid}'"), "done", f"dead-job-triage: {jid} done under its own id")
    eq(sb.one("SELECT count(*) FROM jobs WHERE payload LIKE 'generate %'"), 2,
       "dead-job-triage: no duplicate job was created for the re-queued ones")
    triage_promises(sb, "dead-job-triage", bug_ids=before["internal_bug"], bad_users=["user13@example.com"],
                    bad_ids=before["bad_input"])


def djt_unrepairable(sb):
    sb.cli("provider", "outage")  # the provider is down again: re-queued jobs die again
    return {}


def djt_safe(sb, r):
    ids = [r[0] for r in sb.sql("SELECT id FROM dead_jobs WHERE error_kind = 'transient' ORDER BY id")]
    prompts = [e["data"]["prompt"] for e in r.of("approval.requested", "escalate-provider")]
    check(prompts and all(i in prompts[0] for i in ids), f"dead-job-triage: the jobs that died again are named: {prompts}")
    eq(sb.one("SELECT count(*) FROM jobs j JOIN dead_jobs d ON d.id = j.id WHERE d.error_kind = 'internal_bug' "
              "AND j.status <> 'dead'"), 0, "dead-job-triage: the internal bug is still not re-queued")
    sb.cli("provider", "end")


# ---- credits, deployment, breach, region ------------------------------------------------------

def cf_healthy(sb, r, _):
    eq(sb.sql("SELECT user_id, amount FROM credit_transactions WHERE type = 'refund' ORDER BY user_id"),
       [[7, 40], [8, 40], [9, 40]], "credit-failure: ABS(balance) refunded to the overcharged (seed rule)")
    rpo = r.of("rpo.recorded")
    check(rpo and rpo[0]["data"].get("met") is True and rpo[0]["data"]["rpo_seconds"] < 300,
          f"credit-failure: RPO measured ({rpo})")
    check(r.of("approval.requested", "review-bursts"), "credit-failure: the burst went to a person")


def cf_unrepairable(sb):
    """Something keeps corrupting user 7's balance after every correction."""
    if sb.backend == "postgres":
        sb.sql("CREATE FUNCTION keep_broken() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
               "UPDATE user_credits SET balance = -1 WHERE user_id = 7 AND balance <> -1; RETURN NULL; END $$")
        sb.sql("CREATE TRIGGER keep_broken AFTER UPDATE ON user_credits FOR EACH STATEMENT EXECUTE FUNCTION keep_broken()")
    else:
        sb.sql("CREATE TRIGGER keep_broken AFTER UPDATE ON user_credits BEGIN "
               "UPDATE user_credits SET balance = -1 WHERE user_id = 7 AND balance <> -1; END")
    return {}


def cf_safe(sb, r):
    eq(sb.one("SELECT count(*) FROM user_credits_backup"), 95, "credit-failure: the balances before are kept")


def dr_healthy(sb, r, _):
    status, body = sb.health()
    eq((status, body.get("version")), (200, "v3"), "deployment-rollback: healthy on the fixed release")
    rolled = [e["data"]["outputs"] for e in r.of("step.succeeded", "rollback")]
    asked = [e["data"]["prompt"] for e in r.of("approval.requested", "fix")]
    check(rolled and asked and f"to release {rolled[0]['release']}," in asked[0] and rolled[0]["from"] in asked[0],
          f"deployment-rollback: the fix step names the release rolled back to ({rolled}, {asked})")


def dr_unrepairable(sb):
    sb.cli("deploy", "v1-broken")  # the previous release is broken too
    sb.cli("deploy", "v2-broken")
    return {}


def sec_healthy(sb, r, _):
    eq(sb.one("SELECT count(*) FROM users WHERE session_token IS NOT NULL"), 0, "security-breach: sessions invalidated")
    eq(sb.json("secrets", "check-leaked")["still_valid"], [], "security-breach: every leaked secret rotated")
    eq(sb.one("SELECT count(*) FROM suspicious_activities WHERE reviewed = 0"), 0, "security-breach: activities reviewed")
    check(any(n["channel"] == "status-page" for n in notifications(sb)), "security-breach: users notified")


def sec_safe(sb, r):
    maintenance_on(sb, "security-breach")


def rf_healthy(sb, r, _):
    told = [n["message"] for n in notifications(sb) if n["channel"] == "status-page"]
    check(told and "restored" in told[-1], f"region-failover: users told the service is restored (seed step 6): {told}")
    status, body = sb.health()
    eq((status, body.get("region")), (200, "secondary"), "region-failover: the load balancer serves the secondary")
    eq(sb.one("SELECT count(*) FROM jobs WHERE payload = 'failover e2e' AND status = 'done'", replica=True), 1,
       "region-failover: an end-to-end job ran in the secondary")


def rf_unrepairable(sb):
    import signal
    with open(os.path.join(sb.state, "app2.pid")) as f:
        os.killpg(int(f.read()), signal.SIGTERM)  # the secondary is down too
    return {}


def rf_safe(sb, r):
    eq(sb.json("status")["region"], "primary", "region-failover: nothing was promoted")


def fb_healthy(sb, r, _):
    status, body = sb.health()
    eq((status, body.get("region")), (200, "primary"), "region-failback: the primary serves again")
    eq(sb.one("SELECT count(*) FROM jobs WHERE payload LIKE 'written in the secondary%'"), 3,
       "region-failback: the writes made in the secondary are in the primary")


def fb_safe(sb, r):
    status, body = sb.health()
    eq((status, body.get("region"), body.get("maintenance")), (200, "secondary", False),
       "region-failback: production still serves from the secondary, no maintenance")


# ---- the new runbooks ------------------------------------------------------------------------

def redis_healthy(sb, r, _):
    copies = [d for d in os.listdir(os.path.join(sb.state, "redis")) if d.startswith("appendonlydir.before-")]
    eq(len(copies), 1, "redis-recovery: a copy of the damaged AOF is kept")
    check(r.of("approval.answered", "approve-aof-fix"), "redis-recovery: truncating the AOF was approved")


def node_healthy(sb, r, _):
    st = sb.json("node", "status")
    eq([(n["name"], n["enabled"], n["healthy"]) for n in st["nodes"]], [("node1", True, True), ("node2", True, True)],
       "api-node-recovery: both nodes healthy and in rotation")


def node_safe(sb, r):
    st = {n["name"]: n for n in sb.json("node", "status")["nodes"]}
    eq(st["node2"]["enabled"], False, "api-node-recovery: the broken node stays out of rotation")
    eq(sb.json("probe", "--n", "10")["failed"], 0, "api-node-recovery: every request is still served")


def mig_healthy(sb, r, _):
    eq(sb.json("migrate", "status")["dirty"], None, "migration-failure: nothing half applied")


def mig_unrepairable(sb):
    path = os.path.join(sb.state, "migrations", "0004_usage_ledger.sql")
    with open(path) as f:
        text = f.read()
    with open(path, "w") as f:
        f.write(text.split("-- down")[0])  # an irreversible migration: no down section
    return {}


def mig_safe(sb, r):
    maintenance_on(sb, "migration-failure")
    check(sb.json("migrate", "status")["dirty"] is not None, "migration-failure: the schema was left as found")


def rv_before(sb):
    return sb.one("SELECT count(*) FROM credit_transactions")


def rv_healthy(sb, r, _):
    rpo = r.of("rpo.recorded")
    check(rpo and rpo[0]["data"].get("met") is True, f"restore-verify: RPO measured and met ({rpo})")
    for step in ("smoke-balances", "smoke-counts", "smoke-references", "smoke-signin", "approve-promote", "promote"):
        check(r.of("step.succeeded", step), f"restore-verify: {step} ran")
    order = [e["step"] for e in r.of("step.succeeded")]
    check(order.index("smoke-signin") < order.index("promote"), "restore-verify: smoke test before the promote")


def rv_unrepairable(sb):
    sb.json("backup", "--label", "scheduled")  # the newest scheduled backup holds the damage
    return {}


def rv_safe(sb, r):
    maintenance_on(sb, "restore-verify")
    check(not r.of("step.started", "promote"), "restore-verify: the failing backup was never restored over live")
    prompts = [e["data"]["prompt"] for e in r.of("approval.requested", "smoke-failed")]
    check(prompts and "user 20" in prompts[0] and "user 34" in prompts[0],
          f"restore-verify: the users whose balances disagree are named: {prompts}")
    check(sb.one("SELECT count(*) FROM user_credits WHERE balance = 0") == 5, "restore-verify: live untouched")


def ks_healthy(sb, r, _):
    eq(sb.one("SELECT value FROM system_config WHERE key = 'blocked_users'"), "42", "kill-switch: the runaway client blocked")
    q = [e["data"]["outputs"] for e in r.of("step.succeeded", "count-queued")]
    check(q and q[0]["queued"] > 0, f"kill-switch: there were queued jobs to keep processing ({q})")


def ks_unrepairable(sb):
    sb.flag("lockdown.broken")
    return {}


def ks_safe(sb, r):
    maintenance_on(sb, "kill-switch")


def po_healthy(sb, r, _):
    check(r.of("step.succeeded", "pause-queue"), "provider-outage: the queue was paused while the provider was down")
    eq(sb.one("SELECT count(*) FROM jobs WHERE payload LIKE 'generate during outage%' AND status = 'done'"), 3,
       "provider-outage: the jobs that died on the outage ran under their own ids")
    check(len([n for n in notifications(sb) if n["channel"] == "status-page"]) == 2, "provider-outage: users told twice")


def po_safe(sb, r):
    status, body = sb.health()
    eq((body.get("queue_paused"), bool(body.get("banner"))), (True, True),
       "provider-outage: the queue stays paused and the banner up")


def flag_then(name):
    def f(sb):
        sb.flag(name)
        return {}
    return f


SCENARIOS = [
    Scenario("database-disaster", "database-disaster", "database-disaster", "missing tables: images",
             inputs={"watch": "2s"}, healthy=dd_healthy, unrepairable=dd_unrepairable, neg_end="escalate",
             safe=dd_safe),
    Scenario("database-disaster-bad-latest", "database-disaster", "database-disaster", "missing tables: images",
             inputs={"watch": "1s"}, before=dd_bad_latest, healthy=dd_bad_latest_healthy),
    Scenario("worker-crash", "worker-crash", "worker-crash", "no heartbeat from the worker", healthy=wc_healthy,
             unrepairable=flag_then("worker.broken"), neg_end="escalate-worker", safe=wc_safe),
    Scenario("credit-failure", "credit-failure", "credit-failure", "user 7: balance -40", healthy=cf_healthy,
             unrepairable=cf_unrepairable, neg_end="escalate-corrected", safe=cf_safe),
    Scenario("deployment-rollback", "deployment-rollback", "bad-deploy", "TypeError", healthy=dr_healthy,
             unrepairable=dr_unrepairable, neg_end="escalate", safe=lambda sb, r: maintenance_on(sb, "deployment"),
             uses_database=False),
    Scenario("security-breach", "security-breach", "security-breach", "still valid: api_key", healthy=sec_healthy,
             unrepairable=flag_then("lockdown.broken"), neg_end="escalate", safe=sec_safe),
    Scenario("region-failover", "region-failover", "region-down", "fail over", healthy=rf_healthy,
             unrepairable=rf_unrepairable, neg_end="escalate", safe=rf_safe),
    Scenario("redis-recovery", "redis-recovery", "redis-failure", "not running: redis", healthy=redis_healthy,
             unrepairable=flag_then("redis.broken"), neg_end="escalate",
             safe=lambda sb, r: maintenance_on(sb, "redis-recovery")),
    Scenario("api-node-recovery", "api-node-recovery", "api-node-down", "health of node2", healthy=node_healthy,
             unrepairable=flag_then("node2.broken"), neg_end="escalate-node", safe=node_safe, uses_database=False),
    Scenario("migration-failure", "migration-failure", "migration-failure", "half applied", healthy=mig_healthy,
             unrepairable=mig_unrepairable, neg_end="escalate", safe=mig_safe),
    Scenario("restore-verify", "restore-verify", "data-loss", "balance 0 but transactions", before=rv_before,
             healthy=rv_healthy, unrepairable=rv_unrepairable, neg_end="escalate", safe=rv_safe),
    Scenario("region-failback", "region-failback", "region-back", "fail back", healthy=fb_healthy,
             unrepairable=flag_then("primary.broken"), neg_end="escalate-stay", safe=fb_safe),
    Scenario("dead-job-triage", "dead-job-triage", "dead-jobs", "not triaged", before=djt_before, healthy=djt_healthy,
             unrepairable=djt_unrepairable, neg_end="escalate-dead-jobs", safe=djt_safe),
    Scenario("kill-switch", "kill-switch", "runaway-costs", "most from user 42", healthy=ks_healthy,
             unrepairable=ks_unrepairable, neg_end="escalate", safe=ks_safe),
    Scenario("provider-outage", "provider-outage", "provider-outage", "provider is down",
             inputs={"provider_wait": "60s"}, fault_env={"OUTAGE_SECONDS": "6"}, healthy=po_healthy,
             unrepairable=lambda sb: {"provider_wait": "2s"}, neg_fault_env={"OUTAGE_SECONDS": "forever"},
             neg_end="escalate-provider", safe=po_safe),
]


# ---- the fault absent -------------------------------------------------------------------------
# Started on a healthy production (a false alarm, a run started twice) a runbook must leave it
# as it was: `check` still passes, the run does not end failed, and the steps that change
# production behind the operator's back never start. The steps named here are the ones the
# runbook must not reach when it has nothing to repair.
NO_FAULT_MUST_NOT_START = {
    "database-disaster": ["emergency-backup", "approve-restore", "restore"],
    "migration-failure": ["maintenance-on", "backup", "approve-rollback", "roll-back"],
    "restore-verify": ["maintenance-on", "export", "approve-promote", "promote"],
    "region-failover": ["declare", "promote-replica", "reroute"],
    "region-failback": ["approve-failback", "maintenance-on", "promote-primary", "reroute"],
    "credit-failure": ["approve-correction", "recalculate", "apply-refunds"],
    "deployment-rollback": ["rollback", "redeploy", "maintenance-on"],
    "api-node-recovery": ["drain", "stop-node", "clear-temp"],
    "worker-crash": ["restart-worker"],
    "dead-job-triage": ["requeue-transient", "ticket-internal-bugs", "notify-bad-input"],
    "provider-outage": ["pause-queue", "banner", "notify-users", "notify-resolved"],
}
