"""A minimal Language Server Protocol client over stdio (JSON-RPC with Content-Length
framing), enough to open YAML documents in yaml-language-server and collect the
diagnostics it publishes. Used by test_yaml_language_server.py."""
import json
import os
import queue
import subprocess
import threading
import time


class Server:
    def __init__(self, argv, root):
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.next_id = 0
        self.inbox = queue.Queue()
        self.diagnostics = {}  # uri -> (version, [diagnostic])
        self.published = threading.Condition()
        self.stderr = []
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=lambda: self.stderr.extend(self.proc.stderr), daemon=True).start()
        self.root = root

    # ---- framing ---------------------------------------------------------------------
    def _send(self, msg):
        body = json.dumps(msg).encode()
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.proc.stdin.flush()

    def _read(self):
        out = self.proc.stdout
        while True:
            length = None
            while True:
                line = out.readline()
                if not line:
                    return
                line = line.strip()
                if not line:
                    break
                name, _, value = line.partition(b":")
                if name.lower() == b"content-length":
                    length = int(value)
            if length is None:
                continue
            msg = json.loads(out.read(length))
            self._dispatch(msg)

    def _dispatch(self, msg):
        if "method" in msg and "id" in msg:  # a request from the server: answer it
            result = None
            if msg["method"] == "workspace/configuration":
                result = [self.settings.get("yaml") for _ in msg["params"]["items"]]
            self._send({"jsonrpc": "2.0", "id": msg["id"], "result": result})
        elif msg.get("method") == "textDocument/publishDiagnostics":
            p = msg["params"]
            with self.published:
                self.diagnostics[p["uri"]] = (p.get("version"), p["diagnostics"], time.monotonic())
                self.published.notify_all()
        elif "id" in msg:
            self.inbox.put(msg)

    # ---- protocol --------------------------------------------------------------------
    def request(self, method, params, timeout=30):
        self.next_id += 1
        self._send({"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params})
        deadline = time.monotonic() + timeout
        while True:
            msg = self.inbox.get(timeout=max(0.1, deadline - time.monotonic()))
            if msg.get("id") == self.next_id:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result")

    def notify(self, method, params):
        self._send({"jsonrpc": "2.0", "method": method, "params": params})

    def start(self, settings):
        self.settings = settings
        self.request("initialize", {
            "processId": os.getpid(),
            "rootUri": uri(self.root),
            "capabilities": {"textDocument": {"publishDiagnostics": {"relatedInformation": False}},
                             "workspace": {"configuration": True}},
            "initializationOptions": settings,
        }, timeout=60)
        self.notify("initialized", {})
        self.notify("workspace/didChangeConfiguration", {"settings": settings})

    def open(self, path, text=None):
        if text is None:
            with open(path, encoding="utf-8") as f:
                text = f.read()
        with self.published:
            self.diagnostics.pop(uri(path), None)
        self.notify("textDocument/didOpen", {"textDocument": {
            "uri": uri(path), "languageId": "yaml", "version": 1, "text": text}})

    def diagnostics_of(self, path, timeout=30, settle=0.3):
        """The diagnostics published for `path` once they stop changing for `settle` s."""
        u = uri(path)
        deadline = time.monotonic() + timeout
        with self.published:
            while True:
                got = self.diagnostics.get(u)
                now = time.monotonic()
                if got and now - got[2] >= settle:
                    return got[1]
                if now > deadline:
                    raise TimeoutError(f"no diagnostics for {path} in {timeout}s")
                self.published.wait(timeout=settle)

    def stop(self):
        try:
            self.request("shutdown", None, timeout=5)
            self.notify("exit", None)
            self.proc.wait(timeout=5)
        except Exception:
            pass
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()


def uri(path):
    return "file://" + os.path.abspath(path)
