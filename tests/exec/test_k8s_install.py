#!/usr/bin/python3
"""Kubernetes manifests that deploy as they are (contract sections 7 and 10):
`runbook drill install --k8s --image IMAGE` and `runbook k8s serve`.

Refused first, each exit 2 with the reason and nothing written: no --image, no store, a
SQLite store (by --store, a plain path or RUNBOOK_STORE), an unknown scheme, a store URL
with no --dir (it would be printed), a bad --store-secret, a runbook outside the current
directory (FILE:LINE:COL of the drill), a runbook that does not validate, more than 1 MiB
for the ConfigMap, a serve --runbooks folder without runbooks, a malformed triggers file.

Then the sets themselves: the password only in the Secret manifest (0600), every other
file 0644; the ConfigMap carries the drills file and each runbook byte for byte (read back
with PyYAML, a YAML 1.1 reader like Kubernetes'), fleet inventories and known_hosts too,
never an ssh identity; object names valid however long the drill's name; references
between the objects hold (tests/support/k8s.py). Last, a drill runs as its CronJob says: the
ConfigMap laid out as the kubelet mounts it, the container's command, working directory
and environment (the store from the Secret, PostgreSQL from the fixtures) as uid 65532 —
the drill passes and lands in the PostgreSQL store. The schema check of every manifest is
tests/exec/test_k8s_schema.py."""
import os
import shutil
import subprocess
import sys
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
import k8s  # noqa: E402
import rbtest  # noqa: E402
from rbtest import Workdir, check, done, eq  # noqa: E402

PW = "k8s-pw-" + uuid.uuid4().hex[:8]
IMAGE = "registry.example/runbook:0.1.0"
LONG = "a-drill-with-a-name-far-too-long-for-a-cronjob-object-name-x"

QUICK = """runbook: quick
title: Quick drill
objectives: { rto: 10m }
steps:
  files-here:
    shell: test -r runbooks/quick.yaml && test -r drills.yaml && touch "$TMPDIR/step-ran"
    next: done
  done: { end: recovered }
"""
# Starts with a blank line and an indented comment, holds a tab, a quote, non-ASCII text,
# ends without a newline: the ConfigMap must give back these exact bytes.
ODD = "\n  # indented comment — ünïcode\nrunbook: odd\ntitle: \"Odd\\tone: 'x'\"\nsteps:\n  only:\n" \
      "    shell: printf 'a\\tb'\n    next: done\n  done: { end: recovered }"
FLEET = """runbook: fleet-restart
title: Restart on every host
steps:
  restart:
    shell: "true"
    targets:
      inventory: inventory/hosts.ini
      hosts: all
      ssh: { identity: keys/id_ed25519, known_hosts: inventory/known_hosts }
    next: done
  done: { end: recovered }
"""
DRILLS = f"""drills:
  - name: quick
    runbook: runbooks/quick.yaml
    schedule: "*/5 * * * *"
    setup:
      - shell: touch "$TMPDIR/setup-ran"
  - name: {LONG}
    runbook: runbooks/odd.yaml
    schedule: "0 3 * * 1"
    timezone: Europe/Paris
  - name: ends-
    runbook: runbooks/odd.yaml
    schedule: "0 4 * * 1"
"""


def no_store_env():
    return {"RUNBOOK_STORE": ""}


def refused(args, want, what, cwd, env=None, out=None):
    p = rbtest.run(args, cwd=cwd, env=env or no_store_env())
    eq(p.returncode, 2, f"{what}: exit 2 ({p.err.strip()[:300]})")
    check(want in p.err, f"{what}: says {want!r} ({p.err.strip()[:300]})")
    check(PW not in p.out + p.err, f"{what}: no password printed")
    if out:
        check(not os.path.exists(out), f"{what}: nothing written")
    return p


with Workdir() as wd:
    wd.file("runbooks/quick.yaml", QUICK)
    wd.file("runbooks/odd.yaml", ODD)
    wd.file("drills.yaml", DRILLS)
    pg = f"postgres://runbook:{PW}@db.internal:5432/runbook"
    out = os.path.join(wd.path, "k8s")
    base = ["drill", "install", "--k8s", "--drills", "drills.yaml"]

    # ---- refused: exit 2, the reason, nothing written ----------------------------------------
    refused(["--store", pg] + base + ["--dir", out], "needs --image IMAGE", "no --image", wd.path, out=out)
    refused(["--store", pg] + base + ["--image", "", "--dir", out], "needs --image IMAGE", "empty --image", wd.path,
            out=out)
    refused(["--store", pg] + base + ["--image", "bad image", "--dir", out], "not an image reference",
            "--image with a space", wd.path, out=out)
    refused(base + ["--image", IMAGE, "--dir", out], "needs a PostgreSQL store", "no store", wd.path, out=out)
    p = refused(["--store", "sqlite:runs.db"] + base + ["--image", IMAGE, "--dir", out], "is SQLite",
                "--store sqlite:", wd.path, out=out)
    check("pod" in p.err and "drill history" in p.err, f"SQLite: the reason is the pod's file system ({p.err})")
    refused(["--store", "runs.db"] + base + ["--image", IMAGE, "--dir", out], "is SQLite", "--store PATH", wd.path,
            out=out)
    refused(base + ["--image", IMAGE, "--dir", out], "in RUNBOOK_STORE", "RUNBOOK_STORE=sqlite:", wd.path,
            env={"RUNBOOK_STORE": "sqlite:/tmp/x.db"}, out=out)
    refused(["--store", "mysql://h/db"] + base + ["--image", IMAGE, "--dir", out], "unknown store scheme",
            "unknown scheme", wd.path, out=out)
    refused(["--store", pg] + base + ["--image", IMAGE], "give --dir DIR", "a store URL and no --dir", wd.path)
    refused(base + ["--image", IMAGE, "--store-secret", "Bad_Name"], "not a Secret name", "bad --store-secret",
            wd.path)
    for args, what in ((["k8s", "serve", "--runbooks", "runbooks", "--store-secret", "s"], "serve without --image"),
                       (["k8s", "serve", "--runbooks", "runbooks", "--image", IMAGE, "--dir", out], "serve, no store"),
                       (["--store", "sqlite:x.db", "k8s", "serve", "--image", IMAGE, "--runbooks", "runbooks"],
                        "serve, SQLite")):
        refused(args, "--image" if "image" in what else ("SQLite" if "SQLite" in what else "PostgreSQL"), what,
                wd.path, out=out)
    refused(["k8s", "serve", "--image", IMAGE, "--store-secret", "s", "--port", "0"], "--port 0 is not a port",
            "serve --port 0", wd.path)
    refused(["k8s", "serve", "--image", IMAGE, "--store-secret", "s", "--replicas", "0"], "--replicas 0",
            "serve --replicas 0", wd.path)

    outside = os.path.join(wd.path, "outside")
    wd.file("outside/x.yaml", QUICK)
    wd.file("inner/drills.yaml", "drills:\n  - name: x\n    runbook: ../outside/x.yaml\n    schedule: \"0 3 * * *\"\n")
    refused(["drill", "install", "--k8s", "--drills", "drills.yaml", "--image", IMAGE, "--store-secret", "s"],
            "drills.yaml:2:5: drill 'x': '../outside/x.yaml' is outside the current directory", "runbook outside",
            os.path.join(wd.path, "inner"))
    wd.file("runbooks/broken.yaml", "runbook: broken\ntitle: Broken\nsteps:\n  a:\n    shell: \"true\"\n"
                                    "    timout: 5s\n    next: done\n  done: { end: recovered }\n")
    wd.file("broken-drills.yaml", "drills:\n  - name: b\n    runbook: runbooks/broken.yaml\n    schedule: \"0 3 * * *\"\n")
    p = refused(["drill", "install", "--k8s", "--drills", "broken-drills.yaml", "--image", IMAGE, "--store-secret",
                 "s"], "does not validate", "invalid runbook", wd.path)
    check("runbooks/broken.yaml:6:5:" in p.err, f"invalid runbook: its FILE:LINE:COL ({p.err})")
    wd.file("big/runbooks/big.yaml", "# " + "x" * (1100 * 1024) + "\n" + QUICK)
    wd.file("big/drills.yaml", "drills:\n  - name: big\n    runbook: runbooks/big.yaml\n    schedule: \"0 3 * * *\"\n")
    refused(["drill", "install", "--k8s", "--image", IMAGE, "--store-secret", "s"], "a ConfigMap holds at most",
            "over 1 MiB", os.path.join(wd.path, "big"))
    os.makedirs(os.path.join(wd.path, "empty"))
    refused(["k8s", "serve", "--image", IMAGE, "--store-secret", "s", "--runbooks", "empty"], "holds no runbook",
            "serve: no runbooks", wd.path)
    refused(["k8s", "serve", "--image", IMAGE, "--store-secret", "s", "--runbooks", "drills.yaml"],
            "is not a directory", "serve: --runbooks FILE", wd.path)
    wd.file("bad-triggers.yaml", "triggers:\n  - name: a\n    match: {alertname: [\n")
    p = refused(["k8s", "serve", "--image", IMAGE, "--store-secret", "s", "--triggers", "bad-triggers.yaml"],
                "bad-triggers.yaml:", "serve: malformed triggers", wd.path)

    # ---- the drills set ---------------------------------------------------------------------
    p = rbtest.run(["--store", pg] + base + ["--image", IMAGE, "--dir", out], cwd=wd.path, env=no_store_env())
    eq(p.returncode, 0, f"drill install --k8s ({p.err})")
    check(PW not in p.out + p.err, "the password is not printed")
    check("kubectl apply -f" in p.out, f"says how to apply ({p.out})")
    sets = k8s.read_dir(out)
    docs = [d for ds in sets.values() for d in ds]
    kinds = sorted(d["kind"] for d in docs)
    eq(kinds, ["ConfigMap", "CronJob", "CronJob", "CronJob", "Secret"], "a ConfigMap, a CronJob per drill, a Secret")
    for name in sets:
        path = os.path.join(out, name)
        text = open(path).read()
        if name == "runbook-store-secret.yaml":
            eq(k8s.file_mode(path), 0o600, "the Secret manifest is mode 0600")
            eq(sets[name][0]["stringData"]["RUNBOOK_STORE"], pg, "the Secret holds the store URL")
        else:
            eq(k8s.file_mode(path), 0o644, f"{name} is mode 0644")
            check(PW not in text and "--store" not in text, f"{name}: no password, no --store")
    eq(k8s.api_server_problems(docs), [], "names and references hold")
    cm = next(d for d in docs if d["kind"] == "ConfigMap")
    by_path = {}
    jobs = [d for d in docs if d["kind"] == "CronJob"]
    for j in jobs:
        spec = j["spec"]
        eq(spec["concurrencyPolicy"], "Forbid", "concurrencyPolicy Forbid")
        pod = k8s.pod_spec(j)
        c = pod["containers"][0]
        eq(c["image"], IMAGE, "the image given")
        check(c["resources"]["requests"] and c["resources"]["limits"], "resource requests and limits")
        check(pod["securityContext"]["runAsNonRoot"] is True, "runAsNonRoot")
        eq(c["workingDir"], "/etc/runbook", "the working directory is the mount")
        eq(c["command"][-2:], ["--drills", "/etc/runbook/drills.yaml"], "the drills file inside the mount")
        env = {e["name"]: e for e in c["env"]}
        eq(env["RUNBOOK_STORE"]["valueFrom"]["secretKeyRef"], {"name": "runbook-store", "key": "RUNBOOK_STORE"},
           "the store from the Secret")
        for it in pod["volumes"][0]["configMap"]["items"]:
            by_path[it["path"]] = cm["data"][it["key"]]
        check(len(j["metadata"]["name"]) <= 52, f"CronJob name within 52 characters: {j['metadata']['name']}")
    for rel in ("drills.yaml", "runbooks/quick.yaml", "runbooks/odd.yaml"):
        eq(by_path.get(rel), open(os.path.join(wd.path, rel)).read(), f"{rel} in the ConfigMap byte for byte")
    eq(sorted(by_path), ["drills.yaml", "runbooks/odd.yaml", "runbooks/quick.yaml"], "exactly the files needed")
    deadline = {j["metadata"]["annotations"]["runbook.dev/drill"]: j["spec"]["jobTemplate"]["spec"] for j in jobs}
    eq(deadline["quick"]["activeDeadlineSeconds"], 3600, "deadline: 3 x RTO 10m, at least 1 h")
    eq(deadline[LONG]["activeDeadlineSeconds"], 6 * 3600, "deadline: 6 h without an RTO")
    eq(deadline["quick"]["backoffLimit"], 0, "a failed drill is not retried")

    # The same through `runbook k8s drills`, printed: no Secret (it exists), the same objects.
    p = rbtest.run(["k8s", "drills", "--drills", "drills.yaml", "--image", IMAGE, "--store-secret", "runbook-store"],
                   cwd=wd.path, env=no_store_env())
    eq(p.returncode, 0, f"k8s drills ({p.err})")
    printed = k8s.read_text(p.out)
    key = lambda d: (d["kind"], d["metadata"]["name"])  # noqa: E731
    eq(sorted(printed, key=key), sorted([d for d in docs if d["kind"] != "Secret"], key=key),
       "k8s drills = drill install --k8s, minus the Secret")

    # A drill removed since: its old file is named for deletion.
    wd.file("drills.yaml", DRILLS.split("  - name: " + LONG)[0])
    p = rbtest.run(["--store", pg] + base + ["--image", IMAGE, "--dir", out], cwd=wd.path, env=no_store_env())
    eq(p.returncode, 0, f"install again with one drill ({p.err})")
    check(f"runbook-drill-{LONG}.yaml is from an earlier install" in p.err, f"stale CronJob file named ({p.err})")

    # ---- a drill that gives a secret input its value: a Secret, never a ConfigMap ----------
    SECRET_IN = "drill-secret-" + uuid.uuid4().hex[:8]
    wd.file("secretbooks/login.yaml", "runbook: login\ntitle: Login\ninputs:\n  pw: { type: string, secret: true }\n"
                                   "steps:\n  a:\n    shell: test -n \"$PW\"\n    env: { PW: \"${{ inputs.pw }}\" }\n"
                                   "    next: done\n  done: { end: recovered }\n")
    wd.file("secret-drills.yaml", "drills:\n  - name: login\n    runbook: secretbooks/login.yaml\n"
                                  f"    schedule: \"0 3 * * *\"\n    inputs: {{ pw: {SECRET_IN} }}\n")
    sbase = ["drill", "install", "--k8s", "--drills", "secret-drills.yaml", "--image", IMAGE, "--store-secret", "s"]
    p = refused(sbase, "give --dir DIR", "a secret input's value and no --dir", wd.path)
    check("'pw'" in p.err and SECRET_IN not in p.out + p.err, f"names the input, never its value ({p.err.strip()})")
    sout = os.path.join(wd.path, "k8s-secret")
    p = rbtest.run(sbase + ["--dir", sout], cwd=wd.path, env=no_store_env())
    eq(p.returncode, 0, f"drill install --k8s with a secret input ({p.err})")
    check(SECRET_IN not in p.out + p.err, "the secret input's value is not printed")
    ssets = k8s.read_dir(sout)
    sdocs = [d for ds in ssets.values() for d in ds]
    eq(sorted(d["kind"] for d in sdocs), ["CronJob", "Secret"], "the bundle goes into a Secret: no ConfigMap")
    for name in ssets:
        text = open(os.path.join(sout, name)).read()
        if SECRET_IN in text:
            eq(name, "runbook-drills-secret.yaml", f"the value is only in the drills Secret ({name})")
            eq(k8s.file_mode(os.path.join(sout, name)), 0o600, "the drills Secret manifest is mode 0600")
    job = next(d for d in sdocs if d["kind"] == "CronJob")
    vol = k8s.pod_spec(job)["volumes"][0]
    eq(vol.get("secret", {}).get("secretName"), "runbook-drills", "the CronJob mounts the drills Secret")
    eq(k8s.api_server_problems(sdocs), [], "secret set: names and references hold")

    # ---- the serve set ----------------------------------------------------------------------
    wd.file("runbooks/fleet.yaml", FLEET)
    os.remove(os.path.join(wd.path, "runbooks", "broken.yaml"))
    wd.file("inventory/hosts.ini", "[api]\napi-1 ansible_host=10.0.0.1\n")
    wd.file("inventory/known_hosts", "10.0.0.1 ssh-ed25519 AAAA\n")
    wd.file("keys/id_ed25519", "PRIVATE KEY\n")
    wd.file("triggers.yaml", "triggers:\n  - name: quick\n    match: { alertname: Quick }\n    runbook: quick.yaml\n")
    sout = os.path.join(wd.path, "serve")
    p = rbtest.run(["--store", pg, "k8s", "serve", "--image", IMAGE, "--triggers", "triggers.yaml", "--dir", sout],
                   cwd=wd.path, env=no_store_env())
    eq(p.returncode, 0, f"k8s serve ({p.err})")
    check("targets.ssh.identity 'keys/id_ed25519' is a private key" in p.err, f"the identity is named, not copied "
                                                                                f"({p.err})")
    sets = k8s.read_dir(sout)
    sdocs = [d for ds in sets.values() for d in ds]
    eq(sorted(d["kind"] for d in sdocs), ["ConfigMap", "Deployment", "Secret", "Service"], "the serve set")
    eq(k8s.api_server_problems(sdocs), [], "serve: names and references hold")
    for name in sets:
        if name != "runbook-store-secret.yaml":
            check(PW not in open(os.path.join(sout, name)).read(), f"serve: no password in {name}")
    dep = next(d for d in sdocs if d["kind"] == "Deployment")
    c = k8s.pod_spec(dep)["containers"][0]
    eq(c["command"], ["runbook", "serve", "--listen", "0.0.0.0:8088", "--runbooks", "/etc/runbook/runbooks",
                      "--triggers", "/etc/runbook/triggers.yaml"], "serve: the contract's command line")
    eq((c["readinessProbe"]["httpGet"], c["livenessProbe"]["httpGet"]["path"]),
       ({"path": "/healthz", "port": "http"}, "/healthz"), "serve: probes on GET /healthz")
    svc = next(d for d in sdocs if d["kind"] == "Service")
    eq(svc["spec"]["ports"][0]["port"], 8088, "serve: the Service's port")
    cmap = next(d for d in sdocs if d["kind"] == "ConfigMap")
    paths = {it["path"]: cmap["data"][it["key"]] for it in k8s.pod_spec(dep)["volumes"][0]["configMap"]["items"]}
    eq(sorted(paths), ["inventory/hosts.ini", "inventory/known_hosts", "runbooks/fleet.yaml", "runbooks/odd.yaml",
                       "runbooks/quick.yaml", "triggers.yaml"], "serve: runbooks, their fleet files, the triggers")
    check(not any("PRIVATE KEY" in v for v in cmap["data"].values()), "serve: no private key in the ConfigMap")
    sha = dep["spec"]["template"]["metadata"]["annotations"]["runbook.dev/config-sha256"]
    wd.file("runbooks/quick.yaml", QUICK.replace("Quick drill", "Quick drill, edited"))
    p = rbtest.run(["k8s", "serve", "--image", IMAGE, "--store-secret", "runbook-store", "--port", "9000",
                    "--replicas", "2"], cwd=wd.path, env=no_store_env())
    eq(p.returncode, 0, f"k8s serve to stdout with --store-secret ({p.err})")
    printed = k8s.read_text(p.out)
    eq(sorted(d["kind"] for d in printed), ["ConfigMap", "Deployment", "Service"], "printed: no Secret")
    dep2 = next(d for d in printed if d["kind"] == "Deployment")
    check(dep2["spec"]["template"]["metadata"]["annotations"]["runbook.dev/config-sha256"] != sha,
          "a changed runbook changes the pod template (the pods roll)")
    eq((dep2["spec"]["replicas"], k8s.pod_spec(dep2)["containers"][0]["ports"][0]["containerPort"]), (2, 9000),
       "--replicas and --port")
    wd.file("runbooks/quick.yaml", QUICK)

    # ---- a drill runs as its CronJob says, against PostgreSQL --------------------------------
    base_url = os.environ.get("RUNBOOK_TEST_PG_URL")
    if not base_url:
        print("note: RUNBOOK_TEST_PG_URL is not set; the drill run as the CronJob's pod was skipped")
    else:
        db = "rb_k8s_" + uuid.uuid4().hex[:8]
        subprocess.run(["psql", base_url, "-qc", f"CREATE DATABASE {db}"], check=True)
        try:
            store = base_url.rsplit("/", 1)[0] + "/" + db
            kout = os.path.join(wd.path, "k8s-run")
            p = rbtest.run(["--store", store] + base + ["--image", IMAGE, "--dir", kout], cwd=wd.path,
                           env=no_store_env())
            eq(p.returncode, 0, f"install against PostgreSQL ({p.err})")
            docs = [d for ds in k8s.read_dir(kout).values() for d in ds]
            secret = next(d for d in docs if d["kind"] == "Secret")
            job = next(d for d in docs if d["kind"] == "CronJob")
            pod = k8s.pod_spec(job)
            c = pod["containers"][0]
            os.chmod(wd.path, 0o755)  # the pod's user reaches the mount below it (mkdtemp made it 0700)
            root = os.path.join(wd.path, "pod")
            top = k8s.mount(pod, {d["metadata"]["name"]: d for d in docs if d["kind"] == "ConfigMap"}, root,
                            "/etc/runbook")
            tmp = os.path.join(root, "tmp")
            os.makedirs(tmp)
            os.chmod(tmp, 0o1777)
            env = {"PATH": "/usr/bin:/bin"}
            for e in c["env"]:
                if "valueFrom" in e:
                    ref = e["valueFrom"]["secretKeyRef"]
                    env[e["name"]] = secret["stringData"][ref["key"]]
                else:
                    env[e["name"]] = tmp if e["value"] == "/tmp" else e["value"]
            argv = [rbtest.BIN] + [a.replace("/etc/runbook", top) for a in c["command"][1:]]
            cwd = c["workingDir"].replace("/etc/runbook", top)
            uid = pod["securityContext"]["runAsUser"]
            as_pod = ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups"] \
                if os.geteuid() == 0 and shutil.which("setpriv") else []
            r = subprocess.run(as_pod + argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)
            eq(r.returncode, 0, f"the CronJob's command passes as uid {uid if as_pod else os.geteuid()} "
                                f"({r.stdout[-400:]} {r.stderr[-400:]})")
            check("PASSED" in r.stdout, f"drill PASSED ({r.stdout[-300:]})")
            check(os.path.exists(os.path.join(tmp, "setup-ran")) and os.path.exists(os.path.join(tmp, "step-ran")),
                  "setup and the step ran in the pod's working directory, writing to its /tmp")
            h = rbtest.run(["--json", "drill", "history", "quick", "--drills", "drills.yaml"], cwd=wd.path,
                           env={"RUNBOOK_STORE": store})
            check(h.returncode == 0 and '"passed":true' in h.out.replace(" ", ""),
                  f"the drill is in the PostgreSQL store ({h.out[:300]} {h.err[:200]})")
            print(f"drill run as the CronJob's pod (uid {uid if as_pod else os.geteuid()}): exit {r.returncode}")
        finally:
            subprocess.run(["psql", base_url, "-qc", f"DROP DATABASE IF EXISTS {db} WITH (FORCE)"])
done()
