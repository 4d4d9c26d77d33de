"""Runs that runbook serve drives behave like `runbook run`'s (contract §7): a server killed
with -9 mid-step and started again takes its run over (the orphaned action stopped first,
run.resumed, the run recovers); SIGTERM pauses runs (run.interrupted) and the next server
continues them; abort from the API (a live run, and an interrupted CLI run no engine
drives); alerts through a triggers file (started, repeated, resolved, a new episode, an
alert no trigger matches, a label that is shell code stays data); /metrics; the pages'
forms."""
import json
import os
import re
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
import rbtest  # noqa: E402
from rbtest import check, eq  # noqa: E402
from servetest import APPROVAL_RUNBOOK, Serve, token  # noqa: E402

SLOW = """runbook: slow-step
title: A slow step
objectives: { rto: 5m }
steps:
  prepare:
    shell: "echo ready"
    rollback: { shell: "echo undo-prepare >> rollbacks.log" }
    next: slow
  slow:
    budget: 30s
    shell: "sleep 4; echo slept"
    next: done
  done:
    end: recovered
"""

ALERTED = """runbook: alerted
title: Answer an alert
inputs:
  target: { description: What the alert is about }
  app_url: { default: "http://127.0.0.1:1" }
steps:
  record:
    shell: 'printf "%s\\n" "$TARGET" >> targets.log; sleep 1'
    env: { TARGET: "${{ inputs.target }}" }
    next: confirm
  confirm:
    manual: { instructions: "Look at ${{ inputs.target }}", confirm: "Seen?" }
    next: done
  done:
    end: recovered
"""

TRIGGERS = """triggers:
  - name: target-down
    match: { alertname: TargetDown, severity: page }
    runbook: alerted.yaml
    inputs:
      target: "${{ alert.labels.instance }}"
      app_url: "${{ alert.annotations.app_url }}"
    answers: { confirm: done }
"""


def alert(status, fp, starts, instance="api-1", name="TargetDown"):
    return {"status": status, "labels": {"alertname": name, "severity": "page", "instance": instance},
            "annotations": {"app_url": "http://127.0.0.1:9"}, "startsAt": starts,
            "endsAt": "0001-01-01T00:00:00Z" if status == "firing" else "2026-11-24T03:10:00Z",
            "generatorURL": "http://prometheus/graph", "fingerprint": fp}


def webhook(*alerts):
    return {"version": "4", "groupKey": "{}:{alertname=\"TargetDown\"}", "status": alerts[0]["status"],
            "receiver": "runbook", "groupLabels": {"alertname": "TargetDown"}, "commonLabels": {},
            "commonAnnotations": {}, "externalURL": "http://am", "alerts": list(alerts)}


def types(s, tok, run):
    return [e["type"] for e in s.get(f"/api/runs/{run}/timeline", token=tok)[3]]


def kill9_and_sigterm(wd, toks):
    with Serve(wd.store, wd.path, "--runbooks", "runbooks") as s:
        st, _, _, js = s.post("/api/runs", {"runbook": "slow.yaml"}, token=toks["alice"])
        eq(st, 201, f"a slow run starts: {js}")
        run = js["run"]
        s.wait_run(toks["alice"], run, lambda v: v["current_step"] == "slow", what="the slow step runs")
        time.sleep(0.3)
        s.kill9()
    survivors = subprocess.run(["pgrep", "-f", "sleep 4; echo slept"], capture_output=True, text=True).stdout.split()
    check(survivors, "the killed server's action is still running (orphaned)")
    t0 = time.time()
    with Serve(wd.store, wd.path, "--runbooks", "runbooks") as s:
        v = s.wait_run(toks["alice"], run, lambda v: v["status"] != "running", timeout=30, what="the run ends")
        eq(v["status"], "recovered", "a server started again takes the run over and it recovers")
        tl = s.get(f"/api/runs/{run}/timeline", token=toks["alice"])[3]
        st, _, _, js = s.post("/api/runs", {"runbook": "slow.yaml\u0000.txt"}, token=toks["alice"])
        eq(st, 400, f"a runbook name holding a NUL is refused: {js}")
        for bad in ("abc", "0", "5x", "-3"):
            eq(s.get(f"/api/runs?limit={bad}", token=toks["alice"])[0], 400, f"GET /api/runs?limit={bad} is refused")
        st, _, _, runs = s.get("/api/runs?limit=1", token=toks["alice"])
        check(st == 200 and len(runs) == 1, f"GET /api/runs?limit=1 lists one run: {st} {runs}")
        resumed = [e for e in tl if e["type"] == "run.resumed"]
        check(resumed and resumed[0]["data"].get("operator") == "alice",
              f"run.resumed, keeping the run's operator: {resumed}")
        check(resumed and any("sleep 4" in x for x in resumed[0]["data"].get("stopped", [])),
              "the orphaned action was stopped before the step ran again")
        started = [e for e in tl if e["type"] == "step.started" and e["step"] == "slow"]
        eq(len(started), 2, "the interrupted step ran again (idempotent)")
        print(f"kill -9 -> taken over and recovered in {time.time() - t0:.1f}s")
        # SIGTERM pauses: run.interrupted, and the next server continues it.
        st, _, _, js = s.post("/api/runs", {"runbook": "restore.yaml"}, token=toks["alice"])
        run2 = js["run"]
        s.wait_run(toks["alice"], run2, lambda v: v.get("waiting"), what="the approval waits")
        eq(s.stop(signal.SIGTERM), 0, "SIGTERM: the server exits 0")
    r = json.loads(rbtest.run(["--store", wd.store, "--json", "status", run2]).out)
    eq(r["status"], "interrupted", "SIGTERM paused the run (interrupted)")
    with Serve(wd.store, wd.path, "--runbooks", "runbooks") as s:
        s.wait_run(toks["bob"], run2, lambda v: v["status"] == "running" and v.get("waiting"), what="continued, waiting")
        st, _, _, js = s.post(f"/api/runs/{run2}/answers", {"step": "approve-restore", "answer": "yes"}, token=toks["bob"])
        eq(st, 200, "bob approves the continued run")
        v = s.wait_run(toks["bob"], run2, lambda v: v["status"] != "running", what="it ends")
        eq(v["status"], "recovered", "the continued run recovers")


def aborts(wd, toks, s):
    st, _, _, js = s.post("/api/runs", {"runbook": "slow.yaml"}, token=toks["alice"])
    run = js["run"]
    s.wait_run(toks["alice"], run, lambda v: v["current_step"] == "slow", what="the slow step runs")
    st, _, _, js = s.post(f"/api/runs/{run}/abort", {}, token=toks["vic"])
    eq(st, 403, "a viewer cannot abort")
    st, _, _, js = s.post(f"/api/runs/{run}/abort", {}, token=toks["alice"])
    eq(st, 202, f"abort: {js}")
    v = s.wait_run(toks["alice"], run, lambda v: v["status"] != "running", timeout=15, what="aborted")
    eq(v["status"], "aborted", "the run ends aborted")
    check("undo-prepare" in open(os.path.join(wd.path, "rollbacks.log")).read(), "its rollback ran")
    # A CLI run interrupted (SIGINT): no engine drives it; the server takes it over to abort.
    cli = subprocess.Popen([rbtest.BIN, "--store", wd.store, "run", "runbooks/slow.yaml"], cwd=wd.path,
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    cli_run = cli.stdout.readline().split()[1]
    s.wait_run(toks["alice"], cli_run, lambda v: v["current_step"] == "slow", what="the CLI run's slow step")
    cli.send_signal(signal.SIGINT)
    cli.wait(15)
    eq(cli.returncode, 3, "SIGINT pauses the CLI run")
    st, _, _, js = s.post(f"/api/runs/{cli_run}/abort", {}, token=toks["alice"])
    eq(st, 202, f"abort of an interrupted CLI run: {js}")
    v = s.wait_run(toks["alice"], cli_run, lambda v: v["status"] not in ("running", "interrupted"), what="aborted")
    eq(v["status"], "aborted", "the server ran its rollbacks and ended it")
    st, _, _, js = s.post(f"/api/runs/{cli_run}/abort", {}, token=toks["alice"])
    eq(st, 409, "aborting an ended run: 409")


def alerts(wd, toks, s):
    hook = toks["am"]
    starts = "2026-11-24T03:00:00.000Z"
    st, _, _, js = s.post("/hooks/alertmanager", {"version": "3", "alerts": []}, token=hook)
    eq(st, 400, "a webhook that is not version 4")
    st, _, _, js = s.post("/hooks/alertmanager", webhook(alert("firing", "fp1", starts, instance="'; touch pwned #")),
                          token=hook)
    eq(st, 202, f"a firing alert: {js}")
    r = js["runs"][0]
    eq((r["status"], r["incident"], r["trigger"]), ("started", "fp1", "target-down"), "it starts its runbook")
    run = r["run"]
    st, _, _, js = s.post("/hooks/alertmanager", webhook(alert("firing", "fp1", starts, instance="'; touch pwned #"),
                                                        alert("firing", "fp9", starts, name="Other")), token=hook)
    eq([x["status"] for x in js["runs"]], ["repeated", "unmatched"], "fired again: repeated; no trigger: unmatched")
    v = s.wait_run(toks["alice"], run, lambda v: v["status"] != "running", what="the alert's run ends")
    eq(v["status"], "recovered", "the trigger's answer (confirm: done) let it finish")
    eq(v["operator"], "am", "the run's operator is the hook token's name")
    check("alert.repeated" in types(s, toks["alice"], run), "alert.repeated is in its timeline")
    eq(open(os.path.join(wd.path, "targets.log")).read(), "'; touch pwned #\n", "a label that is shell code stays data")
    check(not os.path.exists(os.path.join(wd.path, "pwned")), "and runs nothing")
    st, _, _, js = s.post("/hooks/alertmanager", webhook(alert("firing", "fp1", starts)), token=hook)
    eq(js["runs"][0]["status"], "repeated", "the same episode after its run ended starts nothing")
    st, _, _, js = s.post("/hooks/alertmanager", webhook(alert("resolved", "fp1", starts)), token=hook)
    eq((js["runs"][0]["status"], js["runs"][0]["run"]), ("resolved", run), "resolved")
    tl = types(s, toks["alice"], run)
    eq(tl.count("alert.resolved"), 1, "alert.resolved is in the run's timeline")
    st, _, _, js = s.post("/hooks/alertmanager", webhook(alert("resolved", "fp1", starts)), token=hook)
    eq(types(s, toks["alice"], run).count("alert.resolved"), 1, "said once per episode")
    st, _, _, js = s.post("/hooks/alertmanager", webhook(alert("firing", "fp1", "2026-11-24T05:00:00.000Z")), token=hook)
    r = js["runs"][0]
    check(r["status"] == "started" and r["run"] != run, f"a new episode of the alert starts a new run: {r}")
    s.wait_run(toks["alice"], r["run"], lambda v: v["status"] != "running", what="the second run ends")
    st, _, _, js = s.post("/hooks/alertmanager", webhook(alert("firing", "fp1", starts)), token=toks["alice"])
    eq(st, 403, "an operator token cannot post alerts")


def metrics_and_pages(wd, toks, s):
    st, _, _, js = s.post("/api/runs", {"runbook": "restore.yaml"}, token=toks["alice"])
    run = js["run"]
    s.wait_run(toks["alice"], run, lambda v: v.get("waiting"), what="waiting")
    st, hs, text, _ = s.get("/metrics", token=toks["vic"])
    eq(st, 200, "GET /metrics with a viewer token")
    check(hs.get("content-type", "").startswith("text/plain; version=0.0.4"), "the Prometheus text format")
    check(re.search(r'runbook_runs_total\{runbook="slow-step",status="aborted"\} 2', text), "runs by runbook and status")
    check(re.search(r'runbook_step_duration_seconds_bucket\{runbook="slow-step",step="prepare",le="\+Inf"\} \d+', text),
          "step durations as a histogram")
    check('runbook_approvals_waiting{kind="approval"} 1' in text, "the waiting approval is counted")
    check(re.search(r'runbook_rto_used_ratio\{runbook="restore-approval",status="recovered"\} 0\.\d+', text),
          "RTO used by the latest recovered run")
    check(re.search(r'runbook_rto_used_ratio\{runbook="restore-approval",status="running",run="' + run, text),
          "RTO used by a run going on")
    # The pages' forms: sign in, start a run, answer, note (cookie + CSRF).
    st, hs, _, _ = s.post("/login", form={"token": toks["bob"]})
    jar = {"Cookie": hs["set-cookie"].split(";", 1)[0]}
    st, _, html, _ = s.get("/", headers=jar)
    check(st == 200 and f'href="/runs/{run}"' in html, "the runs page lists the run")
    csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', html).group(1)
    st, hs, _, _ = s.post(f"/runs/{run}/answers", form={"csrf": csrf, "step": "approve-restore", "answer": "yes"},
                          headers=jar)
    check(st == 303 and hs["location"] == f"/runs/{run}?done=answered", f"the answer form sends back to the room: {st} {hs}")
    v = s.wait_run(toks["bob"], run, lambda v: v["status"] != "running", what="the run ends")
    eq(v["status"], "recovered", "answered from the form")
    st, hs, _, _ = s.post(f"/runs/{run}/notes", form={"csrf": csrf, "text": "root cause: disk", "tag": "root-cause"},
                          headers=jar)
    eq(st, 303, "the note form")
    notes = s.get(f"/api/runs/{run}", token=toks["bob"])[3]["notes"]
    check(notes and notes[-1]["tag"] == "root-cause" and notes[-1]["by"] == "bob", f"a note on an ended run: {notes}")
    st, hs, body, _ = s.get(f"/runs/{run}/export/markdown", token=toks["vic"])
    check(st == 200 and "attachment" in hs.get("content-disposition", "") and "root cause: disk" in body,
          "the markdown export, as a download")
    st, _, html, _ = s.get(f"/runs/{run}", headers={"Cookie": jar["Cookie"]})
    check("/export/junit" in html and 'id="answer-yes"' not in html, "the room of an ended run: exports, no answer buttons")


def main():
    with rbtest.Workdir() as wd:
        wd.file("runbooks/restore.yaml", APPROVAL_RUNBOOK)
        wd.file("runbooks/slow.yaml", SLOW)
        wd.file("runbooks/alerted.yaml", ALERTED)
        wd.file("triggers.yaml", TRIGGERS)
        toks = {n: token(wd.store, n, r) for n, r in
                [("alice", "operator"), ("bob", "approver"), ("vic", "viewer"), ("am", "hook")]}
        kill9_and_sigterm(wd, toks)
        with Serve(wd.store, wd.path, "--runbooks", "runbooks", "--triggers", "triggers.yaml") as s:
            check("1 trigger(s)" in s.first_line, f"the triggers are loaded: {s.first_line}")
            aborts(wd, toks, s)
            alerts(wd, toks, s)
            metrics_and_pages(wd, toks, s)
    rbtest.done()


main()
