#!/bin/sh
# Fleet steps against the tools on-call engineers reach for today, in one run, on one
# test fleet of HOSTS loopback sshd hosts (tests/support/fleet.py):
#   runbook      one fleet step `shell: uptime` on every host, max_concurrency 50
#   parallel-ssh parallel-ssh -p 50 … uptime                    (Debian pssh)
#   ansible      ansible all -m command -a uptime -f 50         (Debian ansible / ansible-core)
# All three use the system ssh client with the fleet's ssh_config (same key exchange, same
# known_hosts), and open fresh connections in every round: runbook's ControlMaster folder
# is private to its run, pssh has none, ansible gets a new ControlPath folder per round.
# Rounds are interleaved (runbook, pssh, ansible, runbook …) so that the machine's drift
# hits all alike; the ratios printed are medians of the rounds' ratios. Each tool must
# report success on every host. Prints figures and ratios (targets: runbook <= 1.2x
# parallel-ssh and >= 10x faster than ansible); asserts nothing on time.
# ansible is needed only here: apt-get install ansible-core (or ansible).
# Usage: tests/bench/fleet_bench.sh [BUILD_DIR] [HOSTS] [ROUNDS]
set -eu
cd "$(dirname "$0")/../.."
B=${1:-build}
N=${2:-100}
ROUNDS=${3:-3}
RB=$(pwd)/$B/runbook
[ -x "$RB" ] || { echo "build first: cmake --build $B"; exit 2; }
for t in parallel-ssh ansible /usr/sbin/sshd; do
  command -v "$t" >/dev/null || { echo "missing $t: apt-get install pssh ansible-core openssh-server"; exit 2; }
done
W=$(mktemp -d)
trap '/usr/bin/python3 tests/support/fleet.py stop "$W/fleet" >/dev/null 2>&1 || true; rm -rf "$W"' EXIT
/usr/bin/python3 tests/support/fleet.py start "$N" "$W/fleet" >/dev/null
/usr/bin/python3 - "$RB" "$N" "$ROUNDS" "$W" <<'PY'
import os, statistics, subprocess, sys, tempfile, time
rb, n, rounds, w = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
fl = os.path.join(w, "fleet")
conf, inv = os.path.join(fl, "ssh_config"), os.path.join(fl, "inventory.ini")
addrs = [l.split("ansible_host=")[1].strip() for l in open(inv) if "ansible_host=" in l]
assert len(addrs) == n
hosts_txt = os.path.join(w, "hosts.txt")
open(hosts_txt, "w").write("\n".join(addrs) + "\n")
book = os.path.join(w, "uptime.yaml")
open(book, "w").write(f"""runbook: fleet-bench
title: uptime on every host
steps:
  uptime:
    shell: uptime
    targets:
      inventory: {inv}
      hosts: all
      max_concurrency: 50
      ssh: {{ config: {conf} }}
    timeout: 5m
""")

def timed(cmd, env=None, check=None):
    e = dict(os.environ, **(env or {}))
    t0 = time.perf_counter()
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=e, cwd=w)
    t = time.perf_counter() - t0
    out = p.stdout.decode(errors="replace")
    assert p.returncode == 0, f"{cmd[0]} failed ({p.returncode}): {p.stderr.decode()[-800:]} {out[-800:]}"
    if check:
        got = check(out)
        assert got == n, f"{cmd[0]}: {got} of {n} hosts succeeded"
    return t

def ours(i):
    return timed([rb, "--store", os.path.join(w, f"store{i}.db"), "--json", "run", book],
                 check=lambda out: out.count('"type":"host.succeeded"'))

def pssh(i):
    return timed(["parallel-ssh", "-h", hosts_txt, "-p", "50", "-t", "300", "-x", f"-F {conf}", "-O", "BatchMode=yes",
                  "uptime"], check=lambda out: out.count("[SUCCESS]"))

def ansible(i):
    cp = tempfile.mkdtemp(dir=w)
    return timed(["ansible", "all", "-i", inv, "-m", "command", "-a", "uptime", "-f", "50", f"--ssh-common-args=-F {conf}"],
                 env={"ANSIBLE_SSH_CONTROL_PATH_DIR": cp, "ANSIBLE_PYTHON_INTERPRETER": "/usr/bin/python3",
                      "ANSIBLE_LOCAL_TEMP": tempfile.mkdtemp(dir=w), "ANSIBLE_NOCOLOR": "1",
                      "ANSIBLE_HOST_KEY_CHECKING": "True"},
                 check=lambda out: out.count("| CHANGED | rc=0"))

a, b, c = [], [], []
for i in range(rounds):
    a.append(ours(i)); print(f"round {i + 1}: runbook {a[-1]:.2f}s", flush=True)
    b.append(pssh(i)); print(f"round {i + 1}: parallel-ssh {b[-1]:.2f}s", flush=True)
    c.append(ansible(i)); print(f"round {i + 1}: ansible {c[-1]:.2f}s", flush=True)
vs_pssh = statistics.median(x / y for x, y in zip(a, b))
vs_ansible = statistics.median(z / x for x, z in zip(a, c))
print(f"hosts: {n}, {rounds} interleaved rounds (best times shown, ratios = medians of the rounds' ratios)")
print(f"runbook (max_concurrency 50):     {min(a):.2f}s")
print(f"parallel-ssh -p 50:               {min(b):.2f}s")
print(f"ansible -m command -f 50:         {min(c):.2f}s")
print(f"runbook / parallel-ssh:           {vs_pssh:.2f}x   (target <= 1.2x)")
print(f"ansible / runbook:                {vs_ansible:.1f}x faster  (target >= 10x)")
PY
