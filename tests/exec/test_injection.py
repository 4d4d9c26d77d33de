#!/usr/bin/python3
"""Interpolation is safe in every context of a shell command (contract section 1, v2): a
`${{ }}` the top-level shell reads as one word is passed through the environment, unquoted
values are never split or globbed, and every place where the value would be parsed as code
again (single quotes, comments, heredocs, $( ), backquotes, sh -c, eval, ssh, su -c,
sudo sh -c, xargs sh -c, kubectl exec … sh -c, argv lists, output piped into sh or psql,
`stdin:` of sh) is refused by `validate` at the
`${{`'s FILE:LINE:COL — nothing runs, no canary file is ever created."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
import rbtest  # noqa: E402
from rbtest import Workdir, check, done, eq, run_runbook  # noqa: E402

EVIL = ["$(touch pwned)", "`touch pwned`", "'; touch pwned #", "\"; touch pwned; echo \"", "a\ntouch pwned",
        "x' ; touch pwned ; echo '"]


def book(step_yaml, inputs="  x: {}\n  f: {}\n"):
    return f"runbook: probe\ntitle: Probe\ninputs:\n{inputs}steps:\n{step_yaml}  done: {{ end: recovered }}\n"


def pos_of(text, nth=0):
    """LINE:COL of the nth `${{` of a file's text (1-based, as the engine reports)."""
    at = -1
    for _ in range(nth + 1):
        at = text.index("${{", at + 1)
    line = text.count("\n", 0, at) + 1
    col = at - (text.rfind("\n", 0, at) + 1) + 1
    return f"{line}:{col}"


REFUSED = {
    "sh -c single quotes": "    shell: sh -c 'echo ${{ inputs.x }}'\n    next: done\n",
    "sh -c double quotes": "    shell: sh -c \"echo ${{ inputs.x }}\"\n    next: done\n",
    "bash -lc": "    shell: bash -lc \"echo ${{ inputs.x }}\"\n    next: done\n",
    "backquotes": "    shell: echo `echo ${{ inputs.x }}`\n    next: done\n",
    "printf nesting": "    shell: echo \"$(printf '%s|' ${{ inputs.x }})\"\n    next: done\n",
    "comment": "    shell: \"true # ${{ inputs.x }}\"\n    next: done\n",
    "eval": "    shell: eval \"echo ${{ inputs.x }}\"\n    next: done\n",
    "ssh host cmd": "    shell: ssh -o BatchMode=yes host \"ls ${{ inputs.x }}\"\n    next: done\n",
    "su -c": "    shell: su - app -c \"echo ${{ inputs.x }}\"\n    next: done\n",
    "sudo sh -c": "    shell: sudo -n sh -c \"echo ${{ inputs.x }}\"\n    next: done\n",
    "xargs sh -c": "    shell: echo a | xargs -I{} sh -c \"echo {} ${{ inputs.x }}\"\n    next: done\n",
    "exec sh -c": "    shell: kubectl exec -it pod -- sh -c \"echo ${{ inputs.x }}\"\n    next: done\n",
    "arithmetic": "    shell: echo $(( ${{ inputs.x }} + 1 ))\n    next: done\n",
    "pipe into sh": "    shell: echo \"${{ inputs.x }}\" | sh\n    next: done\n",
    "pipe into psql": "    shell: printf '%s' \"${{ inputs.x }}\" | psql \"$DB\"\n    next: done\n",
    "stdin into sh": "    shell: { command: sh, stdin: \"echo ${{ inputs.x }}\" }\n    next: done\n",
    "argv sh -c": "    shell: { command: [sh, -c, \"echo ${{ inputs.x }}\"] }\n    next: done\n",
    "heredoc (block scalar)": "    shell: |\n      cat <<EOF > out.txt\n      value:   ${{ inputs.x }}\n      EOF\n    next: done\n",
    "single quotes after a quoted comment": ("    shell: |\n      # the \"primary\" is down\n"
                                             "      echo 'it is ${{ inputs.x }}'\n    next: done\n"),
    "rollback sh -c": ("    shell: \"true\"\n    rollback:\n      shell: sh -c \"rm -rf ${{ inputs.x }}\"\n"
                       "    next: done\n"),
    "verify check in $( )": ("    shell: \"true\"\n    verify:\n      - shell: test \"$(cat ${{ inputs.f }})\" = ok\n"
                             "    next: done\n"),
}

with Workdir() as wd:
    for name, step in REFUSED.items():
        text = book("  probe:\n" + step)
        path = wd.file(f"refused-{len(os.listdir(wd.path))}.yaml", text)
        p = rbtest.run(["validate", path], cwd=wd.path)
        eq(p.returncode, 2, f"{name}: validate exit code ({p.err.strip()[:300]})")
        want = f"{path}:{pos_of(text)}: "
        check(want in p.err, f"{name}: the error is at the ${{{{'s FILE:LINE:COL {want!r}: {p.err.strip()[:300]!r}")
        check("env:" in p.err and "read it as \"$" in p.err, f"{name}: the message gives the fix (env: and \"$NAME\"): {p.err[:300]!r}")
        for evil in EVIL[:2]:
            r = run_runbook(wd, path, "--input", f"x={evil}", "--input", "f=/etc/hostname")
            eq(r.code, 2, f"{name}: run refuses ({evil!r})")
            eq(r.events, [], f"{name}: nothing journaled or started")
        check(not os.path.exists(os.path.join(wd.path, "pwned")), f"{name}: no canary file")

    # Where the top-level shell reads one word, values run as data: no canary, literal output.
    wd.file("data.yaml", book("""  unquoted:
    shell: printf '%s' ${{ inputs.x }}
    outputs: { out: result.stdout }
    next: quoted
  quoted:
    shell: printf '%s' "<${{ inputs.x }}>"
    outputs: { out: result.stdout }
    next: positional
  positional:
    shell: sh -c 'printf "%s" "$1"' sh ${{ inputs.x }}
    outputs: { out: result.stdout }
    next: glob
  glob:
    shell: |
      # the "primary" is down: don't let a quote in a comment change anything
      printf '[%s]' ${{ inputs.f }}
      cat <<'EOF'
      a heredoc's body is text
      EOF
    outputs: { out: result.stdout }
    next: argv
  argv:
    shell: { command: [sh, -c, 'printf "%s" "$1"', sh, "${{ inputs.x }}"] }
    outputs: { out: result.stdout }
    next: done
"""))
    for evil in EVIL:
        r = run_runbook(wd, "data.yaml", "--input", f"x={evil}", "--input", "f=/etc/host*")
        eq(r.code, 0, f"data {evil!r}: exit code\n{r.dump()[-1500:]}")
        outs = {e["step"]: e["data"]["outputs"].get("out") for e in r.of("step.succeeded")}
        eq(outs.get("unquoted"), evil, f"data {evil!r}: unquoted stays one literal word")
        eq(outs.get("quoted"), f"<{evil}>", f"data {evil!r}: inside double quotes")
        eq(outs.get("positional"), evil, f"data {evil!r}: a positional parameter of sh -c is data")
        eq(outs.get("argv"), evil, f"data {evil!r}: argv positional parameter")
        eq(outs.get("glob"), "[/etc/host*]a heredoc's body is text\n",
           f"data {evil!r}: unquoted /etc/host* after a comment holding a quote: not split, not globbed")
        check(not os.path.exists(os.path.join(wd.path, "pwned")), f"data {evil!r}: no canary file")

    # The shipped runbooks (the fourteen recoveries of the seeds) still validate.
    books = [os.path.join(rbtest.ROOT, "runbooks", f) for f in sorted(os.listdir(os.path.join(rbtest.ROOT, "runbooks")))]
    p = rbtest.run(["validate"] + books)
    eq(p.returncode, 0, f"the shipped runbooks validate: {p.err[:500]}")
    eq(len(books), 14, "fourteen runbooks")
done()
