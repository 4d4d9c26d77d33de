"""The sandbox's state folder and its processes: configuration (sandbox.json), flags, the
secrets, the router's node table, replication between the regions, and starting and
stopping the services (each in its own session, its pid in NAME.pid)."""
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time

import sb_db
from sb_db import DB

HERE = os.path.dirname(os.path.abspath(__file__))
SANDBOX_PY = os.path.join(HERE, "sandbox.py")
DEFAULT_STATE = os.path.join(HERE, "state")
SERVICES = ("router", "node1", "node2", "app2", "worker", "worker2", "replicator", "provider", "runaway", "redis")
NODES = ("node1", "node2")
SECRET_NAMES = ("api_key", "provider_key_1", "provider_key_2", "webhook_secret", "session_secret")


def port_free(port):
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def new_secret(name):
    prefix = {"api_key": "sk-live-", "provider_key_1": "fal-", "provider_key_2": "fal-", "webhook_secret": "whsec_"}
    return prefix.get(name, "") + secrets.token_hex(12)


class Sandbox:
    def __init__(self, state, database=None):
        self.state = os.path.abspath(state)
        os.makedirs(self.state, exist_ok=True)
        os.makedirs(self.path("backups"), exist_ok=True)
        self.cfg = self.read_json("sandbox.json", {})
        self.database = database or self.cfg.get("database") or "sqlite:" + self.path("app.db")
        same = database is None or database == self.cfg.get("database")
        self.replica = (self.cfg.get("replica") if same else None) or self.derived_url(self.database, "replica")
        self.scratch = (self.cfg.get("scratch") if same else None) or self.derived_url(self.database, "scratch")

    # ---- files ------------------------------------------------------------------------------
    def path(self, *p):
        return os.path.join(self.state, *p)

    def read_json(self, name, default):
        try:
            with open(self.path(name)) as f:
                return json.load(f)
        except (OSError, ValueError):
            return default

    def write_json(self, name, value, mode=0o644):
        tmp = self.path(name + ".tmp")
        with open(tmp, "w") as f:
            json.dump(value, f, indent=2)
        os.chmod(tmp, mode)
        os.replace(tmp, self.path(name))

    def flag(self, name):
        return os.path.exists(self.path(name))

    def set_flag(self, name, on):
        if on:
            open(self.path(name), "w").close()
        elif self.flag(name):
            os.unlink(self.path(name))

    def read_text(self, name, default=""):
        try:
            with open(self.path(name)) as f:
                return f.read().strip()
        except OSError:
            return default

    def write_text(self, name, text):
        with open(self.path(name), "w") as f:
            f.write(text + "\n")

    @staticmethod
    def derived_url(url, what):
        if url.startswith("sqlite:"):
            return url[:-3] + f"-{what}.db" if url.endswith(".db") else url + f"-{what}"
        base, _, name = url.rpartition("/")
        name, _, query = name.partition("?")
        return f"{base}/{name}_{what}" + (f"?{query}" if query else "")

    # ---- configuration ----------------------------------------------------------------------
    def port(self, name):
        return self.cfg.get("ports", {}).get(name)

    def url(self, name):
        return f"http://127.0.0.1:{self.port(name)}"

    def secrets(self):
        return self.read_json("secrets.json", {})

    def redis_port(self):
        return self.port("redis")

    def region(self):
        """The region the database designates as primary: 'primary' or 'secondary'."""
        return self.read_json("region.json", {}).get("primary", "primary")

    def serving_region(self):
        """The region the router sends API traffic to."""
        return self.read_json("route.json", {}).get("region", "primary")

    def db_url(self, region):
        return {"primary": self.database, "secondary": self.replica, "scratch": self.scratch}[region]

    def active_db_url(self):
        return self.db_url(self.region())

    def db(self, replica=False):
        return DB(self.replica if replica else self.database)

    def active_db(self):
        return DB(self.active_db_url())

    def config(self, key, value=None, db=None):
        own = db is None
        db = db or self.active_db()
        try:
            if value is None:
                return db.one("SELECT value FROM system_config WHERE key = ?", (key,))
            db.tx([("DELETE FROM system_config WHERE key = ?", (key,)),
                   ("INSERT INTO system_config VALUES (?,?)", (key, value))])
        finally:
            if own:
                db.close()

    def router_table(self):
        return self.read_json("router.json", {"nodes": {}})

    def set_node_enabled(self, node, on):
        t = self.router_table()
        t["nodes"][node]["enabled"] = on
        self.write_json("router.json", t)

    def inputs(self):
        """What every runbook needs to reach this sandbox (STATE/inputs.yaml)."""
        return {"app_url": self.url("router"), "app2_url": self.url("app2"), "sandbox": self.state,
                "sandbox_cli": SANDBOX_PY, "database_url": self.database, "replica_url": self.replica,
                "scratch_url": self.scratch, "redis_url": f"redis://127.0.0.1:{self.redis_port()}"}

    def write_inputs(self):
        lines = ["# Written by `sandbox.py up`: where this sandbox's services are, for",
                 "#   runbook run runbooks/NAME.yaml --inputs " + self.path("inputs.yaml")]
        lines += [f"{k}: {json.dumps(v)}" for k, v in self.inputs().items()]
        tmp = self.path("inputs.yaml.tmp")
        with open(tmp, "w") as f:
            f.write("\n".join(lines) + "\n")
        os.chmod(tmp, 0o600)  # the database URL may carry a password
        os.replace(tmp, self.path("inputs.yaml"))

    # ---- processes --------------------------------------------------------------------------
    def pidfile(self, name):
        return self.path(f"{name}.pid")

    def alive(self, name):
        try:
            with open(self.pidfile(name)) as f:
                pid = int(f.read().strip())
            os.kill(pid, 0)
            with open(f"/proc/{pid}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                    return None
            return pid
        except (OSError, ValueError, IndexError):
            return None

    def spawn(self, name, args):
        if self.alive(name):
            return self.alive(name)
        log = open(self.path(f"{name}.log"), "a")
        p = subprocess.Popen([sys.executable, SANDBOX_PY, "--state", self.state] + args, stdin=subprocess.DEVNULL,
                             stdout=log, stderr=log, start_new_session=True, close_fds=True)
        log.close()
        with open(self.pidfile(name), "w") as f:
            f.write(str(p.pid))
        return p.pid

    def stop(self, name, kill=False):
        pid = self.alive(name)
        if pid:
            sig = signal.SIGKILL if kill else signal.SIGTERM
            try:
                os.killpg(pid, sig)
            except OSError:
                try:
                    os.kill(pid, sig)
                except OSError:
                    pass
            for _ in range(250):
                if not self.alive(name):
                    break
                time.sleep(0.02)
            if self.alive(name):
                try:
                    os.killpg(pid, signal.SIGKILL)
                except OSError:
                    pass
                time.sleep(0.05)
        try:
            os.unlink(self.pidfile(name))
        except OSError:
            pass

    @staticmethod
    def wait_port(port, timeout=10):
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    return True
            except OSError:
                time.sleep(0.03)
        return False

    # ---- replication between the regions -----------------------------------------------------
    def copy_data(self, src_url, dst_url, stamp_key):
        """Copies the data tables from one region's database to the other's, in one
        transaction on the destination, and stamps when."""
        src, dst = DB(src_url), DB(dst_url)
        try:
            sb_db.create_schema(dst)
            stmts = []
            have = src.tables()
            for t in sb_db.DATA_TABLES:
                if t not in have:
                    continue
                cols = [c for c, _ in sb_db.TABLES[t]]
                rows = src.q(f"SELECT {', '.join(cols)} FROM {t}")
                stmts.append((f"DELETE FROM {t}", ()))
                ins = f"INSERT INTO {t} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
                stmts += [(ins, tuple(r)) for r in rows]
            stmts.append(("DELETE FROM system_config WHERE key = ?", (stamp_key,)))
            stmts.append(("INSERT INTO system_config VALUES (?, ?)", (stamp_key, str(time.time()))))
            dst.tx(stmts)
        finally:
            src.close()
            dst.close()

    def replicate(self):
        self.copy_data(self.database, self.replica, "replicated_at_epoch")
