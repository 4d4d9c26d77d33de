#!/usr/bin/python3
"""No secret in generated files or on a command line (contract sections 6 and 10, v2):
`drill install --cron|--systemd|--k8s` with a password in the store URL writes it only to
an environment file (cron sources it, systemd's EnvironmentFile=) or a Secret manifest
(k8s secretKeyRef), each mode 0600; the entries never carry --store; without --dir the
install refuses (exit 2) rather than print it. Then a drill started by the generated
crontab line runs against PostgreSQL while /proc/*/cmdline of every process is read:
the password never appears there."""
import os
import shlex
import stat
import subprocess
import sys
import time
import uuid

import yaml

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
import rbtest  # noqa: E402
from rbtest import Workdir, check, done, eq  # noqa: E402

PW = "drill-pw-" + uuid.uuid4().hex[:8]


def cmdlines():
    out = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                out.append(f.read().replace(b"\0", b" ").decode(errors="replace"))
        except OSError:
            pass
    return out


with Workdir() as wd:
    wd.file("slow.yaml", "runbook: slow\ntitle: Slow drill\nsteps:\n  wait:\n    shell: sleep 3\n    next: done\n"
                         "  done: { end: recovered }\n")
    wd.file("drills.yaml", "drills:\n  - name: slow\n    runbook: slow.yaml\n    schedule: \"0 3 * * 1\"\n")
    url = f"postgres://postgres:{PW}@127.0.0.1:1/none"
    for target, secret_name in (("cron", "runbook-drills.env"), ("systemd", "runbook-drills.env"),
                                ("k8s", "runbook-store-secret.yaml")):
        image = ["--image", "registry.example/runbook:1"] if target == "k8s" else []
        p = rbtest.run(["--store", url, "drill", "install", f"--{target}", "--drills", "drills.yaml"] + image,
                       cwd=wd.path)
        eq(p.returncode, 2, f"{target}: without --dir the install refuses")
        check(PW not in p.out + p.err, f"{target}: the password is not printed")
        out = os.path.join(wd.path, f"out-{target}")
        p = rbtest.run(["--store", url, "drill", "install", f"--{target}", "--drills", "drills.yaml", "--dir", out]
                       + image, cwd=wd.path)
        eq(p.returncode, 0, f"{target}: install ({p.err})")
        check(PW not in p.out + p.err, f"{target}: the password is not printed")
        names = sorted(os.listdir(out))
        check(secret_name in names, f"{target}: {secret_name} written ({names})")
        for n in names:
            text = open(os.path.join(out, n)).read()
            mode = stat.S_IMODE(os.stat(os.path.join(out, n)).st_mode)
            if n == secret_name:
                check(PW in text, f"{target}: {n} holds the store URL")
                eq(mode, 0o600, f"{target}: {n} is mode 0600")
            else:
                check(PW not in text, f"{target}: no password in {n}")
                check("--store" not in text, f"{target}: no --store on a command line in {n}")
        if target == "systemd":
            svc = open(os.path.join(out, "runbook-drill-slow.service")).read()
            check(f"EnvironmentFile={os.path.join(out, 'runbook-drills.env')}" in svc, "systemd: EnvironmentFile=")
        if target == "k8s":
            job = yaml.safe_load(open(os.path.join(out, "runbook-drill-slow.yaml")))
            env = job["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["env"]
            eq(env[0]["valueFrom"], {"secretKeyRef": {"name": "runbook-store", "key": "RUNBOOK_STORE"}},
               "k8s: secretKeyRef")
            sec = yaml.safe_load(open(os.path.join(out, secret_name)))
            eq((sec["kind"], sec["metadata"]["name"], sec["stringData"]["RUNBOOK_STORE"]), ("Secret", "runbook-store", url),
               "k8s: a Secret manifest with the URL")

    # A password with quotes and dollars survives the env file, sourced by sh.
    odd = "p'a$s\"w`d"
    out = os.path.join(wd.path, "out-odd")
    p = rbtest.run(["--store", f"postgres://u:{odd}@h/x", "drill", "install", "--cron", "--drills", "drills.yaml",
                    "--dir", out], cwd=wd.path)
    eq(p.returncode, 0, "install with an odd password")
    got = subprocess.run(["sh", "-c", f'. "{out}/runbook-drills.env"; printf %s "$RUNBOOK_STORE"'],
                         capture_output=True, text=True).stdout
    eq(got, f"postgres://u:{odd}@h/x", "the env file gives back the exact URL to sh")

    base = os.environ.get("RUNBOOK_TEST_PG_URL")
    if not base:
        print("note: RUNBOOK_TEST_PG_URL is not set; the running-drill check against PostgreSQL was skipped")
    else:
        db = "rb_drillpw_" + uuid.uuid4().hex[:8]
        subprocess.run(["psql", base, "-qc", f"CREATE DATABASE {db}"], check=True)
        rest = base.split("://", 1)[1]
        user, hostpart = rest.split("@", 1)
        store = f"postgres://{user}:{PW}@{hostpart.rsplit('/', 1)[0]}/{db}"
        out = os.path.join(wd.path, "out-run")
        p = rbtest.run(["--store", store, "drill", "install", "--cron", "--drills", "drills.yaml", "--dir", out],
                       cwd=wd.path)
        eq(p.returncode, 0, f"install against PostgreSQL ({p.err})")
        line = [l for l in open(os.path.join(out, "runbook-drills.crontab")) if " drill run " in l][0]
        command = line.split(None, 5)[5].strip()
        env = {k: v for k, v in os.environ.items() if k != "RUNBOOK_STORE"}
        proc = subprocess.Popen(["sh", "-c", command], cwd=wd.path, env=env)
        seen, scans = [], 0
        t0 = time.time()
        while proc.poll() is None and time.time() - t0 < 60:
            for c in cmdlines():
                if PW in c:
                    seen.append(c)
            scans += 1
            time.sleep(0.05)
        eq(proc.wait(timeout=60), 0, "the drill started by the crontab line passed")
        check(scans >= 10, f"/proc/*/cmdline read {scans} times while the drill ran")
        eq(seen, [], "the password is never on a command line while the drill runs")
        log = open(os.path.join(wd.path, ".runbook", "drill-slow.log")).read()
        check("PASSED" in log and PW not in log, f"the drill log: passed, no password ({log[-300:]!r})")
        p = rbtest.run(["--json", "drill", "history", "--drills", "drills.yaml"], cwd=wd.path,
                       env={"RUNBOOK_STORE": store})
        check(p.returncode == 0 and '"passed": true' in p.out.replace('"passed":true', '"passed": true'),
              f"the drill was recorded in the PostgreSQL store ({p.out[:300]} {p.err[:200]})")
        print(f"drill ran {time.time() - t0:.1f} s; /proc/*/cmdline scanned {scans} times; password seen 0 times")
done()
