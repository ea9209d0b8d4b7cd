#!/usr/bin/env python3
"""A local HTTP receiver for tests of what a resource posts with PerformHttpRequest (the
emulator makes those requests for real, with curl).

    python3 http_receiver.py <port file> <log file> [answers]

Listens on 127.0.0.1 at a free port, which it writes to <port file> once it listens. Every
request is appended to <log file> as one JSON line {"method", "path", "contentType", "body",
"status"} (the status it is answered with) before it is answered, so a test reads it as soon as the request returned. `answers` is a
comma-separated list, one per request in turn, then 204 for the rest: a status (`204`, `500`),
or `429:<seconds>` for Discord's rate-limit answer (a Retry-After header and a JSON body with
`retry_after`). Runs until killed.
"""
import json
import os
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer

port_file, log_file = sys.argv[1], sys.argv[2]
answers = [a for a in (sys.argv[3] if len(sys.argv) > 3 else "").split(",") if a]


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0) or 0))
        status, _, retry = (answers.pop(0) if answers else "204").partition(":")
        with open(log_file, "a", encoding="utf-8") as log:
            log.write(json.dumps({
                "method": self.command, "path": self.path,
                "contentType": self.headers.get("Content-Type"),
                "body": body.decode("utf-8", "replace"), "status": int(status),
            }) + "\n")
        payload = b""
        self.send_response(int(status))
        if retry:
            payload = json.dumps({"message": "You are being rate limited.",
                                  "retry_after": float(retry), "global": False}).encode()
            self.send_header("Retry-After", retry)
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST

    def log_message(self, *args):
        pass


server = HTTPServer(("127.0.0.1", 0), Handler)
with open(port_file + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.rename(port_file + ".tmp", port_file)
server.serve_forever()
