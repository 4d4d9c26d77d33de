#!/usr/bin/python3
"""Expressions stay bounded whatever they are given: matches() runs through RE2 (linear
time, no recursion), so 1 MB of output against `^a*$`, `^[^#]*$`, `(.|\\n)*timeout` and
`(a+)+$` on a×30! each end in well under a second without a crash; a 100,000-term `&&`
chain, a 1 MB expression and 60,000 nested parentheses get an answer from `validate`
(exit 0 or 2), never a signal; a pattern RE2 cannot compile is a validation error at
its FILE:LINE:COL; output holding JSON nested 300,000 levels deep does not crash the engine."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
import rbtest  # noqa: E402
from rbtest import Workdir, check, done, eq, run_runbook  # noqa: E402

MB = 1 << 20
LOG_LINE = "2026-11-23T12:00:00Z INFO worker-3 processed job 123456 in 15 ms (queue=default)"

with Workdir() as wd:
    wd.file("regex.yaml", f"""
runbook: regex
title: Regexes on big output
inputs:
  s: {{ default: "{'a' * 30}!" }}
defaults:
  timeout: 2s
steps:
  a-star:
    shell: head -c {MB} /dev/zero | tr '\\0' a
    expect: matches(result.stdout, '^a*$') && len(result.stdout) == {MB}
    next: no-hash
  no-hash:
    shell: yes '{LOG_LINE}' | head -c {MB}
    expect: "matches(result.stdout, '^[^#]*$')"
    next: dot-newline
  dot-newline:
    shell: yes '{LOG_LINE}' | head -c {MB}
    expect: "!matches(result.stdout, '(.|\\\\n)*timeout') && matches(result.stdout + 'timeout', '(.|\\\\n)*timeout')"
    next: nested-plus
  nested-plus:
    shell: "true"
    expect: "!matches(inputs.s, '(a+)+$') && matches(inputs.s, '^(a+)+!$')"
    next: done
  done: {{ end: recovered }}
""")
    r = run_runbook(wd, "regex.yaml", timeout=120)
    eq(r.code, 0, f"the regex run recovered (no crash, no timeout)\n{r.dump()[-2000:]}")
    for step in ("a-star", "no-hash", "dot-newline", "nested-plus"):
        ok, began = r.of("step.succeeded", step), r.of("step.started", step)
        check(len(ok) == 1 and began, f"{step}: succeeded")
        if ok and began:
            # From the step's start to its end: the action, the output and the expect.
            ms = round((ok[0]["t"] - began[0]["t"]) * 1000)
            check(ms < 1000, f"{step}: ends in < 1 s (took {ms} ms)")
            print(f"{step}: {ms} ms from step.started to step.succeeded")

    # Output that is JSON nested 300,000 levels deep is kept as text (result.json is not
    # parsed: every walk over a value recurses per level); 200 levels are parsed.
    wd.file("deep-json.yaml", """
runbook: deep-json
title: Deep JSON output
steps:
  deep:
    shell: python3 -c "print('['*300000 + ']'*300000)"
    expect: result.json == null && len(result.stdout) == 600001
    next: shallow
  shallow:
    shell: python3 -c "print('['*200 + '7' + ']'*200)"
    expect: result.json != null
    next: done
  done: { end: recovered }
""")
    r = run_runbook(wd, "deep-json.yaml", timeout=120)
    eq(r.code, 0, f"deeply nested JSON output: no crash, kept as text ({r.proc.err[-500:]})")

    # A pattern from an input that RE2 refuses: a step error, not a crash.
    wd.file("bad-input-regex.yaml", """
runbook: bad-input-regex
title: Pattern from an input
inputs:
  re: {}
steps:
  probe:
    shell: "true"
    expect: matches('abc', inputs.re)
    next: done
  done: { end: recovered }
""")
    r = run_runbook(wd, "bad-input-regex.yaml", "--input", "re=(a")
    eq(r.code, 1, "an invalid pattern from an input fails the run")
    fails = r.of("step.failed", "probe")
    check(fails and "invalid regular expression" in str(fails[0]["data"]), f"the step says why: {fails}")

    # A literal pattern RE2 cannot compile: exit 2 at the pattern's FILE:LINE:COL.
    text = "runbook: x\ntitle: x\nsteps:\n  a:\n    shell: 'true'\n    expect: matches(result.stdout, '(?<=a)b')\n" \
           "    next: b\n  b: { end: recovered }\n"
    path = wd.file("bad-regex.yaml", text)
    p = rbtest.run(["validate", path])
    eq(p.returncode, 2, "an uncompilable literal pattern is invalid")
    col = text.splitlines()[5].index("'(?<=") + 1
    check(f"{path}:6:{col}: invalid regular expression" in p.err, f"the error is at the pattern: {p.err!r}")

    def validate_expect(name, expect):
        path = wd.file(name, "runbook: x\ntitle: x\ninputs:\n  a: { default: x }\nsteps:\n  a:\n    shell: 'true'\n"
                             f"    expect: \"{expect}\"\n    next: b\n  b: {{ end: recovered }}\n")
        return rbtest.run(["validate", path], timeout=60)

    chain = " && ".join(["inputs.a"] * 100_000)
    p = validate_expect("chain.yaml", chain)
    check(p.returncode in (0, 2), f"100,000-term chain: validate answers (exit {p.returncode}, {p.err[:200]!r})")
    print(f"100,000-term chain: validate exit {p.returncode}, {p.elapsed:.2f} s: {p.err.strip()[:120]}")
    p = validate_expect("chain-in-limit.yaml", " && ".join(["inputs.a == 'x'"] * 3000))
    eq(p.returncode, 0, f"a 3,000-term chain within the size limit is valid ({p.err[:200]!r})")
    p = validate_expect("megabyte.yaml", "'" + "a" * MB + "' == inputs.a")
    eq(p.returncode, 2, "a 1 MB expression is refused")
    check("expression is too long" in p.err, f"a 1 MB expression: clear error ({p.err[:200]!r})")
    p = validate_expect("parens.yaml", "(" * 30_000 + "1" + ")" * 30_000)
    eq(p.returncode, 2, "30,000 nested parentheses are refused")
    check("nested too deeply (over 100 levels)" in p.err, f"nesting: clear error ({p.err[:200]!r})")
    p = validate_expect("nots.yaml", "!" * 50_000 + "true")
    check("nested too deeply" in p.err and p.returncode == 2, f"50,000 '!': clear error ({p.err[:200]!r})")
    p = validate_expect("plus.yaml", " + ".join(["1"] * 10_000) + " > 0")
    check(p.returncode == 2 and "nested too deeply" in p.err, f"a 10,000-term sum: clear error ({p.err[:200]!r})")
    p = validate_expect("members.yaml", "inputs" + ".a" * 20_000)
    check(p.returncode == 2 and p.returncode > 0, f"a 20,000-member path: clear error ({p.err[:200]!r})")
    # The same in a template of a shell command (`${{ }}` inside a long string).
    big = "echo " + " ".join(["${{ inputs.a }}"] * 20_000)
    path = wd.file("template.yaml", f"runbook: x\ntitle: x\ninputs:\n  a: {{ default: x }}\nsteps:\n  a:\n"
                                    f"    shell: \"{big}\"\n    next: b\n  b: {{ end: recovered }}\n")
    p = rbtest.run(["validate", path], timeout=60)
    eq(p.returncode, 0, f"a shell command with 20,000 interpolations validates ({p.err[:200]!r})")
    check(p.elapsed < 5, f"... in linear time ({p.elapsed:.2f} s)")
done()
