#!/usr/bin/python3
"""runbook doctor (contract section 10): each thing a run needs missing in turn — an
unreachable store (whose password never shows), a store whose folder cannot be made, the
shipped plugins not found, the plugin's interpreter missing, ssh not on PATH, an unknown
TZ — is reported with what to fix and exit 1; with everything in place, exit 0. The
binary is copied into throwaway layouts so that what it finds next to itself is what the
test put there."""
import json
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
import rbtest  # noqa: E402

BUILD = os.path.dirname(rbtest.BIN)
NOTIFY = os.path.join(BUILD, "plugins", "runbook-plugin-notify")


def doctor(exe, *args, env=None, cwd=None):
    e = {k: v for k, v in os.environ.items() if not k.startswith("RUNBOOK_") and k != "TZ"}
    e.update(env or {})
    p = subprocess.run([exe, "--json", *args, "doctor"], capture_output=True, text=True, env=e, cwd=cwd,
                              timeout=60)
    try:
        checks = {c["check"]: c for c in json.loads(p.stdout)}
    except ValueError:
        checks = {}
    return p, checks


def layout(wd, name, plugin_text=None):
    """DIR/bin/runbook (a copy of the binary) and, when given, DIR/bin/plugins/runbook-plugin-notify."""
    bindir = os.path.join(wd.path, name, "bin")
    os.makedirs(bindir)
    exe = os.path.join(bindir, "runbook")
    shutil.copy2(rbtest.BIN, exe)
    if plugin_text is not None:
        os.makedirs(os.path.join(bindir, "plugins"))
        plug = os.path.join(bindir, "plugins", "runbook-plugin-notify")
        with open(plug, "w") as f:
            f.write(plugin_text)
        os.chmod(plug, 0o755)
    return exe


def main():
    wd = rbtest.Workdir()
    with open(NOTIFY) as f:
        notify = f.read()
    good = layout(wd, "good", notify)
    ok_store = ["--store", os.path.join(wd.path, "s", "store.db")]

    # Everything in place (ssh only where this machine has it).
    p, c = doctor(good, *ok_store, cwd=wd.path)
    if shutil.which("ssh"):
        rbtest.eq(p.returncode, 0, f"all good: exit 0 ({p.stdout.strip()})")
    rbtest.check(all(c.get(k, {}).get("ok") for k in ("store", "plugin notify", "time zones")), f"store, plugin, zones ok: {c}")
    rbtest.check(not os.path.exists(os.path.join(wd.path, "s")), "doctor did not create the store")
    p = rbtest.run(["--store", wd.store, "runs"])  # a store that exists: the write probe
    p, c = doctor(good, "--store", wd.store, cwd=wd.path)
    rbtest.check(c.get("store", {}).get("ok") and "writable" in c["store"]["detail"], f"an existing store is writable: {c.get('store')}")

    # An unreachable PostgreSQL store: exit 1, what to check, and never the password.
    p, c = doctor(good, "--store", "postgres://ops:hunter2secret@127.0.0.1:1/runbook", cwd=wd.path)
    rbtest.eq(p.returncode, 1, "unreachable store: exit 1")
    rbtest.check(not c.get("store", {}).get("ok") and "server is up" in c.get("store", {}).get("fix", ""), f"says what to check: {c.get('store')}")
    rbtest.check("hunter2secret" not in p.stdout + p.stderr, "the store password is not shown")
    p = subprocess.run([good, "--store", "postgres://ops:hunter2secret@127.0.0.1:1/runbook", "doctor"],
                              capture_output=True, text=True, timeout=60)
    rbtest.check("FIX" in p.stdout and "fix:" in p.stdout and "hunter2secret" not in p.stdout + p.stderr,
                 f"text output: FIX and fix lines, password masked: {p.stdout.strip()}")

    # A SQLite store under a file (its folder can never be made).
    p, c = doctor(good, "--store", os.path.join(NOTIFY, "sub", "store.db"), cwd=wd.path)
    rbtest.check(p.returncode == 1 and not c.get("store", {}).get("ok"), f"store folder cannot be made: {c.get('store')}")

    # The shipped plugin not found next to the binary.
    bare = layout(wd, "bare")
    p, c = doctor(bare, *ok_store, cwd=wd.path)
    rbtest.eq(p.returncode, 1, "plugins missing: exit 1")
    rbtest.check("not found" in c.get("plugin notify", {}).get("detail", "") and "--plugin-path" in c["plugin notify"]["fix"],
                 f"names the missing plugin and the fix: {c.get('plugin notify')}")
    p, c = doctor(bare, *ok_store, "--plugin-path", os.path.dirname(NOTIFY), cwd=wd.path)
    rbtest.check(c.get("plugin notify", {}).get("ok"), "--plugin-path finds it")

    # The plugin's interpreter missing.
    broken = layout(wd, "broken", notify.replace("#!/usr/bin/python3", "#!/nonexistent/python3", 1))
    p, c = doctor(broken, *ok_store, cwd=wd.path)
    rbtest.eq(p.returncode, 1, "interpreter missing: exit 1")
    rbtest.check("/nonexistent/python3" in c.get("plugin notify", {}).get("detail", "") and
                 "apt-get install python3" in c["plugin notify"].get("fix", ""), f"says to install python3: {c.get('plugin notify')}")
    envpy = layout(wd, "envpy", notify.replace("#!/usr/bin/python3", "#!/usr/bin/env python3-nosuch", 1))
    p, c = doctor(envpy, *ok_store, cwd=wd.path)
    rbtest.check(not c.get("plugin notify", {}).get("ok") and "python3-nosuch" in c["plugin notify"]["detail"],
                 f"#!/usr/bin/env NAME is looked up on PATH: {c.get('plugin notify')}")

    # ssh not on PATH.
    empty = os.path.join(wd.path, "emptybin")
    os.makedirs(empty)
    p, c = doctor(good, *ok_store, env={"PATH": empty}, cwd=wd.path)
    rbtest.check(p.returncode == 1 and not c.get("ssh", {}).get("ok") and "openssh-client" in c["ssh"]["fix"],
                 f"ssh missing: {c.get('ssh')}")

    # An unknown TZ.
    p, c = doctor(good, *ok_store, env={"TZ": "Mars/Olympus_Mons"}, cwd=wd.path)
    rbtest.check(p.returncode == 1 and not c.get("time zones", {}).get("ok") and "Mars" in c["time zones"]["detail"],
                 f"unknown TZ: {c.get('time zones')}")
    rbtest.done()


main()
