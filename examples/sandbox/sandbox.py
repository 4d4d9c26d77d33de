#!/usr/bin/python3
"""A small local "production" for recovery runbooks: an application database, an HTTP app
with health, maintenance and lockdown, a worker with a heartbeat, timestamped SQL backups,
a secondary region (replica database + second app), an API key and an admin audit log.

Everything lives under one state folder (default: examples/sandbox/state); nothing listens
beyond 127.0.0.1. SQLite by default; PostgreSQL with --database postgres://...

  sandbox.py up [--port N] [--database URL]   create, seed, back up, start app + worker + region 2
  sandbox.py down                             stop everything
  sandbox.py status                           JSON: processes, ports, counts
  sandbox.py backup [--label L]               SQL dump into state/backups + a backup_logs row
  sandbox.py restore FILE                     replace the database with a dump
  sandbox.py maintenance on|off               the app answers 503 while on
  sandbox.py lockdown on|off                  new jobs refused, queued jobs go on
  sandbox.py worker start|stop|restart        the queue worker
  sandbox.py deploy VERSION | rollback        the app's release (v2-broken fails health)
  sandbox.py rotate-key                       new API key; the old one stops working
  sandbox.py promote | reroute | scale-worker region failover to the secondary
  sandbox.py submit [--payload P]             create a job through the API, print its id
"""
import argparse
import datetime as dt
import http.server
import json
import os
import secrets
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_STATE = os.path.join(HERE, "state")

TABLES = {
    "users": [("id", "INT PRIMARY KEY"), ("email", "TEXT"), ("created_at", "TEXT"), ("is_admin", "INT"),
              ("session_token", "TEXT")],
    "images": [("id", "INT PRIMARY KEY"), ("user_id", "INT"), ("url", "TEXT"), ("created_at", "TEXT")],
    "user_credits": [("user_id", "INT PRIMARY KEY"), ("balance", "INT"), ("last_updated", "TEXT")],
    "credit_transactions": [("id", "INT PRIMARY KEY"), ("user_id", "INT"), ("amount", "INT"), ("type", "TEXT"),
                            ("description", "TEXT"), ("created_at", "TEXT")],
    "jobs": [("id", "TEXT PRIMARY KEY"), ("user_id", "INT"), ("status", "TEXT"), ("payload", "TEXT"),
             ("error", "TEXT"), ("attempts", "INT"), ("created_at", "TEXT"), ("updated_at", "TEXT")],
    "dead_jobs": [("id", "TEXT PRIMARY KEY"), ("user_id", "INT"), ("payload", "TEXT"), ("error", "TEXT"),
                  ("error_kind", "TEXT"), ("created_at", "TEXT")],
    "system_config": [("key", "TEXT PRIMARY KEY"), ("value", "TEXT")],
    "backup_logs": [("id", "INT PRIMARY KEY"), ("file", "TEXT"), ("label", "TEXT"), ("created_at", "TEXT"),
                    ("created_epoch", "INT"), ("users", "INT"), ("images", "INT")],
    "admin_audit_logs": [("id", "INT PRIMARY KEY"), ("admin", "TEXT"), ("action", "TEXT"), ("ip_address", "TEXT"),
                         ("success", "INT"), ("created_at", "TEXT")],
}
# Restored from backups; backup_logs and the audit log describe the backups and admins
# themselves and are kept as they are.
DATA_TABLES = ["users", "images", "user_credits", "credit_transactions", "jobs", "dead_jobs", "system_config"]
SEED_USERS = 95
SEED_IMAGES = 1200


def now_iso():
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# ---- database access (SQLite or PostgreSQL) -------------------------------------------------

class DB:
    def __init__(self, url):
        self.url = url
        self.pg = url.startswith("postgres://") or url.startswith("postgresql://")
        if self.pg:
            import psycopg2
            self.conn = psycopg2.connect(url)
        else:
            path = url[len("sqlite:"):] if url.startswith("sqlite:") else url
            self.conn = sqlite3.connect(path, timeout=30, isolation_level=None)
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA busy_timeout=30000")

    def q(self, sql, args=()):
        cur = self.conn.cursor()
        if not args:
            cur.execute(sql)
        else:
            cur.execute(sql.replace("?", "%s") if self.pg else sql, args)
        rows = cur.fetchall() if cur.description else []
        if self.pg:
            self.conn.commit()
        return rows

    def tx(self, statements):
        """Runs [(sql, args)] in one transaction."""
        cur = self.conn.cursor()
        try:
            if not self.pg:
                cur.execute("BEGIN IMMEDIATE")
            for sql, args in statements:
                if not args:
                    cur.execute(sql)
                else:
                    cur.execute(sql.replace("?", "%s") if self.pg else sql, args)
            self.conn.commit() if self.pg else cur.execute("COMMIT")
        except Exception:
            self.conn.rollback() if self.pg else cur.execute("ROLLBACK")
            raise

    def tables(self):
        if self.pg:
            rows = self.q("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'")
        else:
            rows = self.q("SELECT name FROM sqlite_master WHERE type = 'table'")
        return {r[0] for r in rows}

    def create(self, table):
        cols = ", ".join(f"{c} {t.replace('INT', 'BIGINT') if self.pg else t}" for c, t in TABLES[table])
        self.q(f"CREATE TABLE IF NOT EXISTS {table} ({cols})")

    def close(self):
        self.conn.close()


class Sandbox:
    def __init__(self, state, database=None):
        self.state = os.path.abspath(state)
        os.makedirs(self.state, exist_ok=True)
        os.makedirs(self.path("backups"), exist_ok=True)
        cfg = self.read_json("sandbox.json", {})
        self.database = database or cfg.get("database") or "sqlite:" + self.path("app.db")
        self.replica = cfg.get("replica") or self.replica_url(self.database)

    def path(self, *p):
        return os.path.join(self.state, *p)

    def read_json(self, name, default):
        try:
            with open(self.path(name)) as f:
                return json.load(f)
        except (OSError, ValueError):
            return default

    def write_json(self, name, value):
        tmp = self.path(name + ".tmp")
        with open(tmp, "w") as f:
            json.dump(value, f, indent=2)
        os.replace(tmp, self.path(name))

    @staticmethod
    def replica_url(url):
        if url.startswith("sqlite:"):
            return url[:-3] + "-replica.db" if url.endswith(".db") else url + "-replica"
        base, _, name = url.rpartition("/")
        return f"{base}/{name.split('?')[0]}_replica"

    def db(self, replica=False):
        return DB(self.replica if replica else self.database)

    def active_db_url(self):
        return self.replica if self.read_json("region.json", {}).get("primary") == "secondary" else self.database

    # ---- schema, seed, backups ----------------------------------------------------------

    def create_schema(self, db):
        for t in TABLES:
            db.create(t)

    def seed(self, db):
        now = dt.datetime.now(dt.timezone.utc)
        stmts = []
        for t in DATA_TABLES + ["admin_audit_logs"]:
            stmts.append((f"DELETE FROM {t}", ()))
        for u in range(1, SEED_USERS + 1):
            created = (now - dt.timedelta(days=200 - u)).isoformat()
            stmts.append(("INSERT INTO users VALUES (?,?,?,?,?)",
                          (u, f"user{u}@example.com", created, 1 if u <= 3 else 0, secrets.token_hex(8))))
        tx_id = 0
        for u in range(1, SEED_USERS + 1):
            total = 0
            for k, amount in enumerate([100, -10 * (u % 5), -5 * (u % 3)]):
                tx_id += 1
                kind = "purchase" if amount > 0 else "usage"
                stmts.append(("INSERT INTO credit_transactions VALUES (?,?,?,?,?,?)",
                              (tx_id, u, amount, kind, f"seed {k}", (now - dt.timedelta(days=10, minutes=k)).isoformat())))
                total += amount
            stmts.append(("INSERT INTO user_credits VALUES (?,?,?)", (u, total, now.isoformat())))
        for i in range(1, SEED_IMAGES + 1):
            stmts.append(("INSERT INTO images VALUES (?,?,?,?)",
                          (i, 1 + i % SEED_USERS, f"https://cdn.example.com/img/{i}.png",
                           (now - dt.timedelta(minutes=SEED_IMAGES - i)).isoformat())))
        for key, value in [("SYSTEM_LOCKDOWN", "false"), ("release", "v1"), ("worker_heartbeat", "0")]:
            stmts.append(("INSERT INTO system_config VALUES (?,?)", (key, value)))
        for i in range(1, 6):
            stmts.append(("INSERT INTO admin_audit_logs VALUES (?,?,?,?,?,?)",
                          (i, "admin1", "view_dashboard", "127.0.0.1", 1, (now - dt.timedelta(hours=i)).isoformat())))
        db.tx(stmts)

    def counts(self, db):
        have = db.tables()
        out = {}
        for t in TABLES:
            out[t] = db.q(f"SELECT count(*) FROM {t}")[0][0] if t in have else None
        return out

    def backup(self, label="scheduled"):
        db = self.db()
        stamp = dt.datetime.now(dt.timezone.utc)
        name = f"backup_{stamp.strftime('%Y%m%d_%H%M%S_%f')}_{label}.sql"
        lines = [f"-- runbook sandbox backup {stamp.isoformat()} label={label}"]
        have = db.tables()
        counts = {}
        for t in DATA_TABLES:
            if t not in have:
                lines.append(f"-- table {t} missing at backup time")
                continue
            cols = [c for c, _ in TABLES[t]]
            rows = db.q(f"SELECT {', '.join(cols)} FROM {t}")
            counts[t] = len(rows)
            lines.append(f"-- table {t} rows={len(rows)}")
            for r in rows:
                vals = ", ".join(sql_literal(v) for v in r)
                lines.append(f"INSERT INTO {t} ({', '.join(cols)}) VALUES ({vals});")
        path = self.path("backups", name)
        with open(path + ".tmp", "w") as f:
            f.write("\n".join(lines) + "\n")
        os.replace(path + ".tmp", path)
        if "backup_logs" in have:
            next_id = (db.q("SELECT coalesce(max(id), 0) FROM backup_logs")[0][0] or 0) + 1
            db.q("INSERT INTO backup_logs VALUES (?,?,?,?,?,?,?)",
                 (next_id, path, label, stamp.isoformat(), int(stamp.timestamp()), counts.get("users"), counts.get("images")))
        db.close()
        return {"file": path, "created_at": stamp.isoformat(), "created_epoch": int(stamp.timestamp()), "label": label,
                "counts": counts}

    def restore(self, file, replica=False):
        with open(file) as f:
            statements = [l for l in f.read().splitlines() if l.startswith("INSERT INTO ")]
        if not statements:
            raise SystemExit(f"restore: {file} holds no data (an empty or broken backup)")
        db = self.db(replica)
        # One transaction: the tables are never seen empty or half restored.
        ddl = []
        for t in DATA_TABLES:
            cols = ", ".join(f"{c} {ty.replace('INT', 'BIGINT') if db.pg else ty}" for c, ty in TABLES[t])
            ddl += [(f"DROP TABLE IF EXISTS {t}", ()), (f"CREATE TABLE {t} ({cols})", ())]
        db.tx(ddl + [(s, ()) for s in statements])
        c = self.counts(db)
        db.close()
        return c

    def latest_backup(self, label="scheduled"):
        files = sorted(f for f in os.listdir(self.path("backups")) if f.endswith(f"_{label}.sql"))
        if not files:
            return None
        path = self.path("backups", files[-1])
        stamp = dt.datetime.strptime(files[-1][7:29], "%Y%m%d_%H%M%S_%f").replace(tzinfo=dt.timezone.utc)
        return {"file": path, "created_at": stamp.isoformat(), "created_epoch": int(stamp.timestamp()),
                "age_seconds": round(time.time() - stamp.timestamp(), 3)}

    def replicate(self):
        """Copies the primary's data tables into the replica (the secondary region)."""
        src, dst = self.db(), self.db(replica=True)
        self.create_schema(dst)
        stmts = []
        have = src.tables()
        for t in DATA_TABLES:
            if t not in have:
                continue
            cols = [c for c, _ in TABLES[t]]
            rows = src.q(f"SELECT {', '.join(cols)} FROM {t}")
            stmts.append((f"DELETE FROM {t}", ()))
            for r in rows:
                stmts.append((f"INSERT INTO {t} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})", tuple(r)))
        now = time.time()
        stmts.append(("DELETE FROM system_config WHERE key = 'replicated_at_epoch'", ()))
        stmts.append(("INSERT INTO system_config VALUES ('replicated_at_epoch', ?)", (str(int(now)),)))
        dst.tx(stmts)
        src.close()
        dst.close()

    def config(self, key, value=None, db=None):
        own = db is None
        db = db or DB(self.active_db_url())
        if value is None:
            rows = db.q("SELECT value FROM system_config WHERE key = ?", (key,))
            if own:
                db.close()
            return rows[0][0] if rows else None
        db.tx([("DELETE FROM system_config WHERE key = ?", (key,)), ("INSERT INTO system_config VALUES (?,?)", (key, value))])
        if own:
            db.close()

    # ---- processes ----------------------------------------------------------------------

    def pidfile(self, name):
        return self.path(f"{name}.pid")

    def alive(self, name):
        try:
            with open(self.pidfile(name)) as f:
                pid = int(f.read().strip())
            os.kill(pid, 0)
            with open(f"/proc/{pid}/stat") as f:
                if f.read().split()[2] == "Z":
                    return None
            return pid
        except (OSError, ValueError):
            return None

    def spawn(self, name, args):
        if self.alive(name):
            return self.alive(name)
        log = open(self.path(f"{name}.log"), "a")
        p = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--state", self.state] + args,
                             stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True, close_fds=True)
        with open(self.pidfile(name), "w") as f:
            f.write(str(p.pid))
        return p.pid

    def stop(self, name):
        pid = self.alive(name)
        if pid:
            try:
                os.killpg(pid, signal.SIGTERM)
            except OSError:
                os.kill(pid, signal.SIGTERM)
            for _ in range(100):
                if not self.alive(name):
                    break
                time.sleep(0.02)
            if self.alive(name):
                os.kill(pid, signal.SIGKILL)
        try:
            os.unlink(self.pidfile(name))
        except OSError:
            pass

    def wait_http(self, port, timeout=10):
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    return True
            except OSError:
                time.sleep(0.05)
        return False


def sql_literal(v):
    if v is None:
        return "NULL"
    if isinstance(v, (int, float)):
        return str(v)
    return "'" + str(v).replace("'", "''") + "'"


def port_free(port):
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---- the HTTP app --------------------------------------------------------------------------

def make_handler(sb, region):
    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def send(self, code, body):
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def dbstate(self):
            url = sb.database if region == "primary" else sb.replica
            if region == "primary" and os.path.exists(sb.path("region-down")):
                return None, "primary region is down"
            try:
                db = DB(url)
                missing = sorted(t for t in DATA_TABLES if t not in db.tables())
                return db, ("ok" if not missing else "missing tables: " + ", ".join(missing))
            except Exception as e:  # noqa: BLE001
                return None, f"unreachable: {e}"

        def do_GET(self):
            db, dbs = self.dbstate()
            try:
                if self.path.startswith("/api/health"):
                    return self.health(db, dbs)
                if self.path.startswith("/api/admin/stats"):
                    if not db:
                        return self.send(503, {"error": dbs})
                    c = sb.counts(db)
                    return self.send(200, {"counts": c, "missing": [t for t in DATA_TABLES if c.get(t) is None], "db": dbs})
                if self.path.startswith("/api/admin/backups/latest"):
                    b = sb.latest_backup()
                    return self.send(200 if b else 404, b or {"error": "no backup"})
                if self.path.startswith("/api/admin/queues"):
                    if not db or dbs != "ok":
                        return self.send(503, {"error": dbs})
                    q = {s: db.q("SELECT count(*) FROM jobs WHERE status = ?", (s,))[0][0]
                         for s in ("pending", "processing", "done", "failed")}
                    q["dead"] = db.q("SELECT count(*) FROM dead_jobs")[0][0]
                    return self.send(200, {"waiting": q["pending"], "active": q["processing"], "done": q["done"],
                                           "failed": q["dead"]})
                if self.path.startswith("/api/admin/workers"):
                    if not db or dbs != "ok":
                        return self.send(503, {"error": dbs})
                    hb = float(sb.config("worker_heartbeat", db=db) or 0)
                    age = time.time() - hb
                    return self.send(200, {"alive": age < 3, "heartbeat_age_s": round(age, 3)})
                if self.path.startswith("/api/jobs/"):
                    rows = db.q("SELECT id, status, error FROM jobs WHERE id = ?", (self.path.split("/")[-1],)) if db else []
                    if not rows:
                        return self.send(404, {"error": "no such job"})
                    return self.send(200, {"id": rows[0][0], "status": rows[0][1], "error": rows[0][2]})
                self.send(404, {"error": "not found"})
            finally:
                if db:
                    db.close()

        def health(self, db, dbs):
            release = open(sb.path("release")).read().strip() if os.path.exists(sb.path("release")) else "v1"
            body = {"region": region, "version": release, "db": dbs, "maintenance": os.path.exists(sb.path("maintenance.flag"))}
            if db:
                body["lockdown"] = (sb.config("SYSTEM_LOCKDOWN", db=db) if dbs == "ok" else None) == "true"
            if release.endswith("broken"):
                body.update(healthy=False, error="TypeError: cannot read properties of undefined (reading 'user')")
                return self.send(500, body)
            if body["maintenance"]:
                body.update(healthy=False, status="maintenance")
                return self.send(503, body)
            if dbs != "ok":
                body.update(healthy=False)
                return self.send(503, body)
            body.update(healthy=True)
            self.send(200, body)

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b"{}"
            db, dbs = self.dbstate()
            try:
                if not self.path.startswith("/api/jobs"):
                    return self.send(404, {"error": "not found"})
                if not db or dbs != "ok":
                    return self.send(503, {"error": dbs})
                key = open(sb.path("api_key")).read().strip() if os.path.exists(sb.path("api_key")) else ""
                if self.headers.get("X-API-Key") != key:
                    return self.send(401, {"error": "invalid API key"})
                if sb.config("SYSTEM_LOCKDOWN", db=db) == "true":
                    return self.send(423, {"error": "SYSTEM_LOCKDOWN: new jobs are refused"})
                payload = json.loads(raw or b"{}").get("payload", "generate")
                jid = "job-" + secrets.token_hex(6)
                db.q("INSERT INTO jobs VALUES (?,?,?,?,?,?,?,?)", (jid, 1, "pending", payload, None, 0, now_iso(), now_iso()))
                self.send(201, {"id": jid, "status": "pending"})
            finally:
                if db:
                    db.close()

    return Handler


def serve(sb, port, region):
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", port), make_handler(sb, region))
    signal.signal(signal.SIGTERM, lambda *a: (srv.shutdown() if False else os._exit(0)))
    srv.serve_forever()


# ---- the worker ----------------------------------------------------------------------------

def work(sb, region):
    if os.path.exists(sb.path("worker.broken")):
        print("worker: cannot start: missing configuration (worker.broken)", flush=True)
        sys.exit(1)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: stop.set())
    url = sb.database if region == "primary" else sb.replica
    while not stop.is_set():
        try:
            db = DB(url)
            db.tx([("DELETE FROM system_config WHERE key = 'worker_heartbeat'", ()),
                   ("INSERT INTO system_config VALUES ('worker_heartbeat', ?)", (str(time.time()),))])
            rows = db.q("SELECT id, payload, attempts FROM jobs WHERE status = 'pending' ORDER BY created_at LIMIT 1")
            if rows:
                jid, payload, attempts = rows[0]
                db.q("UPDATE jobs SET status = 'processing', attempts = ?, updated_at = ? WHERE id = ? AND status = 'pending'",
                     (attempts + 1, now_iso(), jid))
                time.sleep(0.05)
                if "bad-input" in (payload or ""):
                    db.tx([("UPDATE jobs SET status = 'failed', error = ? WHERE id = ?", ("invalid input: prompt is empty", jid)),
                           ("INSERT INTO dead_jobs VALUES (?,?,?,?,?,?)", (jid, 1, payload, "invalid input: prompt is empty", "bad_input", now_iso()))])
                else:
                    db.q("UPDATE jobs SET status = 'done', updated_at = ? WHERE id = ?", (now_iso(), jid))
            db.close()
        except Exception as e:  # noqa: BLE001
            print(f"worker: {e}", flush=True)
        stop.wait(0.1)


def replicator(sb):
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: stop.set())
    while not stop.is_set():
        if not os.path.exists(sb.path("region-down")) and sb.read_json("region.json", {}).get("primary") != "secondary":
            try:
                sb.replicate()
            except Exception as e:  # noqa: BLE001
                print(f"replicator: {e}", flush=True)
        stop.wait(1.0)


# ---- commands ------------------------------------------------------------------------------

def cmd_up(sb, args):
    cfg = sb.read_json("sandbox.json", {})
    port = args.port or cfg.get("port") or (18080 if port_free(18080) else free_port())
    port2 = args.port2 or cfg.get("port2") or (18081 if port_free(18081) and port != 18081 else free_port())
    sb.write_json("sandbox.json", {"database": sb.database, "replica": sb.replica, "port": port, "port2": port2})
    for name in ("app", "app2", "worker", "worker2", "replicator"):
        sb.stop(name)
    for f in ("maintenance.flag", "region-down", "region.json", "release.previous", "worker.broken", "lockdown.broken",
              "route.json", "leaked_api_key", "deploy.log", "notifications.log"):
        try:
            os.unlink(sb.path(f))
        except OSError:
            pass
    with open(sb.path("release"), "w") as f:
        f.write("v1\n")
    with open(sb.path("api_key"), "w") as f:
        f.write("sk-live-" + secrets.token_hex(12) + "\n")
    os.chmod(sb.path("api_key"), 0o600)
    db = sb.db()
    for t in TABLES:
        db.q(f"DROP TABLE IF EXISTS {t}")
    sb.create_schema(db)
    sb.seed(db)
    db.close()
    for f in os.listdir(sb.path("backups")):
        os.unlink(sb.path("backups", f))
    sb.replicate()
    sb.backup("scheduled")
    sb.spawn("app", ["serve", "--port", str(port), "--region", "primary"])
    sb.spawn("worker", ["work", "--region", "primary"])
    sb.spawn("replicator", ["replicate-loop"])
    sb.spawn("app2", ["serve", "--port", str(port2), "--region", "secondary"])
    if not (sb.wait_http(port) and sb.wait_http(port2)):
        raise SystemExit("sandbox: the app did not start; see " + sb.path("app.log"))
    time.sleep(0.1)
    for name, p in (("app", port), ("app2", port2)):
        if not sb.alive(name):  # another process holds the port: do not talk to a stranger
            raise SystemExit(f"sandbox: port {p} is taken by another process; see " + sb.path(f"{name}.log"))
    print(json.dumps({"app_url": f"http://127.0.0.1:{port}", "app2_url": f"http://127.0.0.1:{port2}",
                      "database": mask(sb.database), "state": sb.state}))


def mask(url):
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        cred, host = rest.rsplit("@", 1)
        return f"{scheme}://{cred.split(':')[0]}:***@{host}"
    return url


def cmd_down(sb, args):
    for name in ("app", "app2", "worker", "worker2", "replicator"):
        sb.stop(name)
    print("sandbox stopped")


def cmd_status(sb, args):
    cfg = sb.read_json("sandbox.json", {})
    out = {"processes": {n: bool(sb.alive(n)) for n in ("app", "app2", "worker", "worker2", "replicator")},
           "port": cfg.get("port"), "port2": cfg.get("port2"), "region": sb.read_json("region.json", {}).get("primary", "primary")}
    try:
        db = DB(sb.active_db_url())
        out["counts"] = sb.counts(db)
        db.close()
    except Exception as e:  # noqa: BLE001
        out["error"] = str(e)
    print(json.dumps(out))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--state", default=os.environ.get("SANDBOX_STATE", DEFAULT_STATE))
    ap.add_argument("--database")
    sub = ap.add_subparsers(dest="cmd", required=True)
    up = sub.add_parser("up")
    up.add_argument("--port", type=int)
    up.add_argument("--port2", type=int)
    sub.add_parser("down")
    sub.add_parser("status")
    b = sub.add_parser("backup")
    b.add_argument("--label", default="scheduled")
    r = sub.add_parser("restore")
    r.add_argument("file")
    sub.add_parser("latest-backup")
    for name in ("maintenance", "lockdown"):
        p = sub.add_parser(name)
        p.add_argument("mode", choices=["on", "off"])
    w = sub.add_parser("worker")
    w.add_argument("action", choices=["start", "stop", "restart"])
    d = sub.add_parser("deploy")
    d.add_argument("version")
    sub.add_parser("rollback")
    sub.add_parser("rotate-key")
    sub.add_parser("invalidate-sessions")
    sub.add_parser("promote")
    sub.add_parser("reroute")
    sub.add_parser("scale-worker")
    s = sub.add_parser("submit")
    s.add_argument("--payload", default="generate")
    s.add_argument("--url")
    s.add_argument("--key")
    sv = sub.add_parser("serve")
    sv.add_argument("--port", type=int, required=True)
    sv.add_argument("--region", default="primary")
    wk = sub.add_parser("work")
    wk.add_argument("--region", default="primary")
    sub.add_parser("replicate-loop")
    q = sub.add_parser("sql")
    q.add_argument("statement")
    q.add_argument("--replica", action="store_true")
    a = ap.parse_args()
    sb = Sandbox(a.state, a.database)

    if a.cmd == "up":
        return cmd_up(sb, a)
    if a.cmd == "down":
        return cmd_down(sb, a)
    if a.cmd == "status":
        return cmd_status(sb, a)
    if a.cmd == "backup":
        return print(json.dumps(sb.backup(a.label)))
    if a.cmd == "restore":
        return print(json.dumps(sb.restore(a.file)))
    if a.cmd == "latest-backup":
        b = sb.latest_backup()
        if not b:
            raise SystemExit("no backup")
        return print(json.dumps(b))
    if a.cmd == "maintenance":
        if a.mode == "on":
            open(sb.path("maintenance.flag"), "w").close()
        elif os.path.exists(sb.path("maintenance.flag")):
            os.unlink(sb.path("maintenance.flag"))
        return print(f"maintenance {a.mode}")
    if a.cmd == "lockdown":
        if os.path.exists(sb.path("lockdown.broken")):
            return print("lockdown: the flag did not change (lockdown.broken)")
        sb.config("SYSTEM_LOCKDOWN", "true" if a.mode == "on" else "false")
        return print(f"lockdown {a.mode}")
    if a.cmd == "worker":
        name = "worker2" if sb.read_json("region.json", {}).get("primary") == "secondary" else "worker"
        region = "secondary" if name == "worker2" else "primary"
        if a.action in ("stop", "restart"):
            sb.stop(name)
        if a.action in ("start", "restart"):
            sb.spawn(name, ["work", "--region", region])
        return print(f"worker {a.action}: {'running' if sb.alive(name) else 'stopped'}")
    if a.cmd == "deploy":
        cur = open(sb.path("release")).read().strip()
        with open(sb.path("release.previous"), "w") as f:
            f.write(cur + "\n")
        with open(sb.path("release"), "w") as f:
            f.write(a.version + "\n")
        with open(sb.path("deploy.log"), "a") as f:
            f.write(f"{now_iso()} deploy {a.version} (previous {cur})\n")
            if a.version.endswith("broken"):
                f.write(f"{now_iso()} ERROR build {a.version}: TypeError: cannot read properties of undefined (reading 'user') at src/middleware.ts:42\n")
        return print(f"deployed {a.version}")
    if a.cmd == "rollback":
        if not os.path.exists(sb.path("release.previous")):
            raise SystemExit("rollback: no previous release")
        prev = open(sb.path("release.previous")).read().strip()
        cur = open(sb.path("release")).read().strip()
        with open(sb.path("release"), "w") as f:
            f.write(prev + "\n")
        with open(sb.path("deploy.log"), "a") as f:
            f.write(f"{now_iso()} rollback {cur} -> {prev}\n")
        return print(f"rolled back to {prev}")
    if a.cmd == "rotate-key":
        with open(sb.path("api_key"), "w") as f:
            f.write("sk-live-" + secrets.token_hex(12) + "\n")
        return print("API key rotated")
    if a.cmd == "invalidate-sessions":
        db = DB(sb.active_db_url())
        n = db.q("SELECT count(*) FROM users WHERE session_token IS NOT NULL")[0][0]
        db.q("UPDATE users SET session_token = NULL")
        db.close()
        return print(json.dumps({"invalidated": n}))
    if a.cmd == "promote":
        sb.stop("replicator")
        sb.write_json("region.json", {"primary": "secondary", "promoted_at": now_iso()})
        db = sb.db(replica=True)
        sb.config("promoted", now_iso(), db=db)
        db.close()
        return print("replica promoted: the secondary region is now primary")
    if a.cmd == "reroute":
        cfg = sb.read_json("sandbox.json", {})
        sb.write_json("route.json", {"api": f"http://127.0.0.1:{cfg.get('port2')}", "at": now_iso()})
        return print(json.dumps(sb.read_json("route.json", {})))
    if a.cmd == "scale-worker":
        sb.spawn("worker2", ["work", "--region", "secondary"])
        return print("worker running in the secondary region")
    if a.cmd == "submit":
        cfg = sb.read_json("sandbox.json", {})
        url = a.url or f"http://127.0.0.1:{cfg.get('port')}"
        key = a.key or open(sb.path("api_key")).read().strip()
        req = urllib.request.Request(url + "/api/jobs", data=json.dumps({"payload": a.payload}).encode(),
                                     headers={"X-API-Key": key, "Content-Type": "application/json"}, method="POST")
        try:
            with urllib.request.urlopen(req, timeout=5) as r:
                return print(json.loads(r.read())["id"])
        except urllib.error.HTTPError as e:
            raise SystemExit(f"submit refused: HTTP {e.code} {e.read().decode()}")
    if a.cmd == "sql":
        db = sb.db(replica=a.replica)
        rows = db.q(a.statement)
        db.close()
        return print(json.dumps([list(r) for r in rows], default=str))
    if a.cmd == "serve":
        return serve(sb, a.port, a.region)
    if a.cmd == "work":
        return work(sb, a.region)
    if a.cmd == "replicate-loop":
        return replicator(sb)


if __name__ == "__main__":
    main()
