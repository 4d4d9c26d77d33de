"""Redis for the sandbox: a minimal RESP client (the few commands the app needs, over a
socket; no third-party module), the redis-server it runs (127.0.0.1, its own port and
data folder, AOF on with fsync always), and the two things the app keeps there:

  db 0  the cache     cache:balance:<user id> -> the user's balance (read-through, TTL 10 min)
  db 1  the sessions  session:<token> -> user id (the users table keeps the token too: it is
                      what sessions are restored from after Redis loses them)
"""
import os
import socket
import subprocess
import time

CACHE_DB, SESSION_DB, SCRATCH_DB = 0, 1, 2
CACHE_TTL = 600


class RedisError(Exception):
    pass


class Redis:
    def __init__(self, port, db=0, host="127.0.0.1", timeout=2.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.buf = b""
        if db:
            self.call("SELECT", db)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()

    def call(self, *args):
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            b = a if isinstance(a, bytes) else str(a).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(b), b))
        self.sock.sendall(b"".join(out))
        return self._read()

    def _line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise RedisError("connection closed by Redis")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _exact(self, n):
        while len(self.buf) < n + 2:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise RedisError("connection closed by Redis")
            self.buf += chunk
        data, self.buf = self.buf[:n], self.buf[n + 2:]
        return data

    def _read(self):
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            raise RedisError(rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            return None if n < 0 else self._exact(n).decode()
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self._read() for _ in range(n)]
        raise RedisError(f"unexpected reply {line[:40]!r}")

    def keys(self, pattern):
        """SCAN, never KEYS: the way a production tool walks a keyspace."""
        cursor, out = "0", []
        while True:
            cursor, batch = self.call("SCAN", cursor, "MATCH", pattern, "COUNT", 500)
            out += batch
            if cursor == "0":
                return out

    def info(self, section):
        text = self.call("INFO", section)
        return dict(line.split(":", 1) for line in text.splitlines() if ":" in line and not line.startswith("#"))


# ---- the server ------------------------------------------------------------------------------

def conf_text(port, folder):
    return "\n".join([
        f"port {port}", "bind 127.0.0.1", "protected-mode yes", f"dir {folder}", "appendonly yes",
        "appendfsync always", "appenddirname appendonlydir", 'save ""', "daemonize no",
        f"logfile {os.path.join(folder, 'redis.log')}", "loglevel notice", ""])


def spawn_server(folder, port, pidfile):
    """Starts redis-server in its own session; returns its pid. The caller waits for PING."""
    os.makedirs(folder, exist_ok=True)
    conf = os.path.join(folder, "redis.conf")
    with open(conf, "w") as f:
        f.write(conf_text(port, folder))
    p = subprocess.Popen(["redis-server", conf], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, start_new_session=True, close_fds=True)
    with open(pidfile, "w") as f:
        f.write(str(p.pid))
    return p


def ping(port, timeout=0.5):
    try:
        with Redis(port, timeout=timeout) as r:
            return r.call("PING") == "PONG"
    except (OSError, RedisError):
        return False


def wait_ready(port, proc=None, timeout=10.0):
    """True once Redis answers PING and has finished loading; False if it exits or times out."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            return False
        try:
            with Redis(port, timeout=0.5) as r:
                if r.call("PING") == "PONG" and r.info("persistence").get("loading") == "0":
                    return True
        except (OSError, RedisError):
            pass
        time.sleep(0.05)
    return False


def last_log_lines(folder, n=3):
    try:
        with open(os.path.join(folder, "redis.log")) as f:
            return [line.strip() for line in f.readlines()[-n:]]
    except OSError:
        return []


# ---- what the app keeps in Redis -------------------------------------------------------------

def load_sessions(port, db):
    """Writes every session the users table knows into the session store."""
    rows = db.q("SELECT id, session_token FROM users WHERE session_token IS NOT NULL")
    with Redis(port, SESSION_DB) as r:
        for uid, token in rows:
            r.call("SET", f"session:{token}", uid)
    return len(rows)


def warm_cache(port, db):
    rows = db.q("SELECT user_id, balance FROM user_credits")
    with Redis(port, CACHE_DB) as r:
        for uid, balance in rows:
            r.call("SET", f"cache:balance:{uid}", balance, "EX", CACHE_TTL)
    return len(rows)


def cache_audit(port, db):
    """Every cached balance against the database: the mismatches name the users."""
    balances = dict(db.q("SELECT user_id, balance FROM user_credits"))
    with Redis(port, CACHE_DB) as r:
        keys = r.keys("cache:*")
        values = r.call("MGET", *keys) if keys else []
    bad = []
    for k, v in zip(keys, values):
        if not k.startswith("cache:balance:"):
            bad.append({"key": k, "why": "unknown cache key"})
            continue
        uid = int(k.rsplit(":", 1)[1])
        want = balances.get(uid)
        if v is None:
            continue  # expired between SCAN and MGET
        if want is None or str(want) != v:
            bad.append({"key": k, "user": uid, "cached": v, "database": want})
    return {"cached": len(keys), "mismatched": bad}


def session_audit(port, db):
    """The session store against the users table: sessions missing from Redis (users who
    would be logged out) and sessions Redis holds that the database does not know."""
    want = {token: uid for uid, token in db.q("SELECT id, session_token FROM users WHERE session_token IS NOT NULL")}
    with Redis(port, SESSION_DB) as r:
        keys = r.keys("session:*")
        values = r.call("MGET", *keys) if keys else []
    have = {k.split(":", 1)[1]: v for k, v in zip(keys, values) if v is not None}
    missing = sorted(want[t] for t in want if have.get(t) != str(want[t]))
    orphaned = sorted(t[:6] + "…" for t in have if t not in want)
    return {"database_sessions": len(want), "redis_sessions": len(have), "missing_users": missing,
            "orphaned": orphaned}


def restore_sessions(port, db):
    """Puts back the sessions Redis lost and drops the ones the database does not know."""
    want = {token: uid for uid, token in db.q("SELECT id, session_token FROM users WHERE session_token IS NOT NULL")}
    with Redis(port, SESSION_DB) as r:
        keys = r.keys("session:*")
        dropped = [k for k in keys if k.split(":", 1)[1] not in want]
        if dropped:
            r.call("DEL", *dropped)
        for token, uid in want.items():
            r.call("SET", f"session:{token}", uid)
    return {"restored": len(want), "dropped": len(dropped)}


def flush_sessions(port):
    with Redis(port, SESSION_DB) as r:
        keys = r.keys("session:*")
        if keys:
            r.call("DEL", *keys)
    return len(keys)
