#!/usr/bin/python3
"""A small local "production" for recovery runbooks, all on 127.0.0.1 under one state folder
(default: examples/sandbox/state), SQLite by default or PostgreSQL with --database URL:

  router :18080 (the global load balancer) -> API nodes node1, node2 (primary region)
                                           -> app2 (secondary region, after a reroute)
  database (primary) --replicator--> replica (secondary region); a scratch copy for restores
  Redis (cache in db 0, sessions in db 1; AOF on), the AI provider, a queue worker per region

Run `sandbox.py up`, then any runbook with `--inputs STATE/inputs.yaml`; `sandbox.py check`
exits 0 only when every invariant of a healthy production holds. Commands (`-h` on each):

  up [--port N] [--port2 N] [--redis-port N] [--database URL] | down [--check] | status | check [--json]
  backup [--label L] | backups [--label L] | latest-backup | restore FILE [--target T] [--sha256 H]
  find-good-backup [--min-users N] [--before EPOCH] [--only FILE] | smoke-test [--target T] [--signin]
  signin-check [--target live|scratch]
  maintenance on|off | lockdown on|off | queue pause|resume | banner set TEXT|clear
  worker start|stop|restart | scale-worker | deploy VERSION | rollback
  secrets rotate | rotate-key | invalidate-sessions | promote [--region R] | reroute [--to R]
  resync --from secondary | replication
  redis start|stop|status | cache audit|warm | sessions audit|restore
  node status|drain|enable|stop|start|restart [NAME] | probe [--n N] | watch --for DURATION
  migrate status|up|down|validate | provider status|outage|end|wait | clients top|block|unblock
  runaway start|stop | submit | dead-jobs [--kind K] | sql STATEMENT|- [--replica|--scratch]
"""
import argparse
import json
import os
import shutil
import sys
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sb_backups  # noqa: E402
import sb_check  # noqa: E402
import sb_db  # noqa: E402
import sb_http  # noqa: E402
import sb_migrate  # noqa: E402
import sb_ops  # noqa: E402
import sb_redis  # noqa: E402
import sb_worker  # noqa: E402
from sb_db import DB  # noqa: E402
from sb_state import (DEFAULT_STATE, NODES, SECRET_NAMES, SERVICES, Sandbox, free_port, new_secret,  # noqa: E402
                      port_free)

DEFAULT_PORTS = {"router": 18080, "app2": 18081, "redis": 16379}
RESET_FILES = ("maintenance.flag", "region-down", "region.json", "release.previous", "worker.broken", "lockdown.broken",
               "route.json", "leaked_secrets.json", "deploy.log", "notifications.log", "provider.json", "redis.broken",
               "node1.broken", "node2.broken", "primary.broken")


def out(value):
    print(json.dumps(value, default=str))


# ---- up / down / status -----------------------------------------------------------------------

def pick_ports(sb, a):
    prev, ports = sb.cfg.get("ports", {}), {}
    for name in ("router", "app2", "node1", "node2", "redis", "provider"):
        flag = {"router": "port", "app2": "port2", "redis": "redis-port"}.get(name)
        given = getattr(a, flag.replace("-", "_")) if flag else None
        if given:
            if not port_free(given):
                raise SystemExit(f"sandbox: port {given} (--{flag}) is taken by another process")
            ports[name] = given
            continue
        cand = prev.get(name) or DEFAULT_PORTS.get(name)
        if cand and cand not in ports.values() and port_free(cand):
            ports[name] = cand
            continue
        p = free_port()
        while p in ports.values():
            p = free_port()
        if name in DEFAULT_PORTS:
            what = {"router": "the app", "app2": "the secondary region's app", "redis": "Redis"}[name]
            print(f"sandbox: port {cand} is taken: {what} listens on 127.0.0.1:{p} instead "
                  f"(see {sb.path('inputs.yaml')})", file=sys.stderr)
        ports[name] = p
    return ports


def cmd_up(sb, a):
    for name in SERVICES:
        sb.stop(name)
    if sb_db.is_pg(sb.database):
        for url in (sb.database, sb.replica, sb.scratch):
            sb_db.ensure_pg_database(url)
    ports = pick_ports(sb, a)
    sb.cfg = {"database": sb.database, "replica": sb.replica, "scratch": sb.scratch, "ports": ports,
              "expected_users": sb_db.SEED_USERS, "spend_budget_jobs": 25}
    sb.write_json("sandbox.json", sb.cfg)
    for f in RESET_FILES:
        sb.set_flag(f, False)
    for d in ("tmp", "redis", "backups"):
        shutil.rmtree(sb.path(d), ignore_errors=True)
    os.makedirs(sb.path("backups"))
    sb.write_text("release", "v1")
    sb.write_json("secrets.json", {k: new_secret(k) for k in SECRET_NAMES}, mode=0o600)
    sb.write_json("router.json", {"nodes": {n: {"port": ports[n], "enabled": True} for n in NODES}})
    for url in (sb.database, sb.scratch):
        db = DB(url)
        sb_db.drop_all(db)
        sb_db.create_schema(db)
        if url == sb.database:
            sb_db.seed(db)
        db.close()
    sb_migrate.install(sb)
    sb.replicate()
    sb_backups.backup(sb, "scheduled")
    sb_ops.start_redis(sb)
    db = sb.db()
    sb_redis.load_sessions(sb.redis_port(), db)
    sb_redis.warm_cache(sb.redis_port(), db)
    db.close()
    sb.spawn("provider", ["provider-serve", "--port", str(ports["provider"])])
    for n in NODES:
        sb.spawn(n, ["serve", "--port", str(ports[n]), "--region", "primary", "--node", n])
    sb.spawn("app2", ["serve", "--port", str(ports["app2"]), "--region", "secondary", "--node", "app2"])
    sb.spawn("router", ["route", "--port", str(ports["router"])])
    sb.spawn("worker", ["work", "--region", "primary"])
    sb.spawn("replicator", ["replicate-loop"])
    for name in ("provider", "node1", "node2", "app2", "router"):
        if not sb.wait_port(ports[name]):
            raise SystemExit(f"sandbox: {name} did not start; see {sb.path(name + '.log')}")
    time.sleep(0.1)
    for name in ("provider", "node1", "node2", "app2", "router"):
        if not sb.alive(name):  # another process took the port: do not talk to a stranger
            raise SystemExit(f"sandbox: port {ports[name]} is taken by another process; see {sb.path(name + '.log')}")
    sb.write_inputs()
    out({"app_url": sb.url("router"), "app2_url": sb.url("app2"), "database": sb_db.mask(sb.database),
         "redis_url": f"redis://127.0.0.1:{ports['redis']}", "state": sb.state, "inputs": sb.path("inputs.yaml")})


def cmd_down(sb, a):
    code = sb_check.report(sb_check.run(sb)) if a.check else 0
    for name in SERVICES:
        sb.stop(name)
    print("sandbox stopped")
    sys.exit(code)


def cmd_status(sb, a):
    st = {"processes": {n: bool(sb.alive(n)) for n in SERVICES}, "ports": sb.cfg.get("ports", {}),
          "port": sb.port("router"), "port2": sb.port("app2"), "region": sb.region(), "serving": sb.serving_region()}
    try:
        db = sb.active_db()
        st["counts"] = sb_db.counts(db)
        db.close()
    except Exception as e:  # noqa: BLE001
        st["error"] = str(e).strip()
    out(st)


# ---- commands over the data ---------------------------------------------------------------------

def db_for(sb, a):
    if getattr(a, "scratch", False):
        return DB(sb.scratch)
    return sb.db(replica=True) if getattr(a, "replica", False) else sb.active_db()


def cmd_sql(sb, a):
    """One statement, or with `-` the statements on stdin (one per `;` at a line's end), in
    one transaction."""
    db = db_for(sb, a)
    try:
        if a.statement != "-":
            return out([list(r) for r in db.q(a.statement)])
        text = sys.stdin.read()
        stmts = [x.strip() for x in text.replace("\r", "").split(";\n") if x.strip().rstrip(";")]
        db.tx([(x.rstrip(";"), ()) for x in stmts])
        out({"statements": len(stmts)})
    finally:
        db.close()


def cmd_dead_jobs(sb, a):
    db = sb.active_db()
    try:
        q = "SELECT d.id, d.user_id, u.email, d.error_kind, d.error, d.logs, d.triage FROM dead_jobs d " \
            "LEFT JOIN users u ON u.id = d.user_id WHERE (? = '' OR d.error_kind = ?) ORDER BY d.id"
        rows = db.q(q, (a.kind or "", a.kind or ""))
    finally:
        db.close()
    jobs = [dict(zip(("id", "user_id", "email", "kind", "error", "logs", "triage"), r)) for r in rows]
    out({"count": len(jobs), "ids": ", ".join(j["id"] for j in jobs) or "none",
         "users": ", ".join(sorted({f"{j['email']} (user {j['user_id']})" for j in jobs})) or "none",
         "summary": "; ".join(f"{j['id']} of user {j['user_id']}: {j['error']}" for j in jobs) or "none",
         "logs": "\n".join(f"[{j['id']}] {j['logs']}" for j in jobs), "jobs": jobs})


def cmd_submit(sb, a):
    url = a.url or sb.url("router")
    key = a.key or sb.secrets().get("api_key", "")
    body = {"payload": a.payload, "user_id": a.user}
    req = urllib.request.Request(url + "/api/jobs", data=json.dumps(body).encode(), method="POST",
                                 headers={"X-API-Key": key, "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            print(json.loads(r.read())["id"])
    except urllib.error.HTTPError as e:
        raise SystemExit(f"submit refused: HTTP {e.code} {e.read().decode()}")


def cmd_check(sb, a):
    sys.exit(sb_check.report(sb_check.run(sb), a.json))


# ---- the command line ---------------------------------------------------------------------------

def parser():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--state", default=os.environ.get("SANDBOX_STATE", DEFAULT_STATE))
    ap.add_argument("--database", help="sqlite:PATH or postgres://… (also accepted after the command)")
    sub = ap.add_subparsers(dest="cmd", required=True)

    def cmd(name, fn, **kw):
        p = sub.add_parser(name, **kw)
        p.add_argument("--database", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
        p.set_defaults(fn=fn)
        return p

    up = cmd("up", cmd_up, help="create, seed, back up, start every service; write STATE/inputs.yaml")
    up.add_argument("--port", type=int, help="the router (the app's address); default 18080, or a free port")
    up.add_argument("--port2", type=int, help="the secondary region's app; default 18081, or a free port")
    up.add_argument("--redis-port", type=int, help="Redis; default 16379, or a free port")
    cmd("down", cmd_down).add_argument("--check", action="store_true",
                                       help="run `check` first; exit with its verdict (the drills' final proof)")
    cmd("status", cmd_status)
    cmd("check", cmd_check).add_argument("--json", action="store_true")
    cmd("backup", sb_ops.backup).add_argument("--label", default="scheduled")
    cmd("backups", sb_ops.backups).add_argument("--label")
    cmd("latest-backup", sb_ops.latest_backup)
    r = cmd("restore", sb_ops.restore)
    r.add_argument("file")
    r.add_argument("--target", choices=["live", "scratch"], default="live")
    r.add_argument("--sha256", help="refuse unless the file still has this digest (the one verified)")
    g = cmd("find-good-backup", sb_ops.find_good_backup)
    g.add_argument("--min-users", type=int, default=sb_db.SEED_USERS)
    g.add_argument("--before", type=float, help="only backups taken before this time (seconds since 1970)")
    g.add_argument("--only", help="verify this one backup file only")
    s = cmd("smoke-test", sb_ops.smoke_test)
    s.add_argument("--target", choices=["live", "scratch"], default="scratch")
    s.add_argument("--min-users", type=int, default=sb_db.SEED_USERS)
    s.add_argument("--signin", action="store_true", help="also sign a user in through an app on that database")
    cmd("signin-check", sb_ops.signin_check).add_argument("--target", choices=["live", "scratch"], default="live")
    for name, fn in (("maintenance", sb_ops.maintenance), ("lockdown", sb_ops.lockdown)):
        cmd(name, fn).add_argument("mode", choices=["on", "off"])
    cmd("queue", sb_ops.queue).add_argument("action", choices=["pause", "resume"])
    b = cmd("banner", sb_ops.banner)
    b.add_argument("action", choices=["set", "clear"])
    b.add_argument("text", nargs="?", default="")
    cmd("worker", sb_ops.worker).add_argument("action", choices=["start", "stop", "restart"])
    cmd("scale-worker", sb_ops.scale_worker).add_argument("--region", choices=["primary", "secondary"])
    cmd("deploy", sb_ops.deploy).add_argument("version")
    cmd("rollback", sb_ops.rollback)
    sec = cmd("secrets", sb_ops.secrets)
    sec.add_argument("action", choices=["rotate", "check-leaked"])
    sec.add_argument("name", nargs="*", help="the secrets to rotate (default: all)")
    sec.add_argument("--all", action="store_true")
    cmd("rotate-key", lambda sb, a: sb_ops.secrets(sb, argparse.Namespace(action="rotate", all=False, name=["api_key"])))
    cmd("invalidate-sessions", sb_ops.invalidate_sessions)
    cmd("promote", sb_ops.promote).add_argument("--region", choices=["primary", "secondary"])
    cmd("reroute", sb_ops.reroute).add_argument("--to", choices=["primary", "secondary"])
    cmd("resync", sb_ops.resync).add_argument("--from", dest="source", choices=["secondary"], default="secondary")
    cmd("replication", sb_ops.replication)
    cmd("redis", sb_ops.redis).add_argument("action", choices=["start", "stop", "status"])
    cmd("cache", sb_ops.cache).add_argument("action", choices=["audit", "warm"])
    cmd("sessions", sb_ops.sessions).add_argument("action", choices=["audit", "restore"])
    n = cmd("node", sb_ops.node)
    n.add_argument("action", choices=["status", "drain", "enable", "stop", "start", "restart"])
    n.add_argument("name", nargs="?")
    p = cmd("probe", sb_ops.probe)
    p.add_argument("--n", type=int, default=20)
    p.add_argument("--url")
    w = cmd("watch", sb_ops.watch)
    w.add_argument("--for", dest="duration", required=True)
    w.add_argument("--interval", type=float, default=1.0)
    w.add_argument("--url")
    m = cmd("migrate", sb_ops.migrate)
    m.add_argument("action", choices=["status", "up", "down", "validate"])
    m.add_argument("version", nargs="?")
    m.add_argument("--file")
    pv = cmd("provider", sb_ops.provider)
    pv.add_argument("action", choices=["status", "outage", "end", "wait"])
    pv.add_argument("--seconds", type=float)
    pv.add_argument("--for", dest="duration")
    c = cmd("clients", sb_ops.clients)
    c.add_argument("action", choices=["top", "block", "unblock"])
    c.add_argument("user", nargs="?", type=int)
    ra = cmd("runaway", sb_ops.runaway)
    ra.add_argument("action", choices=["start", "stop"])
    ra.add_argument("--user", type=int, default=42)
    ra.add_argument("--rate", type=float, default=40)
    su = cmd("submit", cmd_submit)
    su.add_argument("--payload", default="generate")
    su.add_argument("--url")
    su.add_argument("--key")
    su.add_argument("--user", type=int, default=1)
    cmd("dead-jobs", cmd_dead_jobs).add_argument("--kind")
    q = cmd("sql", cmd_sql)
    q.add_argument("statement", help="SQL, or - to read statements from stdin (one transaction)")
    q.add_argument("--replica", action="store_true")
    q.add_argument("--scratch", action="store_true")
    # the services themselves (started by `up`)
    sv = cmd("serve", lambda sb, a: sb_http.serve_node(sb, a.port, a.region, a.node))
    sv.add_argument("--port", type=int, required=True)
    sv.add_argument("--region", default="primary")
    sv.add_argument("--node", default="node1")
    cmd("route", lambda sb, a: sb_http.serve_router(sb, a.port)).add_argument("--port", type=int, required=True)
    cmd("provider-serve", lambda sb, a: sb_http.serve_provider(sb, a.port)).add_argument("--port", type=int,
                                                                                          required=True)
    cmd("work", lambda sb, a: sb_worker.work(sb, a.region)).add_argument("--region", default="primary")
    cmd("replicate-loop", lambda sb, a: sb_worker.replicate_loop(sb))
    rl = cmd("runaway-loop", lambda sb, a: sb_worker.runaway(sb, a.user, a.rate))
    rl.add_argument("--user", type=int, required=True)
    rl.add_argument("--rate", type=float, required=True)
    return ap


def slow_down(a):
    """A test hook: with SANDBOX_SLOW="COMMAND[,COMMAND...]=SECONDS" in its environment, a
    command whose words start with one of these (`restore`, `cache audit`, `dead-jobs --kind
    bad_input`) waits that long before doing anything, so that a test can interrupt a
    runbook while one of its steps runs (the engine passes its environment to its actions)."""
    spec = os.environ.get("SANDBOX_SLOW", "")
    if "=" not in spec:
        return
    names, seconds = spec.rsplit("=", 1)
    args = sys.argv[1:]
    words = args[args.index(a.cmd):] if a.cmd in args else [a.cmd]
    for name in names.split(","):
        want = name.split()
        if want and words[:len(want)] == want:
            time.sleep(float(seconds))
            return


def main():
    a = parser().parse_args()
    slow_down(a)
    sb = Sandbox(a.state, a.database)
    try:
        a.fn(sb, a)
    except sb_redis.RedisError as e:
        raise SystemExit(f"sandbox: Redis: {e}")
    except ConnectionRefusedError as e:
        raise SystemExit(f"sandbox: {e}")


if __name__ == "__main__":
    main()
