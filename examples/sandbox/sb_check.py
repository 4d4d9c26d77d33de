"""`sandbox.py check`: every invariant of a healthy production, each named, with what is
wrong when it does not hold. The end-to-end tests and the drills use it as the final
proof; it reads only (no write to the database, Redis or the flags).

Also `watch` (a time-boxed watch gate: health and error counters must stay clean for a
duration) and `probe` (N requests through the router, counted by the node that answered)."""
import http.client
import json
import time

import sb_db
import sb_http
import sb_migrate
import sb_redis
from sb_db import DB

STALE_PENDING_S = 30
STALE_PROCESSING_S = 60
HEARTBEAT_S = 3
REPLICA_LAG_S = 5


def get(url, path, timeout=2.0):
    try:
        host, port = url.rsplit("/", 1)[-1].split(":")
        c = http.client.HTTPConnection(host, int(port), timeout=timeout)
        c.request("GET", path)
        r = c.getresponse()
        body = r.read()
        c.close()
        try:
            return r.status, json.loads(body or b"{}"), r.getheader("X-Served-By")
        except ValueError:
            return r.status, {}, r.getheader("X-Served-By")
    except OSError as e:
        return 0, {"error": str(e)}, None


class Checks:
    def __init__(self):
        self.results = []

    def add(self, name, problem=None):
        self.results.append({"check": name, "ok": not problem, "problem": problem or None})

    def failed(self):
        return [r for r in self.results if not r["ok"]]


def run(sb):
    c = Checks()
    if not sb.cfg.get("ports"):
        c.add("sandbox set up", f"no sandbox in {sb.state} (run sandbox.py up)")
        return c
    primary_up = not sb.flag("region-down")
    designated, serving = sb.region(), sb.serving_region()
    groups = [lambda: check_region(c, primary_up, designated, serving), lambda: check_processes(c, sb, designated),
              lambda: check_nodes(c, sb, serving)]
    if designated == "primary" and not primary_up:
        c.add("data", "the primary region's database is unreachable (region down)")
    else:
        groups += [lambda: check_data(c, sb), lambda: check_redis(c, sb)]
    groups += [lambda: check_flags(c, sb), lambda: check_provider(c, sb), lambda: check_security(c, sb)]
    if designated == "primary" and primary_up:
        groups.append(lambda: check_replica(c, sb))
    for g in groups:
        try:
            g()
        except Exception as e:  # noqa: BLE001 — a check that cannot run is a failed invariant, not a traceback
            c.add("checks could run", f"{type(e).__name__}: {str(e).strip()[:200]}")
    return c


def check_provider(c, sb):
    prov = sb_http.provider_state(sb)
    c.add("provider answers", None if prov["up"] else f"the AI provider is down: {prov['detail']}")


def check_region(c, primary_up, designated, serving):
    p = None
    if serving != designated:
        p = f"the router sends traffic to the {serving} region but the database primary is in the {designated}"
    elif designated == "secondary" and primary_up:
        p = "the primary region is back but the secondary still serves: fail back (region-failback.yaml)"
    elif designated == "primary" and not primary_up:
        p = "the primary region is down and still designated: fail over (region-failover.yaml)"
    c.add("the right region serves", p)


def check_processes(c, sb, designated):
    want = ["router", "redis", "provider", "worker" if designated == "primary" else "worker2"]
    dead = [n for n in want if not sb.alive(n)]
    c.add("processes run", f"not running: {', '.join(dead)}" if dead else None)


def check_nodes(c, sb, serving):
    status, body, _ = get(sb.url("router"), "/api/health")
    c.add("health through the router", None if status == 200 else f"HTTP {status}: {short(body)}")
    if serving == "secondary":
        s, b, _ = get(sb.url("app2"), "/api/health")
        c.add("health of app2 (secondary)", None if s == 200 and b.get("healthy") else f"HTTP {s}: {short(b)}")
        return
    for name, n in sorted(sb.router_table()["nodes"].items()):
        s, b, _ = get(f"http://127.0.0.1:{n['port']}", "/api/health")
        p = None if s == 200 and b.get("healthy") else f"HTTP {s}: {short(b)}"
        if not p and not n["enabled"]:
            p = "healthy but out of rotation (put it back: sandbox.py node enable " + name + ")"
        c.add(f"health of {name}", p)


def short(body):
    if not isinstance(body, dict):
        return str(body)[:120]
    keys = ("error", "status", "db", "schema", "redis", "maintenance", "version")
    return ", ".join(f"{k}={body[k]}" for k in keys if k in body and body[k] not in (None, "ok", False))[:200] or "unhealthy"


def check_data(c, sb):
    try:
        db = DB(sb.active_db_url())
    except Exception as e:  # noqa: BLE001
        c.add("database reachable", str(e).strip())
        return
    try:
        expected = int(sb.cfg.get("expected_users", sb_db.SEED_USERS))
        facts, problems = sb_db.smoke_test(db, expected)
        c.add("tables, counts and balances (balance = sum of transactions for every user)",
              "; ".join(problems) if problems else None)
        if facts.get("missing_tables"):
            return
        neg = db.q("SELECT user_id, balance FROM user_credits WHERE balance < 0 ORDER BY user_id LIMIT 10")
        c.add("no negative balance", ", ".join(f"user {u}: {b}" for u, b in neg) if neg else None)
        bad = sb_migrate.validate(sb, db)
        c.add("schema (migrations)", "; ".join(bad) if bad else None)
        check_queue(c, sb, db)
        spend = sb_http.spend(sb, db)
        c.add("spend within budget", None if not spend["over_budget"] else
              f"{spend['jobs']} jobs in {spend['window_s']}s (budget {spend['budget_jobs']}), "
              f"most from user {spend['top_user']}")
    finally:
        db.close()


def check_queue(c, sb, db):
    cfg = dict(db.q("SELECT key, value FROM system_config"))
    c.add("queue not paused", "the queue is paused" if cfg.get("queue_paused") == "true" else None)
    old_pending = db.q("SELECT id FROM jobs WHERE status = 'pending' AND created_at < ? ORDER BY created_at LIMIT 5",
                       (sb_db.iso_ago(seconds=STALE_PENDING_S),))
    old_proc = db.q("SELECT id FROM jobs WHERE status = 'processing' AND updated_at < ? ORDER BY updated_at LIMIT 5",
                    (sb_db.iso_ago(seconds=STALE_PROCESSING_S),))
    p = []
    if old_pending:
        p.append(f"pending for over {STALE_PENDING_S}s: {', '.join(r[0] for r in old_pending)}")
    if old_proc:
        p.append(f"processing for over {STALE_PROCESSING_S}s: {', '.join(r[0] for r in old_proc)}")
    c.add("the queue moves", "; ".join(p) if p else None)
    hb = float(cfg.get("worker_heartbeat") or 0)
    age = time.time() - hb
    c.add("worker heartbeat fresh", None if age < HEARTBEAT_S else
          "no heartbeat from the worker" if not hb else f"last heartbeat {age:.0f}s ago")
    dead = db.q("SELECT id, error_kind FROM dead_jobs WHERE triage IS NULL ORDER BY id LIMIT 5")
    c.add("every dead job triaged", ", ".join(f"{i} ({k})" for i, k in dead) + " not triaged" if dead else None)


def check_flags(c, sb):
    c.add("maintenance off", "maintenance mode is on" if sb.flag("maintenance.flag") else None)
    try:
        lock = sb.config("SYSTEM_LOCKDOWN")
        banner = sb.config("banner")
    except Exception:  # noqa: BLE001
        return
    c.add("kill switch off", "SYSTEM_LOCKDOWN is on: new jobs are refused" if lock == "true" else None)
    c.add("no status banner", f"banner shown: {banner!r}" if banner else None)


def check_redis(c, sb):
    port = sb.redis_port()
    try:
        with sb_redis.Redis(port) as r:
            info = r.info("persistence")
    except (OSError, sb_redis.RedisError) as e:
        c.add("Redis answers", f"Redis at 127.0.0.1:{port}: {e}")
        return
    p = []
    if info.get("aof_enabled") != "1":
        p.append("AOF is off")
    if info.get("aof_last_write_status") != "ok":
        p.append(f"last AOF write: {info.get('aof_last_write_status')}")
    c.add("Redis answers, AOF on", "; ".join(p) if p else None)
    db = DB(sb.active_db_url())
    try:
        cache = sb_redis.cache_audit(port, db)
        bad = cache["mismatched"]
        c.add("cache consistent with the database", None if not bad else
              f"{len(bad)} stale or poisoned key(s): " + ", ".join(b["key"] for b in bad[:5]))
        s = sb_redis.session_audit(port, db)
        p = []
        if s["missing_users"]:
            p.append(f"sessions lost for user(s) {', '.join(map(str, s['missing_users'][:10]))}")
        if s["orphaned"]:
            p.append(f"{len(s['orphaned'])} session(s) the database does not know")
        c.add("sessions consistent", "; ".join(p) if p else None)
    finally:
        db.close()


def check_security(c, sb):
    leaked = sb.read_json("leaked_secrets.json", {})
    cur = sb.secrets()
    still = sorted(k for k, v in leaked.items() if cur.get(k) == v)
    c.add("no leaked secret still valid", f"still valid: {', '.join(still)}" if still else None)
    try:
        db = DB(sb.active_db_url())
        try:
            rows = db.q("SELECT id, user_id, kind FROM suspicious_activities WHERE reviewed = 0 AND suspicion_score >= 50 "
                        "ORDER BY suspicion_score DESC LIMIT 5")
        finally:
            db.close()
    except Exception:  # noqa: BLE001
        return
    c.add("no unreviewed suspicious activity",
          ", ".join(f"#{i} user {u} {k}" for i, u, k in rows) + " not reviewed" if rows else None)


def check_replica(c, sb):
    try:
        db = DB(sb.replica)
        try:
            at = float(sb.config("replicated_at_epoch", db=db) or 0)
        finally:
            db.close()
    except Exception as e:  # noqa: BLE001
        c.add("replica in sync", f"replica unreachable: {e}")
        return
    lag = time.time() - at
    c.add("replica in sync", None if lag < REPLICA_LAG_S else f"replica {lag:.0f}s behind")


def report(checks, as_json=False):
    bad = checks.failed()
    if as_json:
        print(json.dumps({"ok": not bad, "results": checks.results}))
    else:
        for r in checks.results:
            if not r["ok"]:
                print(f"✗ {r['check']}: {r['problem']}")
        n = len(checks.results)
        print(f"check: {n - len(bad)} of {n} invariants hold" + ("" if bad else " — production is healthy"))
    return 0 if not bad else 1


def watch(sb, seconds, interval, url):
    """Health through URL stays 200 and no node's 5xx counter grows, for SECONDS."""
    def errors():
        out = {}
        for name, n in sb.router_table()["nodes"].items():
            s, b, _ = get(f"http://127.0.0.1:{n['port']}", "/api/admin/errors")
            out[name] = b.get("errors_5xx") if s == 200 else None
        return out
    start, base, polls = time.time(), errors(), 0
    while True:
        s, b, node = get(url, "/api/health")
        polls += 1
        if s != 200:
            return {"ok": False, "polls": polls, "why": f"health answered {s} ({short(b)}) via {node} after "
                                                         f"{time.time() - start:.1f}s"}
        now = errors()
        grew = [k for k in now if base.get(k) is not None and now[k] is not None and now[k] > base[k]]
        if grew:
            return {"ok": False, "polls": polls, "why": f"new 5xx errors on {', '.join(grew)} after "
                                                         f"{time.time() - start:.1f}s"}
        if time.time() - start >= seconds:
            return {"ok": True, "polls": polls, "watched_s": round(time.time() - start, 1), "why": "no error"}
        time.sleep(min(interval, max(0.0, seconds - (time.time() - start))))


def probe(url, n):
    by, failed = {}, 0
    for _ in range(n):
        s, _, node = get(url, "/api/health")
        by.setdefault(node or "none", []).append(s)
        failed += s != 200
    return {"requests": n, "failed": failed, "by_node": {k: {"requests": len(v), "failed": sum(x != 200 for x in v)}
                                                          for k, v in by.items()}}

