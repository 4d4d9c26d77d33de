"""runbook serve's live timelines (GET /api/runs/{id}/events): bounded in number (the
1,001st stream gets 503) with the server's memory bounded (RSS measured), a client that
stops reading dropped without holding anyone else, Last-Event-ID honoured, and the events
of a run another engine drives (a CLI `runbook run` on the same store) streamed too: an
answer given through the server reaches that engine, and its events reach the stream
within a second."""
import os
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
import rbtest  # noqa: E402
from rbtest import check, eq  # noqa: E402
from servetest import APPROVAL_RUNBOOK, EventClient, Serve, token  # noqa: E402

CLIENTS = 1000

BIG_EVENTS = """runbook: big-events
title: Big events, many of them
steps:
""" + "".join(f"""  s{i}:
    shell: "head -c 200000 /dev/zero | tr '\\\\0' x"
    outputs: {{ big: result.stdout }}
    next: s{i + 1}
""" for i in range(40)) + """  s40:
    end: recovered
"""


def sse_from_cli_engine(wd, s, toks):
    """A CLI engine waits for an approval; the server streams its events and passes bob's
    answer on through the store."""
    cli = subprocess.Popen([rbtest.BIN, "--store", wd.store, "--json", "run", "runbooks/restore.yaml", "--operator",
                            "carol"], cwd=wd.path, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
    try:
        first = cli.stdout.readline()
        import json
        run = json.loads(first)["data"]["run"]
        s.wait_run(toks["bob"], run, lambda v: v.get("waiting"), what="the CLI run waits for its approval")
        c = EventClient(s.port, f"/api/runs/{run}/events", token=toks["bob"], last_id=3)
        eq(c.read_status(), 200, "the stream of a run a CLI engine drives")
        fid, _ = c.next_event()
        eq(fid, 4, "Last-Event-ID: 3 starts the stream at event 4")
        while True:
            ev = c.next_event(timeout=2)
            if ev is None or ev[1]["type"] == "approval.requested":
                break
        check(ev is not None, "the backlog reaches approval.requested")
        t0 = time.time()
        st, _, _, js = s.post(f"/api/runs/{run}/answers", {"step": "approve-restore", "answer": "yes"}, token=toks["bob"])
        eq(st, 200, f"bob answers the CLI run through the server: {js}")
        seen = {}
        while "run.ended" not in seen:
            ev = c.next_event(timeout=3)
            if ev is None:
                break
            seen[ev[1]["type"]] = time.time() - t0
        check("approval.answered" in seen and seen["approval.answered"] < 1.0,
              f"the CLI engine takes the answer and its event reaches the stream within 1 s: {seen}")
        check("run.ended" in seen, f"the stream carries the run to its end: {sorted(seen)}")
        c.close()
        cli.wait(20)
        eq(cli.returncode, 0, "the CLI run recovered")
        print(f"answer -> approval.answered on the stream of a CLI engine's run: {seen.get('approval.answered', -1) * 1000:.0f} ms")
    finally:
        if cli.poll() is None:
            cli.kill()


def slow_client(wd, s, toks):
    """One client stops reading while a run writes ~8 MB of events: it is dropped, the
    others get every event, and the server answers meanwhile."""
    st, _, _, js = s.post("/api/runs", {"runbook": "big.yaml"}, token=toks["alice"])
    eq(st, 201, f"the big run starts: {js}")
    run = js["run"]
    stuck = socket.socket()
    stuck.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stuck.connect(("127.0.0.1", s.port))
    stuck.sendall(f"GET /api/runs/{run}/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {toks['bob']}\r\n\r\n".encode())
    fast = EventClient(s.port, f"/api/runs/{run}/events", token=toks["bob"])
    eq(fast.read_status(), 200, "a reading client")
    worst, last_seq, t_end = 0.0, 0, time.time() + 60
    while time.time() < t_end:
        t0 = time.time()
        s.get("/healthz")
        worst = max(worst, time.time() - t0)
        ev = fast.next_event(timeout=0.2)
        while ev:
            last_seq = ev[0]
            if ev[1]["type"] == "run.ended":
                break
            ev = fast.next_event(timeout=0.05)
        if ev and ev[1]["type"] == "run.ended":
            break
    st, _, _, tl = s.get(f"/api/runs/{run}/timeline", token=toks["bob"])
    eq(last_seq, len(tl), "the reading client got every event, to run.ended")
    # (Under the sanitizers every event costs many times more: the bound is Release's.)
    check(worst < 0.5 or rbtest.SANITIZED, f"the server answered while a client was stuck (worst /healthz "
                                           f"{worst * 1000:.0f} ms)")
    stuck.settimeout(5)
    got, closed = 0, False
    try:
        while True:
            chunk = stuck.recv(1 << 20)
            if not chunk:
                closed = True
                break
            got += len(chunk)
    except (socket.timeout, ConnectionResetError):
        closed = True
    total = sum(len(str(e)) for e in tl)
    check(closed and got < total, f"the stuck client was dropped ({got} of ~{total} bytes reached it)")
    stuck.close()
    fast.close()
    print(f"stuck client: dropped after {got} bytes; worst /healthz meanwhile {worst * 1000:.1f} ms")


def thousand(s, toks, run):
    """CLIENTS streams open at once, then one more: 503; RSS before and with them."""
    time.sleep(0.5)
    rss0 = s.rss_kb()
    clients = []
    t0 = time.time()
    for i in range(CLIENTS):
        c = EventClient(s.port, f"/api/runs/{run}/events", token=toks["bob"], timeout=30)
        clients.append(c)
    statuses = [c.read_status() for c in clients]
    opened = time.time() - t0  # connected, asked, and answered 200
    eq(statuses.count(200), CLIENTS, f"{CLIENTS} streams open")
    firsts = [c.next_event(timeout=10) for c in clients[:20]]
    check(all(f and f[0] == 1 for f in firsts), "each stream starts with event 1")
    rss1 = s.rss_kb()
    extra = EventClient(s.port, f"/api/runs/{run}/events", token=toks["bob"])
    eq(extra.read_status(), 503, f"stream {CLIENTS + 1} is refused: 503")
    check(b"too many event streams" in extra.buf or b"too many" in extra.sock.recv(4096), "with the reason")
    extra.close()
    st, _, _, _ = s.get("/healthz")
    eq(st, 200, "the server answers with 1,000 streams open")
    st, _, text, _ = s.get("/metrics", token=toks["bob"])
    check(f"runbook_serve_event_streams {CLIENTS}" in text, "metrics count the streams")
    for c in clients:
        c.close()
    deadline = time.time() + 10
    while time.time() < deadline:
        st, _, text, _ = s.get("/metrics", token=toks["bob"])
        if "runbook_serve_event_streams 0" in text:
            break
        time.sleep(0.1)
    check("runbook_serve_event_streams 0" in text, "closed streams are counted out")
    again = EventClient(s.port, f"/api/runs/{run}/events", token=toks["bob"])
    eq(again.read_status(), 200, "a stream opens again once they are gone")
    again.close()
    rss2 = s.rss_kb()
    per = (rss1 - rss0) / CLIENTS
    print(f"RSS: {rss0} kB idle, {rss1} kB with {CLIENTS} streams (+{rss1 - rss0} kB, {per:.1f} kB per stream), "
          f"{rss2} kB after; {CLIENTS} streams opened in {opened:.2f}s")
    check(rss1 - rss0 < 64 * 1024 or rbtest.SANITIZED,
          f"{CLIENTS} streams cost less than 64 MB ({(rss1 - rss0) / 1024:.1f} MB)")


def main():
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard < CLIENTS + 100:
        rbtest.skip(f"the descriptor limit ({hard}) is below {CLIENTS + 100}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    with rbtest.Workdir() as wd:
        wd.file("runbooks/restore.yaml", APPROVAL_RUNBOOK)
        wd.file("runbooks/big.yaml", BIG_EVENTS)
        toks = {n: token(wd.store, n, r) for n, r in [("alice", "operator"), ("bob", "approver")]}
        env = {"RUNBOOK_SERVE_WRITE_TIMEOUT_MS": "1000"}
        with Serve(wd.store, wd.path, "--runbooks", "runbooks", env=env) as s:
            sse_from_cli_engine(wd, s, toks)
            slow_client(wd, s, toks)
            st, _, _, js = s.post("/api/runs", {"runbook": "restore.yaml"}, token=toks["alice"])
            eq(st, 201, "a run for the streams")
            s.wait_run(toks["bob"], js["run"], lambda v: v.get("waiting"), what="it waits")
            thousand(s, toks, js["run"])
    rbtest.done()


main()
