"""The sandbox's HTTP services, all on 127.0.0.1:

- an API node (`serve`): health, admin views, sign-in and sessions (Redis), cached
  balances (Redis), job submission; maintenance mode answers 503 to users, never to the
  admin views the runbooks read;
- the router (`route`), the global load balancer in front of the nodes: round-robin over
  the nodes enabled in router.json, or the secondary region's app after a reroute;
- the AI provider (`provider`) the worker calls, with outages on demand.
"""
import http.client
import http.server
import itertools
import json
import os
import secrets
import signal
import threading
import time

import sb_redis
from sb_db import DB, DATA_TABLES, counts, now_iso

COST_PER_JOB_USD = 0.05
SPEND_WINDOW_S = 5
GENERATE_S = 0.05


def make_server(port, handler):
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    srv.daemon_threads = True
    signal.signal(signal.SIGTERM, lambda *a: os._exit(0))
    return srv


class Base(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def send(self, code, body):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def send_text(self, code, text):
        data = text.encode()
        self.send_response(code)
        self.send_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b"{}"
        try:
            v = json.loads(raw or b"{}")
            return v if isinstance(v, dict) else {}
        except ValueError:
            return {}


# ---- an API node -------------------------------------------------------------------------------

def tmp_dir(sb, node):
    return sb.path("tmp", f"api-{node}")


def node_startup_problem(sb, node):
    """Reads the node's temporary render cache the way the app does at start: a corrupt
    file keeps the node unhealthy until it is removed and the node restarted."""
    d = tmp_dir(sb, node)
    os.makedirs(d, exist_ok=True)
    f = os.path.join(d, "render-cache.json")
    if not os.path.exists(f):
        with open(f, "w") as out:
            json.dump({"created": now_iso(), "entries": {}}, out)
        return None
    try:
        with open(f) as inp:
            json.load(inp)
        return None
    except ValueError as e:
        return f"corrupt temporary file {f}: {e}"


def serve_node(sb, port, region, node):
    if sb.flag(f"{node}.broken"):
        print(f"{node}: cannot start: missing configuration ({node}.broken)", flush=True)
        raise SystemExit(1)
    st = {"problem": node_startup_problem(sb, node), "errors": 0, "since": now_iso()}
    lock = threading.Lock()

    def wedge(*a):
        st["problem"] = "request pool exhausted: every handler is stuck (wedged)"
    signal.signal(signal.SIGUSR1, wedge)
    srv = make_server(port, make_node_handler(sb, region, node, st, lock))
    srv.serve_forever()


def make_node_handler(sb, region, node, st, lock, probe=False):
    """PROBE: a throwaway app a runbook signs in through while production is in
    maintenance (it ignores maintenance mode, like a health check from inside)."""
    sessions = sb_redis.SCRATCH_DB if region == "scratch" else sb_redis.SESSION_DB

    class Node(Base):
        def send(self, code, body):
            if code >= 500:
                with lock:
                    st["errors"] += 1
            super().send(code, body)

        def dbstate(self):
            if region == "primary" and sb.flag("region-down"):
                return None, "primary region is down"
            try:
                db = DB(sb.db_url(region))
            except Exception as e:  # noqa: BLE001
                return None, f"unreachable: {e}".strip()
            try:
                missing = sorted(t for t in DATA_TABLES if t not in db.tables())
            except Exception as e:  # noqa: BLE001
                db.close()
                return None, f"unreachable: {e}".strip()
            return db, ("ok" if not missing else "missing tables: " + ", ".join(missing))

        def redis(self, db_index):
            return sb_redis.Redis(sb.redis_port(), db_index, timeout=1.0)

        def redis_state(self):
            try:
                with self.redis(0) as r:
                    return "ok" if r.call("PING") == "PONG" else "no PONG"
            except (OSError, sb_redis.RedisError) as e:
                return f"unreachable: {e}"

        def do_GET(self):
            self.handle_any("GET")

        def do_POST(self):
            self.handle_any("POST")

        def handle_any(self, method):
            if st["problem"]:
                return self.send(500, {"node": node, "healthy": False, "error": st["problem"]})
            if self.path.startswith("/api/admin/errors"):
                return self.send(200, {"node": node, "errors_5xx": st["errors"], "since": st["since"]})
            db, dbs = self.dbstate()
            try:
                if method == "GET" and self.path.startswith("/api/health"):
                    return self.health(db, dbs)
                if self.path.startswith("/api/admin/"):
                    return self.admin(db, dbs)
                if not probe and region != "scratch" and sb.flag("maintenance.flag"):
                    return self.send(503, {"error": "maintenance", "status": "maintenance"})
                if not db or dbs != "ok":
                    return self.send(503, {"error": dbs})
                return self.user(method, db)
            finally:
                if db:
                    db.close()

        def health(self, db, dbs):
            release = sb.read_text("release", "v1")
            body = {"region": region, "node": node, "version": release, "db": dbs,
                    "maintenance": sb.flag("maintenance.flag"), "redis": self.redis_state()}
            if db and dbs == "ok":
                cfg = dict(db.q("SELECT key, value FROM system_config"))
                body.update(lockdown=cfg.get("SYSTEM_LOCKDOWN") == "true", queue_paused=cfg.get("queue_paused") == "true",
                            banner=cfg.get("banner") or "")
                import sb_migrate
                body["schema"] = sb_migrate.schema_state(db)
            if body["maintenance"]:  # the maintenance page is served in front of the app, broken or not
                body.update(healthy=False, status="maintenance")
                return self.send(503, body)
            if release.endswith("broken"):
                body.update(healthy=False, error="TypeError: cannot read properties of undefined (reading 'user')")
                return self.send(500, body)
            for part in ("db", "schema", "redis"):
                if body.get(part, "ok") != "ok":
                    body.update(healthy=False)
                    return self.send(503, body)
            body.update(healthy=True, degraded=bool(body.get("banner") or body.get("queue_paused")))
            self.send(200, body)

        def admin(self, db, dbs):
            p = self.path
            if p.startswith("/api/admin/backups/latest"):
                import sb_backups
                b = sb_backups.latest(sb)
                return self.send(200 if b else 404, b or {"error": "no backup"})
            if p.startswith("/api/admin/provider"):
                return self.send(200, provider_state(sb))
            if not db:
                return self.send(503, {"error": dbs})
            if p.startswith("/api/admin/stats"):
                c = counts(db)
                return self.send(200, {"counts": c, "missing": [t for t in DATA_TABLES if c.get(t) is None], "db": dbs})
            if dbs != "ok":
                return self.send(503, {"error": dbs})
            if p.startswith("/api/admin/queues"):
                q = {s: db.one("SELECT count(*) FROM jobs WHERE status = ?", (s,))
                     for s in ("pending", "processing", "done", "dead")}
                return self.send(200, {"waiting": q["pending"], "active": q["processing"], "done": q["done"],
                                       "failed": db.one("SELECT count(*) FROM dead_jobs"),
                                       "paused": sb.config("queue_paused", db=db) == "true"})
            if p.startswith("/api/admin/workers"):
                age = time.time() - float(sb.config("worker_heartbeat", db=db) or 0)
                return self.send(200, {"alive": age < 3, "heartbeat_age_s": round(age, 3)})
            if p.startswith("/api/admin/costs"):
                return self.send(200, spend(sb, db))
            return self.send(404, {"error": "not found"})

        def user(self, method, db):
            p = self.path
            if method == "GET" and p.startswith("/api/jobs/"):
                rows = db.q("SELECT id, status, error, user_id FROM jobs WHERE id = ?", (p.split("/")[-1],))
                if not rows:
                    return self.send(404, {"error": "no such job"})
                return self.send(200, dict(zip(("id", "status", "error", "user_id"), rows[0])))
            if method == "GET" and p.startswith("/api/users/") and p.endswith("/credits"):
                return self.credits(db, p.split("/")[3])
            if method == "GET" and p.startswith("/api/me"):
                return self.me(db)
            if method == "POST" and p.startswith("/api/login"):
                return self.login(db, self.body())
            if method == "POST" and p.startswith("/api/jobs"):
                return self.submit(db, self.body())
            return self.send(404, {"error": "not found"})

        def credits(self, db, uid):
            try:
                uid = int(uid)
                with self.redis(sb_redis.CACHE_DB) as r:
                    v = r.call("GET", f"cache:balance:{uid}")
                    if v is not None:
                        return self.send(200, {"user": uid, "balance": int(v), "cached": True})
                    bal = db.one("SELECT balance FROM user_credits WHERE user_id = ?", (uid,))
                    if bal is None:
                        return self.send(404, {"error": "no such user"})
                    r.call("SET", f"cache:balance:{uid}", bal, "EX", sb_redis.CACHE_TTL)
                    return self.send(200, {"user": uid, "balance": bal, "cached": False})
            except (OSError, sb_redis.RedisError) as e:
                return self.send(503, {"error": f"cache unavailable: {e}"})
            except ValueError:
                return self.send(400, {"error": "bad user id"})

        def login(self, db, body):
            rows = db.q("SELECT id FROM users WHERE email = ?", (str(body.get("email", "")),))
            if not rows:
                return self.send(401, {"error": "unknown user"})
            token = secrets.token_hex(8)
            try:
                with self.redis(sessions) as r:
                    r.call("SET", f"session:{token}", rows[0][0])
            except (OSError, sb_redis.RedisError) as e:
                return self.send(503, {"error": f"session store unavailable: {e}"})
            old = db.one("SELECT session_token FROM users WHERE id = ?", (rows[0][0],))
            db.q("UPDATE users SET session_token = ? WHERE id = ?", (token, rows[0][0]))
            if old:
                with self.redis(sessions) as r:
                    r.call("DEL", f"session:{old}")
            return self.send(200, {"user": rows[0][0], "token": token})

        def me(self, db):
            token = (self.headers.get("Authorization") or "").removeprefix("Bearer ").strip()
            try:
                with self.redis(sessions) as r:
                    uid = r.call("GET", f"session:{token}") if token else None
            except (OSError, sb_redis.RedisError) as e:
                return self.send(503, {"error": f"session store unavailable: {e}"})
            if uid is None:
                return self.send(401, {"error": "not signed in"})
            email = db.one("SELECT email FROM users WHERE id = ?", (int(uid),))
            return self.send(200, {"user": int(uid), "email": email})

        def submit(self, db, body):
            if self.headers.get("X-API-Key") != sb.secrets().get("api_key"):
                return self.send(401, {"error": "invalid API key"})
            try:
                uid = int(body.get("user_id", 1))
            except (TypeError, ValueError):
                return self.send(400, {"error": "bad user_id"})
            cfg = dict(db.q("SELECT key, value FROM system_config"))
            if str(uid) in (cfg.get("blocked_users") or "").split(","):
                return self.send(403, {"error": f"client of user {uid} is blocked"})
            if cfg.get("SYSTEM_LOCKDOWN") == "true":
                return self.send(423, {"error": "SYSTEM_LOCKDOWN: new jobs are refused"})
            jid = "job-" + secrets.token_hex(6)
            db.q("INSERT INTO jobs VALUES (?,?,?,?,?,?,?,?)",
                 (jid, uid, "pending", str(body.get("payload", "generate")), None, 0, now_iso(), now_iso()))
            if cfg.get("queue_paused") == "true":
                return self.send(202, {"id": jid, "status": "pending", "delayed": True, "banner": cfg.get("banner", "")})
            self.send(201, {"id": jid, "status": "pending"})

    return Node


def spend(sb, db):
    since = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(time.time() - SPEND_WINDOW_S))
    rows = db.q("SELECT user_id, count(*) FROM jobs WHERE created_at > ? GROUP BY user_id ORDER BY count(*) DESC",
                (since,))
    n = sum(r[1] for r in rows)
    budget = int(sb.cfg.get("spend_budget_jobs", 50))
    return {"window_s": SPEND_WINDOW_S, "jobs": n, "cost_usd": round(n * COST_PER_JOB_USD, 2), "budget_jobs": budget,
            "over_budget": n > budget, "top_user": rows[0][0] if rows else None,
            "top_user_jobs": rows[0][1] if rows else 0}


# ---- the router --------------------------------------------------------------------------------

def probe(url, timeout=0.5):
    try:
        host, port = url.rsplit("/", 1)[-1].split(":")
        c = http.client.HTTPConnection(host, int(port), timeout=timeout)
        c.request("GET", "/api/health")
        r = c.getresponse()
        body = r.read()
        c.close()
        try:
            return r.status, json.loads(body)
        except ValueError:
            return r.status, {}
    except OSError as e:
        return 0, {"error": str(e)}


def router_status(sb):
    table = sb.router_table()
    nodes = []
    for name, n in sorted(table["nodes"].items()):
        url = f"http://127.0.0.1:{n['port']}"
        status, body = probe(url)
        nodes.append({"name": name, "url": url, "enabled": n["enabled"], "status": status,
                      "healthy": status == 200, "error": body.get("error")})
    return {"serving_region": sb.serving_region(), "nodes": nodes}


def serve_router(sb, port):
    rr = itertools.count()

    class Router(Base):
        def do_GET(self):
            self.forward("GET")

        def do_POST(self):
            self.forward("POST")

        def target(self):
            if sb.serving_region() == "secondary":
                return "app2", sb.port("app2")
            enabled = [(k, v["port"]) for k, v in sorted(sb.router_table()["nodes"].items()) if v["enabled"]]
            if not enabled:
                return None, None
            return enabled[next(rr) % len(enabled)]

        def forward(self, method):
            if self.path.startswith("/router/status"):
                return self.send(200, router_status(sb))
            if self.path == "/metrics":  # Prometheus (sb_metrics.py)
                import sb_metrics
                return self.send_text(200, sb_metrics.metrics_text(sb))
            name, port = self.target()
            if not port:
                return self.send(503, {"error": "no node in rotation"})
            n = int(self.headers.get("Content-Length") or 0)
            data = self.rfile.read(n) if n else None
            headers = {k: v for k, v in self.headers.items()
                       if k.lower() in ("content-type", "x-api-key", "authorization")}
            try:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                c.request(method, self.path, body=data, headers=headers)
                r = c.getresponse()
                body = r.read()
                c.close()
            except OSError as e:
                return self.send(502, {"error": f"{name} unreachable: {e}"})
            self.send_response(r.status)
            self.send_header("Content-Type", r.getheader("Content-Type") or "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("X-Served-By", name)
            self.end_headers()
            self.wfile.write(body)

    make_server(port, Router).serve_forever()


# ---- the AI provider ---------------------------------------------------------------------------

def provider_outage(sb):
    """None when the provider is up, else why it is not."""
    st = sb.read_json("provider.json", {})
    until = st.get("down_until")
    if until is not None and (until == "forever" or time.time() < float(until)):
        return "outage: 503 from upstream (" + ("no end announced" if until == "forever" else
                                               f"until {time.strftime('%H:%M:%S', time.gmtime(float(until)))}Z") + ")"
    return None


def provider_state(sb):
    try:
        c = http.client.HTTPConnection("127.0.0.1", sb.port("provider"), timeout=1)
        c.request("GET", "/health")
        r = c.getresponse()
        body = json.loads(r.read() or b"{}")
        c.close()
        return {"up": r.status == 200, "status": r.status, "detail": body.get("status")}
    except (OSError, ValueError) as e:
        return {"up": False, "status": 0, "detail": f"unreachable: {e}"}


def serve_provider(sb, port):
    class Provider(Base):
        def do_GET(self):
            why = provider_outage(sb)
            self.send(503 if why else 200, {"status": why or "ok"})

        def do_POST(self):
            self.body()
            key = (self.headers.get("Authorization") or "").removeprefix("Key ").strip()
            s = sb.secrets()
            if key not in (s.get("provider_key_1"), s.get("provider_key_2")):
                return self.send(401, {"error": "invalid provider key"})
            why = provider_outage(sb)
            if why:
                return self.send(503, {"error": why})
            time.sleep(GENERATE_S)  # generating an asset takes a while: a flood builds a backlog
            self.send(200, {"asset": "https://cdn.example.com/gen/" + secrets.token_hex(6) + ".png"})

    make_server(port, Provider).serve_forever()
