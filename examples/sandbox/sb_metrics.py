"""GET /metrics on the router: the sandbox in Prometheus's text format, so that an alert
rule can see a crashed worker or a stuck queue (examples/prometheus/):

  sandbox_up                              1 when the active database answers
  sandbox_healthy                         1 when some API node in rotation answers /api/health 200
  sandbox_worker_heartbeat_age_seconds    since the queue worker's last heartbeat
  sandbox_queue_jobs{status}              jobs pending, processing, done, dead
"""
import time

import sb_http
from sb_db import DB


def metrics_text(sb):
    out = []

    def metric(name, kind, help_, samples):
        out.append(f"# HELP {name} {help_}\n# TYPE {name} {kind}")
        out.extend(f"{name}{labels} {value}" for labels, value in samples)

    up, age, depth = 1, None, {}
    try:
        db = DB(sb.active_db_url())
        try:
            beat = sb.config("worker_heartbeat", db=db)
            age = time.time() - float(beat) if beat else None
            for status in ("pending", "processing", "done", "dead"):
                depth[status] = db.one("SELECT count(*) FROM jobs WHERE status = ?", (status,))
        finally:
            db.close()
    except Exception:  # noqa: BLE001 - a database that does not answer is what `up` says
        up = 0
    nodes = [n for n in sb_http.router_status(sb)["nodes"] if n["enabled"]]
    metric("sandbox_up", "gauge", "The active database answers.", [("", up)])
    metric("sandbox_healthy", "gauge", "Some API node in rotation is healthy.",
           [("", int(any(n["healthy"] for n in nodes)))])
    metric("sandbox_worker_heartbeat_age_seconds", "gauge", "Seconds since the queue worker's last heartbeat.",
           [("", f"{age:.3f}" if age is not None else "+Inf")])
    metric("sandbox_queue_jobs", "gauge", "Jobs by status.", [(f'{{status="{s}"}}', n) for s, n in depth.items()])
    return "\n".join(out) + "\n"
