#!/usr/bin/python3
"""http steps against the local HTTP(S) server: status and JSON gates, `within` polling
until healthy, TLS verification (self-signed fails unless insecure, recorded), no https->http
redirect, a parallel step of 200 requests, POST json, and a bearer-token canary masked."""
import os
import sys
import time
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
import rbtest  # noqa: E402
from rbtest import Workdir, check, done, eq, run_runbook  # noqa: E402

urls = rbtest.http_urls()
if not urls:
    rbtest.skip("RUNBOOK_TEST_HTTP is not set (tests/run.sh starts the test HTTP server)")
H, S = urls["http"], urls["https"]
CANARY = "bearer-canary-4d2e8"
key = uuid.uuid4().hex[:8]

with Workdir() as wd:
    wd.file("http.yaml", f"""
runbook: http
title: HTTP
inputs:
  base: {{ default: "{H}" }}
  tls: {{ default: "{S}" }}
  token: {{ secret: true }}
steps:
  json:
    http: {{ url: "${{{{ inputs.base }}}}/json" }}
    expect: result.status == 200 && result.json.healthy == true
    outputs: {{ n: result.json.n, third: "result.json.items[2]" }}
    next: server-error
  server-error:
    http: "${{{{ inputs.base }}}}/status/500"
    continue_on_failure: true
    next: expected-error
  expected-error:
    http: "${{{{ inputs.base }}}}/status/503"
    expect: result.status == 503
    next: becomes-healthy
  becomes-healthy:
    http: {{ url: "${{{{ inputs.base }}}}/echo" }}
    verify:
      - name: healthy within 5s
        http: {{ url: "${{{{ inputs.base }}}}/health-after/{key}/1" }}
        expect: result.json.healthy
        within: 5s
        interval: 200ms
    next: tls-verified
  tls-verified:
    http: "${{{{ inputs.tls }}}}/json"
    continue_on_failure: true
    next: tls-insecure
  tls-insecure:
    http: {{ url: "${{{{ inputs.tls }}}}/json", insecure: true }}
    expect: result.json.healthy
    next: downgrade
  downgrade:
    http: {{ url: "${{{{ inputs.tls }}}}/redirect?to=${{{{ inputs.base }}}}/json", insecure: true }}
    continue_on_failure: true
    next: follow
  follow:
    http: "${{{{ inputs.base }}}}/redirect?to=${{{{ inputs.base }}}}/json"
    expect: result.json.n == 42
    next: post
  post:
    http:
      url: "${{{{ inputs.base }}}}/echo"
      method: POST
      headers: {{ Authorization: "Bearer ${{{{ inputs.token }}}}" }}
      json: {{ incident: "${{{{ run.incident }}}}", n: 3 }}
      idempotency_header: true
    outputs:
      method: result.json.method
      body: result.json.body
      key: result.json.headers['Idempotency-Key']
    next: done
  done: {{ end: recovered }}
""")
    r = run_runbook(wd, "http.yaml", "--input", f"token={CANARY}")
    eq(r.code, 0, f"http: exit code\n{r.dump()[-3000:]}")
    out = {e["step"]: e["data"]["outputs"] for e in r.of("step.succeeded")}
    eq(out["json"], {"n": 42, "third": 3}, "http: JSON gate and outputs")
    eq(r.of("step.failed", "server-error")[0]["data"]["error"], "HTTP 500", "http: non-2xx fails by default")
    waited = r.of("check.passed", "becomes-healthy")[0]["data"]["elapsed_ms"]
    check(900 <= waited < 4000, f"http: polled until healthy ({waited} ms)")
    tls = r.of("step.failed", "tls-verified")[0]["data"]["error"]
    check("certificate" in tls.lower() or "ssl" in tls.lower(), f"http: self-signed refused ({tls})")
    eq(len(r.of("http.insecure", "tls-insecure")), 1, "http: insecure recorded in the timeline")
    down = r.of("step.failed", "downgrade")[0]["data"]["error"]
    check("https to http" in down, f"http: https->http redirect refused ({down})")
    eq(out["post"]["method"], "POST", "http: POST")
    check('"n": 3' in out["post"]["body"] or '"n":3' in out["post"]["body"], f"http: JSON body sent ({out['post']['body']})")
    eq(out["post"]["key"], f"{r.run_id}/post/1", "http: idempotency key header")
    check(CANARY not in r.proc.out + r.proc.err, "http: bearer token absent from the terminal")
    for f in [wd.store, wd.store + "-wal"]:
        if os.path.exists(f):
            check(CANARY.encode() not in open(f, "rb").read(), f"http: bearer token absent from {os.path.basename(f)}")

    # 200 requests in one parallel step: concurrent, not one after another.
    branches = "".join(f"      - http: \"{H}/slow/200?i={i}\"\n" for i in range(200))
    wd.file("fan.yaml", f"runbook: fan\ntitle: Fan out\nsteps:\n  fan:\n    parallel:\n{branches}    next: done\n  done: {{ end: recovered }}\n")
    t0 = time.time()
    r = run_runbook(wd, "fan.yaml")
    took = time.time() - t0
    eq(r.code, 0, "parallel 200: exit code")
    d = r.of("step.succeeded", "fan")[0]["data"]["duration_ms"]
    check(d < 10_000, f"parallel 200: 200 requests of 200 ms each took {d} ms (sequential would be 40 s)")
    print(f"parallel 200 x 200 ms: {d} ms")
done()
