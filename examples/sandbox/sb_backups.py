"""Backups of the sandbox's database: timestamped SQL dumps in STATE/backups with a
backup_logs row each, restores (live, or into the scratch copy first), the smoke test on
a copy, and finding the last *good* backup (seed 003 step 3, seed 004: verify before use)."""
import datetime as dt
import http.client
import http.server
import json
import os
import threading
import time

import sb_db
import sb_redis
from sb_db import DB


def backup(sb, label="scheduled"):
    db = DB(sb.active_db_url())
    try:
        stamp = dt.datetime.now(dt.timezone.utc)
        name = f"backup_{stamp.strftime('%Y%m%d_%H%M%S_%f')}_{label}.sql"
        path = sb.path("backups", name)
        stamp, c = sb_db.dump(db, path, label)
        if "backup_logs" in db.tables():
            next_id = (db.one("SELECT coalesce(max(id), 0) FROM backup_logs") or 0) + 1
            db.q("INSERT INTO backup_logs VALUES (?,?,?,?,?,?,?)",
                 (next_id, path, label, stamp.isoformat(), int(stamp.timestamp()), c.get("users"), c.get("images")))
        return {"file": path, "created_at": stamp.isoformat(), "created_epoch": int(stamp.timestamp()), "label": label,
                "counts": c, "sha256": sb_db.sha256(path)}
    finally:
        db.close()


def stamp_of(name):
    return dt.datetime.strptime(name[7:29], "%Y%m%d_%H%M%S_%f").replace(tzinfo=dt.timezone.utc)


def listing(sb, label=None):
    """Backups newest first."""
    out = []
    for f in sorted(os.listdir(sb.path("backups")), reverse=True):
        if not (f.startswith("backup_") and f.endswith(".sql")):
            continue
        lab = f[30:-4]
        if label and lab != label:
            continue
        s = stamp_of(f)
        out.append({"file": sb.path("backups", f), "label": lab, "created_at": s.isoformat(),
                    "created_epoch": int(s.timestamp()), "age_seconds": round(time.time() - s.timestamp(), 3)})
    return out


def latest(sb, label="scheduled"):
    b = listing(sb, label)
    return b[0] if b else None


def target_url(sb, target):
    return {"live": sb.active_db_url(), "scratch": sb.scratch, "replica": sb.replica}[target]


def restore(sb, file, target="live", expect_sha256=None):
    if expect_sha256 and sb_db.sha256(file) != expect_sha256:
        raise SystemExit(f"restore: {file} changed since it was verified (sha256 differs): refusing")
    db = DB(target_url(sb, target))
    try:
        c = sb_db.load(db, file)
    finally:
        db.close()
    return {"target": target, "file": file, "counts": c, "sha256": sb_db.sha256(file)}


def smoke(sb, target, expected_users, signin=False):
    db = DB(target_url(sb, target))
    try:
        facts, problems = sb_db.smoke_test(db, expected_users)
    finally:
        db.close()
    if signin and not problems:
        why = signin_probe(sb, target)
        facts["signin"] = why or "ok"
        if why:
            problems.append(f"sign-in does not work: {why}")
    return {"target": target, "ok": not problems, "facts": facts, "problems": problems,
            "summary": "; ".join(problems) if problems else "smoke test passed"}


def signin_probe(sb, target):
    """Signs a user in through a throwaway app on the target database (sessions in a Redis
    database of its own) and reads /api/me back. None when it works, else why not."""
    import sb_http
    region = "scratch" if target == "scratch" else sb.region()
    st = {"problem": None, "errors": 0, "since": sb_db.now_iso()}
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                          sb_http.make_node_handler(sb, region, f"{target}-probe", st, threading.Lock(), probe=True))
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        c = http.client.HTTPConnection("127.0.0.1", srv.server_address[1], timeout=5)
        c.request("POST", "/api/login", body=json.dumps({"email": "user5@example.com"}),
                  headers={"Content-Type": "application/json"})
        r = c.getresponse()
        body = json.loads(r.read() or b"{}")
        if r.status != 200:
            return f"login answered {r.status}: {body.get('error')}"
        c.request("GET", "/api/me", headers={"Authorization": "Bearer " + body["token"]})
        r = c.getresponse()
        me = json.loads(r.read() or b"{}")
        if r.status != 200 or me.get("user") != 5:
            return f"/api/me answered {r.status}: {me}"
        return None
    except (OSError, ValueError) as e:
        return str(e)
    finally:
        srv.shutdown()
        if target == "scratch":
            with sb_redis.Redis(sb.redis_port(), sb_redis.SCRATCH_DB) as r:
                r.call("FLUSHDB")


def find_good(sb, min_users, before_epoch=None, label="scheduled", only=None):
    """The newest backup (of LABEL, taken before BEFORE_EPOCH) that restores into the scratch
    copy and passes the smoke test there; the ones passed over, and why."""
    rejected = []
    candidates = [b for b in listing(sb, None if only else label)
                  if (only is None or b["file"] == only) and (before_epoch is None or b["created_epoch"] <= before_epoch)]
    for b in candidates:
        try:
            restore(sb, b["file"], "scratch")
            r = smoke(sb, "scratch", min_users)
        except SystemExit as e:
            rejected.append({"file": b["file"], "why": str(e)})
            continue
        if r["ok"]:
            b.update(sha256=sb_db.sha256(b["file"]), facts=r["facts"], rejected=rejected, ok=True)
            return b
        rejected.append({"file": b["file"], "why": r["summary"]})
    return {"ok": False, "file": None, "rejected": rejected,
            "why": f"no good backup among {len(candidates)} candidate(s)"}
