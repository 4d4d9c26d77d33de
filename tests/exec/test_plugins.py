#!/usr/bin/python3
"""External plugins over JSON stdin/stdout: the shipped example (runbook-plugin-notify, in
Python) found on the installation's plugin path, --plugin-path and RUNBOOK_PLUGIN_PATH;
the request carries the context (run id, step, attempt, idempotency key, secret params);
failures and malformed responses; a plugin that hangs is killed with its process group at
the step timeout; a missing plugin is a warning for validate and exit 2 for run."""
import json
import os
import stat
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
import rbtest  # noqa: E402
from rbtest import Workdir, check, done, eq, run_runbook  # noqa: E402

CANARY = "plugin-canary-3be1"

with Workdir() as wd:
    plugdir = os.path.join(wd.path, "myplugins")
    os.makedirs(plugdir)

    def plugin(name, body):
        p = os.path.join(plugdir, f"runbook-plugin-{name}")
        with open(p, "w") as f:
            f.write(body)
        os.chmod(p, 0o755)

    # Echoes its request back as outputs, so the test can read what the engine sent.
    plugin("echo", "#!/usr/bin/python3\nimport json,sys\nreq=json.loads(sys.stdin.readline())\n"
                   "print('some log line on stdout')\n"
                   "print(json.dumps({'ok': True, 'outputs': {'request': req, 'env_key': __import__('os').environ.get('RUNBOOK_IDEMPOTENCY_KEY')}, 'logs': ['hi']}))\n")
    plugin("fail", "#!/bin/sh\ncat >/dev/null\necho '{\"ok\": false, \"error\": \"the cloud said no\"}'\nexit 1\n")
    plugin("garbage", "#!/bin/sh\ncat >/dev/null\necho 'not json'\necho 'oops' >&2\nexit 3\n")
    plugin("hang", "#!/bin/sh\ncat >/dev/null\nsleep 300 &\nsleep 300\n")

    wd.file("book.yaml", f"""
runbook: plugins
title: External plugins
inputs:
  token: {{ secret: true }}
steps:
  echo:
    echo:
      target: db-1
      token: "${{{{ inputs.token }}}}"
      count: 3
    outputs:
      request: result.outputs.request
      env_key: result.outputs.env_key
    next: notify
  notify:
    notify:
      channel: status-page
      message: "incident ${{{{ run.incident }}}} under way"
      file: notifications.log
    outputs: {{ delivered: result.outputs.delivered }}
    next: fail
  fail:
    fail: {{}}
    continue_on_failure: true
    next: garbage
  garbage:
    garbage: {{}}
    continue_on_failure: true
    next: hang
  hang:
    hang: {{}}
    timeout: 500ms
    continue_on_failure: true
    next: done
  done: {{ end: recovered }}
""")
    t0 = time.time()
    r = run_runbook(wd, "book.yaml", "--plugin-path", plugdir, "--input", f"token={CANARY}")
    eq(r.code, 0, f"plugins: exit code {r.proc.err[-1500:]}")
    out = {e["step"]: e["data"]["outputs"] for e in r.of("step.succeeded")}
    req = out["echo"]["request"]
    eq(req["protocol"], 1, "request: protocol 1")
    eq((req["action"], req["params"]["target"], req["params"]["count"]), ("echo", "db-1", 3), "request: typed params")
    ctx = req["context"]
    eq((ctx["run_id"], ctx["step_id"], ctx["attempt"]), (r.run_id, "echo", 1), "request: context")
    eq(ctx["idempotency_key"], f"{r.run_id}/echo/1", "request: idempotency key")
    eq(out["echo"]["env_key"], ctx["idempotency_key"], "the idempotency key is also in the environment")
    eq(ctx["secret_params"], ["params.token"], "request: the secret parameter is named")
    check(CANARY not in r.proc.out + r.proc.err, "the secret passed to a plugin is masked in its echo")
    eq(out["notify"]["delivered"], 1, "the shipped notify plugin (Python) delivered")
    line = json.loads(open(os.path.join(wd.path, "notifications.log")).read().splitlines()[0])
    eq((line["channel"], line["incident"]), ("status-page", r.incident), "notify wrote its notification")
    eq(r.of("step.failed", "fail")[0]["data"]["error"], "the cloud said no", "a plugin's own error is the step's error")
    g = r.of("step.failed", "garbage")[0]["data"]["error"]
    check("without a JSON response" in g and "exit" in g and "oops" in g, f"a malformed response is a clear failure ({g})")
    h = r.of("step.failed", "hang")[0]["data"]
    eq(h["outcome"], "timed_out", "a hanging plugin times out")
    check(h["duration_ms"] < 1500, f"and is killed quickly ({h['duration_ms']} ms)")
    check(time.time() - t0 < 20, "the whole run stayed short")
    def of_step(run_id, step):
        # Processes of this run's step, found by the variables every action gets.
        found = []
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                env = open(f"/proc/{d}/environ", "rb").read().split(b"\0")
                state = open(f"/proc/{d}/stat").read().rsplit(")", 1)[1].split()[0]
            except OSError:
                continue
            if f"RUNBOOK_RUN_ID={run_id}".encode() in env and f"RUNBOOK_STEP={step}".encode() in env and state != "Z":
                found.append(int(d))
        return found
    eq(of_step(r.run_id, "hang"), [], "no process of the hung plugin's group survives")

    # RUNBOOK_PLUGIN_PATH works as well as --plugin-path.
    r = run_runbook(wd, "book.yaml", "--input", f"token={CANARY}", env={"RUNBOOK_PLUGIN_PATH": plugdir})
    eq(r.code, 0, "RUNBOOK_PLUGIN_PATH finds the plugins")

    # A plugin that cannot be found: validate warns (exit 0), run refuses (exit 2).
    wd.file("missing.yaml", "runbook: missing\ntitle: Missing plugin\nsteps:\n  a:\n    kubectl: { get: pods }\n")
    p = rbtest.run(["validate", "missing.yaml"], cwd=wd.path)
    eq(p.returncode, 0, "validate: a missing plugin is a warning")
    check("missing.yaml:5:5: warning:" in p.err and "runbook-plugin-kubectl" in p.err, f"validate warns ({p.err.strip()})")
    p = rbtest.run(["--store", wd.store, "run", "missing.yaml"], cwd=wd.path)
    eq(p.returncode, 2, "run: a missing plugin refuses to start")
    check("missing.yaml:5:5: no plugin 'kubectl'" in p.err, f"run names the plugin and its position ({p.err.strip()})")
done()
