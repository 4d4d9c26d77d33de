#!/usr/bin/python3
"""runbook import: the five seed runbooks (tests/cases/import/) become drafts that match
their goldens, validate, plan and dry-run without executing anything; seed 003 gives one
runbook per scenario with the database scenario's steps, budgets and objectives; no
placeholder ever reaches a shell/sql/http action; bad input (no steps, binary, 50 MB) and
refused output (several runbooks without a directory, an existing file) are exit 2 with
nothing written. UPDATE_GOLDEN=1 rewrites the goldens."""
import json
import os
import re
import shutil
import sys

import jsonschema
import yaml

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
from rbtest import Workdir, check, done, eq, run  # noqa: E402

CASES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "cases", "import")
SEEDS = sorted(f for f in os.listdir(CASES) if f.endswith(".txt"))
PLACEHOLDER = re.compile(r"\[[A-Za-z][A-Za-z0-9_.-]+\]|<[A-Za-z][A-Za-z0-9_.-]*>|\bYOUR[-_]|your[-_]|\.\.\.|\u2026")
OUR_URL = "${{ inputs.database_url }}"
with open(os.path.join(CASES, "..", "..", "..", "schemas", "runbook.schema.json")) as _f:
    SCHEMA = jsonschema.Draft202012Validator(json.load(_f))


def import_seed(seed, out):
    """Imports from inside CASES, so that drafts cite the seed by its bare name."""
    return run(["import", seed, "-o", out], cwd=CASES)


def action_texts(step):
    """Every string an action of the step would run or send."""
    texts = []
    if "shell" in step:
        texts.append(step["shell"] if isinstance(step["shell"], str) else str(step["shell"]))
    if "sql" in step:
        texts += [v for k, v in step["sql"].items() if k in ("query", "script")]
    if "http" in step:
        texts.append(step["http"]["url"])
    for branch in step.get("parallel", []):
        texts.append(branch["http"]["url"] if "http" in branch else str(branch))
    return texts


def check_draft(seed, path, text, wd):
    name = os.path.basename(path)
    doc = yaml.safe_load(text)
    steps = doc["steps"]
    errors = [f"{'/'.join(map(str, e.path))}: {e.message}" for e in SCHEMA.iter_errors(doc)]
    eq(errors, [], f"{name}: the runbook schema accepts it")
    check(OUR_URL not in text.replace(OUR_URL, "") and "${{" not in text.replace(OUR_URL, ""),
          f"{name}: a '${{{{' other than the database_url input")
    eq(steps.get("recovered", {}).get("end"), "recovered", f"{name}: ends in recovered")
    eq(steps.get("failed", {}).get("end"), "failed", f"{name}: ends in failed")
    with open(os.path.join(CASES, seed), encoding="utf-8") as f:
        lines = f.read().count("\n") + 1
    for sid, st in steps.items():
        check(re.fullmatch(r"[a-z0-9][a-z0-9-]*", sid) is not None, f"{name}: id {sid!r}")
        if "end" in st:
            continue
        m = re.match(re.escape(seed) + r":(\d+)", st.get("description", ""))
        check(m is not None and 1 <= int(m.group(1)) <= lines, f"{name}/{sid}: description cites {seed}:LINE")
        eq(st.get("on_failure"), "failed", f"{name}/{sid}: failure goes to the failed end")
        for t in action_texts(st):
            hit = PLACEHOLDER.search(t)
            check(hit is None, f"{name}/{sid}: placeholder {hit and hit.group(0)!r} in a runnable action")
    for cmd in (["validate", path], ["plan", path]):
        p = run(cmd)
        eq(p.returncode, 0, f"{name}: runbook {cmd[0]}: {p.err}")
    # The dry run, from an empty directory: prints the path, executes nothing.
    cwd = os.path.join(wd.path, "dry-" + name)
    os.mkdir(cwd)
    p = run(["run", path, "--dry-run", "--store", "sqlite:" + os.path.join(wd.path, "dry.db")], cwd=cwd)
    eq(p.returncode, 0, f"{name}: dry run: {p.err}")
    check("DRY RUN" in p.out and "nothing is executed" in p.out, f"{name}: dry run says so")
    for sid in steps:
        check(sid in p.out, f"{name}: the dry run's path shows {sid}")
    eq(os.listdir(cwd), [], f"{name}: the dry run created nothing where it ran")
    return doc


def seeds(wd):
    golden_root = os.path.join(CASES, "golden")
    drafts = {}
    for seed in SEEDS:
        out = os.path.join(wd.path, seed)
        p = import_seed(seed, out)
        eq(p.returncode, 0, f"import {seed}: {p.err}")
        check("runbook import:" in p.err and "steps (" in p.err, f"{seed}: a summary on stderr")
        golden = os.path.join(golden_root, seed[:-4])
        if os.environ.get("UPDATE_GOLDEN") == "1":
            shutil.rmtree(golden, ignore_errors=True)
            shutil.copytree(out, golden)
        got = sorted(os.listdir(out))
        eq(got, sorted(os.listdir(golden)) if os.path.isdir(golden) else None, f"{seed}: the drafts made")
        for f in got:
            with open(os.path.join(out, f), encoding="utf-8") as fh:
                text = fh.read()
            gp = os.path.join(golden, f)
            want = open(gp, encoding="utf-8").read() if os.path.exists(gp) else None
            check(text == want, f"{seed}/{f}: matches its golden (UPDATE_GOLDEN=1 after a deliberate change)")
            drafts[(seed, f[:-5])] = check_draft(seed, os.path.join(out, f), text, wd)
    return drafts


def database_scenario(drafts):
    seed = "003_b5c0a6a075c5e726.txt"
    ids = sorted(k[1] for k in drafts if k[0] == seed)
    eq(len(ids), 5, "seed 003: one runbook per scenario")
    db = drafts.get((seed, "database-disaster"))
    if not db:
        check(False, f"seed 003: no database-disaster draft among {ids}")
        return
    steps = [(k, v) for k, v in db["steps"].items() if "end" not in v]
    eq([k for k, _ in steps], ["stop-the-bleeding", "assess-damage", "determine-restore-point",
                               "create-emergency-backup", "restore-from-backup", "verify-restore",
                               "re-enable-production", "post-mortem"], "database scenario: 8 steps in order")
    eq([v.get("budget") for _, v in steps], ["2m", "5m", "5m", "5m", "30m", "10m", "5m", "1h"], "its budgets")
    eq(db.get("objectives"), {"rto": "2h", "rpo": "15m"}, "its objectives")
    eq([v.get("next") for _, v in steps][:2], ["assess-damage", "determine-restore-point"], "steps follow in order")
    eq(steps[-1][1].get("next"), "recovered", "the last step leads to recovered")
    options = steps[4][1]["manual"]["instructions"]
    check("Option A" in options and "Option C" in options, "the restore options are a person's choice")
    credit = drafts.get((seed, "credit-system-failure"), {"steps": {}})["steps"]
    eq(credit.get("identify-affected-users", {}).get("mutates"), False, "two SELECTs: a read-only sql step")
    eq(credit.get("decide-refund-if-needed", {}).get("on_reject"), "recovered", "'if needed' gates its step")
    worker = drafts.get((seed, "worker-crash-queue-failure"), {"steps": {}})["steps"]
    eq(len(worker.get("diagnose", {}).get("parallel", [])), 2, "two GET curls: two http checks")


def bad_input(wd):
    prose = wd.file("prose.md", "# Notes\n\nNothing to do here.\n\n- a bullet\n")
    p = run(["import", prose])
    eq(p.returncode, 2, "no steps: exit 2")
    check("no steps found" in p.err, f"no steps: says so: {p.err}")
    binary = os.path.join(wd.path, "bin.md")
    with open(binary, "wb") as f:
        f.write(b"# Title\n\n1. step\n\x00\x01\x02\xff")
    p = run(["import", binary])
    eq(p.returncode, 2, "binary: exit 2")
    check("bin.md:4:1: not a Markdown text file" in p.err, f"binary: where and why: {p.err}")
    big = os.path.join(wd.path, "big.md")
    with open(big, "wb") as f:
        f.write(b"1. step\n" * (50 * 1024 * 1024 // 8))
    p = run(["import", big, "-o", os.path.join(wd.path, "big-out")])
    eq(p.returncode, 2, "50 MB: exit 2")
    check("over the 8 MiB" in p.err, f"50 MB: says so: {p.err}")
    check(p.elapsed < 2, f"50 MB: refused before reading it ({p.elapsed:.2f}s)")
    check(not os.path.exists(os.path.join(wd.path, "big-out")), "50 MB: nothing written")
    many = os.path.join(wd.path, "many.md")
    with open(many, "w") as f:
        f.write("# Many\n\n" + "".join(f"{i}. step\n" for i in range(1, 130001)))
    p = run(["import", many, "-o", os.path.join(wd.path, "many-out")])
    eq(p.returncode, 2, "a draft over the loader's 8 MiB: exit 2")
    check("split the document" in p.err and not os.path.exists(os.path.join(wd.path, "many-out")), p.err)
    p = run(["import", os.path.join(wd.path, "missing.md")])
    eq(p.returncode, 2, "a missing file: exit 2")


def outputs(wd):
    seed = os.path.join(CASES, "003_b5c0a6a075c5e726.txt")
    p = run(["import", seed])
    eq(p.returncode, 2, "several runbooks to stdout: exit 2")
    check("-o DIR" in p.err and p.out == "", f"several runbooks: asks for a directory: {p.err}")
    p = run(["import", seed, "-o", os.path.join(wd.path, "one.yaml")])
    eq(p.returncode, 2, "several runbooks into one file: exit 2")
    check("needs a directory" in p.err and not os.path.exists(os.path.join(wd.path, "one.yaml")), p.err)

    single = os.path.join(CASES, "001_4289781ec4e2aab6.txt")
    p = run(["import", single])
    eq(p.returncode, 0, "one runbook to stdout")
    eq(yaml.safe_load(p.out)["runbook"], "region-failover-plan", "stdout holds the draft")
    target = wd.file("exists.yaml", "keep me\n")
    p = run(["import", single, "-o", target])
    eq(p.returncode, 2, "an existing file: exit 2")
    check("--force" in p.err and open(target).read() == "keep me\n", "an existing file is not overwritten")
    p = run(["import", single, "-o", target, "--force"])
    eq(p.returncode, 0, "--force replaces it")
    eq(yaml.safe_load(open(target))["runbook"], "region-failover-plan", "replaced by the draft")
    eq(oct(os.stat(target).st_mode & 0o777), "0o644", "drafts are 0644")
    out = os.path.join(wd.path, "again")
    eq(run(["import", seed, "-o", out]).returncode, 0, "into a new directory")
    p = run(["import", seed, "-o", out])
    eq(p.returncode, 2, "again into the same directory: exit 2")
    check(p.err.count("exists") == 5, "every file that exists is named")


def hostile(wd):
    md = wd.file("hostile.md", "\n".join([
        "# Ops: \"quoted\" # not a comment",
        "",
        "## Step 1: Deploy `${{ secrets.TOKEN }}` (3 minutes)",
        "```bash",
        "echo ${{ secrets.TOKEN }}",
        "```",
        "## Step 2: Clear: 'cache' # now",
        "```bash",
        "redis-cli FLUSHDB",
        "```",
        "## Step 3: Check the page",
        "```bash",
        "curl -s https://h.test/",
        "# Should show maintenance page",
        "curl https://h.test/api/health",
        "# Expected: 200",
        "```",
        ""]))
    out = os.path.join(wd.path, "hostile.yaml")
    p = run(["import", md, "-o", out])
    eq(p.returncode, 0, f"hostile titles import: {p.err}")
    text = open(out).read()
    check("${{" not in text, "no template of another tool reaches the draft")
    doc = yaml.safe_load(text)
    eq(doc["title"], "Ops: \"quoted\" # not a comment", "the title reads back as written")
    st = doc["steps"]
    check("manual" in st.get("deploy-secrets-token", {}), f"a block with '${{{{' is manual: {list(st)}")
    eq(st.get("clear-cache-now", {}).get("title"), "Clear: 'cache' # now", "quotes, ': ' and ' #' survive")
    eq(st.get("clear-cache-now", {}).get("shell"), "redis-cli FLUSHDB", "the command is the block's")
    branches = st.get("check-the-page", {}).get("parallel", [])
    eq([b.get("expect") for b in branches], ["matches(result.body, '[Mm]aintenance')", "result.status == 200"],
       "curl lines become http checks with what the text expects")
    eq(run(["validate", out]).returncode, 0, "and it validates")


def invisible(wd):
    """Trojan Source: a block whose shown text differs from what runs (bidi overrides, zero-width
    characters, ANSI escapes, C1 controls) never becomes an action: it is a manual step."""
    cases = {"bidi": "echo visible\u202e ;touch /tmp/x \u202c", "zw": "rm -rf /tmp/a\u200b/b",
             "ansi": "echo ok\x1b[2Krm -rf ~", "bom": "\ufeffls", "c1": "ls\u0085x"}
    for name, code in cases.items():
        md = wd.file(f"inv-{name}.md", f"# Inv\n\n1. Do it\n\n```bash\n{code}\n```\n")
        out = os.path.join(wd.path, f"inv-{name}.yaml")
        p = run(["import", md, "-o", out])
        eq(p.returncode, 0, f"{name}: imports: {p.err}")
        steps = yaml.safe_load(open(out, encoding="utf-8"))["steps"]
        ran = [k for k, s in steps.items() if "shell" in s or "sql" in s or "http" in s]
        eq(ran, [], f"{name}: no step runs the block: {steps}")
        check("invisible or direction-changing" in p.err, f"{name}: import says why: {p.err}")
    md = wd.file("inv-ok.md", "# Inv\n\n1. Do it\n\n```bash\necho 'caf\u00e9 \u2713'\r\n```\n")
    out = os.path.join(wd.path, "inv-ok.yaml")
    eq(run(["import", md, "-o", out]).returncode, 0, "plain non-ASCII text imports")
    steps = yaml.safe_load(open(out, encoding="utf-8"))["steps"]
    check(any("shell" in s for s in steps.values()), f"visible non-ASCII and CRLF still run: {steps}")


def random_documents(wd):
    """Whatever the Markdown, a draft that comes out validates (seeded token soup)."""
    import random
    rng = random.Random(17)
    tokens = ["\n## Scenario 2: x\n", "\n### Step 3: y (2-5 minutes)\n", "\n```bash\n", "\n```sql\n", "\n```\n",
              "\n1. ", "\n- [ ] ", "\n| RTO | RPO |\n|-|-|\n| x | 1h |\n", "(T+1 hr 30 mins)", "[X-Y]", "# OR\n",
              "echo ok", "SELECT 1;", "curl https://h.test/a", "# If needed\n", "${{ x }}", ": #", "\"'", "\t",
              "caf\u00e9 \U0001F534", "**Option A:** z\n", "if needed", "~5 min", "RTO: 2h"]
    paths = []
    for n in range(40):
        text = "".join(rng.choice(tokens) if rng.random() < 0.3 else rng.choice("ab c-_.*#\n")
                       for _ in range(rng.randrange(20, 400)))
        src = wd.file(f"rand{n}.md", text)
        out = os.path.join(wd.path, f"rand{n}")
        p = run(["import", src, "-o", out])
        check(p.returncode in (0, 2), f"random {n}: exit {p.returncode}: {p.err}")
        if p.returncode == 2:
            check("no steps found" in p.err, f"random {n}: exit 2 only for no steps: {p.err}")
        elif os.path.isdir(out):
            paths += [os.path.join(out, f) for f in os.listdir(out)]
    check(len(paths) > 20, f"random documents gave drafts ({len(paths)})")
    print(f"{len(paths)} drafts from 40 random documents")
    p = run(["validate"] + paths)
    eq(p.returncode, 0, f"every draft of a random document validates: {p.err[:2000]}")


def real_run(wd):
    """A draft's http and sql steps run for real: a local server and a SQLite file."""
    import http.server
    import sqlite3
    import threading

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = b"Under Maintenance" if self.path == "/" else b"ok"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        base = f"http://127.0.0.1:{srv.server_address[1]}"
        db = os.path.join(wd.path, "app.db")
        con = sqlite3.connect(db)
        con.execute("CREATE TABLE users (id INTEGER)")
        con.commit()
        con.close()
        md = wd.file("real.md", f"# Real\n\n1. Check the page\n   ```bash\n   curl -s {base}/\n"
                                f"   # Should show maintenance page\n   ```\n2. Count users\n   ```sql\n"
                                f"   SELECT count(*) AS n FROM users;\n   ```\n")
        out = os.path.join(wd.path, "real.yaml")
        eq(run(["import", md, "-o", out]).returncode, 0, "real: import")
        p = run(["run", out, "--store", wd.store, "--input", "database_url=sqlite:" + db], cwd=wd.path, timeout=60)
        eq(p.returncode, 0, f"real: the draft runs to recovered: {p.out[-800:]} {p.err[-800:]}")
        bad = wd.file("bad.md", f"# Bad\n\n1. Check the page\n   ```bash\n   curl -s {base}/other\n"
                                f"   # Should show maintenance page\n   ```\n")
        out = os.path.join(wd.path, "bad.yaml")
        eq(run(["import", bad, "-o", out]).returncode, 0, "bad: import")
        p = run(["run", out, "--store", wd.store], cwd=wd.path, timeout=60)
        eq(p.returncode, 1, "real: a page without 'maintenance' fails the step: the run ends failed")
    finally:
        srv.shutdown()


with Workdir() as wd:
    drafts = seeds(wd)
    real_run(wd)
    random_documents(wd)
    database_scenario(drafts)
    bad_input(wd)
    outputs(wd)
    hostile(wd)
    invisible(wd)
done()
