#!/usr/bin/python3
"""A local HTTP and HTTPS (self-signed) server for the tests, on 127.0.0.1 only.

  httpd.py DIR    writes DIR/urls.json {"http": ..., "https": ...} and serves until killed

Endpoints: /status/CODE, /json, /health-after/KEY/SECONDS, /redirect?to=URL[&code=N],
/slow/MS, /echo (any method: method, headers, body), /big/BYTES.
"""
import http.server
import json
import os
import ssl
import subprocess
import sys
import threading
import time
import urllib.parse

first_seen = {}
lock = threading.Lock()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def reply(self, code, body, headers=None):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def handle_any(self):
        u = urllib.parse.urlparse(self.path)
        parts = [p for p in u.path.split("/") if p]
        q = urllib.parse.parse_qs(u.query)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode(errors="replace") if length else ""
        if parts[:1] == ["status"]:
            code = int(parts[1])
            return self.reply(code, {"status": code})
        if parts[:1] == ["json"]:
            return self.reply(200, {"healthy": True, "n": 42, "items": [1, 2, 3]})
        if parts[:1] == ["health-after"]:
            key, secs = parts[1], float(parts[2])
            with lock:
                t0 = first_seen.setdefault(key, time.time())
            if time.time() - t0 >= secs:
                return self.reply(200, {"healthy": True})
            return self.reply(503, {"healthy": False})
        if parts[:1] == ["redirect"]:
            code = int(q.get("code", ["302"])[0])
            self.send_response(code)
            self.send_header("Location", q["to"][0])
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if parts[:1] == ["slow"]:
            time.sleep(int(parts[1]) / 1000)
            return self.reply(200, {"slept_ms": int(parts[1])})
        if parts[:1] == ["echo"]:
            return self.reply(200, {"method": self.command, "headers": dict(self.headers), "body": body})
        if parts[:1] == ["big"]:
            return self.reply(200, b"x" * int(parts[1]))
        self.reply(404, {"error": "not found"})

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = handle_any


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 512


def main():
    d = sys.argv[1]
    os.makedirs(d, exist_ok=True)
    cert, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
    if not os.path.exists(cert):
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                        "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                       check=True, capture_output=True)
    plain = Server(("127.0.0.1", 0), Handler)
    tls = Server(("127.0.0.1", 0), Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    tls.socket = ctx.wrap_socket(tls.socket, server_side=True)
    urls = {"http": f"http://127.0.0.1:{plain.server_address[1]}", "https": f"https://127.0.0.1:{tls.server_address[1]}",
            "cert": cert}
    threading.Thread(target=tls.serve_forever, daemon=True).start()
    with open(os.path.join(d, "urls.json.tmp"), "w") as f:
        json.dump(urls, f)
    os.replace(os.path.join(d, "urls.json.tmp"), os.path.join(d, "urls.json"))
    plain.serve_forever()


if __name__ == "__main__":
    main()
