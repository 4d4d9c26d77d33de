#!/usr/bin/python3
"""Hostile files and inputs: an input holding a NUL byte (inputs file, default) is exit 2,
never silently cut; `validate`, `run` and `--inputs` refuse anything but a regular file
(a FIFO with no writer must not block, a directory, a device) with exit 2 at once."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
import rbtest  # noqa: E402
from rbtest import Workdir, check, done, eq, run_runbook  # noqa: E402

with Workdir() as wd:
    wd.file("echo.yaml", "runbook: echo\ntitle: Echo\ninputs:\n  x: {}\nsteps:\n  say:\n    shell: printf %s ${{ inputs.x }} > said.txt\n"
                         "    next: done\n  done: { end: recovered }\n")
    path = wd.file("inputs.yaml", "x: \"before\\0after\"\n")
    r = run_runbook(wd, "echo.yaml", "--inputs", path)
    eq(r.code, 2, f"an input with NUL from --inputs: exit 2 ({r.proc.err.strip()})")
    check(f"{path}:1:5: input 'x' holds a NUL byte" in r.proc.err, f"at its FILE:LINE:COL: {r.proc.err!r}")
    check(not os.path.exists(os.path.join(wd.path, "said.txt")), "nothing ran")
    eq(r.events, [], "nothing journaled")
    wd.file("default.yaml", "runbook: d\ntitle: D\ninputs:\n  x: { default: \"a\\0b\" }\nsteps:\n  say:\n"
                            "    shell: printf %s ${{ inputs.x }} > said.txt\n    next: done\n  done: { end: recovered }\n")
    r = run_runbook(wd, "default.yaml")
    eq(r.code, 2, f"a default with NUL: exit 2 ({r.proc.err.strip()})")
    check("holds a NUL byte" in r.proc.err, "says why")
    check(not os.path.exists(os.path.join(wd.path, "said.txt")), "nothing ran")

    fifo = os.path.join(wd.path, "book.fifo")
    os.mkfifo(fifo)
    os.mkdir(os.path.join(wd.path, "adir"))
    for args in (["validate", fifo], ["validate", "adir"], ["validate", "/dev/zero"], ["plan", fifo],
                 ["--store", wd.store, "run", fifo], ["--store", wd.store, "run", "echo.yaml", "--inputs", fifo]):
        p = rbtest.run(args, cwd=wd.path, timeout=20)
        eq(p.returncode, 2, f"{' '.join(args)}: exit 2 ({p.err.strip()[:200]})")
        check(p.elapsed < 5, f"{' '.join(args)}: answers at once ({p.elapsed:.2f} s)")
        check("not a regular file" in p.err, f"{' '.join(args)}: says why ({p.err.strip()[:200]!r})")
done()
