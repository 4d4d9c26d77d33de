"""The sandbox's background processes: the queue worker (one per region), the replicator
(primary -> secondary region), and the runaway client the kill-switch fault starts.

The worker takes pending jobs (up to 10 a tick) unless the queue is paused, calls the AI
provider for each, and moves a job that cannot be done to dead_jobs with its kind and
logs: `bad_input` (the payload says so), `internal_bug` (a bug in the worker: the payload
asks for it), `transient` (the provider failed three attempts in a row)."""
import http.client
import json
import os
import signal
import threading
import time
import urllib.error
import urllib.request

from sb_db import DB, now_iso

MAX_ATTEMPTS = 3
BUG = "TypeError: Cannot read properties of undefined (reading 'width')"


def call_provider(sb):
    """None on success, else the failure (an HTTP status or a connection error)."""
    try:
        c = http.client.HTTPConnection("127.0.0.1", sb.port("provider"), timeout=2)
        c.request("POST", "/v1/generate", body=b"{}",
                  headers={"Authorization": "Key " + sb.secrets().get("provider_key_1", ""),
                           "Content-Type": "application/json"})
        r = c.getresponse()
        body = r.read()
        c.close()
        if r.status == 200:
            return None
        return f"provider answered HTTP {r.status}: {json.loads(body or b'{}').get('error', '')}"
    except (OSError, ValueError) as e:
        return f"provider unreachable: {e}"


def bury(db, jid, uid, payload, error, kind, logs):
    db.tx([("UPDATE jobs SET status = 'dead', error = ?, updated_at = ? WHERE id = ?", (error, now_iso(), jid)),
           ("DELETE FROM dead_jobs WHERE id = ?", (jid,)),
           ("INSERT INTO dead_jobs VALUES (?,?,?,?,?,?,?,?)", (jid, uid, payload, error, kind, now_iso(), logs, None))])


def process(sb, db, job):
    jid, uid, payload, attempts = job
    attempts += 1
    db.q("UPDATE jobs SET status = 'processing', attempts = ?, updated_at = ? WHERE id = ?", (attempts, now_iso(), jid))
    payload = payload or ""
    if "bad-input" in payload:
        return bury(db, jid, uid, payload, "invalid input: prompt is empty", "bad_input",
                    f"{now_iso()} validate: prompt is empty (payload {payload!r})")
    if "internal-bug" in payload:
        return bury(db, jid, uid, payload, BUG, "internal_bug",
                    f"{now_iso()} {BUG}\n    at renderAsset (worker/render.ts:118)\n    at processJob (worker/index.ts:52)")
    why = call_provider(sb)
    if why is None:
        return db.q("UPDATE jobs SET status = 'done', error = NULL, updated_at = ? WHERE id = ?", (now_iso(), jid))
    if attempts >= MAX_ATTEMPTS:
        return bury(db, jid, uid, payload, why, "transient", f"{now_iso()} attempt {attempts}: {why}")
    db.q("UPDATE jobs SET status = 'pending', error = ?, updated_at = ? WHERE id = ?", (why, now_iso(), jid))


def work(sb, region):
    if sb.flag("worker.broken"):
        print("worker: cannot start: missing configuration (worker.broken)", flush=True)
        raise SystemExit(1)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: stop.set())
    url = sb.db_url(region)
    while not stop.is_set():
        try:
            db = DB(url)
            try:
                db.tx([("DELETE FROM system_config WHERE key = 'worker_heartbeat'", ()),
                       ("INSERT INTO system_config VALUES ('worker_heartbeat', ?)", (str(time.time()),))])
                if sb.config("queue_paused", db=db) != "true":
                    for job in db.q("SELECT id, user_id, payload, attempts FROM jobs WHERE status = 'pending' "
                                    "ORDER BY created_at LIMIT 10"):
                        process(sb, db, job)
            finally:
                db.close()
        except Exception as e:  # noqa: BLE001
            print(f"worker: {e}", flush=True)
        stop.wait(0.1)


def replicate_loop(sb):
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: stop.set())
    while not stop.is_set():
        if not sb.flag("region-down") and sb.region() == "primary":
            try:
                sb.replicate()
            except Exception as e:  # noqa: BLE001
                print(f"replicator: {e}", flush=True)
        stop.wait(1.0)


def runaway(sb, user, rate):
    """A customer's integration gone wrong: it resubmits the same batch forever, whatever
    the answer. Each job costs money at the provider."""
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: stop.set())
    url = sb.url("router") + "/api/jobs"
    n = 0
    while not stop.is_set():
        n += 1
        body = json.dumps({"payload": f"batch-resubmit {n}", "user_id": user}).encode()
        req = urllib.request.Request(url, data=body, method="POST",
                                     headers={"X-API-Key": sb.secrets().get("api_key", ""),
                                              "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=2) as r:
                r.read()
        except (urllib.error.URLError, OSError):
            pass
        stop.wait(1.0 / max(rate, 0.1))
    os._exit(0)
