"""A test fleet: real OpenSSH servers on loopback addresses, one simulated host per
address, for the fleet tests and the fleet benchmark.

Host i (1-based) is named hNN and listens on 127.0.0.(i+1):PORT. One `sshd` process
serves up to 16 addresses (OpenSSH's limit per process); a `Match LocalAddress` block
per address gives each host its identity through `SetEnv SIM_HOST=hNN` and its own
state folder `SIM_STATE=DIR/hosts/hNN`, so a command run "on" a host can record where
it ran. That folder is also the host's HOME: the login shell of a remote command (bash,
for root) reads $HOME/.bashrc, and a simulated host must not run the test machine's own
(on the development VM it runs `pyenv init`: about 80 ms of CPU per remote command, which
then dominated every fleet measurement, for every tool alike). A real host's root shell
does not start a Python version manager. Processes of a host are the ones whose environment holds its SIM_HOST
(`processes_of`). Everything lives in one folder: a host key, a user key, a
known_hosts file, an ssh client config and Ansible inventories.

The ssh client finds ~/.ssh through the password database, not $HOME: clients must
pass the generated config (`ssh -F DIR/ssh_config`), which names the identity and the
known_hosts file.

As a module:  with Fleet(50) as f: f.inventory_ini, f.ssh_config, f.host_dir("h01") …
As a script:  fleet.py start N DIR   (prints the fleet as JSON; sshd keep running)
              fleet.py stop DIR
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

SSHD = "/usr/sbin/sshd"
PER_PROCESS = 16
# Key exchange of the simulated hosts and of the clients given ssh_config (every tool under
# test alike): OpenSSH 9.2's default, sntrup761x25519, runs its reference (unoptimised)
# lattice code on both sides of every new connection; with the fleet on the machine that
# runs the tools, that CPU would be most of what a benchmark measures.
KEX = "curve25519-sha256"


def free_port(addresses):
    """A TCP port free on every address (tried from a random start)."""
    for _ in range(200):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        ok = True
        for a in addresses:
            t = socket.socket()
            try:
                t.bind((a, port))
            except OSError:
                ok = False
            finally:
                t.close()
            if not ok:
                break
        if ok:
            return port
    raise RuntimeError("no free port on the fleet's addresses")


class Fleet:
    def __init__(self, n, path=None):
        if n < 1 or n > 250:
            raise ValueError("1..250 hosts")
        self.n = n
        self.own_dir = path is None
        self.dir = path or tempfile.mkdtemp(prefix="rbfleet.")
        os.makedirs(self.dir, exist_ok=True)
        self.hosts = [f"h{i:02d}" for i in range(1, n + 1)]
        self.addr = {h: f"127.0.0.{i + 1}" for i, h in enumerate(self.hosts, start=1)}
        self.procs = []
        self.port = None

    # ---- files ---------------------------------------------------------------------
    def p(self, *parts):
        return os.path.join(self.dir, *parts)

    @property
    def ssh_config(self):
        return self.p("ssh_config")

    @property
    def known_hosts(self):
        return self.p("known_hosts")

    @property
    def identity(self):
        return self.p("user_key")

    @property
    def inventory_ini(self):
        return self.p("inventory.ini")

    def host_dir(self, h):
        return self.p("hosts", h)

    def _keys(self):
        for name in ("host_key", "user_key", "other_host_key"):
            if not os.path.exists(self.p(name)):
                subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", self.p(name)],
                               check=True)
        shutil.copy(self.p("user_key.pub"), self.p("authorized_keys"))

    def host_key_line(self, h, key="host_key"):
        with open(self.p(key + ".pub")) as f:
            kind, b64 = f.read().split()[:2]
        return f"[{self.addr[h]}]:{self.port} {kind} {b64}\n"

    def write_known_hosts(self, wrong=()):
        """known_hosts for every host; hosts in `wrong` get another key (a mismatch)."""
        with open(self.known_hosts, "w") as f:
            for h in self.hosts:
                f.write(self.host_key_line(h, "other_host_key" if h in wrong else "host_key"))

    def _client_config(self):
        with open(self.ssh_config, "w") as f:
            f.write(f"Host *\n  User {os.environ.get('USER') or 'root'}\n  Port {self.port}\n"
                    f"  IdentityFile {self.identity}\n  IdentitiesOnly yes\n"
                    f"  UserKnownHostsFile {self.known_hosts}\n  GlobalKnownHostsFile /dev/null\n"
                    f"  KexAlgorithms {KEX}\n  LogLevel ERROR\n")

    def write_inventory(self, path=None, hosts=None, groups=None):
        """An INI inventory of `hosts` (default: all) with ansible_host set, and `groups`
        (name -> host list)."""
        path = path or self.inventory_ini
        hosts = hosts or self.hosts
        lines = ["[fleet]"] + [f"{h} ansible_host={self.addr[h]}" for h in hosts]
        for g, members in (groups or {}).items():
            lines += ["", f"[{g}]"] + list(members)
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        return path

    def _server_configs(self):
        confs = []
        for k in range(0, self.n, PER_PROCESS):
            chunk = self.hosts[k:k + PER_PROCESS]
            c = self.p(f"sshd_{k // PER_PROCESS}.conf")
            lines = [f"ListenAddress {self.addr[h]}:{self.port}" for h in chunk]
            lines += [f"HostKey {self.p('host_key')}", f"AuthorizedKeysFile {self.p('authorized_keys')}",
                      "StrictModes no", "UsePAM no", "PermitRootLogin prohibit-password",
                      "PasswordAuthentication no", "KbdInteractiveAuthentication no",
                      f"PidFile {self.p(f'sshd_{k // PER_PROCESS}.pid')}", "MaxStartups 200:30:400",
                      "MaxSessions 100", "LogLevel ERROR", "UseDNS no", "PrintMotd no", "Subsystem sftp internal-sftp",
                      f"KexAlgorithms {KEX}"]
            for h in chunk:
                lines += [f"Match LocalAddress {self.addr[h]}",
                          f"  SetEnv SIM_HOST={h} SIM_STATE={self.host_dir(h)} HOME={self.host_dir(h)}"]
            with open(c, "w") as f:
                f.write("\n".join(lines) + "\n")
            confs.append(c)
        return confs

    # ---- lifecycle -------------------------------------------------------------------
    def start(self):
        if not os.path.exists(SSHD):
            raise RuntimeError("sshd not installed (Debian: openssh-server)")
        os.makedirs("/run/sshd", exist_ok=True)
        self._keys()
        self.port = free_port([self.addr[h] for h in self.hosts])
        for h in self.hosts:
            os.makedirs(self.host_dir(h), exist_ok=True)
        self.write_known_hosts()
        self._client_config()
        self.write_inventory()
        for c in self._server_configs():
            log = open(c + ".log", "w")
            self.procs.append(subprocess.Popen([SSHD, "-D", "-e", "-f", c], stdout=log, stderr=log,
                                               start_new_session=True))
            log.close()
        self._wait_listening()
        return self

    def _wait_listening(self):
        deadline = time.time() + 10
        pending = set(self.hosts)
        while pending and time.time() < deadline:
            for h in list(pending):
                s = socket.socket()
                try:
                    s.settimeout(0.2)
                    s.connect((self.addr[h], self.port))
                    pending.discard(h)
                except OSError:
                    pass
                finally:
                    s.close()
            if pending:
                for p in self.procs:
                    if p.poll() is not None:
                        raise RuntimeError("sshd exited: " + open(p.args[-1] + ".log").read())
                time.sleep(0.05)
        if pending:
            raise RuntimeError(f"sshd not listening for {sorted(pending)}")

    @staticmethod
    def _descendants(roots):
        """Pids of every descendant of `roots` (sshd forks one process per connection)."""
        children = {}
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                with open(f"/proc/{d}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(ppid, []).append(int(d))
        out, todo = [], list(roots)
        while todo:
            p = todo.pop()
            for c in children.get(p, []):
                out.append(c)
                todo.append(c)
        return out

    def stop(self):
        leftovers = self._descendants([p.pid for p in self.procs])
        for pid in leftovers:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for p in self.procs:
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for p in self.procs:
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
        self.procs = []
        # sessions still open (ControlPersist masters' server sides) belong to the fleet
        for pid in self._pids_with(f"SIM_STATE={self.dir}"):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def __enter__(self):
        return self.start()

    def __exit__(self, *a):
        self.stop()
        if self.own_dir and os.environ.get("KEEP") != "1":
            shutil.rmtree(self.dir, ignore_errors=True)

    # ---- looking at the hosts --------------------------------------------------------------
    @staticmethod
    def _pids_with(marker):
        out = []
        m = marker.encode()
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                with open(f"/proc/{d}/environ", "rb") as f:
                    env = f.read().split(b"\0")
            except OSError:
                continue
            if any(e.startswith(m) for e in env):
                out.append(int(d))
        return out

    def processes_of(self, h):
        """[(pid, argv)] of the processes running on host h: the ones whose environment
        holds its SIM_HOST (its sessions and everything they started)."""
        out = []
        for pid in self._pids_with(f"SIM_HOST={h}"):
            try:
                with open(f"/proc/{pid}/environ", "rb") as f:
                    if f"SIM_HOST={h}".encode() not in f.read().split(b"\0"):
                        continue
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    argv = [a.decode(errors="replace") for a in f.read().split(b"\0") if a]
            except OSError:
                continue
            out.append((pid, argv))
        return out

    def describe(self):
        return {"dir": self.dir, "port": self.port, "ssh_config": self.ssh_config, "identity": self.identity,
                "known_hosts": self.known_hosts, "inventory": self.inventory_ini,
                "hosts": [{"name": h, "address": self.addr[h], "state": self.host_dir(h)} for h in self.hosts],
                "pids": [p.pid for p in self.procs]}


def main(argv):
    if len(argv) >= 3 and argv[0] == "start":
        f = Fleet(int(argv[1]), os.path.abspath(argv[2]))
        f.start()
        with open(f.p("fleet.json"), "w") as out:
            json.dump(f.describe(), out)
        print(json.dumps(f.describe()))
        return 0
    if len(argv) == 2 and argv[0] == "stop":
        d = os.path.abspath(argv[1])
        with open(os.path.join(d, "fleet.json")) as fj:
            desc = json.load(fj)
        for pid in Fleet._descendants(desc["pids"]):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for pid in desc["pids"]:
            try:
                os.killpg(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for pid in Fleet._pids_with(f"SIM_STATE={d}"):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
