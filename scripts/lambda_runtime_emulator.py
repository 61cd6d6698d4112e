"""A loopback AWS Lambda Runtime API (2018-06-01) for one function process: it hands out
queued events on `GET /runtime/invocation/next`, takes `…/response` and `…/error`, and
records when each happened (time.perf_counter, the same clock as the caller's).

    emulator = RuntimeApi()            # listens on 127.0.0.1, a free port
    emulator.queue(event)              # the next invocation's payload
    env["AWS_LAMBDA_RUNTIME_API"] = emulator.address
    emulator.wait_for("next", 1)       # the process asked for its first event: init is done

Not a general Lambda emulator: one process, invocations in order, no timeouts enforced.
"""

import json
import queue
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PREFIX = "/2018-06-01/runtime"
FUNCTION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:bench"


class RuntimeApi:
    def __init__(self):
        self.events = queue.Queue()
        self.log = []  # (kind, perf_counter, request id, body): kind is next/response/error/init-error
        self.changed = threading.Condition()
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def body(self):
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    data = b""
                    while True:
                        size = int(self.rfile.readline().strip() or b"0", 16)
                        if size == 0:
                            self.rfile.readline()
                            return data
                        data += self.rfile.read(size)
                        self.rfile.readline()
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))

            def reply(self, status, body=b"", headers=()):
                try:
                    self.send_response(status)
                    for name, value in headers:
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the function was stopped while it waited for an event

            def do_GET(self):
                if self.path != f"{PREFIX}/invocation/next":
                    return self.reply(404)
                api.record("next", None, b"")
                event = api.events.get()
                if event is None:  # shutting down
                    return self.reply(410)
                request_id = str(uuid.uuid4())
                deadline = int((time.time() + 900) * 1000)
                self.reply(200, json.dumps(event).encode(), [
                    ("Content-Type", "application/json"),
                    ("Lambda-Runtime-Aws-Request-Id", request_id),
                    ("Lambda-Runtime-Deadline-Ms", str(deadline)),
                    ("Lambda-Runtime-Invoked-Function-Arn", FUNCTION_ARN),
                    ("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000"),
                ])

            def do_POST(self):
                body = self.body()
                parts = self.path[len(PREFIX):].strip("/").split("/")
                if parts == ["init", "error"]:
                    api.record("init-error", None, body)
                elif len(parts) == 3 and parts[0] == "invocation" and parts[2] in ("response", "error"):
                    api.record(parts[2], parts[1], body)
                else:
                    return self.reply(404)
                self.reply(202, b'{"status":"OK"}', [("Content-Type", "application/json")])

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def address(self):
        host, port = self.server.server_address
        return f"{host}:{port}"

    def queue(self, event):
        self.events.put(event)

    def record(self, kind, request_id, body):
        with self.changed:
            self.log.append((kind, time.perf_counter(), request_id, body))
            self.changed.notify_all()

    def wait_for(self, kind, count, timeout=60.0, alive=lambda: True):
        """The time of the `count`-th record of `kind` (`answered` = response or error), or None
        when the process died (`alive` false) or the timeout passed first."""
        kinds = {"answered": ("response", "error")}.get(kind, (kind,))
        end = time.perf_counter() + timeout
        with self.changed:
            while True:
                seen = [r for r in self.log if r[0] in kinds]
                if len(seen) >= count:
                    return seen[count - 1]
                if any(r[0] == "init-error" for r in self.log) or not alive():
                    return None
                left = end - time.perf_counter()
                if left <= 0:
                    return None
                self.changed.wait(min(left, 0.05))

    def close(self):
        for _ in range(8):
            self.events.put(None)
        self.server.shutdown()
        self.server.server_close()
