#!/usr/bin/python3
"""The live console in a real terminal (tmux), at 80 and at 200 columns: while an approval
waits (no --answer) and another parallel branch prints a line every 100 ms, the pane is
captured every ~200 ms for a few seconds, and in EVERY capture the question, its facts,
the valid answers and the deadline ("… left (until HH:MM:SS UTC)") are on screen and the
status line names the step that waits. The branch's output holds a clear-screen and a
set-title escape sequence: they show escaped, never clear the screen or set the title.
Typing `yes` + Enter in the pane answers it and the run goes on. A manual step then waits:
the status line names it in every capture; `done` (80 columns) confirms it; at 200 columns
a real Ctrl-C pauses the run instead (exit 3, nothing rolled back) and `runbook resume`
typed in the same pane asks again and ends recovered after `done`."""
import json
import os
import re
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
import rbtest  # noqa: E402
from rbtest import Workdir, check, done, eq  # noqa: E402

if not shutil.which("tmux"):
    rbtest.skip("tmux is not installed (tests/support/deps.sh installs it)")

BOOK = r"""
runbook: console
title: The question stays on screen
steps:
  count:
    title: Count the users the restart touches
    shell: echo 1234
    outputs:
      users: int(result.stdout)
    next: both
  both:
    title: Approve the restart while the logs scroll
    parallel:
      - approval:
          prompt: >
            Restart the primary database now? This drops every open connection for about
            thirty seconds and users see errors meanwhile; the replica takes reads.
          show:
            users connected: steps.count.outputs.users
            replica lag: "'0.4 s'"
          timeout: 10m
      - shell: >-
          i=0; while [ $i -lt 70 ]; do i=$((i+1));
          echo "log line $i: checkpoint complete, wrote 1834 buffers, a line long enough to wrap at eighty columns";
          if [ $((i % 10)) = 3 ]; then printf 'clear: \033[2J\033[H\n'; fi;
          if [ $((i % 10)) = 6 ]; then printf 'title: \033]0;pwned\007\n'; fi;
          sleep 0.1; done
    next: handover
  handover:
    title: Hand over to the database on-call
    manual:
      instructions: Call the database on-call and read them the restart's outcome.
      confirm: Handed over?
      timeout: 10m
    next: after
  after:
    title: Carry on
    shell: echo carried on
    next: done
  done: { end: recovered }
"""

DEADLINE = re.compile(r"\d+m\d+s left \(until \d\d:\d\d:\d\d UTC\)")
CAPTURE_EVERY = 0.2
CAPTURE_FOR = 4.0


class Pane:
    def __init__(self, wd, cols, rows):
        self.sock = f"rbtest-{os.getpid()}-{cols}"
        self.target = "t"
        self.tmux("new-session", "-d", "-x", str(cols), "-y", str(rows), "-s", self.target, "-c", wd.path,
                  f"env PS1='$ ' RUNBOOK_STORE= sh")
        self.tmux("set-option", "-t", self.target, "history-limit", "5000")

    def tmux(self, *args):
        return subprocess.run(["tmux", "-L", self.sock] + list(args), capture_output=True, text=True)

    def type(self, text, enter=True):
        self.tmux("send-keys", "-t", self.target, "-l", text)
        if enter:
            self.tmux("send-keys", "-t", self.target, "Enter")

    def key(self, name):
        self.tmux("send-keys", "-t", self.target, name)

    def screen(self):
        return self.tmux("capture-pane", "-p", "-t", self.target).stdout

    def history(self):
        return self.tmux("capture-pane", "-p", "-t", self.target, "-S", "-5000").stdout

    def title(self):
        return self.tmux("display-message", "-p", "-t", self.target, "#{pane_title}").stdout.strip()

    def wait_for(self, pattern, timeout=30, whole=False):
        end = time.time() + timeout
        while time.time() < end:
            text = self.history() if whole else self.screen()
            if re.search(pattern, text):
                return text
            time.sleep(0.1)
        return None

    def close(self):
        self.tmux("kill-server")


def question_on_screen(s, cols, who):
    """What must be visible in every capture while the approval waits."""
    lines = s.splitlines()
    status = [l for l in lines if l.startswith("▶ both — Approve the restart")]
    return {
        "question": ">>> both — approval needed" in s and "Restart the primary database now?" in s
                    and "users see errors meanwhile" in s,
        "facts": "users connected: 1234" in s and "replica lag: 0.4 s" in s,
        "answers": "Answer yes/no" in s,
        "deadline": bool(DEADLINE.search(s)),
        "status names the step": bool(status),
        "no line wider than the pane": all(len(l) <= cols for l in lines),
    }


def capture_while_waiting(pane, cols, who, check_fn, seconds=CAPTURE_FOR):
    """Captures every CAPTURE_EVERY for `seconds`; returns (captures, failures by name)."""
    captures, failed = [], {}
    end = time.time() + seconds
    while time.time() < end:
        s = pane.screen()
        captures.append(s)
        for name, ok in check_fn(s).items():
            if not ok:
                failed.setdefault(name, s)
        time.sleep(CAPTURE_EVERY)
    return captures, failed


def one_width(wd, cols, rows, ctrl_c):
    who = f"{cols} columns"
    store = os.path.join(wd.path, f"store-{cols}.db")
    pane = Pane(wd, cols, rows)
    try:
        pane.type(f"{rbtest.BIN} --store {store} run console.yaml; echo EXIT=$?")
        check(pane.wait_for(r"Answer yes/no") is not None, f"{who}: the question appears\n{pane.screen()}")
        title_before = pane.title()
        captures, failed = capture_while_waiting(pane, cols, who, lambda s: question_on_screen(s, cols, who))
        for name, s in failed.items():
            check(False, f"{who}: {name} in every capture while it waits; missing in:\n{s}")
        escaped = [c for c in captures if "clear: ^[[2J^[[H" in c or "title: ^[]0;pwned^G" in c]
        output = [c for c in captures if "log line" in c]
        check(len(output) >= len(captures) - 2, f"{who}: the branch's output shows while it waits "
                                                f"({len(output)} of {len(captures)} captures)")
        check(len(escaped) >= 1, f"{who}: the escape sequences show escaped ({len(escaped)} captures)")
        eq(pane.title(), title_before, f"{who}: the output did not set the terminal's title")
        check("pwned" not in pane.title(), f"{who}: no 'pwned' title")
        started = [i for i, c in enumerate(captures) if "▶ both — Approve the restart while the logs scroll (" in c]
        print(f"{who}: {len(captures)} captures while the approval waited, all with the question, its facts, "
              f"answers and deadline; {len(escaped)} showed the escape sequences escaped", flush=True)

        pane.type("yes")
        check(pane.wait_for(r"both approved by \S+ \(terminal\)", whole=True) is not None,
              f"{who}: typing yes answered it\n{pane.screen()}")
        check(pane.wait_for(r">>> handover — a task for a person", timeout=30) is not None,
              f"{who}: the run went on to the manual step\n{pane.screen()}")

        def manual(s):
            return {"status names the manual step": any(l.startswith("▶ handover — Hand over") for l in s.splitlines()),
                    "instructions": "Call the database on-call" in s,
                    "answers": "Handed over? Answer done/no" in s,
                    "deadline": bool(DEADLINE.search(s))}

        mcaps, failed = capture_while_waiting(pane, cols, who, manual, seconds=1.2)
        for name, s in failed.items():
            check(False, f"{who}: {name} in every capture while the manual step waits; missing in:\n{s}")
        print(f"{who}: {len(mcaps)} captures while the manual step waited, the status line named it in each",
              flush=True)

        if not ctrl_c:
            pane.type("done")
            check(pane.wait_for(r"EXIT=0", timeout=30) is not None, f"{who}: done confirmed it, run recovered\n"
                                                                    f"{pane.screen()}")
            h = pane.history()
            check("✔ handover confirmed by" in h and "▶ after — Carry on" in h, f"{who}: confirmed, then it went on")
            return len(captures) + len(mcaps)

        # A real Ctrl-C at the terminal while the manual step waits: the run pauses.
        pane.key("C-c")
        check(pane.wait_for(r"EXIT=3", timeout=15) is not None, f"{who}: Ctrl-C exits 3\n{pane.screen()}")
        h = pane.history()
        check("⏸ run interrupted (interrupted by SIGINT) at handover" in h and "↩" not in h,
              f"{who}: Ctrl-C paused the run at the manual step, nothing rolled back")
        runs = json.loads(rbtest.run(["--json", "--store", store, "runs"], cwd=wd.path).out)
        eq(runs[0]["status"], "interrupted", f"{who}: status interrupted")
        pane.type("stty -a | tr ' ' '\\n' | grep -x -- '-\\?icanon'")
        check(pane.wait_for(r"(?m)^icanon$") is not None, f"{who}: the terminal is back in line mode after Ctrl-C")
        pane.type(f"clear; {rbtest.BIN} --store {store} resume {runs[0]['id']}; echo EXIT=$?")
        check(pane.wait_for(r">>> handover — a task for a person", timeout=30) is not None,
              f"{who}: resume asks the manual step again\n{pane.screen()}")
        mcaps2, failed = capture_while_waiting(pane, cols, who, manual, seconds=0.6)
        for name, s in failed.items():
            check(False, f"{who} resumed: {name} in every capture; missing in:\n{s}")
        pane.type("done")
        check(pane.wait_for(r"EXIT=0", timeout=30) is not None, f"{who}: resumed, confirmed, recovered\n{pane.screen()}")
        return len(captures) + len(mcaps) + len(mcaps2)
    finally:
        pane.close()


def hangup(wd):
    """The terminal goes away while the question waits (tmux killed): SIGHUP pauses the run."""
    store = os.path.join(wd.path, "store-hup.db")
    pane = Pane(wd, 80, 24)
    try:
        pane.type(f"{rbtest.BIN} --store {store} run console.yaml 2>hup.err")
        check(pane.wait_for(r"Answer yes/no") is not None, f"hangup: the question appears\n{pane.screen()}")
    finally:
        pane.close()
    end = time.time() + 15
    runs = []
    while time.time() < end:
        runs = json.loads(rbtest.run(["--json", "--store", store, "runs"], cwd=wd.path).out)
        if runs and runs[0]["status"] != "running":
            break
        time.sleep(0.1)
    eq(runs[0]["status"] if runs else None, "interrupted", "hangup: the run is interrupted")
    tl = [json.loads(l) for l in rbtest.run(["--json", "--store", store, "timeline", runs[0]["id"]], cwd=wd.path)
          .out.splitlines()]
    paused = [e for e in tl if e["type"] == "run.interrupted"]
    eq(paused[0]["data"].get("signal") if paused else None, "SIGHUP", "hangup: run.interrupted by SIGHUP")
    eq([e for e in tl if e["type"].startswith("rollback")], [], "hangup: nothing rolled back")
    err = open(os.path.join(wd.path, "hup.err")).read()
    check("internal error" not in err and "engine stopped" not in err, f"hangup: no engine error ({err.strip()})")


with Workdir() as wd:
    wd.file("console.yaml", BOOK)
    total = one_width(wd, 80, 24, ctrl_c=False)
    total += one_width(wd, 200, 40, ctrl_c=True)
    print(f"{total} captures in all", flush=True)
    hangup(wd)
done()
