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


# What the "control" mode's model writes: NUL and other control characters inside the JSON strings
# (escaped and raw), and what is left of them once cleaned.
CONTROL_TITLE = "Spindle\x00 overheats\r\nafter 20\x07 minutes\x1b"
CONTROL_SUMMARY = "The spindle\x00 overheats again.\r\nTool 12\x0c smokes.\tAlarm SP9001.\x00"
CONTROL_REMEDY = "Cleaned the\x00 spindle fan.\r\nReplaced\x08 the filter."
CLEAN_TITLE = "Spindle overheats after 20 minutes"
CLEAN_SUMMARY = "The spindle overheats again.\nTool 12 smokes.\tAlarm SP9001."
CLEAN_REMEDY = "Cleaned the spindle fan.\nReplaced the filter."


class FakeOpenAI:
    """Modes: good, slow, error500, ratelimit (429 with Retry-After), garbage (an HTML page), badjson (HTTP
    200 announced as JSON whose body is not JSON, as a proxy's error page can be), notjson (a reply whose
    message is not the requested JSON), nonstring (a message content that is a number), control (text
    full of NUL and other control characters), longtitle, empty, hang (the request is accepted and never
    answered until the server stops). `script` is a list of modes used one per request before falling
    back to `mode`."""

    def __init__(self):
        self.mode = "good"
        self.script = []
        self.slow_seconds = 3.0
        self.requests = []
        self.request_times = []
        # Set on stop(), so requests left hanging end with the server.
        self._released = threading.Event()
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
        self._released.set()
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
                if mode == "hang":
                    fake._released.wait(timeout=120)
                    self.close_connection = True
                    return None
                if mode == "garbage":
                    return self._send(200, b"<html>proxy error</html>", content_type="text/html")
                if mode == "badjson":
                    return self._send(200, b"upstream request timeout")
                system = body["messages"][0]["content"]
                if mode == "notjson":
                    content = "Sure! The spindle is hot."
                elif mode == "nonstring":
                    content = 42
                elif mode == "control":
                    reply = {"text": CONTROL_REMEDY} if '"text"' in system else {"title": CONTROL_TITLE,
                                                                                 "summary": CONTROL_SUMMARY}
                    # json.dumps escapes every control character; a model may also write NUL raw.
                    content = "\x00" + json.dumps(reply).replace("\\u0000", "\x00")
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
