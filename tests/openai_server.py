"""
A small HTTP server on 127.0.0.1 that speaks OpenAI's chat completions protocol, for tests: the real
`openai` client talks to it through OPENAI_BASE_URL. `mode` picks how it answers.
"""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

GOOD_TITLE = "Spindle overheats after 20 minutes"
GOOD_SUMMARY = "The spindle overheats again after about 20 minutes with alarm SP9001. Tool 12 smokes."
GOOD_REMEDY = "Cleaned the clogged spindle fan and filter. Checked the motor temperature under load."


class FakeOpenAI:
    """Modes: good, slow, error500, ratelimit (429 with Retry-After), garbage (not JSON), notjson (a
    reply whose message is not the requested JSON), longtitle, empty. `script` is a list of modes used
    one per request before falling back to `mode`."""

    def __init__(self):
        self.mode = "good"
        self.script = []
        self.slow_seconds = 3.0
        self.requests = []
        self.request_times = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self):
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._server.shutdown()
        self._server.server_close()

    def _next_mode(self):
        return self.script.pop(0) if self.script else self.mode

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                fake.requests.append(body)
                fake.request_times.append(time.monotonic())
                mode = fake._next_mode()
                if mode == "slow":
                    time.sleep(fake.slow_seconds)
                    mode = "good"
                if mode == "error500":
                    return self._send(500, {"error": {"message": "internal error", "type": "server_error"}})
                if mode == "ratelimit":
                    return self._send(429, {"error": {"message": "slow down", "type": "rate_limit"}},
                                      headers={"Retry-After": "1"})
                if mode == "garbage":
                    return self._send(200, b"<html>proxy error</html>", content_type="text/html")
                system = body["messages"][0]["content"]
                if mode == "notjson":
                    content = "Sure! The spindle is hot."
                elif mode == "empty":
                    content = ""
                elif mode == "longtitle":
                    content = json.dumps({"title": "Spindle " * 30, "summary": GOOD_SUMMARY})
                elif '"text"' in system:
                    content = json.dumps({"text": GOOD_REMEDY})
                elif '"title"' in system:
                    content = "```json\n" + json.dumps({"title": GOOD_TITLE, "summary": GOOD_SUMMARY}) + "\n```"
                else:
                    content = "ready"
                return self._send(200, {
                    "id": "chatcmpl-test", "object": "chat.completion", "created": int(time.time()),
                    "model": body.get("model", "test"),
                    "choices": [{"index": 0, "finish_reason": "stop",
                                 "message": {"role": "assistant", "content": content}}],
                    "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
                })

            def _send(self, status, payload, content_type="application/json", headers=None):
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

        return Handler
