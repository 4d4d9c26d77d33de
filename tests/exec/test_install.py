#!/usr/bin/python3
"""`cmake --install` of this build into a fresh prefix, used as a user would (contract
section 10): the installed binary runs a runbook through the shipped notify plugin with no
plugin flag and no environment pointing at it; `--version` names the commit; the man pages
render, one per subcommand of `--help`, and list every option `--help` lists (so they
cannot drift); bash, zsh and fish completions complete subcommands, options and values
from the same table."""
import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
import rbtest  # noqa: E402

BUILD = os.path.dirname(rbtest.BIN)


def sh(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, **kw)


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("RUNBOOK_")}
    env.update(extra)
    return env


SMOKE = """runbook: smoke
title: Installed smoke test
steps:
  hello:
    shell: echo installed
    expect: trim(result.stdout) == "installed"
    next: tell
  tell:
    notify: { channel: status-page, message: "from the installed plugin", file: NOTES }
    next: done
  done:
    end: recovered
"""


def installed_runs(prefix, wd):
    exe = os.path.join(prefix, "bin", "runbook")
    notes = os.path.join(wd.path, "notes.log")
    rb = wd.file("smoke.yaml", SMOKE.replace("NOTES", notes))
    p = sh([exe, "--store", wd.store, "run", rb], cwd=wd.path, env=clean_env())
    rbtest.eq(p.returncode, 0, f"installed runbook runs a notify step with no plugin flag ({p.stderr.strip()[-300:]})")
    rbtest.check(os.path.exists(notes) and "from the installed plugin" in open(notes).read(),
                 "the plugin found was the installed libexec/runbook/runbook-plugin-notify")
    p = sh([exe, "run", os.path.join(prefix, "share/runbook/runbooks/security-breach.yaml"), "--dry-run"],
           cwd=wd.path, env=clean_env())
    rbtest.eq(p.returncode, 0, f"dry run of an installed runbook ({p.stderr.strip()[-300:]})")
    p = sh([exe, "--version"], env=clean_env())
    rbtest.check(re.fullmatch(r"runbook \d+\.\d+\.\d+ \(commit [0-9a-zA-Z._+-]+\)\n", p.stdout) is not None,
                 f"--version names the version and the commit: {p.stdout!r}")


def subcommands(exe):
    p = sh([exe, "--help"])
    m = re.search(r"Subcommands:\n(.*)", p.stdout, re.S)
    return re.findall(r"^  (\S+)", m.group(1), re.M) if m else []


def options_of(exe, sub):
    p = sh([exe, sub, "--help"])
    return set(re.findall(r"(?<![\w-])(--[a-z][a-z-]*)", p.stdout))


def man_pages(prefix, exe):
    man1 = os.path.join(prefix, "share/man/man1")
    env = dict(os.environ, MANPAGER="cat", MANWIDTH="100", MAN_KEEP_FORMATTING="0")
    p = sh(["man", "-l", os.path.join(man1, "runbook.1")], env=env)
    text = re.sub(".\b", "", p.stdout)
    rbtest.check(p.returncode == 0 and "RUNBOOK(1)" in text and "EXIT STATUS" in text and "GLOBAL OPTIONS" in text,
                 f"man -l runbook.1 renders ({p.stderr.strip()})")
    subs = subcommands(exe)
    rbtest.check(len(subs) >= 12 and "doctor" in subs and "completion" in subs and "__man" not in subs,
                 f"--help lists the subcommands, not the hidden __man: {subs}")
    for sub in subs:
        page = os.path.join(man1, f"runbook-{sub}.1")
        rbtest.check(os.path.exists(page), f"a page for {sub}")
        if not os.path.exists(page):
            continue
        rbtest.check(f"runbook-{sub}" in text, f"runbook(1) refers to runbook-{sub}(1)")
        p = sh(["man", "-l", page], env=env)
        body = re.sub(".\b", "", p.stdout).replace("\u2010", "-")
        missing = sorted(o for o in options_of(exe, sub) if o not in body)
        rbtest.eq(missing, [], f"runbook-{sub}(1) lists every option of `runbook {sub} --help`")
    p = sh([exe, "__man", "nosuch"])
    rbtest.eq(p.returncode, 2, "__man of an unknown command is a usage error")


BASH_PROBE = """
source "$1"
complete -p runbook
t() { COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]}-1)); COMPREPLY=(); _runbook 2>/dev/null; echo "${COMPREPLY[*]}"; }
t runbook ""
t runbook dr
t runbook drill ""
t runbook --store x.db run --dr
t runbook plan --format m
t runbook run --dry-run = ""
t runbook completion ""
t runbook --store plan ""
"""


def completions(prefix, exe, wd):
    share = os.path.join(prefix, "share")
    bash_file = os.path.join(share, "bash-completion/completions/runbook")
    p = sh(["bash", "-c", 'source <("$0" completion bash); complete -p runbook', exe])
    rbtest.eq(p.stdout.strip(), "complete -F _runbook runbook", "source <(runbook completion bash) registers it")
    with open(bash_file) as f:
        rbtest.eq(f.read(), sh([exe, "completion", "bash"]).stdout, "the installed bash file is what the binary prints")
    probe = wd.file("probe.sh", BASH_PROBE)
    out = sh(["bash", probe, bash_file]).stdout.splitlines()
    rbtest.check(len(out) == 9, f"bash probe ran: {out}")
    if len(out) == 9:
        rbtest.check(out[1].split()[:3] == ["validate", "plan", "run"] and "doctor" in out[1], f"subcommands: {out[1]}")
        rbtest.eq(out[2], "drill", "a prefix completes to its subcommand")
        rbtest.eq(out[3], "list due run history install", "nested subcommands")
        rbtest.eq(sorted(out[4].split()), ["--drill", "--dry-run"], "a subcommand's options, after a global option and its value")
        rbtest.eq(out[5], "mermaid", "an option's fixed values")
        rbtest.eq(out[6], "plain probes", "an optional value after '='")
        rbtest.eq(out[7], "bash zsh fish", "a positional's fixed values")
        rbtest.check("validate" in out[8].split(), "a global option's value is not taken for a subcommand")
    if shutil.which("zsh"):
        zfile = os.path.join(share, "zsh/site-functions/_runbook")
        p = sh(["zsh", "-n", zfile])
        rbtest.check(os.path.exists(zfile) and p.returncode == 0, f"zsh parses _runbook ({p.stderr.strip()})")
        p = sh(["zsh", "-f", "-c", f"autoload -Uz compinit && compinit -u -D && source {zfile} && print $_comps[runbook]"])
        rbtest.eq(p.stdout.strip(), "_runbook", f"zsh registers _runbook for runbook ({p.stderr.strip()})")
    if shutil.which("fish"):
        ffile = os.path.join(share, "fish/vendor_completions.d/runbook.fish")
        script = (f"source {ffile}; complete -C'runbook drill '; echo ---; complete -C'runbook plan --format '; "
                  f"echo ---; complete -C'runbook --store x run --dr'")
        p = sh(["fish", "--no-config", "-c", script])
        parts = [[line.split("\t")[0] for line in block.strip().splitlines()] for block in p.stdout.split("---")]
        rbtest.check(len(parts) == 3, f"fish completions ran ({p.stderr.strip()})")
        if len(parts) == 3:
            rbtest.eq(sorted(parts[0]), ["due", "history", "install", "list", "run"], "fish: nested subcommands")
            rbtest.eq(sorted(parts[1]), ["dot", "json", "mermaid", "text"], "fish: an option's fixed values")
            rbtest.eq(sorted(parts[2]), ["--drill", "--dry-run"], "fish: a subcommand's options")


def main():
    wd = rbtest.Workdir()
    prefix = os.path.join(wd.path, "prefix")
    p = sh(["cmake", "--install", BUILD, "--prefix", prefix])
    rbtest.eq(p.returncode, 0, f"cmake --install --prefix ({p.stderr.strip()[-300:]})")
    exe = os.path.join(prefix, "bin", "runbook")
    for rel in ["bin/runbook", "libexec/runbook/runbook-plugin-notify", "share/runbook/schemas/runbook.schema.json",
                "share/runbook/runbooks/database-disaster.yaml", "share/runbook/examples/sandbox/sandbox.py",
                "share/man/man1/runbook.1", "share/bash-completion/completions/runbook",
                "share/zsh/site-functions/_runbook", "share/fish/vendor_completions.d/runbook.fish",
                "lib/systemd/system/runbook-serve.service", "lib/systemd/system/runbook-drills.service",
                "lib/systemd/system/runbook-drills.timer", "lib/sysusers.d/runbook.conf"]:
        rbtest.check(os.path.exists(os.path.join(prefix, rel)), f"installed {rel}")
    if not os.path.exists(exe):
        rbtest.done()
    unit = open(os.path.join(prefix, "lib/systemd/system/runbook-serve.service")).read()
    rbtest.check(f"ExecStart={exe} serve " in unit and "--store" not in unit.split("ExecStart=")[1].split("\n")[0],
                 "the serve unit runs the installed binary; the store URL is not on its command line")
    if shutil.which("systemd-analyze"):
        units = [os.path.join(prefix, "lib/systemd/system", u)
                 for u in ("runbook-serve.service", "runbook-drills.service", "runbook-drills.timer")]
        p = sh(["systemd-analyze", "verify", "--man=no", *units])
        rbtest.eq(p.returncode, 0, f"systemd-analyze verify accepts the units ({p.stderr.strip()[-400:]})")
    installed_runs(prefix, wd)
    man_pages(prefix, exe)
    completions(prefix, exe, wd)
    rbtest.done()


main()
