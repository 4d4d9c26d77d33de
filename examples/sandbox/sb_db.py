"""The sandbox's data: one database API over SQLite and PostgreSQL, the schema, the seed
data, SQL-dump backups, and the smoke test that proves a copy of the data is sound
(seed 004: balances equal the sum of their transactions, counts, no orphans, dead jobs
refer to real jobs)."""
import datetime as dt
import hashlib
import os
import secrets
import sqlite3

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
                  ("error_kind", "TEXT"), ("created_at", "TEXT"), ("logs", "TEXT"), ("triage", "TEXT")],
    "system_config": [("key", "TEXT PRIMARY KEY"), ("value", "TEXT")],
    "backup_logs": [("id", "INT PRIMARY KEY"), ("file", "TEXT"), ("label", "TEXT"), ("created_at", "TEXT"),
                    ("created_epoch", "INT"), ("users", "INT"), ("images", "INT")],
    "admin_audit_logs": [("id", "INT PRIMARY KEY"), ("admin", "TEXT"), ("action", "TEXT"), ("ip_address", "TEXT"),
                         ("success", "INT"), ("created_at", "TEXT")],
    "suspicious_activities": [("id", "INT PRIMARY KEY"), ("user_id", "INT"), ("kind", "TEXT"),
                              ("suspicion_score", "INT"), ("reviewed", "INT"), ("created_at", "TEXT")],
    "schema_migrations": [("version", "TEXT PRIMARY KEY"), ("name", "TEXT"), ("checksum", "TEXT"),
                          ("started_at", "TEXT"), ("finished_at", "TEXT"), ("statements_done", "INT"),
                          ("error", "TEXT")],
}
# Restored from backups. backup_logs, the audit tables and schema_migrations describe the
# backups, the admins and the schema themselves and are kept as they are.
DATA_TABLES = ["users", "images", "user_credits", "credit_transactions", "jobs", "dead_jobs", "system_config"]
SEED_USERS = 95
SEED_IMAGES = 1200
BASELINE_MIGRATIONS = [("0001", "initial"), ("0002", "sessions"), ("0003", "dead_job_triage")]


def now_iso():
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def iso_ago(**kw):
    return (dt.datetime.now(dt.timezone.utc) - dt.timedelta(**kw)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def is_pg(url):
    return url.startswith("postgres://") or url.startswith("postgresql://")


def mask(url):
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        cred, host = rest.rsplit("@", 1)
        return f"{scheme}://{cred.split(':')[0]}:***@{host}" if ":" in cred else url
    return url


class DB:
    """One connection. `q` runs one statement (`?` placeholders on both backends)."""

    def __init__(self, url):
        self.url = url
        self.pg = is_pg(url)
        if self.pg:
            import psycopg2
            self.conn = psycopg2.connect(url, connect_timeout=5)
        else:
            path = url[len("sqlite:"):] if url.startswith("sqlite:") else url
            self.conn = sqlite3.connect(path, timeout=30, isolation_level=None)
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA busy_timeout=30000")

    def q(self, sql, args=()):
        cur = self.conn.cursor()
        try:
            if not args:
                cur.execute(sql)
            else:
                cur.execute(sql.replace("?", "%s") if self.pg else sql, args)
            rows = cur.fetchall() if cur.description else []
            if self.pg:
                self.conn.commit()
            return rows
        except Exception:
            if self.pg:
                self.conn.rollback()
            raise

    def one(self, sql, args=()):
        rows = self.q(sql, args)
        return rows[0][0] if rows else None

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

    def columns(self, table):
        if self.pg:
            return [r[0] for r in self.q("SELECT column_name FROM information_schema.columns WHERE table_name = ? "
                                         "AND table_schema = 'public' ORDER BY ordinal_position", (table,))]
        return [r[1] for r in self.q(f"PRAGMA table_info({table})")]

    def ddl(self, table):
        cols = ", ".join(f"{c} {t.replace('INT', 'BIGINT') if self.pg else t}" for c, t in TABLES[table])
        return f"CREATE TABLE {table} ({cols})"

    def create(self, table):
        self.q(self.ddl(table).replace("CREATE TABLE", "CREATE TABLE IF NOT EXISTS", 1))

    def close(self):
        self.conn.close()


def ensure_pg_database(url):
    """Creates the PostgreSQL database URL names when it does not exist (through the
    server's `postgres` database). Raises SystemExit with a clear message when the server
    cannot be reached."""
    import psycopg2
    base, _, name = url.rpartition("/")
    name, _, query = name.partition("?")
    admin = f"{base}/postgres" + (f"?{query}" if query else "")
    try:
        conn = psycopg2.connect(admin, connect_timeout=5)
    except psycopg2.Error as e:
        raise SystemExit(f"sandbox: cannot reach PostgreSQL at {mask(admin)}: {str(e).strip()}")
    try:
        conn.autocommit = True
        cur = conn.cursor()
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
        if not cur.fetchone():
            cur.execute(f'CREATE DATABASE "{name}"')
            return True
        return False
    finally:
        conn.close()


# ---- schema and seed data --------------------------------------------------------------------

def create_schema(db):
    for t in TABLES:
        db.create(t)


def drop_all(db):
    for t in sorted(db.tables()):
        db.q(f"DROP TABLE IF EXISTS {t}" + (" CASCADE" if db.pg else ""))


def seed(db):
    now = dt.datetime.now(dt.timezone.utc)
    stmts = [(f"DELETE FROM {t}", ()) for t in DATA_TABLES + ["admin_audit_logs", "suspicious_activities",
                                                             "schema_migrations"]]
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
    for key, value in [("SYSTEM_LOCKDOWN", "false"), ("release", "v1"), ("worker_heartbeat", "0"),
                       ("queue_paused", "false"), ("banner", ""), ("blocked_users", "")]:
        stmts.append(("INSERT INTO system_config VALUES (?,?)", (key, value)))
    for i in range(1, 6):
        stmts.append(("INSERT INTO admin_audit_logs VALUES (?,?,?,?,?,?)",
                      (i, "admin1", "view_dashboard", "127.0.0.1", 1, (now - dt.timedelta(hours=i)).isoformat())))
    for i in range(1, 3):  # reviewed long ago: not an open case
        stmts.append(("INSERT INTO suspicious_activities VALUES (?,?,?,?,?,?)",
                      (i, 20 + i, "many_logins", 30, 1, (now - dt.timedelta(days=30)).isoformat())))
    for version, name in BASELINE_MIGRATIONS:
        stmts.append(("INSERT INTO schema_migrations VALUES (?,?,?,?,?,?,?)",
                      (version, name, "baseline", now.isoformat(), now.isoformat(), 0, None)))
    db.tx(stmts)


def counts(db):
    have = db.tables()
    return {t: (db.one(f"SELECT count(*) FROM {t}") if t in have else None) for t in TABLES}


# ---- backups ---------------------------------------------------------------------------------

def sql_literal(v):
    if v is None:
        return "NULL"
    if isinstance(v, (int, float)):
        return str(v)
    return "'" + str(v).replace("'", "''") + "'"


def dump(db, path, label):
    """Writes the data tables as INSERT statements; returns the row counts."""
    stamp = dt.datetime.now(dt.timezone.utc)
    lines = [f"-- runbook sandbox backup {stamp.isoformat()} label={label}"]
    have = db.tables()
    out = {}
    for t in DATA_TABLES:
        if t not in have:
            lines.append(f"-- table {t} missing at backup time")
            continue
        cols = [c for c in db.columns(t) if c in {n for n, _ in TABLES[t]}]
        rows = db.q(f"SELECT {', '.join(cols)} FROM {t}")
        out[t] = len(rows)
        lines.append(f"-- table {t} rows={len(rows)}")
        for r in rows:
            lines.append(f"INSERT INTO {t} ({', '.join(cols)}) VALUES ({', '.join(sql_literal(v) for v in r)});")
    with open(path + ".tmp", "w") as f:
        f.write("\n".join(lines) + "\n")
    os.replace(path + ".tmp", path)
    return stamp, out


def load(db, path):
    """Replaces the data tables with the dump at PATH in one transaction: the tables are
    never seen empty or half restored. Returns the counts afterwards."""
    with open(path) as f:
        statements = [line for line in f.read().splitlines() if line.startswith("INSERT INTO ")]
    if not statements:
        raise SystemExit(f"restore: {path} holds no data (an empty or broken backup)")
    ddl = []
    for t in DATA_TABLES:
        ddl += [(f"DROP TABLE IF EXISTS {t}", ()), (db.ddl(t), ())]
    db.tx(ddl + [(s, ()) for s in statements])
    return counts(db)


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 16), b""):
            h.update(chunk)
    return h.hexdigest()


# ---- the smoke test (seed 004) ---------------------------------------------------------------

def balance_mismatches(db, limit=20):
    return db.q("SELECT uc.user_id, uc.balance, (SELECT COALESCE(sum(ct.amount), 0) FROM credit_transactions ct "
                "WHERE ct.user_id = uc.user_id) AS total FROM user_credits uc WHERE uc.balance <> "
                "(SELECT COALESCE(sum(ct.amount), 0) FROM credit_transactions ct WHERE ct.user_id = uc.user_id) "
                f"ORDER BY uc.user_id LIMIT {int(limit)}")


def smoke_test(db, expected_users):
    """Returns (facts, problems): problems are sentences naming the users or rows at fault."""
    problems = []
    have = db.tables()
    missing = [t for t in DATA_TABLES if t not in have]
    if missing:
        return {"missing_tables": missing}, [f"missing tables: {', '.join(missing)}"]
    c = counts(db)
    facts = {"users": c["users"], "images": c["images"], "credit_transactions": c["credit_transactions"],
             "jobs_by_status": dict(db.q("SELECT status, count(*) FROM jobs GROUP BY status ORDER BY status"))}
    if c["users"] < expected_users:
        problems.append(f"{c['users']} users, expected at least {expected_users}")
    if not c["images"]:
        problems.append("no images")
    recent = db.q("SELECT id FROM images ORDER BY created_at DESC LIMIT 5")
    if len(recent) < 5 and c["images"]:
        problems.append(f"only {len(recent)} recent images")
    for uid, bal, total in balance_mismatches(db):
        problems.append(f"user {uid}: balance {bal} but transactions sum to {total}")
    no_balance = db.q("SELECT u.id FROM users u LEFT JOIN user_credits c ON c.user_id = u.id WHERE c.user_id IS NULL "
                      "ORDER BY u.id LIMIT 10")
    if no_balance:
        problems.append("users without a credit balance: " + ", ".join(str(r[0]) for r in no_balance))
    orphans = db.q("SELECT ct.id, ct.user_id FROM credit_transactions ct LEFT JOIN users u ON u.id = ct.user_id "
                   "WHERE u.id IS NULL ORDER BY ct.id LIMIT 10")
    if orphans:
        problems.append("credit transactions of unknown users: " + ", ".join(f"{i} (user {u})" for i, u in orphans))
    dlq = db.q("SELECT d.id FROM dead_jobs d LEFT JOIN jobs j ON j.id = d.id WHERE j.id IS NULL ORDER BY d.id LIMIT 10")
    if dlq:
        problems.append("dead jobs that refer to no job: " + ", ".join(r[0] for r in dlq))
    facts["balance_mismatches"] = len(balance_mismatches(db, 1000))
    return facts, problems
