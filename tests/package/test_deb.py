#!/usr/bin/python3
"""The .deb in a fresh Debian 12 root (label heavy; about a minute with a warm cache).

`cpack -G DEB` from this build; a minbase bookworm root made by debootstrap once and
kept in a cache folder ($RUNBOOK_TEST_CACHE, else ~/.cache/runbook) for later runs,
copied fresh for each run; `apt-get install ./runbook.deb` inside it (so the package's
dependencies, computed by dpkg-shlibdeps, must be right: nothing else is there); then,
inside, as a user would: runbook --version, validate, plan, a small run through a shell
step and the shipped notify plugin (found with no flag, run by the python3 the package
recommends), a dry run of an installed runbook, `man runbook`, bash completion, doctor.
Skips (77) when not root, without debootstrap, or when the Debian mirror cannot be
reached (debootstrap or apt-get update fails)."""
import fcntl
import glob
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
import rbtest  # noqa: E402

BUILD = os.path.dirname(rbtest.BIN)
CACHE = os.environ.get("RUNBOOK_TEST_CACHE") or os.path.expanduser("~/.cache/runbook")
BASE = os.path.join(CACHE, "bookworm-minbase")
MIRROR = os.environ.get("RUNBOOK_DEBIAN_MIRROR", "http://deb.debian.org/debian")
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def sh(cmd, timeout=300, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)


T0 = time.monotonic()


def phase(name):
    print(f"[{time.monotonic() - T0:6.1f}s] {name}", flush=True)


def last_lines(text, n=4):
    return " | ".join(text.strip().splitlines()[-n:])


def build_deb(out):
    p = sh(["cpack", "-G", "DEB", "-B", out, "--config", os.path.join(BUILD, "CPackConfig.cmake")], cwd=BUILD)
    rbtest.eq(p.returncode, 0, f"cpack -G DEB ({last_lines(p.stdout + p.stderr)})")
    debs = glob.glob(os.path.join(out, "runbook_*.deb"))
    rbtest.eq(len(debs), 1, "cpack made one runbook_*.deb")
    if len(debs) != 1:
        rbtest.done()
    deps = sh(["dpkg-deb", "-f", debs[0], "Depends"]).stdout
    for lib in ["libyaml-cpp0.7", "libpq5", "libcurl4", "libsqlite3-0", "libfmt9", "libcmark-gfm0"]:
        rbtest.check(lib in deps, f"Depends (from dpkg-shlibdeps) names {lib}: {deps.strip()}")
    files = sh(["dpkg-deb", "-c", debs[0]]).stdout
    for f in ["./usr/bin/runbook", "./usr/libexec/runbook/runbook-plugin-notify", "./usr/share/man/man1/runbook.1",
              "./usr/share/man/man1/runbook-run.1", "./usr/share/bash-completion/completions/runbook",
              "./usr/share/zsh/vendor-completions/_runbook", "./usr/share/fish/vendor_completions.d/runbook.fish",
              "./usr/lib/systemd/system/runbook-serve.service", "./usr/lib/systemd/system/runbook-drills.timer",
              "./usr/share/runbook/schemas/runbook.schema.json", "./usr/share/runbook/runbooks/database-disaster.yaml"]:
        rbtest.check(f in files, f"the package holds {f}")
    return debs[0]


def ensure_base():
    """The cached minbase root (with man-db), made once; skips when the mirror is out of reach."""
    if os.path.exists(os.path.join(BASE, "usr/bin/man")):
        return
    tmp = BASE + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        p = sh(["debootstrap", "--variant=minbase", "--include=man-db", "bookworm", tmp, MIRROR], timeout=900)
    except subprocess.TimeoutExpired:
        shutil.rmtree(tmp, ignore_errors=True)
        rbtest.skip(f"debootstrap from {MIRROR} did not finish in 15 minutes")
    if p.returncode != 0:
        shutil.rmtree(tmp, ignore_errors=True)
        rbtest.skip(f"debootstrap cannot reach the Debian mirror {MIRROR}: {last_lines(p.stdout + p.stderr, 2)}")
    os.rename(tmp, BASE)


class Root:
    """A fresh root over the cached base: an overlay (its writes go to a throwaway upper
    folder; a copy where overlayfs is not available), with /proc mounted, apt's downloads
    cached, dpkg without fsync and man-db's index left alone (man finds pages without it)."""

    def __init__(self):
        self.top = tempfile.mkdtemp(prefix="deb-root.", dir=CACHE)
        self.path = os.path.join(self.top, "root")
        self.mounts = []
        for d in ("root", "upper", "work"):
            os.makedirs(os.path.join(self.top, d))
        opts = f"lowerdir={BASE},upperdir={self.top}/upper,workdir={self.top}/work"
        if subprocess.run(["mount", "-t", "overlay", "overlay", "-o", opts, self.path]).returncode == 0:
            self.mounts.append(self.path)
        else:
            subprocess.run(["cp", "-a", BASE + "/.", self.path], check=True)
        shutil.copy("/etc/resolv.conf", os.path.join(self.path, "etc/resolv.conf"))
        with open(os.path.join(self.path, "etc/dpkg/dpkg.cfg.d/unsafe-io"), "w") as f:
            f.write("force-unsafe-io\n")
        self.mount(["-t", "proc", "proc"], "proc")
        archives = os.path.join(CACHE, "apt-archives")
        os.makedirs(os.path.join(archives, "partial"), exist_ok=True)
        self.mount(["--bind", archives], "var/cache/apt/archives")

    def mount(self, args, where):
        target = os.path.join(self.path, where)
        subprocess.run(["mount", *args, target], check=True)
        self.mounts.append(target)

    def run(self, script, timeout=300):
        env = ["/usr/bin/env", "-i", "HOME=/root", f"PATH={PATH}", "LANG=C.UTF-8", "TERM=dumb",
               "DEBIAN_FRONTEND=noninteractive"]
        return sh(["chroot", self.path, *env, "bash", "-c", f"cd /root && {script}"], timeout=timeout)

    def close(self):
        for m in reversed(self.mounts):
            subprocess.run(["umount", m])
        with open("/proc/mounts") as f:
            busy = [line for line in f if f" {self.top}/" in line]
        if busy:
            print(f"left {self.top} in place: still mounted: {busy}")
            return
        shutil.rmtree(self.top, ignore_errors=True)


SMOKE = """runbook: smoke
title: Smoke test of the installed package
objectives: { rto: 5m }
steps:
  hello:
    shell: echo installed > /root/hello.txt
    verify:
      - shell: cat /root/hello.txt
        expect: result.exit_code == 0 && trim(result.stdout) == "installed"
    next: tell
  tell:
    notify:
      channel: status-page
      message: smoke test done
      file: /root/notifications.log
    next: done
  done:
    end: recovered
"""


def checks_inside(root):
    r = root.run("runbook --version")
    rbtest.check(r.returncode == 0 and r.stdout.startswith("runbook 0.") and "(commit " in r.stdout,
                 f"runbook --version names version and commit: {r.stdout.strip()} {r.stderr.strip()}")
    r = root.run("runbook validate /usr/share/runbook/runbooks/*.yaml")
    rbtest.eq(r.returncode, 0, f"validate the installed runbooks ({r.stderr.strip()})")
    shipped = len(glob.glob(os.path.join(os.path.dirname(__file__), "..", "..", "runbooks", "*.yaml")))
    rbtest.eq(r.stdout.count(": ok"), shipped, f"all {shipped} runbooks in runbooks/ are installed and validate")
    r = root.run("runbook plan /usr/share/runbook/runbooks/database-disaster.yaml")
    rbtest.check(r.returncode == 0 and "RTO 2h" in r.stdout, f"plan ({last_lines(r.stdout + r.stderr)})")
    r = root.run("runbook run /usr/share/runbook/runbooks/security-breach.yaml --dry-run")
    rbtest.eq(r.returncode, 0, f"dry run of a runbook with a notify step, no plugin flag ({last_lines(r.stderr)})")
    with open(os.path.join(root.path, "root/smoke.yaml"), "w") as f:
        f.write(SMOKE)
    r = root.run("runbook --store /root/store.db run /root/smoke.yaml --yes")
    rbtest.eq(r.returncode, 0, f"a small run recovers ({last_lines(r.stdout + r.stderr)})")
    r = root.run("cat /root/notifications.log; runbook --store /root/store.db runs")
    rbtest.check("smoke test done" in r.stdout, f"the shipped notify plugin ran: {r.stdout.strip()}")
    rbtest.check("recovered" in r.stdout, "runs lists the run as recovered")
    r = root.run("MANPAGER=cat MANWIDTH=80 man runbook && MANPAGER=cat MANWIDTH=80 man runbook-run")
    rbtest.check(r.returncode == 0 and "RUNBOOK(1)" in r.stdout and "EXIT STATUS" in r.stdout and "--dry-run" in r.stdout,
                 f"man runbook, man runbook-run render ({last_lines(r.stdout + r.stderr)})")
    r = root.run("bash -c 'source <(runbook completion bash); complete -p runbook'")
    rbtest.eq(r.stdout.strip(), "complete -F _runbook runbook", f"bash completion from the binary ({r.stderr.strip()})")
    r = root.run("bash -c 'source /usr/share/bash-completion/completions/runbook; complete -p runbook'")
    rbtest.eq(r.stdout.strip(), "complete -F _runbook runbook", "bash completion from the installed file")
    r = root.run("runbook doctor")
    rbtest.eq(r.returncode, 0, f"doctor: all good with the recommended packages ({r.stdout.strip()})")
    r = root.run("getent passwd runbook")
    rbtest.check(r.returncode == 0 and "/var/lib/runbook" in r.stdout, f"postinst made the runbook user: {r.stdout.strip()}")


def main():
    if os.geteuid() != 0:
        rbtest.skip("needs root (debootstrap, chroot, mount)")
    for tool in ["debootstrap", "cpack", "dpkg-deb", "chroot"]:
        if not shutil.which(tool):
            rbtest.skip(f"{tool} is not installed (tests/support/deps.sh installs it)")
    os.makedirs(CACHE, exist_ok=True)
    out = tempfile.mkdtemp(prefix="rbdeb.")
    with open(os.path.join(CACHE, "bookworm.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one debootstrap, one apt cache user at a time
        root = None
        try:
            phase("cpack -G DEB")
            deb = build_deb(out)
            phase("base root")
            ensure_base()
            phase("fresh copy")
            root = Root()
            shutil.copy(deb, os.path.join(root.path, "root/runbook.deb"))
            phase("apt-get update")
            root.run("echo 'man-db man-db/auto-update boolean false' | debconf-set-selections")
            r = root.run("apt-get update -q", timeout=300)
            if r.returncode != 0:
                rbtest.skip(f"apt-get update cannot reach the Debian mirror: {last_lines(r.stdout + r.stderr, 2)}")
            phase("apt-get install ./runbook.deb")
            r = root.run("apt-get install -y -q ./runbook.deb", timeout=600)
            rbtest.eq(r.returncode, 0, f"apt-get install ./runbook.deb in a fresh Debian 12 root ({last_lines(r.stdout + r.stderr)})")
            if r.returncode == 0:
                phase("runbook inside the root")
                checks_inside(root)
            phase("done")
        finally:
            if root:
                root.close()
            shutil.rmtree(out, ignore_errors=True)
    rbtest.done()


main()
