"""Hostile or unlucky paths on the v2 surfaces (probe-c): what `drill install` writes for
paths holding the characters crontab and systemd read as structure ('%', '$', quotes,
backslashes, line breaks), and with cron's umask 022 the drill's log stays private."""
import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import rbtest  # noqa: E402
from rbtest import Workdir, check, done, eq, run  # noqa: E402

BOOK = "runbook: quick\ntitle: Quick\nsteps:\n  done:\n    end: recovered\n"


def systemd_words(line):
    """ExecStart= as systemd splits it (double quotes with C escapes, '%%' and '$$')."""
    words, i = [], 0
    while i < len(line):
        if line[i] == " ":
            i += 1
            continue
        w = ""
        if line[i] == '"':
            i += 1
            while line[i] != '"':
                if line[i] == "\\":
                    i += 1
                w += line[i]
                i += 1
            i += 1
        else:
            while i < len(line) and line[i] != " ":
                w += line[i]
                i += 1
        check("%" not in w.replace("%%", "") and "$" not in w.replace("$$", ""),
              f"no lone '%' (specifier) or '$' (variable) in {w!r}")
        words.append(w.replace("%%", "%").replace("$$", "$"))
    return words


def cron_command(line):
    """What cron runs for a crontab line: the command after 5 fields, up to the first
    unescaped '%' (the rest is stdin), with '\\%' turned into '%'."""
    cmd = line.split(" ", 5)[5]
    out, i = "", 0
    while i < len(cmd):
        if cmd[i] == "\\" and i + 1 < len(cmd) and cmd[i + 1] == "%":
            out += "%"
            i += 2
            continue
        if cmd[i] == "%":
            break
        out += cmd[i]
        i += 1
    return out


def drill_install(wd):
    d = os.path.join(wd.path, "we ird%d $(id) 'q' \\b")
    os.makedirs(d)
    with open(os.path.join(d, "q%c.yaml"), "w") as f:
        f.write(BOOK)
    drills = os.path.join(d, "d%x$HOME.yaml")
    with open(drills, "w") as f:
        f.write("drills:\n  - name: quick\n    runbook: q%c.yaml\n    schedule: \"0 3 * * 1\"\n")

    p = run(["drill", "install", "--cron", "--drills", drills], cwd=d)
    eq(p.returncode, 0, f"install --cron: {p.err}")
    line = [l for l in p.out.splitlines() if l and not l.startswith(("#", "CRON_TZ="))][0]
    cmd = cron_command(line)
    check(cmd.endswith(".runbook/drill-quick.log 2>&1"), f"cron runs the whole command, not a '%'-cut part: {cmd!r}")
    r = subprocess.run(["/bin/sh", "-c", "umask 022; " + cmd], capture_output=True, text=True, timeout=60)
    eq(r.returncode, 0, f"the crontab command runs as cron would: {r.stderr}")
    log = open(os.path.join(d, ".runbook", "drill-quick.log")).read()
    check("recovered" in log or "passed" in log, f"the drill ran from its odd directory: {log[-400:]}")
    # cron's umask is 022: the drill's log (step output, inputs) and its folder stay private
    eq(oct(os.stat(os.path.join(d, ".runbook")).st_mode & 0o777), "0o700", "cron: .runbook is 0700")
    eq(oct(os.stat(os.path.join(d, ".runbook", "drill-quick.log")).st_mode & 0o777), "0o600", "cron: the drill log is 0600")

    units = os.path.join(wd.path, "units")
    p = run(["drill", "install", "--systemd", "--drills", drills, "--dir", units], cwd=d)
    eq(p.returncode, 0, f"install --systemd: {p.err}")
    svc = open(os.path.join(units, "runbook-drill-quick.service")).read()
    exec_line = re.search(r"^ExecStart=(.*)$", svc, re.M).group(1)
    eq(systemd_words(exec_line), [os.path.realpath(rbtest.BIN), "drill", "run", "quick", "--drills", drills],
       "ExecStart's words are the command, as systemd splits them")
    check(re.search(r"^UMask=0077$", svc, re.M) is not None, "systemd: the service runs with UMask=0077")
    wdir = re.search(r"^WorkingDirectory=(.*)$", svc, re.M).group(1)
    eq(wdir.replace("%%", "%"), d, "WorkingDirectory is the directory, '%' doubled")
    check("%" not in wdir.replace("%%", ""), f"no specifier in WorkingDirectory: {wdir!r}")
    if shutil.which("systemd-analyze"):
        v = subprocess.run(["systemd-analyze", "verify", "--man=no", os.path.join(units, "runbook-drill-quick.service")],
                           capture_output=True, text=True, timeout=60)
        check("specifier" not in v.stderr and "fatal" not in v.stderr and "bad unit file" not in v.stderr,
              f"systemd-analyze verify reads the unit: {v.stderr}")

    nl = os.path.join(wd.path, "line\n0 * * * * touch pwned #")
    os.makedirs(nl)
    with open(os.path.join(nl, "q.yaml"), "w") as f:
        f.write(BOOK)
    with open(os.path.join(nl, "drills.yaml"), "w") as f:
        f.write("drills:\n  - name: quick\n    runbook: q.yaml\n    schedule: \"0 3 * * 1\"\n")
    for target in ("--cron", "--systemd"):
        p = run(["drill", "install", target, "--drills", "drills.yaml"], cwd=nl)
        eq(p.returncode, 2, f"{target}: a line break in a path is refused")
        check("touch pwned" not in p.out.replace("\\x0a", ""), f"{target}: nothing written: {p.out!r}")
        check("control character" in p.err, f"{target}: says why: {p.err}")


with Workdir() as wd:
    drill_install(wd)
done()
