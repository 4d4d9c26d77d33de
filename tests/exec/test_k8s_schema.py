#!/usr/bin/python3
"""Every Kubernetes manifest runbook generates validates against the official Kubernetes
API schemas, offline: the npm packages kubernetes-models (a pinned version;
$RUNBOOK_K8S_MODELS_VERSION to try another) and @kubernetes-models/validate, installed at
test time into a cache folder of the build directory (never committed), driven by
tests/support/k8s_validate.js — the models' own validate() (types, enums, required fields,
quantities) plus unknown fields, which the API server refuses (kubectl --validate=strict).

Sets generated: `drill install --k8s` for examples/drills.yaml (a Secret written, and
printed with --store-secret), `k8s drills`, a set with awkward drill names and files, and
`k8s serve` for the shipped runbooks with triggers (written, and printed with --port,
--replicas and --store-secret NAME:KEY). Then deliberately broken copies (a typo'd field at
the top and deep down, a value outside an enum, a missing required field, wrong types, a bad
quantity, an unknown kind) must each be rejected with the matching reason, in the same
run that accepts the originals. Skips (77) when node or npm is missing or the registry
cannot be reached."""
import copy
import json
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
import k8s  # noqa: E402
import rbtest  # noqa: E402
from rbtest import Workdir, check, done, eq  # noqa: E402

ROOT = rbtest.ROOT
VERSION = os.environ.get("RUNBOOK_K8S_MODELS_VERSION", "4.5.1")  # node >= 14 (Debian 12 has 18)
VALIDATE = "4.0.0"
CACHE = os.path.join(os.path.dirname(rbtest.BIN), "npm-cache", f"kubernetes-models-{VERSION}")
NM = os.path.join(CACHE, "node_modules")
VALIDATOR = os.path.join(ROOT, "tests", "support", "k8s_validate.js")
IMAGE = "registry.example/runbook:0.1.0"


def install():
    for tool in ("node", "npm"):
        if not shutil.which(tool):
            rbtest.skip(f"{tool} is not installed: cannot run the Kubernetes schema validators")
    if os.path.exists(os.path.join(NM, "kubernetes-models", "package.json")):
        return
    os.makedirs(CACHE, exist_ok=True)
    env = dict(os.environ, npm_config_cache=os.path.join(CACHE, ".npm"), npm_config_update_notifier="false")
    try:
        p = subprocess.run(["npm", "install", "--prefix", CACHE, "--no-audit", "--no-fund", "--no-save",
                            f"kubernetes-models@{VERSION}", f"@kubernetes-models/validate@{VALIDATE}"],
                           capture_output=True, text=True, env=env, timeout=300)
    except subprocess.TimeoutExpired:
        rbtest.skip("npm install kubernetes-models did not finish in 5 minutes")
    if p.returncode != 0 or not os.path.exists(os.path.join(NM, "kubernetes-models", "package.json")):
        tail = " | ".join((p.stdout + p.stderr).strip().splitlines()[-3:])
        rbtest.skip(f"npm cannot install kubernetes-models@{VERSION} (registry unreachable?): {tail}")


def validate(named_docs):
    """{name: (ok, errors)} from the validator, for [(name, doc)]."""
    payload = json.dumps([{"name": n, "doc": d} for n, d in named_docs])
    p = subprocess.run(["node", VALIDATOR, NM], input=payload, capture_output=True, text=True, timeout=300)
    check(p.returncode in (0, 1), f"the validator ran (exit {p.returncode}: {p.stderr[-500:]})")
    out = {}
    for line in p.stdout.splitlines():
        r = json.loads(line)
        out[r["name"]] = (r["ok"], r["errors"])
    eq(len(out), len(named_docs), "one verdict per document")
    return out


def generated(args, cwd, env=None):
    """The documents a command prints, or writes into the --dir it was given."""
    p = rbtest.run(args, cwd=cwd, env=dict({"RUNBOOK_STORE": ""}, **(env or {})))
    eq(p.returncode, 0, f"runbook {' '.join(args)} ({p.err.strip()[-300:]})")
    if "--dir" in args:
        d = args[args.index("--dir") + 1]
        return [(f"{os.path.basename(d)}/{f}#{i}", doc) for f, ds in k8s.read_dir(d).items() for i, doc in enumerate(ds)]
    return [(f"{' '.join(args[:2])}#{i}", doc) for i, doc in enumerate(k8s.read_text(p.out))]


install()
with Workdir() as wd:
    pg = "postgres://runbook:secret-pw@db.internal:5432/runbook"
    drills = os.path.join(ROOT, "examples", "drills.yaml")
    sets = {}
    sets["drills (written)"] = generated(["--store", pg, "drill", "install", "--k8s", "--drills", drills, "--image",
                                          IMAGE, "--dir", os.path.join(wd.path, "drills")], ROOT)
    sets["drills (printed)"] = generated(["drill", "install", "--k8s", "--drills", drills, "--image", IMAGE,
                                          "--store-secret", "runbook-store"], ROOT)
    sets["k8s drills"] = generated(["k8s", "drills", "--drills", drills, "--image", IMAGE, "--store-secret",
                                    "team-db:url"], ROOT)
    edge = os.path.join(wd.path, "edge")
    wd.file("edge/runbooks/odd.yaml", "\n  # ünïcode — and a tab:\t.\nrunbook: odd\ntitle: \"yes\"\nsteps:\n  a:\n"
                                      "    shell: \"true\"\n    next: done\n  done: { end: recovered }")
    wd.file("edge/ops/drills.yaml", "drills:\n  - name: " + "n" * 70 + "\n    runbook: ../runbooks/odd.yaml\n"
            "    schedule: \"0 3 * * 1\"\n    timezone: America/Argentina/Buenos_Aires\n  - name: ends-\n"
            "    runbook: runbooks/odd.yaml\n    schedule: \"*/15 * * * *\"\n")
    sets["drills (edge)"] = generated(["--store", "postgresql://u:p@h/db?sslmode=require", "drill", "install",
                                       "--k8s", "--drills", "ops/drills.yaml", "--image", "localhost:5000/rb@sha256:"
                                       + "0" * 64, "--dir", os.path.join(edge, "out")], edge)
    sec = os.path.join(wd.path, "sec")
    wd.file("sec/runbooks/login.yaml", "runbook: login\ntitle: Login\ninputs:\n  pw: { type: string, secret: true }\n"
                                       "steps:\n  a:\n    shell: \"true\"\n    next: done\n  done: { end: recovered }\n")
    wd.file("sec/drills.yaml", "drills:\n  - name: login\n    runbook: runbooks/login.yaml\n"
                               "    schedule: \"0 3 * * *\"\n    inputs: { pw: hunter2 }\n")
    sets["drills (secret input: a Secret volume)"] = generated(
        ["drill", "install", "--k8s", "--drills", "drills.yaml", "--image", IMAGE, "--store-secret", "runbook-store",
         "--dir", os.path.join(sec, "out")], sec)
    shutil.copytree(os.path.join(ROOT, "runbooks"), os.path.join(wd.path, "serve", "runbooks"))
    wd.file("serve/triggers.yaml", "triggers:\n  - name: worker-down\n    match: { alertname: WorkerDown }\n"
                                   "    runbook: worker-crash.yaml\n")
    serve = os.path.join(wd.path, "serve")
    sets["k8s serve (written)"] = generated(["--store", pg, "k8s", "serve", "--image", IMAGE, "--triggers",
                                             "triggers.yaml", "--dir", os.path.join(serve, "out")], serve)
    sets["k8s serve (printed)"] = generated(["k8s", "serve", "--image", IMAGE, "--port", "9000", "--replicas", "3",
                                             "--store-secret", "team-db:url"], serve)

    everything = []
    for label, docs in sets.items():
        eq(k8s.api_server_problems([d for _, d in docs]), [], f"{label}: names and references hold")
        everything += [(f"{label}: {n}", d) for n, d in docs]
    kinds = sorted({d["kind"] for _, d in everything})
    eq(kinds, ["ConfigMap", "CronJob", "Deployment", "Secret", "Service"], "every kind generated is covered")

    # Broken on purpose: each must be refused, and for the reason given.
    cron = next(d for _, d in everything if d["kind"] == "CronJob")
    dep = next(d for _, d in everything if d["kind"] == "Deployment")
    svc = next(d for _, d in everything if d["kind"] == "Service")
    cmap = next(d for _, d in everything if d["kind"] == "ConfigMap")
    container = ["spec", "jobTemplate", "spec", "template", "spec", "containers", 0]

    def broken(doc, at, change):
        doc = copy.deepcopy(doc)
        node = doc
        for k in at:
            node = node[k]
        change(node)
        return doc

    BROKEN = {
        "typo'd field": (broken(cron, ["spec"], lambda s: s.update(concurencyPolicy=s.pop("concurrencyPolicy"))),
                         "spec/concurencyPolicy is not a field"),
        "typo'd field deep down": (broken(cron, container + ["env", 0, "valueFrom", "secretKeyRef"],
                                          lambda r: r.update(nmae=r.pop("name"))), "secretKeyRef/nmae is not a field"),
        "value outside the enum": (broken(cron, ["spec"], lambda s: s.update(concurrencyPolicy="Sometimes")),
                                   "must be equal to one of the allowed values"),
        "missing required field": (broken(cron, container, lambda c: c.pop("name")),
                                   "containers/0 must have required property name"),
        "wrong type": (broken(dep, ["spec"], lambda s: s.update(replicas="two")), "spec/replicas must be integer"),
        "bad quantity": (broken(cron, container + ["resources", "limits"], lambda r: r.update(memory="lots")),
                         "must match format \"quantity\""),
        "port as text": (broken(svc, ["spec", "ports", 0], lambda p: p.update(port="http")),
                         "spec/ports/0/port must be integer"),
        "data not text": (broken(cmap, ["data"], lambda d: d.update({"x.yaml": ["a", "list"]})),
                          "data/data/x.yaml must be string"),
        "unknown kind": (broken(cron, [], lambda d: d.update(kind="CronJobb")), "unknown apiVersion/kind"),
    }
    verdicts = validate(everything + [(f"broken: {k}", d) for k, (d, _) in BROKEN.items()])
    bad = {n: v[1] for n, v in verdicts.items() if not v[0] and not n.startswith("broken: ")}
    eq(bad, {}, "every generated manifest is valid")
    for k, (_, want) in BROKEN.items():
        ok, errors = verdicts[f"broken: {k}"]
        check(not ok and any(want in e for e in errors), f"broken ({k}) is refused for {want!r}: {errors}")
    by_kind = {}
    for _, d in everything:
        by_kind[d["kind"]] = by_kind.get(d["kind"], 0) + 1
    print(f"validated {len(everything)} generated manifests in {len(sets)} sets against kubernetes-models@{VERSION}: "
          f"{len(everything) - len(bad)} valid ({', '.join(f'{n} {k}' for k, n in sorted(by_kind.items()))}); "
          f"{sum(1 for k in BROKEN if not verdicts[f'broken: {k}'][0])} of {len(BROKEN)} broken ones refused")
done()
