"""The operations commands of `sandbox.py` — what the runbooks call, like the platform's own
ops scripts in the seeds (restart a service, drain a node, restore a backup). Each takes
the Sandbox and the parsed arguments, prints JSON or one line, and exits non-zero with a
sentence when it cannot do what was asked."""
import json
import re
import sys
import time

import sb_backups
import sb_check
import sb_http
import sb_migrate
import sb_redis
from sb_db import DB, now_iso
from sb_state import NODES, SECRET_NAMES, new_secret


def out(value):
    print(json.dumps(value, default=str))


def parse_duration(text):
    m = re.fullmatch(r"(?:(\d+)h)?(?:(\d+)m(?!s))?(?:(\d+)s)?(?:(\d+)ms)?", text.strip())
    if not m or not any(m.groups()):
        raise SystemExit(f"not a duration: {text!r} (e.g. 30s, 5m, 1h30m)")
    h, mi, s, ms = (int(g or 0) for g in m.groups())
    return h * 3600 + mi * 60 + s + ms / 1000.0


# ---- flags --------------------------------------------------------------------------------------

def maintenance(sb, a):
    sb.set_flag("maintenance.flag", a.mode == "on")
    print(f"maintenance {a.mode}")


def lockdown(sb, a):
    if sb.flag("lockdown.broken"):
        return print("lockdown: the flag did not change (lockdown.broken)")
    sb.config("SYSTEM_LOCKDOWN", "true" if a.mode == "on" else "false")
    print(f"lockdown {a.mode}")


def queue(sb, a):
    sb.config("queue_paused", "true" if a.action == "pause" else "false")
    print(f"queue {'paused' if a.action == 'pause' else 'resumed'}")


def banner(sb, a):
    sb.config("banner", a.text if a.action == "set" else "")
    print("banner " + ("set" if a.action == "set" else "cleared"))


# ---- processes ------------------------------------------------------------------------------------

def worker(sb, a):
    name = "worker2" if sb.region() == "secondary" else "worker"
    if a.action in ("stop", "restart"):
        sb.stop(name)
    if a.action in ("start", "restart"):
        sb.spawn(name, ["work", "--region", "secondary" if name == "worker2" else "primary"])
        time.sleep(0.3)
    # Whether it really works is for the caller's gate (its heartbeat), not for this command.
    print(f"worker {a.action}: {'running' if sb.alive(name) else 'stopped'}")


def scale_worker(sb, a):
    region = a.region or sb.region()
    name = "worker2" if region == "secondary" else "worker"
    sb.spawn(name, ["work", "--region", region])
    print(f"worker running in the {region} region")


def node(sb, a):
    if a.action == "status":
        st = sb_http.router_status(sb)
        bad = [n for n in st["nodes"] if not n["healthy"]]
        st["unhealthy"] = [n["name"] for n in bad]
        st["first_unhealthy"] = bad[0]["name"] if bad else None
        st["first_unhealthy_url"] = bad[0]["url"] if bad else None
        st["healthy_in_rotation"] = sum(1 for n in st["nodes"] if n["healthy"] and n["enabled"])
        return out(st)
    if a.name not in NODES:
        raise SystemExit(f"node: unknown node {a.name!r} (known: {', '.join(NODES)})")
    if a.action == "drain":
        others = [n for n in sb_http.router_status(sb)["nodes"] if n["name"] != a.name and n["enabled"] and n["healthy"]]
        if not others:
            raise SystemExit(f"node: refusing to drain {a.name}: no other healthy node is in rotation")
        sb.set_node_enabled(a.name, False)
        return print(f"{a.name} taken out of rotation")
    if a.action == "enable":
        sb.set_node_enabled(a.name, True)
        return print(f"{a.name} back in rotation")
    if a.action in ("stop", "restart"):
        sb.stop(a.name)
    if a.action in ("start", "restart"):
        port = sb.router_table()["nodes"][a.name]["port"]
        sb.spawn(a.name, ["serve", "--port", str(port), "--region", "primary", "--node", a.name])
        if not sb.wait_port(port, 5) or not sb.alive(a.name):
            raise SystemExit(f"node: {a.name} did not start; see {sb.path(a.name + '.log')}")
    print(f"{a.name} {a.action}: {'running' if sb.alive(a.name) else 'stopped'}")


def probe(sb, a):
    r = sb_check.probe(a.url or sb.url("router"), a.n)
    out(r)
    if r["failed"]:
        raise SystemExit(1)


def watch(sb, a):
    r = sb_check.watch(sb, parse_duration(a.duration), a.interval, a.url or sb.url("router"))
    out(r)
    if not r["ok"]:
        raise SystemExit(1)


# ---- releases, secrets, sessions ---------------------------------------------------------------------

def deploy(sb, a):
    cur = sb.read_text("release", "v1")
    sb.write_text("release.previous", cur)
    sb.write_text("release", a.version)
    with open(sb.path("deploy.log"), "a") as f:
        f.write(f"{now_iso()} deploy {a.version} (previous {cur})\n")
        if a.version.endswith("broken"):
            f.write(f"{now_iso()} ERROR build {a.version}: TypeError: cannot read properties of undefined "
                    "(reading 'user') at src/middleware.ts:42\n")
    print(f"deployed {a.version}")


def rollback(sb, a):
    prev = sb.read_text("release.previous")
    if not prev:
        raise SystemExit("rollback: no previous release")
    cur = sb.read_text("release", "v1")
    sb.write_text("release", prev)
    with open(sb.path("deploy.log"), "a") as f:
        f.write(f"{now_iso()} rollback {cur} -> {prev}\n")
    out({"release": prev, "rolled_back_from": cur, "said": f"rolled back from {cur} to {prev}"})


def secrets(sb, a):
    cur = sb.secrets()
    if a.action == "rotate":
        names = SECRET_NAMES if a.all or not a.name else a.name
        for n in names:
            cur[n] = new_secret(n)
        sb.write_json("secrets.json", cur, mode=0o600)
        return out({"rotated": list(names)})
    leaked = sb.read_json("leaked_secrets.json", {})
    still = sorted(k for k, v in leaked.items() if cur.get(k) == v)
    out({"leaked": sorted(leaked), "still_valid": still, "count_still_valid": len(still)})


def invalidate_sessions(sb, a):
    db = sb.active_db()
    try:
        n = db.one("SELECT count(*) FROM users WHERE session_token IS NOT NULL")
        db.q("UPDATE users SET session_token = NULL")
    finally:
        db.close()
    dropped = sb_redis.flush_sessions(sb.redis_port())
    out({"invalidated": n, "redis_sessions_dropped": dropped})


# ---- Redis ------------------------------------------------------------------------------------------

def start_redis(sb):
    if sb.flag("redis.broken"):
        raise SystemExit("redis: cannot start: redis.broken (a bad configuration) is in the state folder")
    p = sb_redis.spawn_server(sb.path("redis"), sb.redis_port(), sb.pidfile("redis"))
    if not sb_redis.wait_ready(sb.redis_port(), p):
        raise SystemExit("redis: did not start: " + " | ".join(sb_redis.last_log_lines(sb.path("redis"))))
    return p.pid


def redis(sb, a):
    port = sb.redis_port()
    if a.action in ("stop",):
        sb.stop("redis")
        return print("redis stopped")
    if a.action == "start":
        if sb.alive("redis") and sb_redis.ping(port):
            return print("redis already running")
        sb.stop("redis")
        start_redis(sb)
        return print(f"redis running on 127.0.0.1:{port}")
    try:
        with sb_redis.Redis(port) as r:
            info = r.info("persistence")
        out({"up": True, "aof_enabled": info.get("aof_enabled") == "1", "loading": info.get("loading") == "1",
             "aof_last_write_status": info.get("aof_last_write_status"),
             "aof_rewrite_in_progress": info.get("aof_rewrite_in_progress") == "1",
             "aof_last_bgrewrite_status": info.get("aof_last_bgrewrite_status")})
    except (OSError, sb_redis.RedisError) as e:
        out({"up": False, "error": str(e), "log": sb_redis.last_log_lines(sb.path("redis"))})


def cache(sb, a):
    db = sb.active_db()
    try:
        if a.action == "warm":
            return out({"warmed": sb_redis.warm_cache(sb.redis_port(), db)})
        r = sb_redis.cache_audit(sb.redis_port(), db)
        r["count_mismatched"] = len(r["mismatched"])
        out(r)
    finally:
        db.close()


def sessions(sb, a):
    db = sb.active_db()
    try:
        if a.action == "restore":
            return out(sb_redis.restore_sessions(sb.redis_port(), db))
        r = sb_redis.session_audit(sb.redis_port(), db)
        r["count_missing"], r["count_orphaned"] = len(r["missing_users"]), len(r["orphaned"])
        out(r)
    finally:
        db.close()


# ---- regions ------------------------------------------------------------------------------------------

def promote(sb, a):
    region = a.region or "secondary"
    if region == "secondary":
        sb.stop("replicator")
        sb.write_json("region.json", {"primary": "secondary", "promoted_at": now_iso()})
        db = sb.db(replica=True)
        sb.config("promoted", now_iso(), db=db)
        db.close()
        return print("replica promoted: the secondary region is now primary")
    if sb.flag("region-down"):
        raise SystemExit("promote: the primary region is down")
    sb.write_json("region.json", {"primary": "primary", "promoted_at": now_iso()})
    sb.stop("worker2")
    sb.spawn("worker", ["work", "--region", "primary"])
    sb.spawn("replicator", ["replicate-loop"])
    print("the primary region is primary again; replication primary -> secondary restarted")


def reroute(sb, a):
    to = a.to or "secondary"
    url = sb.url("app2") if to == "secondary" else sb.url("router")
    sb.write_json("route.json", {"region": to, "api": url, "at": now_iso()})
    out(sb.read_json("route.json", {}))


def resync(sb, a):
    """Copies the secondary's data back into the primary's database (the original primary
    becomes a replica of the promoted secondary before it is promoted back)."""
    if sb.flag("region-down"):
        raise SystemExit("resync: the primary region is down")
    if sb.flag("primary.broken"):
        raise SystemExit("resync: the primary database refuses writes (primary.broken: its disk is read-only)")
    sb.copy_data(sb.replica, sb.database, "resynced_at_epoch")
    replication(sb, a)


def replication(sb, a):
    res = {}
    for name, url in (("primary", sb.database), ("secondary", sb.replica)):
        try:
            db = DB(url)
            res[name] = {"jobs": db.one("SELECT count(*) FROM jobs"), "users": db.one("SELECT count(*) FROM users"),
                         "last_job": db.one("SELECT max(created_at) FROM jobs"),
                         "transactions": db.one("SELECT count(*) FROM credit_transactions")}
            db.close()
        except Exception as e:  # noqa: BLE001
            res[name] = {"error": str(e).strip()}
    p, s = res.get("primary", {}), res.get("secondary", {})
    keys = ("jobs", "users", "last_job", "transactions")
    res["in_sync"] = all(k in p and p[k] == s.get(k) for k in keys)
    res["behind_jobs"] = (s.get("jobs") or 0) - (p.get("jobs") or 0) if "jobs" in p and "jobs" in s else None
    res["lag_s"] = 0.0 if res["in_sync"] else lag_seconds(p.get("last_job"), s.get("last_job"))
    out(res)
    if getattr(a, "expect_in_sync", False) and not res["in_sync"]:
        raise SystemExit("the primary is not in sync with the secondary")


def lag_seconds(older, newer):
    """Seconds between the newest job each side holds (how much the primary would lose)."""
    import datetime as dt
    def parse(t):
        return dt.datetime.fromisoformat(t.replace("Z", "+00:00")).timestamp() if t else 0.0
    try:
        return round(max(0.0, parse(newer) - parse(older)), 3)
    except ValueError:
        return None


# ---- backups ---------------------------------------------------------------------------------------------

def backup(sb, a):
    out(sb_backups.backup(sb, a.label))


def backups(sb, a):
    out(sb_backups.listing(sb, a.label))


def latest_backup(sb, a):
    b = sb_backups.latest(sb)
    if not b:
        raise SystemExit("no backup")
    out(b)


def restore(sb, a):
    out(sb_backups.restore(sb, a.file, a.target, a.sha256))


def find_good_backup(sb, a):
    r = sb_backups.find_good(sb, a.min_users, a.before, only=a.only or None)
    out(r)
    if not r["ok"]:
        raise SystemExit(1)


def signin_check(sb, a):
    why = sb_backups.signin_probe(sb, a.target)
    out({"ok": why is None, "target": a.target, "why": why or "a user signed in and read /api/me back"})
    if why:
        raise SystemExit(1)


def smoke_test(sb, a):
    r = sb_backups.smoke(sb, a.target, a.min_users, a.signin)
    out(r)
    if not r["ok"]:
        print(r["summary"], file=sys.stderr)
        raise SystemExit(1)


# ---- migrations, provider, clients ----------------------------------------------------------------------

def migrate(sb, a):
    db = sb.active_db()
    try:
        if a.action == "status":
            return out(sb_migrate.status(sb, db))
        if a.action == "validate":
            problems = sb_migrate.validate(sb, db)
            out({"ok": not problems, "problems": problems})
            if problems:
                raise SystemExit(1)
            return None
        if a.action == "up":
            return out(sb_migrate.up(sb, db, a.version, a.file))
        if not a.version:
            raise SystemExit("migrate down: which VERSION?")
        return out(sb_migrate.down(sb, db, a.version))
    except sb_migrate.MigrationError as e:
        raise SystemExit(f"migrate: {e}")
    finally:
        db.close()


def provider(sb, a):
    if a.action == "outage":
        until = "forever" if a.seconds is None else time.time() + a.seconds
        sb.write_json("provider.json", {"down_until": until})
        return print("provider outage " + ("with no end announced" if until == "forever" else f"for {a.seconds}s"))
    if a.action == "end":
        sb.write_json("provider.json", {"down_until": None})
        return print("provider outage ended")
    if a.action == "wait":
        limit = parse_duration(a.duration or "1h")
        start = time.time()
        while True:
            st = sb_http.provider_state(sb)
            if st["up"]:
                return out({"up": True, "waited_s": round(time.time() - start, 1)})
            if time.time() - start >= limit:
                out({"up": False, "waited_s": round(time.time() - start, 1), "detail": st["detail"]})
                raise SystemExit(f"the provider is still down after {a.duration}: {st['detail']}")
            time.sleep(0.5)
    out(sb_http.provider_state(sb))


def clients(sb, a):
    db = sb.active_db()
    try:
        if a.action == "top":
            return out(sb_http.spend(sb, db))
        blocked = [u for u in (sb.config("blocked_users", db=db) or "").split(",") if u]
        if a.action == "block" and str(a.user) not in blocked:
            blocked.append(str(a.user))
        if a.action == "unblock":
            blocked = [u for u in blocked if u != str(a.user)]
        sb.config("blocked_users", ",".join(blocked), db=db)
        out({"blocked_users": blocked})
    finally:
        db.close()


def runaway(sb, a):
    if a.action == "stop":
        sb.stop("runaway")
        return print("runaway client stopped")
    sb.spawn("runaway", ["runaway-loop", "--user", str(a.user), "--rate", str(a.rate)])
    print(f"runaway client of user {a.user} started ({a.rate} jobs/s)")
