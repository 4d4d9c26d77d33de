#!/usr/bin/python3
"""Every reject case of the loader and the validator: `runbook validate CASE` must exit 2
(0 for warning-only cases) and print exactly the lines of expected.txt for that file:
FILE:LINE:COL: message. Binary cases (size, UTF-8, NUL) are generated here."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
import rbtest  # noqa: E402

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "validate")

expected = {}
with open(os.path.join(HERE, "expected.txt")) as f:
    for line in f:
        line = line.rstrip("\n")
        if line:
            expected.setdefault(line.split(":", 1)[0], []).append(line)

for name in sorted(os.listdir(HERE)):
    if not name.endswith(".yaml"):
        continue
    p = rbtest.run(["validate", name], cwd=HERE)
    want = expected.get(name, [])
    got = [l for l in p.err.splitlines() if l]
    rbtest.eq(got, want, f"{name}: diagnostics")
    only_warnings = all(": warning: " in l for l in want)
    rbtest.eq(p.returncode, 0 if only_warnings else 2, f"{name}: exit code")
    rbtest.check("Sanitizer" not in p.err and "runtime error" not in p.err, f"{name}: sanitizer report")

# Valid runbooks (the contract's own example, every key of the format) validate.
VALID = os.path.join(os.path.dirname(os.path.abspath(__file__)), "valid")
for name in sorted(os.listdir(VALID)):
    p = rbtest.run(["validate", name], cwd=VALID)
    rbtest.eq(p.returncode, 0, f"valid/{name}: exit code ({p.err.strip()})")
    rbtest.check(": warning:" not in p.err or "plugin" in p.err, f"valid/{name}: no unexpected warning ({p.err.strip()})")

# Generated cases: bytes that cannot live in a checked-in YAML case.
with rbtest.Workdir() as wd:
    head = "runbook: gen\ntitle: Generated\nsteps:\n  a:\n    shell: \"true\"\n"
    cases = {
        "invalid-utf8.yaml": (head.encode() + b"    title: caf\xc3\x28\n", ["invalid-utf8.yaml:6:15: invalid UTF-8 sequence"]),
        "nul-byte.yaml": (head.encode() + b"    title: a\x00b\n", ["nul-byte.yaml:6:13: NUL byte in file (runbooks are UTF-8 text)"]),
        "too-large.yaml": (head.encode() + b"#" * (9 << 20) + b"\n",
                           [f"too-large.yaml:1:1: file is {len(head) + (9 << 20) + 1} bytes, over the 8388608 byte limit"]),
        "truncated-utf8.yaml": (head.encode() + b"    title: \xe2\x82", ["truncated-utf8.yaml:6:12: truncated UTF-8 sequence"]),
    }
    for name, (data, want) in cases.items():
        with open(os.path.join(wd.path, name), "wb") as f:
            f.write(data)
        p = rbtest.run(["validate", name], cwd=wd.path)
        rbtest.eq([l for l in p.err.splitlines() if l], want, f"{name}: diagnostics")
        rbtest.eq(p.returncode, 2, f"{name}: exit code")
    # A missing file is an error too, with its name.
    p = rbtest.run(["validate", "no-such-file.yaml"], cwd=wd.path)
    rbtest.eq(p.returncode, 2, "missing file: exit code")
    rbtest.check("no-such-file.yaml" in p.err and "cannot open" in p.err, f"missing file: message ({p.err.strip()})")
rbtest.done()
