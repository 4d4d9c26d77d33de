#!/usr/bin/python3
"""Exports: the JSON report validates against schemas/run-report.schema.json (and every
event against timeline-event.schema.json) with python3-jsonschema; the JUnit file parses
with xml.etree and its counts match the run; a live run exports as ongoing; a secret
canary never appears in any of the four formats; reports are written 0600."""
import json
import os
import stat
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

import jsonschema

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
import rbtest  # noqa: E402
from rbtest import Workdir, check, done, eq, run_runbook  # noqa: E402

ROOT = rbtest.ROOT
CANARY = "export-canary-77e1d"


def load_schema(name):
    with open(os.path.join(ROOT, "schemas", name)) as f:
        return json.load(f)


report_schema, event_schema = load_schema("run-report.schema.json"), load_schema("timeline-event.schema.json")
jsonschema.Draft202012Validator.check_schema(report_schema)
jsonschema.Draft202012Validator.check_schema(event_schema)
try:  # jsonschema >= 4.18
    from referencing import Registry, Resource
    reg = Registry().with_resource(event_schema["$id"], Resource.from_contents(event_schema))
    report_validator = jsonschema.Draft202012Validator(report_schema, registry=reg)
except ImportError:  # Debian 12's 4.10
    resolver = jsonschema.RefResolver.from_schema(report_schema, store={event_schema["$id"]: event_schema})
    report_validator = jsonschema.Draft202012Validator(report_schema, resolver=resolver)
event_validator = jsonschema.Draft202012Validator(event_schema)


def schema_errors(validator, doc):
    return [f"{'/'.join(map(str, e.path))}: {e.message}" for e in validator.iter_errors(doc)]


with Workdir() as wd:
    # The golden JSON (a recorded, fixed-clock timeline) validates.
    golden = json.load(open(os.path.join(ROOT, "tests", "report", "golden", "report.json")))
    eq(schema_errors(report_validator, golden), [], "golden JSON validates against run-report.schema.json")
    # The golden JUnit parses, with one testcase per executed step plus RTO.
    tree = ET.parse(os.path.join(ROOT, "tests", "report", "golden", "report.junit.xml"))
    suite = tree.getroot().find("testsuite")
    cases = suite.findall("testcase")
    eq(len(cases), len(golden["steps"]) + 1, "golden JUnit: a testcase per step + RTO")
    eq(int(suite.get("tests")), len(cases), "golden JUnit: tests count")
    eq(int(suite.get("failures")), sum(1 for c in cases if c.find("failure") is not None), "golden JUnit: failures count")
    eq(cases[-1].get("name"), "RTO", "golden JUnit: the RTO testcase")
    check(cases[-1].find("failure") is not None, "golden JUnit: RTO missed -> failure")

    # A real run with a secret canary, notes, a failing gate and an approval.
    wd.file("book.yaml", """
runbook: export
title: Export test
objectives: { rto: 1h, rpo: 5m }
inputs:
  token: { secret: true }
steps:
  use-secret:
    title: Use the secret
    shell: echo "token is $T" && echo "$T" >&2
    env: { T: "${{ inputs.token }}" }
    outputs: { said: result.stdout }
    record: { rpo: 30 }
    next: ask
  ask:
    approval: { prompt: "Proceed with ${{ inputs.token }}?" }
    next: gate
  gate:
    shell: "true"
    env: { T: "${{ inputs.token }}" }
    verify:
      - name: token check
        shell: echo "$T" && exit 1
    continue_on_failure: true
    next: done
  done: { end: recovered }
""")
    r = run_runbook(wd, "book.yaml", "--input", f"token={CANARY}", "--answer", "ask=yes@bob")
    eq(r.code, 0, f"export run: exit code {r.proc.err}")
    for e in r.events:
        errs = schema_errors(event_validator, e)
        check(not errs, f"event {e['seq']} ({e['type']}) validates: {errs}")
    rbtest.run(["--store", wd.store, "note", r.run_id, "the token check gate is wrong", "--tag", "root-cause"],
               cwd=wd.path)
    outputs = {}
    for fmt_ in ("markdown", "json", "html", "junit"):
        path = os.path.join(wd.path, f"report.{fmt_}")
        p = rbtest.run(["--store", wd.store, "export", r.run_id, "--format", fmt_, "-o", path], cwd=wd.path)
        eq(p.returncode, 0, f"export {fmt_}: exit code {p.err}")
        eq(oct(stat.S_IMODE(os.stat(path).st_mode)), oct(0o600), f"export {fmt_}: written 0600")
        outputs[fmt_] = open(path).read()
        check(CANARY not in outputs[fmt_], f"export {fmt_}: the secret canary is absent")
        check(CANARY not in p.out + p.err, f"export {fmt_}: canary absent from the terminal")
    doc = json.loads(outputs["json"])
    eq(schema_errors(report_validator, doc), [], "real run JSON validates")
    eq(doc["inputs"]["token"], "***", "JSON: secret input masked")
    eq(doc["rpo"]["measured_s"], 30, "JSON: RPO measured")
    eq(doc["rto"]["met"], True, "JSON: RTO met")
    eq([s["id"] for s in doc["steps"]], ["use-secret", "ask", "gate"], "JSON: per-step summary")
    eq(doc["steps"][1]["approved_by"], "bob", "JSON: who approved")
    junit = ET.fromstring(outputs["junit"])
    suite = junit.find("testsuite")
    eq(len(suite.findall("testcase")), 4, "JUnit: 3 steps + RTO")
    eq(int(suite.get("failures")), 1, "JUnit: the failed gate")
    md = outputs["markdown"]
    for section in ("**Incident ID:**", "## Summary", "## Timeline", "## Impact", "## Root Cause", "## Resolution",
                    "## Prevention", "## Lessons Learned", "## Appendix", "- [ ] "):
        check(section in md, f"markdown has {section!r}")
    check("approved by bob" in md, "markdown: approval with who")
    check("the token check gate is wrong" in md, "markdown: the root-cause note")

    # A live run exports and says it is ongoing.
    wd.file("live.yaml", """
runbook: live
title: Live
objectives: { rto: 1h }
steps:
  first: { shell: "true", next: long }
  long: { shell: sleep 5, next: done }
  done: { end: recovered }
""")
    p = subprocess.Popen([rbtest.BIN, "--json", "--store", wd.store, "run", "live.yaml"], cwd=wd.path,
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    first = json.loads(p.stdout.readline())
    eq(first["type"], "run.started", "--json: the first line is the run.started event")
    rid = first["data"]["run"]
    time.sleep(0.8)
    live_md = rbtest.run(["--store", wd.store, "export", rid, "--format", "markdown"], cwd=wd.path).out
    live_json = json.loads(rbtest.run(["--store", wd.store, "export", rid, "--format", "json"], cwd=wd.path).out)
    p.kill()
    p.wait()
    check("**Status:** Ongoing" in live_md and "is **ongoing**" in live_md, "live export: markdown says ongoing")
    eq((live_json["run"]["ongoing"], live_json["run"]["status"]), (True, "running"), "live export: JSON says ongoing")
    eq(schema_errors(report_validator, live_json), [], "live export: JSON validates")
    eq([s["result"] for s in live_json["steps"]], ["succeeded", "running"], "live export: the running step")
done()
