#!/usr/bin/python3
"""Fleet host keys (contract §8): `targets.ssh.strict_host_keys: false` connects to hosts
whose keys are unknown, and remembers none of them. Before, ssh (StrictHostKeyChecking=no)
wrote every unchecked key into the known_hosts in use — the user's own, or the one a
config names — so a later run that checks keys trusted keys no one ever checked. Here:
an empty known_hosts; a run with strict_host_keys: false succeeds on both hosts and the
file stays empty; the same step with host keys checked then fails on both hosts and runs
nothing there."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
import rbtest  # noqa: E402
from fleet import Fleet  # noqa: E402
from rbtest import check, done, eq  # noqa: E402

if not os.path.exists("/usr/sbin/sshd") or not os.path.exists("/usr/bin/ssh"):
    rbtest.skip("openssh-server / openssh-client not installed (tests/support/deps.sh)")


def runbook(wd, name, fleet, ssh):
    return wd.file(f"{name}.yaml", f"""runbook: {name}
title: Host keys {name}
steps:
  touch:
    shell: touch "$SIM_STATE/{name}.ran"
    targets:
      inventory: {fleet.inventory_ini}
      hosts: all
      ssh: {ssh}
    next: done
  done:
    end: recovered
""")


def main():
    with rbtest.Workdir() as wd, Fleet(2) as f:
        f.write_inventory()
        open(f.known_hosts, "w").close()  # no key known
        loose = runbook(wd, "loose", f, f"{{ config: {f.ssh_config}, strict_host_keys: false }}")
        r = rbtest.run_runbook(wd, loose, timeout=120)
        eq(r.proc.returncode, 0, f"strict_host_keys: false reaches hosts whose keys are unknown: {r.proc.err[-600:]}")
        for h in f.hosts:
            check(os.path.exists(os.path.join(f.host_dir(h), "loose.ran")), f"{h}: the loose run ran there")
        with open(f.known_hosts) as kh:
            eq(kh.read(), "", "no key accepted unchecked was written to the known_hosts in use")

        strict = runbook(wd, "strict", f, f"{{ config: {f.ssh_config} }}")
        r = rbtest.run_runbook(wd, strict, timeout=120)
        eq(r.proc.returncode, 1, "host keys checked (the default): the unknown keys fail the step")
        for h in f.hosts:
            check(not os.path.exists(os.path.join(f.host_dir(h), "strict.ran")), f"{h}: nothing ran with an unknown key")


main()
done()
