#!/usr/bin/python3
"""schemas/runbook.schema.json in the real YAML language server, as an editor uses it.

yaml-language-server (npm, a pinned version; $RUNBOOK_YLS_VERSION to try another) is
installed at test time into a cache folder of the build directory (never committed),
started over stdio and driven by LSP JSON-RPC (lsp.py) with the schema mapped to every
YAML file. Every runbook of runbooks/, examples/, tests/cases/valid/ and
tests/schema/good/ gets no diagnostic; a typo'd key, a wrong type, a bad duration, a typo
in a check, a second action and a mistyped input default each get one at their line,
and nowhere else. Skips (77) when node or npm is missing or the npm registry cannot be
reached."""
import glob
import os
import shutil
import subprocess
import sys

import yaml

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lsp  # noqa: E402
import rbtest  # noqa: E402

ROOT = rbtest.ROOT
VERSION = os.environ.get("RUNBOOK_YLS_VERSION", "1.25.0")
CACHE = os.path.join(os.path.dirname(rbtest.BIN), "npm-cache", f"yaml-language-server-{VERSION}")
SERVER = os.path.join(CACHE, "node_modules", "yaml-language-server", "bin", "yaml-language-server")


def install():
    """The language server in the build's cache folder (npm install once)."""
    for tool in ("node", "npm"):
        if not shutil.which(tool):
            rbtest.skip(f"{tool} is not installed: cannot run yaml-language-server")
    if os.path.exists(SERVER):
        return
    os.makedirs(CACHE, exist_ok=True)
    env = dict(os.environ, npm_config_cache=os.path.join(CACHE, ".npm"), npm_config_update_notifier="false")
    try:
        p = subprocess.run(["npm", "install", "--prefix", CACHE, "--no-audit", "--no-fund", "--no-save",
                            f"yaml-language-server@{VERSION}"], capture_output=True, text=True, env=env, timeout=300)
    except subprocess.TimeoutExpired:
        rbtest.skip("npm install yaml-language-server did not finish in 5 minutes")
    if p.returncode != 0 or not os.path.exists(SERVER):
        tail = " | ".join((p.stdout + p.stderr).strip().splitlines()[-3:])
        rbtest.skip(f"npm cannot install yaml-language-server@{VERSION} (registry unreachable?): {tail}")


def runbook_files():
    files = (glob.glob(os.path.join(ROOT, "runbooks", "*.yaml")) +
             glob.glob(os.path.join(ROOT, "examples", "**", "*.yaml"), recursive=True) +
             glob.glob(os.path.join(ROOT, "tests", "cases", "valid", "*.yaml")) +
             glob.glob(os.path.join(ROOT, "tests", "schema", "good", "*.yaml")))
    out = []
    for f in sorted(files):
        with open(f) as fh:
            doc = yaml.safe_load(fh)
        if isinstance(doc, dict) and "runbook" in doc:
            out.append(f)
    return out


# Bad documents: the line marked `# <-` is where the one diagnostic must be (and what it says).
BAD = {
    "typo-key": ("""runbook: typo-key
title: A typo'd key
steps:
  a:
    shell: "true"
    timout: 5s  # <-
""", "did you mean 'timeout'"),
    "wrong-type": ("""runbook: wrong-type
title: A list where a count goes
steps:
  a:
    shell: "true"
    retry: [3]  # <-
""", "Incorrect type"),
    "bad-duration": ("""runbook: bad-duration
title: Minutes spelled out
steps:
  a:
    shell: "true"
    timeout: 5 minutes  # <-
""", "not a duration"),
    "typo-in-check": ("""runbook: typo-in-check
title: A typo in a verify check
steps:
  a:
    shell: "true"
    verify:
      - shell: "true"
        expcet: result.exit_code == 0  # <-
""", "did you mean 'expect'"),
    "second-action": ("""runbook: second-action
title: An external plugin after a built-in action
steps:
  a:
    shell: "true"
    kubectl: { args: [get, pods] }  # <-
""", "does exactly one thing"),
    "typed-default": ("""runbook: typed-default
title: An int input with a text default
inputs:
  n: { type: int, default: many }  # <-
steps:
  a:
    shell: "true"
""", "Incorrect type"),
}


def main():
    install()
    schema_uri = lsp.uri(os.path.join(ROOT, "schemas", "runbook.schema.json"))
    settings = {"yaml": {"validate": True, "hover": False, "completion": False, "format": {"enable": False},
                         "schemaStore": {"enable": False}, "schemas": {schema_uri: ["*.yaml", "**/*.yaml"]}}}
    wd = rbtest.Workdir()
    server = lsp.Server(["node", SERVER, "--stdio"], ROOT)
    try:
        server.start(settings)
        good = runbook_files()
        rbtest.check(len(good) >= 8, f"runbooks to open ({len(good)})")
        for f in good:
            server.open(f)
        for f in good:
            diags = server.diagnostics_of(f)
            shown = [(d["range"]["start"]["line"] + 1, d["message"]) for d in diags]
            rbtest.eq(shown, [], f"no diagnostic on {os.path.relpath(f, ROOT)}")
        paths = {}
        for name, (text, _) in BAD.items():
            paths[name] = wd.file(f"{name}.yaml", text)
            server.open(paths[name], text)
        for name, (text, want) in BAD.items():
            line = next(i for i, t in enumerate(text.splitlines()) if t.endswith("# <-"))
            diags = server.diagnostics_of(paths[name])
            at = [d for d in diags if d["range"]["start"]["line"] == line]
            rbtest.check(any(want in d["message"] for d in at),
                         f"{name}: a diagnostic '{want}…' at line {line + 1}: got {[(d['range']['start']['line'] + 1, d['message']) for d in diags]}")
            elsewhere = [(d["range"]["start"]["line"] + 1, d["message"]) for d in diags if d not in at]
            rbtest.eq(elsewhere, [], f"{name}: no diagnostic on other lines")
    finally:
        server.stop()
        err = b"".join(server.stderr).decode(errors="replace").strip()
        if err:
            print("server stderr:", err[-2000:])
    rbtest.done()


main()
