#!/usr/bin/python3
"""schemas/runbook.schema.json (JSON Schema 2020-12) against the real validator
(python3-jsonschema): every runbook in runbooks/, examples/, tests/cases/valid/ and
tests/schema/good/ validates, and every structurally bad case in tests/schema/bad/ is
rejected by the schema AND by `runbook validate` (exit 2). The generated key rules
(key_rules.py) are those of the parser's key lists today, and on thousands of candidate
keys the schema rejects no key `runbook validate` accepts and catches every one-edit
typo it rejects."""
import glob
import json
import os
import re
import sys

import jsonschema
import yaml

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import key_rules  # noqa: E402
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
              glob.glob(os.path.join(ROOT, "tests", "cases", "valid", "*.yaml")) +
              glob.glob(os.path.join(ROOT, "tests", "schema", "good", "*.yaml")))
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

# The generated rules match the parser's key lists (tests/schema/key_rules.py --write).
generated = key_rules.generate()
for name, rule in generated.items():
    rbtest.check(schema["$defs"].get(name) == rule,
                 f"$defs/{name} is what key_rules.py generates from the parser (run tests/schema/key_rules.py --write)")


def differential(context, known):
    """Candidate keys in a step (or a check): the schema's verdict against validate's."""
    cands = set()
    for k in known:
        for p in key_rules.near_typos(k):
            cands.update(p.replace(".", c) for c in "aex_")
        cands.add(k[::-1])
        cands.add(k + "s2")
        cands.add(k[1:-1])
    cands = sorted(c for c in cands if re.fullmatch("[a-z][a-z0-9_-]*", c) and c not in known)
    lines = ["runbook: keys", "title: keys", "steps:"]
    for i, c in enumerate(cands):
        if context == "step":
            lines += [f"  s{i}:", f"    {c}: {{}}"]
        else:
            lines += [f"  s{i}:", "    shell: 'true'", "    verify:", f"      - {c}: {{}}"]
    wd = rbtest.Workdir()
    p = rbtest.run(["validate", wd.file(f"{context}.yaml", "\n".join(lines) + "\n")])
    rejected = {c for c in cands if f"unknown key '{c}'" in p.err}
    key_schema = jsonschema.Draft202012Validator({"$ref": f"#/$defs/{context}Key", "$defs": schema["$defs"]})
    flagged = {c for c in cands if not key_schema.is_valid(c)}
    wrongly = sorted(flagged - rejected)
    rbtest.eq(wrongly, [], f"{context} keys the schema rejects but runbook validate accepts")
    one_edit = {c for c in cands if any(re.fullmatch(key_rules.trie_regex(key_rules.near_typos(k)), c) for k in known)}
    missed = sorted((rejected & one_edit) - flagged)
    rbtest.eq(missed, [], f"{context} keys one edit from a known key that validate rejects and the schema misses")
    print(f"{context} keys: {len(cands)} candidates, validate rejects {len(rejected)}, the schema {len(flagged)} "
          f"(misses {len(rejected - flagged)} typos two or three edits away)")


step_keys, builtins, check_keys = key_rules.parser_keys()
differential("step", step_keys + builtins)
differential("check", check_keys + builtins)
rbtest.done()
