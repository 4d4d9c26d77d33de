#!/usr/bin/python3
"""schemas/runbook.schema.json (JSON Schema 2020-12) against the real validator
(python3-jsonschema): every runbook in runbooks/ and examples/ validates, and every
structurally bad case in tests/schema/bad/ is rejected by the schema AND by
`runbook validate` (exit 2)."""
import glob
import json
import os
import sys

import jsonschema
import yaml

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
import rbtest  # noqa: E402

ROOT = rbtest.ROOT
with open(os.path.join(ROOT, "schemas", "runbook.schema.json")) as f:
    schema = json.load(f)
jsonschema.Draft202012Validator.check_schema(schema)
validator = jsonschema.Draft202012Validator(schema)


def load(path):
    with open(path) as f:
        return yaml.safe_load(f)


good = sorted(glob.glob(os.path.join(ROOT, "runbooks", "*.yaml")) +
              glob.glob(os.path.join(ROOT, "examples", "**", "*.yaml"), recursive=True) +
              glob.glob(os.path.join(ROOT, "tests", "cases", "valid", "*.yaml")))
count = 0
for path in good:
    doc = load(path)
    if not isinstance(doc, dict) or "runbook" not in doc:
        continue  # drills files, inputs files
    count += 1
    errors = [f"{'/'.join(map(str, e.path))}: {e.message}" for e in validator.iter_errors(doc)]
    rbtest.eq(errors, [], f"schema accepts {os.path.relpath(path, ROOT)}")
    p = rbtest.run(["validate", path])
    rbtest.eq(p.returncode, 0, f"runbook validate accepts {os.path.relpath(path, ROOT)} ({p.err.strip()})")
rbtest.check(count >= 1, f"found runbooks to validate ({count})")

for path in sorted(glob.glob(os.path.join(os.path.dirname(os.path.abspath(__file__)), "bad", "*.yaml"))):
    name = os.path.basename(path)
    errors = list(validator.iter_errors(load(path)))
    rbtest.check(len(errors) > 0, f"schema rejects {name}")
    p = rbtest.run(["validate", path])
    rbtest.eq(p.returncode, 2, f"runbook validate rejects {name}")
    rbtest.check(name in p.err and ":" in p.err, f"{name}: error names the file ({p.err.strip()})")
rbtest.done()
