#!/usr/bin/python3
"""Stores are strict (contract section 4, v2): only sqlite:PATH, a plain PATH, postgres://
and postgresql://; any other SCHEME:// or SCHEME: is exit 2 naming the known schemes with a
did-you-mean, for every command (and for RUNBOOK_STORE), with no file or folder created and
the password never printed. A damaged SQLite store (bytes flipped in the middle of a file
holding 31 runs) is exit 4 naming the damage, never "no runs"."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
import rbtest  # noqa: E402
from rbtest import Workdir, check, done, eq  # noqa: E402

PW = "s3cret-pw-91c2"
with Workdir() as wd:
    wd.file("ok.yaml", "runbook: ok\ntitle: ok\nsteps:\n  a:\n    shell: echo ran >> ran.txt\n    next: b\n"
                       "  b: { end: recovered }\n")
    bad = [f"postgress://u:{PW}@db:5432/runbook", f"mysql://root:{PW}@x", "::::", "sqlit:runs.db", "postgres:/db",
           f"redis://:{PW}@h/0", "sqlite:"]
    for url in bad:
        for args in (["runs"], ["run", "ok.yaml"], ["status", "R1"], ["timeline", "R1"], ["export", "R1", "--format", "json"],
                     ["drill", "history", "--drills", "none.yaml"]):
            before = sorted(os.listdir(wd.path))
            p = rbtest.run(["--store", url] + args, cwd=wd.path)
            eq(p.returncode, 2, f"--store {url!r} {args[0]}: exit 2 ({p.err.strip()[:200]})")
            eq(sorted(os.listdir(wd.path)), before, f"--store {url!r} {args[0]}: no file or folder created")
            check(PW not in p.out + p.err, f"--store {url!r} {args[0]}: the password is never printed")
            check("sqlite:PATH" in p.err and "postgres://" in p.err, f"--store {url!r}: names the known schemes: {p.err!r}")
        p = rbtest.run(["runs"], cwd=wd.path, env={"RUNBOOK_STORE": url})
        eq(p.returncode, 2, f"RUNBOOK_STORE={url!r}: exit 2")
    p = rbtest.run(["--store", f"postgress://u:{PW}@db/x", "runs"], cwd=wd.path)
    check("did you mean postgres://" in p.err, f"did-you-mean: {p.err!r}")
    p = rbtest.run(["--store", "sqlit:x.db", "runs"], cwd=wd.path)
    check("did you mean sqlite:" in p.err, f"did-you-mean sqlite: {p.err!r}")
    check(not os.path.exists(os.path.join(wd.path, "ran.txt")), "nothing ran")
    # Paths with a ':' after a '/' are still paths.
    p = rbtest.run(["--store", "./a:b.db", "runs"], cwd=wd.path)
    eq(p.returncode, 0, f"./a:b.db is a path ({p.err})")

    # 31 runs, then bytes flipped in the middle of the database file.
    store = os.path.join(wd.path, "damaged.db")
    for i in range(31):
        p = rbtest.run(["--store", store, "run", "ok.yaml"], cwd=wd.path)
        eq(p.returncode, 0, f"run {i}")
    p = rbtest.run(["--store", store, "--json", "runs", "--limit", "100"], cwd=wd.path)
    eq(p.returncode, 0, "runs before the damage")
    check(p.out.count('"id"') >= 31, "31 runs listed before the damage")
    for suffix in ("-wal", "-shm"):
        check(not os.path.exists(store + suffix) or os.path.getsize(store + suffix) == 0 or suffix == "-shm",
              f"the WAL was checkpointed into the file ({suffix})")
    size = os.path.getsize(store)
    page = 4096
    with open(store, "r+b") as f:
        middle = (size // page // 2) * page
        f.seek(middle)
        f.write(bytes([0xA5]) * 64)
    print(f"flipped 64 bytes at offset {middle} of {size}")
    for args in (["runs"], ["--json", "runs"], ["status", "R1"], ["timeline", "R1"]):
        p = rbtest.run(["--store", store] + args, cwd=wd.path)
        eq(p.returncode, 4, f"{' '.join(args)} on a damaged store: exit 4 ({p.out[:200]!r} {p.err[:300]!r})")
        check("damaged" in p.err and store in p.err, f"{' '.join(args)}: names the damaged store: {p.err[:300]!r}")
        check("no runs" not in p.out, f"{' '.join(args)}: never 'no runs'")
    p = rbtest.run(["--store", store, "runs"], cwd=wd.path)
    print("damaged store:", p.err.strip()[:400])
done()
