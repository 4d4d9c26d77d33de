#!/usr/bin/python3
"""Safe by construction: interpolated values never become shell code; a secret canary
never reaches the terminal, the store or errors; the store is private (0600 in 0700);
invalid input exits 2 with nothing journaled; --dry-run masks secrets and runs nothing."""
import glob
import os
import stat
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
import rbtest  # noqa: E402
from rbtest import Workdir, check, done, eq, run_runbook  # noqa: E402

CANARY = "canary-5ecret-7f3a9"

with Workdir() as wd:
    wd.file("inject.yaml", """
runbook: inject
title: Injection
inputs:
  evil: {}
steps:
  unquoted:
    shell: echo ${{ inputs.evil }}
    outputs: { out: result.stdout }
    next: double
  double:
    shell: echo "x${{ inputs.evil }}x"
    outputs: { out: result.stdout }
    next: argv
  argv:
    shell: { command: [echo, "${{ inputs.evil }}"] }
    outputs: { out: result.stdout }
    next: env
  env:
    shell: echo "$EVIL"
    env: { EVIL: "${{ inputs.evil }}" }
    outputs: { out: result.stdout }
    next: done
  done: { end: recovered }
""")
    for evil in ["'; touch pwned #", "$(touch pwned)", "`touch pwned`", "\"; touch pwned; echo \"", "a\nb; touch pwned"]:
        r = run_runbook(wd, "inject.yaml", "--input", f"evil={evil}")
        eq(r.code, 0, f"inject {evil!r}: exit code")
        check(not os.path.exists(os.path.join(wd.path, "pwned")), f"inject {evil!r}: nothing was executed")
        outs = {e["step"]: e["data"]["outputs"]["out"] for e in r.of("step.succeeded") if "out" in e["data"]["outputs"]}
        eq(outs.get("unquoted"), evil + "\n", f"inject {evil!r}: unquoted stays one literal")
        eq(outs.get("double"), "x" + evil + "x\n", f"inject {evil!r}: inside double quotes")
        eq(outs.get("argv"), evil + "\n", f"inject {evil!r}: argv")
        eq(outs.get("env"), evil + "\n", f"inject {evil!r}: env")

    # A secret canary through every path: shell output, env, outputs, error messages, a
    # derived value, a URL password, a failing SQL connection string.
    wd.file("secret.yaml", """
runbook: secret
title: Secrets
inputs:
  token: { secret: true }
  db: { secret: true, default: "postgres://app:canary-5ecret-7f3a9@127.0.0.1:1/none" }
steps:
  echo:
    shell: echo "token=${{ inputs.token }}"; echo "$TOKEN" >&2
    env: { TOKEN: "${{ inputs.token }}" }
    outputs: { said: result.stdout, upper: upper(inputs.token) }
    next: derived
  derived:
    shell: echo "${{ steps.echo.outputs.upper }}" && exit 3
    continue_on_failure: true
    next: sql
  sql:
    sql: { url: "${{ inputs.db }}", query: "SELECT 1" }
    continue_on_failure: true
    next: fail
  fail:
    shell: echo "failing with ${{ inputs.token }}" >&2; exit 1
    next: done
  done: { end: recovered }
""")
    for mode in (["--json"], []):
        p = rbtest.run(mode + ["--store", wd.store, "run", "secret.yaml", "--input", f"token={CANARY}"], cwd=wd.path)
        eq(p.returncode, 1, f"secret {mode}: exit code")
        check(CANARY not in p.out and CANARY not in p.err, f"secret {mode}: canary absent from the terminal")
        check(CANARY.upper() not in p.out and CANARY.upper() not in p.err, f"secret {mode}: derived value masked")
        check("***" in p.out, f"secret {mode}: masked marker present")
    p = rbtest.run(["--store", wd.store, "run", "secret.yaml", "--dry-run", "--input", f"token={CANARY}"], cwd=wd.path)
    eq(p.returncode, 0, "secret: dry-run exit code")
    check(CANARY not in p.out + p.err, "secret: dry-run masks")
    check("***" in p.out, "secret: dry-run shows the masked value")
    p = rbtest.run(["--store", wd.store, "run", "secret.yaml", "--input", "token=x", "--input", f"tokn={CANARY}"],
                   cwd=wd.path)
    eq(p.returncode, 2, "secret: bad flag exit 2")
    for f in glob.glob(wd.store + "*"):
        data = open(f, "rb").read()
        check(CANARY.encode() not in data, f"secret: canary absent from {os.path.basename(f)}")
        check(CANARY.upper().encode() not in data, f"secret: derived canary absent from {os.path.basename(f)}")
    for rid in [l.split()[0] for l in rbtest.run(["--store", wd.store, "runs"], cwd=wd.path).out.splitlines()[1:]]:
        tl = rbtest.run(["--store", wd.store, "timeline", rid], cwd=wd.path)
        check(CANARY not in tl.out, "secret: canary absent from `runbook timeline`")

    # The store is private to its owner.
    d = os.path.join(wd.path, "priv")
    os.makedirs(d)
    p = rbtest.run(["run", "inject.yaml", "--input", "evil=x"], cwd=wd.path, env={"RUNBOOK_STORE": ""})
    mode_dir = stat.S_IMODE(os.stat(os.path.join(wd.path, ".runbook")).st_mode)
    mode_db = stat.S_IMODE(os.stat(os.path.join(wd.path, ".runbook", "runbook.db")).st_mode)
    eq((oct(mode_dir), oct(mode_db)), (oct(0o700), oct(0o600)), "store: 0700 folder, 0600 file")

    # Child processes inherit no descriptor of the engine (the store, sockets, the lease).
    wd.file("fds.yaml", "runbook: fds\ntitle: Descriptors\nsteps:\n  a:\n    shell: ls /proc/$$/fd\n"
                        "    outputs: { fds: \"result.stdout\" }\n")
    r = run_runbook(wd, "fds.yaml")
    fds = sorted(int(x) for x in r.of("step.succeeded")[0]["data"]["outputs"]["fds"].split())
    eq(fds, [0, 1, 2], "a child process has stdin, stdout and stderr only")

    # Invalid input: exit 2, nothing executed, nothing journaled.
    before = rbtest.run(["--json", "--store", wd.store, "runs", "--limit", "1000"], cwd=wd.path).out
    wd.file("typed.yaml", """
runbook: typed
title: Typed inputs
inputs:
  count: { type: int }
steps:
  a:
    shell: touch ran
""")
    for args in (["--input", "count=many"], ["--input", "cnt=3"], [], ["--input", "count"]):
        p = rbtest.run(["--store", wd.store, "run", "typed.yaml"] + args, cwd=wd.path)
        eq(p.returncode, 2, f"typed {args}: exit 2")
        check(not os.path.exists(os.path.join(wd.path, "ran")), f"typed {args}: nothing ran")
    wd.file("inputs.yaml", "count: lots\n")
    p = rbtest.run(["--store", wd.store, "run", "typed.yaml", "--inputs", "inputs.yaml"], cwd=wd.path)
    eq(p.returncode, 2, "inputs file: exit 2")
    check(p.err.startswith("inputs.yaml:1:8: "), f"inputs file: FILE:LINE:COL ({p.err.strip()})")
    after = rbtest.run(["--json", "--store", wd.store, "runs", "--limit", "1000"], cwd=wd.path).out
    eq(after, before, "invalid input: nothing journaled")
    p = rbtest.run(["run", "typed.yaml", "--no-such-flag"], cwd=wd.path)
    eq(p.returncode, 2, "bad flag: exit 2")
done()
