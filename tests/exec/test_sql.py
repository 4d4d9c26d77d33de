#!/usr/bin/python3
"""sql steps against real SQLite and PostgreSQL: typed rows and NULL, params, scripts in one
transaction (rolled back on error), statement timeout cancelling on the server, injection
canaries staying data, errors with the server's message and SQLSTATE, passwords masked,
connections reused, the mutates rule for --dry-run=probes."""
import json
import os
import subprocess
import sys
import time
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
import rbtest  # noqa: E402
from rbtest import Workdir, check, done, eq, run_runbook  # noqa: E402

CANARY = "'); DROP TABLE users; --"
PWCANARY = "pw-canary-91c2"

BOOK = """
runbook: sql-{name}
title: SQL on {name}
inputs:
  db: {{ secret: true }}
  evil: {{ default: "x" }}
steps:
  setup:
    sql:
      url: "${{{{ inputs.db }}}}"
      script: |
        DROP TABLE IF EXISTS users;
        CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL, balance BIGINT, note TEXT);
        INSERT INTO users VALUES (1, 'ada', 100, NULL);
        INSERT INTO users VALUES (2, 'bob', -5, 'vip');
        INSERT INTO users VALUES (3, 'cy', 0, NULL);
    outputs: {{ affected: result.affected }}
    next: typed
  typed:
    sql:
      url: "${{{{ inputs.db }}}}"
      query: SELECT id, name, balance, note, 1.5 AS f FROM users ORDER BY id
    mutates: false
    outputs:
      rows: result.rows
      count: result.row_count
    verify:
      - sql: {{ url: "${{{{ inputs.db }}}}", query: "SELECT count(*) AS n FROM users WHERE balance < 0" }}
        expect: result.rows[0].n == 1
    next: params
  params:
    sql:
      url: "${{{{ inputs.db }}}}"
      query: SELECT count(*) AS n FROM users WHERE name = $1 OR name = $2
      params: ["${{{{ inputs.evil }}}}", "bob"]
    outputs: {{ n: "result.rows[0].n" }}
    next: store-canary
  store-canary:
    sql:
      url: "${{{{ inputs.db }}}}"
      query: INSERT INTO users (id, name, balance) VALUES ($1, $2, $3)
      params: [4, "${{{{ inputs.evil }}}}", 7]
    outputs: {{ affected: result.affected }}
    next: read-canary
  read-canary:
    sql:
      url: "${{{{ inputs.db }}}}"
      query: SELECT name FROM users WHERE id = 4
    outputs: {{ name: "result.rows[0].name" }}
    next: bad-script
  bad-script:
    sql:
      url: "${{{{ inputs.db }}}}"
      script: |
        INSERT INTO users VALUES (10, 'first', 1, NULL);
        INSERT INTO no_such_table VALUES (1);
    continue_on_failure: true
    next: after-script
  after-script:
    sql:
      url: "${{{{ inputs.db }}}}"
      query: SELECT count(*) AS n FROM users
    outputs: {{ n: "result.rows[0].n" }}
    next: missing-table
  missing-table:
    sql:
      url: "${{{{ inputs.db }}}}"
      query: SELECT * FROM no_such_table
    continue_on_failure: true
    next: slow
  slow:
    sql:
      url: "${{{{ inputs.db }}}}"
      query: {slow}
    timeout: 500ms
    continue_on_failure: true
    next: conn-a
  conn-a:
    sql: {{ url: "${{{{ inputs.db }}}}", query: "{conn}" }}
    outputs: {{ id: "result.rows[0].c" }}
    next: conn-b
  conn-b:
    sql: {{ url: "${{{{ inputs.db }}}}", query: "{conn}" }}
    outputs: {{ id: "result.rows[0].c" }}
    next: done
  done: {{ end: recovered }}
"""

SQLITE_SLOW = ("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 2000000000) "
               "SELECT count(*) AS n FROM c")
backends = [("sqlite", None)]
pg = os.environ.get("RUNBOOK_TEST_PG_URL")
if pg:
    backends.append(("postgres", pg))
else:
    print("note: RUNBOOK_TEST_PG_URL is not set; PostgreSQL cases skipped (tests/run.sh sets it)")

with Workdir() as wd:
    for name, base in backends:
        if name == "sqlite":
            url = "sqlite:" + os.path.join(wd.path, "app.db")
            slow, conn = SQLITE_SLOW, "SELECT 1 AS c"
        else:
            dbname = "t_" + uuid.uuid4().hex[:8]
            subprocess.run(["psql", base, "-qc", f"CREATE DATABASE {dbname}"], check=True)
            url = base.rsplit("/", 1)[0].replace("postgres@", f"postgres:{PWCANARY}@") + "/" + dbname
            slow, conn = "SELECT pg_sleep(30)", "SELECT pg_backend_pid() AS c"
        wd.file(f"{name}.yaml", BOOK.format(name=name, slow=slow, conn=conn))
        t0 = time.time()
        r = run_runbook(wd, f"{name}.yaml", "--input", f"db={url}", "--input", f"evil={CANARY}")
        eq(r.code, 0, f"{name}: exit code\n{r.dump()[-3000:]}")
        out = {e["step"]: e["data"]["outputs"] for e in r.of("step.succeeded")}
        rows = out["typed"]["rows"]
        eq(rows[0], {"id": 1, "name": "ada", "balance": 100, "note": None, "f": 1.5}, f"{name}: typed row, NULL is null")
        check(isinstance(rows[1]["balance"], int) and rows[1]["balance"] == -5, f"{name}: integers stay integers")
        eq(out["typed"]["count"], 3, f"{name}: row_count")
        eq(out["setup"]["affected"], 3, f"{name}: script affected rows")
        eq(out["params"]["n"], 1, f"{name}: params bound (the canary matched nothing, 'bob' matched)")
        eq(out["store-canary"]["affected"], 1, f"{name}: insert affected")
        eq(out["read-canary"]["name"], CANARY, f"{name}: the injection canary stayed data")
        eq(out["after-script"]["n"], 4, f"{name}: the failed script was rolled back whole")
        err = r.of("step.failed", "missing-table")[0]["data"]["error"]
        check("no_such_table" in err, f"{name}: error carries the server's message ({err})")
        if name == "postgres":
            check("SQLSTATE 42P01" in err, f"{name}: error carries the SQLSTATE ({err})")
        slow_fail = r.of("step.failed", "slow")[0]["data"]
        eq(slow_fail["outcome"], "timed_out", f"{name}: slow query timed out")
        check(slow_fail["duration_ms"] < 1500, f"{name}: timed out in {slow_fail['duration_ms']} ms (< 1.5 s)")
        eq(out["conn-a"]["id"], out["conn-b"]["id"], f"{name}: one connection reused across steps")
        if name == "postgres":
            time.sleep(0.3)
            q = subprocess.run(["psql", base, "-tAc", "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(30)%' "
                                "AND state = 'active' AND pid <> pg_backend_pid()"], capture_output=True, text=True)
            eq(q.stdout.strip(), "0", "postgres: the cancelled pg_sleep is not running on the server")
            check(PWCANARY not in r.proc.out + r.proc.err, "postgres: password absent from the terminal")
            for f in [wd.store, wd.store + "-wal"]:
                if os.path.exists(f):
                    check(PWCANARY.encode() not in open(f, "rb").read(), f"postgres: password absent from {f}")
            # A connection error names the URL with its password masked.
            bad = url.replace(base.rsplit(":", 1)[1].split("/")[0], "1")
            wd.file("bad.yaml", "runbook: bad\ntitle: Bad\ninputs:\n  db: {}\nsteps:\n  a:\n    sql: { url: \"${{ inputs.db }}\", query: \"SELECT 1\" }\n")
            r2 = run_runbook(wd, "bad.yaml", "--input", f"db={bad}")
            eq(r2.code, 1, "postgres: connection failure fails the step")
            msg = r2.of("step.failed")[0]["data"]["error"]
            check("cannot connect" in msg and "***" in msg and PWCANARY not in msg, f"postgres: masked URL in the error ({msg})")

    # --dry-run=probes runs the lone SELECT and skips what writes.
    wd.file("probes.yaml", """
runbook: probes
title: Probes
inputs:
  db: {}
steps:
  write:
    sql: { url: "${{ inputs.db }}", query: "INSERT INTO users (id, name) VALUES (99, 'probe')" }
    next: read
  read:
    sql: { url: "${{ inputs.db }}", query: "SELECT count(*) AS n FROM users" }
    verify:
      - sql: { url: "${{ inputs.db }}", query: "SELECT count(*) AS n FROM users WHERE id = 99" }
        expect: result.rows[0].n == 0
    next: done
  done: { end: recovered }
""")
    url = "sqlite:" + os.path.join(wd.path, "app.db")
    p = rbtest.run(["--json", "run", "probes.yaml", "--dry-run=probes", "--input", f"db={url}"], cwd=wd.path)
    r = rbtest.Run(p)
    eq(r.code, 0, f"probes: exit code {p.err}")
    eq([e["step"] for e in r.of("step.skipped")], ["write"], "probes: the INSERT was skipped")
    eq([e["step"] for e in r.of("step.succeeded")], ["read"], "probes: the SELECT ran")
    eq(len(r.of("check.passed")), 1, "probes: the read-only gate ran")
done()
