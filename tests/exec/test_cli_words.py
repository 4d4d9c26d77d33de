#!/usr/bin/python3
"""What a new on-call engineer types wrong, and what the tool answers: every error names
the next step. An unknown command (at the top, or under drill/k8s/token) is exit 2 with a
did-you-mean and the commands there are — CLI11 said only "A subcommand is required" —
and runs nothing; a group without its command names its commands; `runbook help
[COMMAND]` is `--help`; a run id the store does not hold points at `runs`; an unknown
`--input` lists the declared ones; a token name taken says how to free it; a drills file
given to `validate` says which command checks it."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
import rbtest  # noqa: E402
from rbtest import check, eq  # noqa: E402

RUNBOOK = """runbook: words
title: Words
inputs:
  who: { default: world }
  where: { default: here }
steps:
  hello:
    shell: echo "hi $WHO"
    env: { WHO: "${{ inputs.who }}" }
    next: done
  done:
    end: recovered
"""

with rbtest.Workdir() as wd:
    rb = wd.file("words.yaml", RUNBOOK)
    S = ["--store", wd.store]

    # Unknown commands, at every level, with the global options before them: exit 2, a
    # did-you-mean, the list, nothing created.
    for args, word, mean, listed in [
        (["valdate", rb], "valdate", "validate", "validate, plan, run"),
        (S + ["--json", "stauts", "R1"], "stauts", "status", "status"),
        (["drill", "--drills", "x.yaml", "lst"], "lst", "list", "list, due, run, history, install"),
        (["token", "creat", "bob"], "creat", "create", "create, list, revoke"),
        (["k8s", "srve"], "srve", "serve", "serve, drills"),
    ]:
        p = rbtest.run(args, cwd=wd.path)
        eq(p.returncode, 2, f"{args}: exit code")
        check(f"unknown command '{word}' (did you mean '{mean}'?)" in p.err, f"{args}: names the word: {p.err}")
        check(listed in p.err and "--help" in p.err, f"{args}: lists the commands: {p.err}")
        check("A subcommand is required" not in p.err, f"{args}: not CLI11's words: {p.err}")
        eq(p.out, "", f"{args}: nothing on stdout")
    check(not os.path.exists(wd.store), "no store created by a mistyped command")
    p = rbtest.run(["frobnicate"], cwd=wd.path)
    check("unknown command 'frobnicate';" in p.err, f"no did-you-mean when nothing is close: {p.err}")
    check("__man" not in p.err, f"the build's own command is not offered: {p.err}")

    # A group without its command, and runbook alone: exit 2, the commands named.
    p = rbtest.run(["drill", "--drills", "x.yaml"], cwd=wd.path)
    eq(p.returncode, 2, "drill alone: exit code")
    check("runbook drill needs a command: list, due, run, history, install" in p.err, f"drill alone: {p.err}")
    p = rbtest.run([], cwd=wd.path)
    eq(p.returncode, 2, "runbook alone: exit code")
    check("runbook needs a command: validate," in p.err, f"runbook alone: {p.err}")

    # help [COMMAND…] is --help.
    for args, want in [(["help"], "Subcommands:"), (["help", "run"], "Usage: runbook run"),
                       (["help", "drill", "install"], "Usage: runbook drill install")]:
        p = rbtest.run(args, cwd=wd.path)
        eq(p.returncode, 0, f"{args}: exit code")
        check(want in p.out, f"{args}: prints the help: {p.out[:200]}")

    # Commands that are right still parse as before: options with values before and after.
    p = rbtest.run(["--store", wd.store, "--json", "run", rb, "--input", "who=bob"], cwd=wd.path)
    eq(p.returncode, 0, f"a run with options around the command: {p.err}")
    p = rbtest.run(["drill", "list", "--drills", "x.yaml"], cwd=wd.path)
    eq(p.returncode, 2, "drill list with a missing drills file: exit code")
    check("no drills file" in p.err, f"drill list reaches the command: {p.err}")
    p = rbtest.run(["completion", "tcsh"], cwd=wd.path)
    eq(p.returncode, 2, "a leaf's bad argument is still CLI11's to report")

    # A run id the store does not hold: where to look next.
    for cmd in (["status"], ["timeline"], ["export"], ["resume"], ["abort"], ["note", "R-nope-x"]):
        args = S + [cmd[0], "R-nope"] + cmd[1:]
        p = rbtest.run(args, cwd=wd.path)
        eq(p.returncode, 2, f"{cmd[0]} of an unknown run: exit code")
        check("no run 'R-nope'" in p.err and f"`runbook --store '{wd.store}' runs` lists the runs" in p.err,
              f"{cmd[0]}: names the runs command with the store: {p.err}")
    p = rbtest.run(S + ["approve", "R-nope", "hello", "yes"], cwd=wd.path)
    check("lists the runs" in p.err, f"approve of an unknown run: {p.err}")

    # An unknown --input: a did-you-mean when one is close, else the declared inputs.
    p = rbtest.run(S + ["run", rb, "--input", "nope=1"], cwd=wd.path)
    eq(p.returncode, 2, "unknown input: exit code")
    check("unknown input 'nope' (the runbook declares who, where)" in p.err, f"lists the inputs: {p.err}")
    p = rbtest.run(S + ["run", rb, "--input", "wha=1"], cwd=wd.path)
    check("unknown input 'wha' (did you mean" in p.err, f"did-you-mean: {p.err}")

    # A token name that is taken: how to free it.
    p = rbtest.run(S + ["token", "create", "bob", "--role", "viewer"], cwd=wd.path)
    eq(p.returncode, 0, f"token create: {p.err}")
    p = rbtest.run(S + ["token", "create", "bob", "--role", "viewer"], cwd=wd.path)
    eq(p.returncode, 2, "token name taken: exit code")
    check("`runbook token revoke bob`" in p.err, f"says how to free the name: {p.err}")

    # validate of a drills file and of a triggers file: one error, the command that reads it.
    drills = wd.file("drills.yaml", "drills:\n  - name: a\n    runbook: words.yaml\n    schedule: '0 3 * * *'\n")
    p = rbtest.run(["validate", drills], cwd=wd.path)
    eq(p.returncode, 2, "validate of a drills file: exit code")
    eq(len(p.err.splitlines()), 1, f"one error: {p.err}")
    check(f"runbook drill list --drills '{drills}'" in p.err, f"names the command: {p.err}")
    p = rbtest.run(["drill", "list", "--drills", drills], cwd=wd.path)
    eq(p.returncode, 0, f"and that command reads it: {p.err}")

    # A mistyped --store: the commands that read runs say there is no store there, exit 2,
    # and create nothing; `runs` lists nothing without creating it either.
    typo = os.path.join(wd.path, "typo", "runbok.db")
    for args in (["status", "R1"], ["timeline", "R1"], ["export", "R1"], ["resume", "R1"], ["abort", "R1"],
                 ["approve", "R1", "step", "yes"], ["note", "R1", "x"]):
        p = rbtest.run(["--store", typo] + args, cwd=wd.path)
        eq(p.returncode, 2, f"{args[0]} on a store that does not exist: exit 2 ({p.err.strip()[:200]})")
        check("no store at" in p.err and typo in p.err, f"{args[0]}: names the missing store ({p.err.strip()[:200]})")
    p = rbtest.run(["--store", typo, "runs"], cwd=wd.path)
    check(p.returncode == 0 and "no runs" in p.out, f"runs on a store that does not exist: none ({p.out} {p.err})")
    check(not os.path.exists(os.path.dirname(typo)), "nothing was created at the mistyped path")

rbtest.done()
