#!/usr/bin/python3
"""Contract §3/§4/§5 on the paths an incident really takes: an operator's abort cut short
by Ctrl-C while its rollbacks run, then resumed, still ends `aborted` (exit 3) and runs the
cut-short rollback again before the older ones; the interruption says which rollback it
cut, and the incident report's timeline shows every interruption. A run paused (or killed)
inside a retry's delay waits out the rest of that delay on resume, and an abort during that
wait ends it at once. After a resume by someone else, the operator who started the run
still cannot answer a second-person approval (not even named with --answer STEP=yes@NAME). A timeline event changed in the store
(its hash chain broken) makes `timeline` exit 4 naming the event and `export` refuse to
write a report from it. A step cut short (kill -9, Ctrl-C) and never finished is
"interrupted" in every export — not "running", not a passed JUnit testcase."""
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import rbtest as rb  # noqa: E402

RUNBOOK = """runbook: abort-cut-short
title: Abort cut short
objectives: {{ rto: 5m }}
steps:
  a:
    shell: echo a >> "{log}"
    rollback:
      shell: echo undo-a >> "{log}"
    next: b
  b:
    shell: echo b >> "{log}"
    rollback:
      shell: echo undo-b-start >> "{log}"; sleep 2; echo undo-b-end >> "{log}"
    next: ok
  ok:
    approval: {{ prompt: "go?", timeout: 5m }}
    next: done
  done:
    end: recovered
"""


def popen(wd, *args):
    return subprocess.Popen([rb.BIN, "--json", "--store", wd.store] + list(args), cwd=wd.path,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)


def wait_for(pred, limit=20.0):
    t0 = time.time()
    while time.time() - t0 < limit:
        if pred():
            return True
        time.sleep(0.05)
    return False


def lines(path):
    try:
        with open(path) as f:
            return f.read().split()
    except FileNotFoundError:
        return []


def pause_at_approval(wd, *run_args, what="SIGINT at the approval pauses (exit 3)"):
    """Starts `runbook run RUN_ARGS`, waits for its approval (no terminal: it waits), sends
    SIGINT there and checks it paused (exit 3). Returns the run's id."""
    run = popen(wd, "run", *run_args)
    try:
        run_id = json.loads(run.stdout.readline())["data"]["run"]
        for line in run.stdout:
            if json.loads(line)["type"] == "approval.requested":
                break
        run.send_signal(signal.SIGINT)
        rb.eq(run.wait(timeout=20), 3, what)
    finally:
        if run.poll() is None:
            run.kill()
    return run_id


def timeline(wd, run_id):
    p = rb.run(["--json", "--store", wd.store, "timeline", run_id], cwd=wd.path)
    return [json.loads(l) for l in p.out.splitlines() if l.strip()]


def interrupted_abort_stays_aborted():
    with rb.Workdir() as wd:
        log = os.path.join(wd.path, "log")
        path = wd.file("r.yaml", RUNBOOK.format(log=log))
        run_id = pause_at_approval(wd, path)
        ab = popen(wd, "abort", run_id)
        try:
            rb.check(wait_for(lambda: "undo-b-start" in lines(log)), f"the abort starts b's rollback: {lines(log)}")
            ab.send_signal(signal.SIGINT)  # Ctrl-C while the abort's rollback of b runs
            rb.eq(ab.wait(timeout=20), 3, "the interrupted abort exits 3")
        finally:
            if ab.poll() is None:
                ab.kill()
        evs = timeline(wd, run_id)
        intr = [e for e in evs if e["type"] == "run.interrupted"]
        rb.eq(len(intr), 2, "two interruptions recorded")
        rb.eq(intr[-1]["data"].get("rolling_back"), "b", "the interruption names the rollback it cut short")
        starts = [e for e in evs if e["type"] == "rollback.started"]
        rb.eq(starts[0]["data"].get("ending"), "aborted", "rollback.started says the run is ending aborted")
        human = rb.run(["--store", wd.store, "timeline", run_id], cwd=wd.path).out
        rb.check("nothing was rolled back" not in human.splitlines()[-1],
                 f"an interrupt during the rollbacks does not claim nothing was rolled back: {human}")

        res = rb.run(["--json", "--store", wd.store, "resume", run_id], cwd=wd.path, timeout=60)
        rb.eq(res.returncode, 3, f"resuming the cut-short abort ends it aborted (exit 3): {res.out}{res.err}")
        end = [e for e in timeline(wd, run_id) if e["type"] == "run.ended"]
        rb.eq([e["data"]["status"] for e in end], ["aborted"], "one run.ended, aborted")
        rb.check("aborted by" in end[0]["data"].get("reason", ""), f"the reason keeps who aborted: {end}")
        rb.eq(lines(log), ["a", "b", "undo-b-start", "undo-b-start", "undo-b-end", "undo-a"],
              "b's cut-short rollback runs again, then a's; no step runs again")
        runs = json.loads(rb.run(["--json", "--store", wd.store, "runs"], cwd=wd.path).out)
        rb.eq(runs[0]["status"], "aborted", "runs lists it aborted")

        md = rb.run(["--store", wd.store, "export", run_id, "--format", "markdown"], cwd=wd.path).out
        tl = md.split("## Timeline", 1)[1].split("## Impact", 1)[0]
        rb.check("Run interrupted (interrupted by SIGINT) at step `ok`" in tl, f"the report shows the pause:\n{tl}")
        rb.check("while rolling back b" in tl, f"the report shows the abort cut short:\n{tl}")
        rb.check("**Status:** Aborted" in md, "report status Aborted")

RETRY = """runbook: retry-paused
title: Retry paused
steps:
  f:
    shell: date +%s.%N >> "{log}"; exit 1
    retry: {{ attempts: 3, delay: 3s, backoff: 1.0 }}
    next: done
  done:
    end: recovered
"""


def start_until_retrying(wd, path):
    run = popen(wd, "run", path)
    try:
        run_id = json.loads(run.stdout.readline())["data"]["run"]
        for line in run.stdout:
            if json.loads(line)["type"] == "step.retrying":
                break
        run.send_signal(signal.SIGINT)  # Ctrl-C while waiting 3 s before attempt 2
        rb.eq(run.wait(timeout=20), 3, "SIGINT in the retry delay pauses (exit 3)")
    finally:
        if run.poll() is None:
            run.kill()
    return run_id


def resume_keeps_retry_delay():
    with rb.Workdir() as wd:
        log = os.path.join(wd.path, "log")
        path = wd.file("r.yaml", RETRY.format(log=log))
        run_id = start_until_retrying(wd, path)
        res = popen(wd, "resume", run_id)
        try:
            rb.check(wait_for(lambda: len(lines(log)) >= 2, limit=20), f"attempt 2 runs after the resume: {lines(log)}")
            res.send_signal(signal.SIGINT)
            res.wait(timeout=20)
        finally:
            if res.poll() is None:
                res.kill()
        t = [float(x) for x in lines(log)]
        rb.check(t[1] - t[0] >= 2.9, f"attempt 2 waits out the 3 s retry delay across the resume: {t[1] - t[0]:.2f} s")
        retr = [e for e in timeline(wd, run_id) if e["type"] == "step.retrying"]
        rb.check(len(retr) >= 2 and retr[1]["data"].get("resumed") is True and retr[1]["data"]["next_attempt"] == 2
                 and 0 < retr[1]["data"]["delay_ms"] <= 3000,
                 f"the resume records the delay left as step.retrying: {retr}")

    with rb.Workdir() as wd:  # abort during the resumed wait: at once, not after the delay
        log = os.path.join(wd.path, "log")
        path = wd.file("r.yaml", RETRY.format(log=log).replace("delay: 3s", "delay: 20s"))
        run_id = start_until_retrying(wd, path)
        res = popen(wd, "resume", run_id)
        try:
            rb.check(wait_for(lambda: any(e["type"] == "step.retrying" and e["data"].get("resumed")
                                          for e in timeline(wd, run_id))), "the resume waits out the delay")
            t0 = time.time()
            ab = rb.run(["--store", wd.store, "abort", run_id], cwd=wd.path, timeout=30)
            rb.eq(ab.returncode, 3, f"abort during the resumed retry wait: {ab.out}{ab.err}")
            rb.check(time.time() - t0 < 5, f"the abort ends the run at once ({time.time() - t0:.1f} s), not after 20 s")
            rb.eq(res.wait(timeout=20), 3, "the resuming engine ends aborted")
        finally:
            if res.poll() is None:
                res.kill()
        rb.eq(len(lines(log)), 1, "no attempt ran after the abort")


SECOND = """runbook: second-after-resume
title: Second person after a resume
steps:
  ok:
    approval: { prompt: "go?", timeout: 2s, second_person: true }
    on_reject: stop
    next: done
  stop:
    end: aborted
  done:
    end: recovered
"""


def starter_cannot_answer_after_resume():
    with rb.Workdir() as wd:
        path = wd.file("r.yaml", SECOND)
        run_id = pause_at_approval(wd, path, "--operator", "alice", what="paused at the approval")
        res = rb.run(["--json", "--store", wd.store, "resume", run_id, "--operator", "bob", "--answer", "ok=yes@ALICE"],
                     cwd=wd.path, timeout=60)
        evs = timeline(wd, run_id)
        answered = [e for e in evs if e["type"] == "approval.answered" and e["data"].get("answered")]
        rb.eq(answered, [], "the starter's answer (ALICE, named by bob's --answer) is not taken")
        refused = [e for e in evs if e["type"] == "approval.refused"]
        rb.check(refused and "alice started the run" in refused[-1]["data"]["reason"].lower(),
                 f"refused with the second-person rule: {refused}")
        rb.eq(res.returncode, 3, f"unanswered: on_reject ends it aborted: {res.out[-400:]}{res.err}")


def tampered_event_is_detected():
    with rb.Workdir() as wd:
        log = os.path.join(wd.path, "log")
        path = wd.file("r.yaml", RETRY.format(log=log).replace("exit 1", "exit 0"))
        r = rb.run_runbook(wd, path)
        rb.eq(r.code, 0, "the run recovers")
        ok = rb.run(["--store", wd.store, "export", r.run_id, "--format", "markdown"], cwd=wd.path)
        rb.eq(ok.returncode, 0, f"an intact timeline exports: {ok.err}")
        db = sqlite3.connect(wd.store)
        db.execute("UPDATE events SET data = replace(data, '\"attempts\":1', '\"attempts\":9') "
                   "WHERE run_id = ? AND type = 'step.succeeded'", (r.run_id,))
        db.commit()
        db.close()
        tl = rb.run(["--store", wd.store, "timeline", r.run_id], cwd=wd.path)
        rb.eq(tl.returncode, 4, "timeline of a tampered run: exit 4")
        rb.check("step.succeeded" in tl.err and "damaged" in tl.err, f"names the tampered event: {tl.err}")
        rb.check("run started" in tl.out, "the events are still shown (never an empty answer)")
        for fmt_ in ("markdown", "json", "html", "junit"):
            ex = rb.run(["--store", wd.store, "export", r.run_id, "--format", fmt_], cwd=wd.path)
            rb.eq(ex.returncode, 4, f"export --format {fmt_} of a tampered run: exit 4")
            rb.check(ex.out == "" and "damaged" in ex.err, f"no report from a tampered timeline ({fmt_}): {ex.err}")
        # The incident room's export links refuse it too.
        from servetest import Serve, token
        viewer = token(wd.store, "vic", "viewer")
        with Serve(wd.store, wd.path) as s:
            for fmt_ in ("markdown", "json"):
                st, _, body, _ = s.get(f"/runs/{r.run_id}/export/{fmt_}", token=viewer)
                text = body.decode() if isinstance(body, bytes) else str(body)
                rb.check(st == 500 and "damaged" in text, f"serve export {fmt_} of a tampered run: 500, damaged ({st})")


KILLED = """runbook: killed-mid-step
title: Killed mid step
steps:
  a:
    shell: "true"
    next: b
  b:
    shell: touch "{flag}"; sleep 30
    idempotent: false
    next: done
  done:
    end: recovered
"""


def cut_short_step_is_interrupted_in_reports():
    with rb.Workdir() as wd:
        flag = os.path.join(wd.path, "b-started")
        path = wd.file("r.yaml", KILLED.format(flag=flag))
        run = popen(wd, "run", path)
        try:
            run_id = json.loads(run.stdout.readline())["data"]["run"]
            rb.check(wait_for(lambda: os.path.exists(flag)), "b starts")
            time.sleep(0.3)
            os.killpg(run.pid, signal.SIGKILL)  # kill -9 the engine; b's shell (its own group) is left for abort to stop
            run.wait(timeout=20)
        finally:
            if run.poll() is None:
                run.kill()
        ab = rb.run(["--store", wd.store, "abort", run_id], cwd=wd.path, timeout=60)
        rb.eq(ab.returncode, 3, f"abort after kill -9: {ab.err}")
        md = rb.run(["--store", wd.store, "export", run_id, "--format", "markdown"], cwd=wd.path).out
        res = md.split("## Resolution", 1)[1].split("## Prevention", 1)[0]
        row = [l for l in res.splitlines() if l.startswith("| 2 |")]
        rb.check(row and "interrupted" in row[0] and "running" not in row[0], f"markdown: b is interrupted: {row}")
        js = json.loads(rb.run(["--store", wd.store, "export", run_id, "--format", "json"], cwd=wd.path).out)
        b = [st for st in js["steps"] if st["id"] == "b"][0]
        rb.eq(b["result"], "interrupted", "json: b's result")
        rb.check(b["duration_ms"] >= 300, f"json: b ran until it was cut short: {b['duration_ms']} ms")
        ju = rb.run(["--store", wd.store, "export", run_id, "--format", "junit"], cwd=wd.path).out
        case = ju.split('name="b: b"', 1)[1].split("</testcase>", 1)[0] if 'name="b: b"' in ju else ""
        rb.check('type="interrupted"' in case, f"junit: b is a failure, not a pass: {ju}")
        html = rb.run(["--store", wd.store, "export", run_id, "--format", "html"], cwd=wd.path).out
        rb.check("interrupted" in html.split("<h2>Resolution</h2>", 1)[1].split("</table>", 1)[0], "html: b interrupted")


cut_short_step_is_interrupted_in_reports()
tampered_event_is_detected()
starter_cannot_answer_after_resume()
resume_keeps_retry_delay()
interrupted_abort_stays_aborted()
rb.done()
