#!/usr/bin/python3
"""Fleet steps over OpenSSH (contract §8) against a real test fleet: sshd's on
127.0.0.2 … 127.0.0.51, one simulated host per address (tests/support/fleet.py). Each
acceptance line of issue 15 is one section below:

  - bad targets: an empty pattern, an unknown group, an unreadable or malformed inventory
    are exit 2 at FILE:LINE:COL before anything runs;
  - 50 hosts, max_concurrency 10: every host ran (its own identity recorded), never more
    than 10 at once (measured from the hosts' own clocks), results per host;
  - max_errors 2 with failing hosts: no new host after the 3rd failure, result.failed;
    canary 1 failing: no other host touched;
  - timeout 1s on a remote `sleep 600` (and a child that ignores SIGTERM), an interrupt
    (SIGINT) of the engine, the engine killed -9, a connection lost mid-command: nothing
    of it survives in the hosts' process lists;
  - a host key mismatch: that host fails clearly and runs nothing;
  - an injection canary input reaches every host as data; a secret is on no command line;
  - rollbacks run on exactly the hosts where the step ran; --dry-run lists them; reports
    show the per-host table.
Connections cost ~0.3 s of CPU each: host counts are what each line needs (~80 in all)."""
import json
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
import rbtest  # noqa: E402
from fleet import Fleet  # noqa: E402

if not os.path.exists("/usr/sbin/sshd") or not os.path.exists("/usr/bin/ssh"):
    rbtest.skip("openssh-server / openssh-client not installed (tests/support/deps.sh)")


def runbook(wd, name, steps, inputs=""):
    text = f"runbook: {name}\ntitle: Fleet test {name}\n{inputs}steps:\n{steps}"
    return wd.file(f"{name}.yaml", text)


def targets(fleet, inv, hosts, extra="", indent=4, ssh=None):
    """A targets block at `indent` spaces; `extra` lines are given at the block's own
    indent + 2 (written with 6 spaces) and re-indented."""
    pad = " " * indent
    ssh = ssh or f"{{ config: {fleet.ssh_config} }}"
    body = f"inventory: {inv}\nhosts: \"{hosts}\"\nssh: {ssh}\n" + "".join(l[6:] + "\n" for l in extra.splitlines())
    return f"{pad}targets:\n" + "".join(f"{pad}  {l}\n" for l in body.splitlines())


def result_of(run, step):
    for t in ("step.succeeded", "step.failed"):
        ev = run.of(t, step)
        if ev:
            return ev[-1]["data"].get("result", {})
    return {}


def read(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return None


def touched(fleet, hosts, name="ran"):
    return [h for h in hosts if os.path.exists(os.path.join(fleet.host_dir(h), name))]


def completed(p, out):
    """A finished Popen as rbtest.Run reads it."""
    done = subprocess.CompletedProcess(p.args, p.returncode, out, b"")
    done.out, done.err = out.decode(), ""
    return done


def alive_pid(pid):
    """Whether `pid` runs (a zombie waiting for a reaper does not)."""
    st = read(f"/proc/{pid}/stat")
    return bool(st) and st.rsplit(")", 1)[1].split()[0] != "Z"


def wait_gone(fleet, hosts, needle, within=10.0):
    """Polls the hosts' process lists until no process whose argv holds `needle` is left."""
    deadline = time.time() + within
    while True:
        left = [(h, pid, " ".join(argv)) for h in hosts for pid, argv in fleet.processes_of(h)
                if needle in " ".join(argv)]
        if not left or time.time() > deadline:
            return left
        time.sleep(0.1)


def bad_targets(fleet, wd):
    """Exit 2 at start, FILE:LINE:COL, nothing run, nothing journaled."""
    inv = fleet.write_inventory(os.path.join(wd.path, "bad.ini"), fleet.hosts[:3], {"web": fleet.hosts[:2]})
    step = "  s:\n    shell: touch \"$SIM_STATE/bad-ran\"\n{t}    next: done\n  done:\n    end: recovered\n"
    cases = {
        "empty-pattern": (targets(fleet, inv, ""), 'bad-empty-pattern.yaml:10:14: empty host pattern'),
        "unknown-group": (targets(fleet, inv, "web:&dbs"), "bad-unknown-group.yaml:10:19: 'dbs' is neither a group "
                                                             "nor a host of the inventory"),
        "no-match": (targets(fleet, inv, "web:&h03"), "bad-no-match.yaml:10:15: host pattern 'web:&h03' selects no host"),
        "unreadable": (targets(fleet, os.path.join(wd.path, "missing.ini"), "all"),
                       "bad-unreadable.yaml:9:18: cannot read inventory"),
        "interpolated": (targets(fleet, "${{ inputs.inv }}", "web"), "bad-interpolated.yaml:9:18: cannot read inventory '" + wd.path + "/nowhere/inv.ini'"),
    }
    malformed = wd.file("malformed.ini", "[web]\nh01 ansible_port\n")
    cases["malformed"] = (targets(fleet, malformed, "all"), "malformed.ini:2:5: 'ansible_port' after host 'h01'")
    for name, (t, want) in cases.items():
        path = runbook(wd, f"bad-{name}", step.format(t=t), "inputs:\n  inv: { default: nowhere/inv.ini }\n")
        r = rbtest.run_runbook(wd, path)
        rbtest.eq(r.code, 2, f"{name}: exit 2 ({r.proc.err.strip()})")
        rbtest.check(want in r.proc.err, f"{name}: error '{want}' in: {r.proc.err.strip()}")
        rbtest.eq(r.events, [], f"{name}: nothing journaled")
        p = rbtest.run(["--store", wd.store, "run", path, "--dry-run"], cwd=wd.path)
        rbtest.eq(p.returncode, 2, f"{name}: --dry-run refuses it too")
    rbtest.eq(touched(fleet, fleet.hosts, "bad-ran"), [], "bad targets: no host ran anything")


def fifty_hosts(fleet, wd):
    hosts = fleet.hosts[:50]
    inv = fleet.write_inventory(os.path.join(wd.path, "fifty.ini"), hosts)
    script = ('printf "%s" "$SIM_HOST" > "$SIM_STATE/identity"; date +%s.%N > "$SIM_STATE/start"; sleep 1; '
              'date +%s.%N > "$SIM_STATE/end"; echo "I am $SIM_HOST ($RUNBOOK_HOST)"')
    path = runbook(wd, "fifty", f"  all-hosts:\n    shell: '{script}'\n"
                   + targets(fleet, inv, "fleet", "      max_concurrency: 10\n") + "    timeout: 60s\n")
    t0 = time.time()
    r = rbtest.run_runbook(wd, path)
    took = time.time() - t0
    rbtest.eq(r.code, 0, "50 hosts: recovered")
    res = result_of(r, "all-hosts")
    rbtest.eq(len(res.get("hosts", {})), 50, "50 hosts: a result per host")
    rbtest.eq(res.get("succeeded"), hosts, "50 hosts: result.succeeded lists them in inventory order")
    rbtest.eq(res.get("failed"), [], "50 hosts: result.failed is empty")
    wrong = [h for h in hosts if res.get("hosts", {}).get(h, {}).get("stdout") != f"I am {h} ({h})\n"]
    rbtest.eq(wrong, [], "50 hosts: each host's stdout in its own result")
    ids = {h: read(os.path.join(fleet.host_dir(h), "identity")) for h in hosts}
    rbtest.eq([h for h in hosts if ids[h] != h], [], "50 hosts: each host recorded its own identity")
    rbtest.eq(len(r.of("host.succeeded", "all-hosts")), 50, "50 hosts: a host.succeeded event each")
    spans = sorted((float(read(os.path.join(fleet.host_dir(h), "start"))), +1) for h in hosts)
    spans += [(float(read(os.path.join(fleet.host_dir(h), "end"))), -1) for h in hosts]
    peak = cur = 0
    for _, d in sorted(spans, key=lambda x: (x[0], x[1])):
        cur += d
        peak = max(peak, cur)
    rbtest.check(peak <= 10, f"50 hosts: never more than 10 at once on the hosts (peak {peak})")
    rbtest.check(peak >= 5, f"50 hosts: they did run side by side (peak {peak})")
    print(f"50 hosts, max_concurrency 10: {took:.1f}s, peak {peak} at once (measured on the hosts)")


def max_errors_and_canary(fleet, wd):
    hosts = fleet.hosts[:8]
    inv = fleet.write_inventory(os.path.join(wd.path, "eight.ini"), hosts)
    script = 'touch "$SIM_STATE/ran"; case "$SIM_HOST" in h02|h03|h04|h05|h06) echo "broken $SIM_HOST" >&2; exit 3;; esac'
    path = runbook(wd, "errors", f"  restart:\n    shell: '{script}'\n"
                   + targets(fleet, inv, "all", "      max_concurrency: 1\n      max_errors: 2\n")
                   + "    next: done\n  done:\n    end: recovered\n")
    r = rbtest.run_runbook(wd, path)
    rbtest.eq(r.code, 1, "max_errors 2: the run fails")
    rbtest.eq(len(r.of("step.failed", "restart")), 1, "max_errors 2: the step fails")
    res = result_of(r, "restart")
    rbtest.eq(res.get("failed"), ["h02", "h03", "h04"], "max_errors 2: result.failed names the failed hosts")
    rbtest.eq(res.get("succeeded"), ["h01"], "max_errors 2: result.succeeded")
    rbtest.eq(res.get("skipped"), ["h05", "h06", "h07", "h08"], "max_errors 2: the rest never started")
    rbtest.eq(touched(fleet, hosts), ["h01", "h02", "h03", "h04"], "max_errors 2: no host started after the 3rd failure")
    err = r.of("step.failed", "restart")[0]["data"]["error"] if r.of("step.failed", "restart") else ""
    rbtest.check("3 hosts failed, more than max_errors (2)" in err and "h02, h03, h04" in err, f"max_errors: error says why ({err})")
    rbtest.eq([e["data"]["host"] for e in r.of("host.failed")], ["h02", "h03", "h04"], "max_errors: host.failed events")
    md = rbtest.run(["--store", wd.store, "export", r.run_id, "--format", "markdown"]).out
    rbtest.check("### Hosts of restart" in md and "| h03 | ❌ failed | 3 |" in md and "Not started: h05, h06, h07, h08" in md,
                 "report: the per-host table of the fleet step")
    html = rbtest.run(["--store", wd.store, "export", r.run_id, "--format", "html"]).out
    rbtest.check("<h3>Hosts of restart</h3>" in html and "<td>h04</td><td class=\"bad\">failed</td>" in html,
                 "html report: the per-host table")

    # canary: 1 on a failing canary touches no other host
    for h in hosts:
        for f in ("ran",):
            p = os.path.join(fleet.host_dir(h), f)
            if os.path.exists(p):
                os.remove(p)
    inv2 = fleet.write_inventory(os.path.join(wd.path, "canary.ini"), ["h03", "h01", "h07", "h08"])
    path = runbook(wd, "canary", f"  restart:\n    shell: '{script}'\n"
                   + targets(fleet, inv2, "all", "      canary: 1\n      max_concurrency: 10\n      max_errors: 3\n")
                   + "    next: done\n  done:\n    end: recovered\n")
    r = rbtest.run_runbook(wd, path)
    rbtest.eq(r.code, 1, "canary: a failing canary fails the run")
    res = result_of(r, "restart")
    rbtest.eq(res.get("failed"), ["h03"], "canary: the canary failed")
    rbtest.eq(res.get("skipped"), ["h01", "h07", "h08"], "canary: the others never started")
    rbtest.eq(touched(fleet, hosts), ["h03"], "canary: no other host touched")


def timeout_and_interrupt(fleet, wd):
    hosts = ["h09", "h10"]
    inv = fleet.write_inventory(os.path.join(wd.path, "slow.ini"), hosts + ["h11", "h12", "h13"])
    # a sleeper, and a child that ignores SIGTERM (the grace, then SIGKILL, on the host)
    script = ("sh -c \"trap \\\"\\\" TERM; exec sleep 601\" & echo $! > \"$SIM_STATE/child.pid\"; "
              "echo $$ > \"$SIM_STATE/main.pid\"; sleep 600")
    path = runbook(wd, "slow", f"  slow:\n    shell: '{script}'\n" + targets(fleet, inv, "h09:h10")
                   + "    timeout: 1s\n    next: done\n  done:\n    end: recovered\n")
    t0 = time.time()
    r = rbtest.run_runbook(wd, path, timeout=60)
    took = time.time() - t0
    rbtest.eq(r.code, 1, "timeout: the run fails")
    rbtest.check(took < 8, f"timeout 1s: the step ends in < 8 s ({took:.1f}s)")
    res = result_of(r, "slow")
    rbtest.eq(sorted(res.get("failed", [])), hosts, "timeout: both hosts failed")
    rbtest.check(all(res["hosts"][h].get("timed_out") for h in hosts), "timeout: marked timed_out per host")
    rbtest.check("the remote command was stopped" in res["hosts"]["h09"].get("error", ""), "timeout: the error says so")
    left = wait_gone(fleet, hosts, "sleep 60")
    rbtest.eq(left, [], "timeout: no process of the remote command survives on the hosts")
    pids = [read(os.path.join(fleet.host_dir(h), f)) for h in hosts for f in ("main.pid", "child.pid")]
    rbtest.check(all(pids), f"timeout: the command and its TERM-proof child had started on both hosts ({pids})")
    alive = [p.strip() for p in pids if p and alive_pid(p.strip())]
    rbtest.eq(alive, [], "timeout: those processes are gone")

    # SIGINT to the engine: the run pauses (exit 3) and every host's command is stopped
    hosts = ["h11", "h12", "h13"]
    path = runbook(wd, "interrupt", "  wait-all:\n    shell: 'touch \"$SIM_STATE/started\"; sleep 600'\n"
                   + targets(fleet, inv, "h11:h12:h13") + "    timeout: 5m\n    next: done\n  done:\n    end: recovered\n")
    p = subprocess.Popen([rbtest.BIN, "--json", "--store", wd.store, "run", path], cwd=wd.path,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 30
    while len(touched(fleet, hosts, "started")) < 3 and time.time() < deadline:
        time.sleep(0.1)
    rbtest.eq(touched(fleet, hosts, "started"), hosts, "interrupt: the command started on every host")
    running = [h for h in hosts if any("sleep 600" in " ".join(a) for _, a in fleet.processes_of(h))]
    rbtest.eq(running, hosts, "interrupt: each host's process list shows the command running")
    p.send_signal(signal.SIGINT)
    out, _ = p.communicate(timeout=30)
    rbtest.eq(p.returncode, 3, "interrupt: exit 3")
    left = wait_gone(fleet, hosts, "sleep 600")
    rbtest.eq(left, [], "interrupt: no process of the remote command survives on any host")

    # the engine killed -9: its end of ssh's stdin closes with it, so the hosts stop the work
    hosts = ["h26", "h27"]
    inv = fleet.write_inventory(os.path.join(wd.path, "killed.ini"), hosts)
    path = runbook(wd, "killed", "  wait-all:\n    shell: 'touch \"$SIM_STATE/started\"; sleep 600'\n"
                   + targets(fleet, inv, "all") + "    next: done\n  done:\n    end: recovered\n")
    # (its ssh folder, which a killed engine cannot remove, goes with the work dir)
    p = subprocess.Popen([rbtest.BIN, "--json", "--store", wd.store, "run", path], cwd=wd.path,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         env=dict(os.environ, XDG_RUNTIME_DIR=wd.path))
    deadline = time.time() + 30
    while len(touched(fleet, hosts, "started")) < 2 and time.time() < deadline:
        time.sleep(0.1)
    rbtest.eq(touched(fleet, hosts, "started"), hosts, "engine killed: the command started on every host")
    p.kill()
    p.wait()
    rbtest.eq(wait_gone(fleet, hosts, "sleep 600"), [], "engine killed -9: nothing of the command survives on the hosts")


def timeout_per_host(fleet, wd):
    """`timeout` bounds each host, not the step: three hosts one after the other take
    longer than it, and the step succeeds."""
    hosts = ["h28", "h29", "h30"]
    inv = fleet.write_inventory(os.path.join(wd.path, "per-host.ini"), hosts)
    path = runbook(wd, "per-host", "  one-by-one:\n    shell: sleep 1.5\n" + targets(fleet, inv, "all", "      max_concurrency: 1\n")
                   + "    timeout: 4s\n    next: done\n  done:\n    end: recovered\n")
    r = rbtest.run_runbook(wd, path)
    rbtest.eq(r.code, 0, "per-host timeout: recovered")
    took = r.of("step.succeeded", "one-by-one")[0]["data"]["duration_ms"] if r.of("step.succeeded", "one-by-one") else 0
    rbtest.check(took > 4500, f"per-host timeout: the step ran {took} ms, longer than its 4s timeout, and was not cut")


def lost_connection(fleet, wd):
    """The connection to a host drops mid-command (its sshd session dies): that host fails,
    and what it ran is stopped on the host (its stdin closed)."""
    hosts = ["h24", "h25"]
    inv = fleet.write_inventory(os.path.join(wd.path, "lost.ini"), hosts)
    script = 'if [ "$SIM_HOST" = h24 ]; then touch "$SIM_STATE/started"; sleep 600; fi'
    path = runbook(wd, "lost", f"  cut:\n    shell: '{script}'\n" + targets(fleet, inv, "all", "      max_errors: 1\n")
                   + "    timeout: 60s\n    next: done\n  done:\n    end: recovered\n")
    p = subprocess.Popen([rbtest.BIN, "--json", "--store", wd.store, "run", path], cwd=wd.path,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 30
    while not touched(fleet, ["h24"], "started") and time.time() < deadline:
        time.sleep(0.1)
    mine = {pid for pid, _ in fleet.processes_of("h24")}
    parents = {int(read(f"/proc/{pid}/stat").rsplit(")", 1)[1].split()[1]) for pid in mine}
    sessions = parents - mine  # the sshd process serving h24's connection
    rbtest.check(len(sessions) == 1, f"lost connection: found h24's sshd session ({sessions})")
    for pid in sessions:
        os.kill(pid, signal.SIGKILL)  # the connection drops
    out, _ = p.communicate(timeout=60)
    r = rbtest.Run(completed(p, out))
    res = result_of(r, "cut")
    err = res.get("hosts", {}).get("h24", {}).get("error", "")
    rbtest.eq(res.get("failed"), ["h24"], f"lost connection: that host failed ({err})")
    rbtest.check("lost" in err or "closed" in err, f"lost connection: the error says so ({err})")
    rbtest.eq(res.get("succeeded"), ["h25"], "lost connection: the other host is unaffected")
    rbtest.eq(wait_gone(fleet, ["h24"], "sleep 600"), [], "lost connection: nothing of it survives on the host")


def host_key_mismatch(fleet, wd):
    hosts = ["h14", "h15", "h16"]
    inv = fleet.write_inventory(os.path.join(wd.path, "keys.ini"), hosts)
    known = os.path.join(wd.path, "known_hosts_wrong")
    with open(known, "w") as f:
        for h in hosts:
            f.write(fleet.host_key_line(h, "other_host_key" if h == "h15" else "host_key"))
    path = runbook(wd, "hostkey", "  touch:\n    shell: 'touch \"$SIM_STATE/ran\"'\n"
                   + targets(fleet, inv, "all", "      max_errors: 3\n",
                             ssh=f"{{ config: {fleet.ssh_config}, known_hosts: {known} }}")
                   + "    next: done\n  done:\n    end: recovered\n")
    r = rbtest.run_runbook(wd, path)
    res = result_of(r, "touch")
    rbtest.eq(res.get("failed"), ["h15"], "host key mismatch: that host fails")
    err = res.get("hosts", {}).get("h15", {}).get("error", "")
    rbtest.check("host key verification failed" in err and "does not match known_hosts" in err and "nothing was run" in err,
                 f"host key mismatch: a clear error ({err})")
    rbtest.eq(touched(fleet, hosts), ["h14", "h16"], "host key mismatch: nothing ran on that host, the others ran")
    rbtest.eq(r.code, 0, "host key mismatch: within max_errors the step succeeds")


def injection_and_secrets(fleet, wd):
    hosts = ["h17", "h18", "h19"]
    inv = fleet.write_inventory(os.path.join(wd.path, "inj.ini"), hosts)
    marker = os.path.join(wd.path, "PWNED")
    canary = f"x'; touch {marker}-1; echo \"$(touch {marker}-2)\" `touch {marker}-3` $((1+1)) \\\" ${{HOME}} ; #"
    secret = "s3cr3t-" + str(os.getpid())
    steps = ("  inject:\n    shell: printf '%s' \"${{ inputs.canary }}\" > \"$SIM_STATE/canary\"; "
             "printf '%s' ${{ inputs.canary }} > \"$SIM_STATE/canary-unquoted\"; "
             "printf '%s' \"$TOKEN\" > \"$SIM_STATE/token\"; printf 'raw \\377 bytes'; sleep 2\n"
             "    env: { TOKEN: \"${{ inputs.token }}\" }\n" + targets(fleet, inv, "all") + "    next: done\n"
             "  done:\n    end: recovered\n")
    path = runbook(wd, "inject", steps, "inputs:\n  canary: {}\n  token: { secret: true }\n")
    given = wd.file("inject-inputs.json", json.dumps({"canary": canary, "token": secret}))  # not on our command line
    p = subprocess.Popen([rbtest.BIN, "--json", "--store", wd.store, "run", path, "--inputs", given], cwd=wd.path,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    seen = []
    deadline = time.time() + 30
    while p.poll() is None and time.time() < deadline:
        for d in os.listdir("/proc"):  # every command line on the machine: engine, ssh, sshd, the hosts
            if d.isdigit():
                try:
                    with open(f"/proc/{d}/cmdline", "rb") as f:
                        if secret.encode() in f.read() and d not in seen:
                            seen.append(d)
                except OSError:
                    pass
        time.sleep(0.05)
    out, err = p.communicate(timeout=30)
    rbtest.eq(p.returncode, 0, f"injection: recovered ({err.decode()[-300:]})")
    rbtest.eq(seen, [], "secrets: the token is on no command line, local or on the hosts")
    for h in hosts:
        rbtest.eq(read(os.path.join(fleet.host_dir(h), "canary")), canary, f"injection: {h} got the canary as data")
        rbtest.eq(read(os.path.join(fleet.host_dir(h), "canary-unquoted")), canary, f"injection: {h}, unquoted, one word")
        rbtest.eq(read(os.path.join(fleet.host_dir(h), "token")), secret, f"secrets: {h} got the token")
    rbtest.eq([m for m in (marker + "-1", marker + "-2", marker + "-3") if os.path.exists(m)], [],
              "injection: nothing of the canary ran as code")
    rbtest.check(secret not in out.decode(), "secrets: masked in the events")
    res = result_of(rbtest.Run(completed(p, out)), "inject")
    rbtest.eq(res.get("hosts", {}).get("h17", {}).get("stdout"), "raw \ufffd bytes", "bytes that are not UTF-8 in a result")


def rollback_dry_run(fleet, wd):
    hosts = ["h20", "h21", "h22", "h23"]
    inv = fleet.write_inventory(os.path.join(wd.path, "rb.ini"), hosts, {"api": ["h20", "h21", "h23"]})
    steps = ("  deploy:\n    shell: 'touch \"$SIM_STATE/deployed\"'\n" + targets(fleet, inv, "api:!h23")
             + "    verify:\n      - shell: 'test -f \"$SIM_STATE/deployed\"'\n"
             + targets(fleet, inv, "api:!h23", indent=8)
             + "    rollback:\n      shell: 'touch \"$SIM_STATE/rolled-back\"'\n    next: smoke\n"
             "  smoke:\n    shell: exit 1\n    next: done\n  done:\n    end: recovered\n")
    path = runbook(wd, "rollback", steps)
    p = rbtest.run(["--store", wd.store, "run", path, "--dry-run"], cwd=wd.path)
    rbtest.eq(p.returncode, 0, f"dry run ({p.err.strip()})")
    rbtest.check("on 2 hosts (10 at a time, stop at the first failure): h20 (127.0.0.21), h21 (127.0.0.22)" in p.out,
                 f"--dry-run lists the exact hosts:\n{p.out}")
    rbtest.check("rollback: touch \"$SIM_STATE/rolled-back\"\n      on the hosts where the step ran" in p.out,
                 "--dry-run says where the rollback runs")
    rbtest.eq(touched(fleet, hosts, "deployed"), [], "--dry-run ran nothing")
    r = rbtest.run_runbook(wd, path)
    rbtest.eq(r.code, 1, "rollback: the run fails at smoke")
    rbtest.eq(len(r.of("check.passed", "deploy")), 1, "rollback: the fleet verify check passed on the hosts")
    rbtest.eq(touched(fleet, hosts, "deployed"), ["h20", "h21"], "rollback: the step ran on the pattern's hosts")
    rbtest.eq(touched(fleet, hosts, "rolled-back"), ["h20", "h21"], "rollback: it ran on exactly those hosts")
    fin = r.of("rollback.finished", "deploy")
    rbtest.check(fin and fin[0]["data"]["ok"], "rollback: finished ok")


def main():
    with rbtest.Workdir() as wd, Fleet(50) as fleet:
        t0 = time.time()
        only = os.environ.get("FLEET_ONLY", "")  # e.g. FLEET_ONLY=lost_connection: one section
        for section in (bad_targets, fifty_hosts, max_errors_and_canary, timeout_and_interrupt, timeout_per_host,
                        lost_connection,
                        host_key_mismatch, injection_and_secrets, rollback_dry_run):
            if not only or section.__name__ in only.split(","):
                section(fleet, wd)
        print(f"fleet tests: {time.time() - t0:.1f}s")
    rbtest.done()


main()
