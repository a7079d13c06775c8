"""A small OpenAI-compatible chat-completions server on 127.0.0.1, for tests.

Replies are scripted per request: a text (answered as a normal chat completion, usage counted
in words), an HTTP status code (answered as that error), a `Fault` (a status with a
Retry-After header and/or a raw body, e.g. malformed JSON), or "hang" (no answer for
`hang_s`). Either a list consumed in order, or a `responder(body, number)` that picks the
reply for each request (to tell design requests from reviews). `latency_s` delays every
answer, like a remote API (benchmarks: the LLM's time is waiting).
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Union


@dataclass(frozen=True)
class Fault:
    status: int = 500
    retry_after: float | None = None  # seconds, sent as the Retry-After header
    body: str | None = None  # sent as is (default: an OpenAI-style error object)


MALFORMED_JSON = Fault(200, body='{"id": "chatcmpl-x", "object": "chat.completion", "choices": [{"index": 0, ')
NO_CHOICES = Fault(200, body=json.dumps({"id": "chatcmpl-x", "object": "chat.completion", "created": 0,
                                         "model": "m", "choices": [],
                                         "usage": {"prompt_tokens": 1, "completion_tokens": 0, "total_tokens": 1}}))
HANG = "hang"
Reply = Union[str, int, Fault]
Responder = Callable[[dict[str, Any], int], Reply]


class OpenAIServer:
    def __init__(self, replies: list[Reply] | None = None, latency_s: float = 0.0,
                 responder: Responder | None = None, hang_s: float = 5.0) -> None:
        self.replies = list(replies or [])
        self.responder = responder
        self.latency_s = latency_s
        self.hang_s = hang_s
        self.requests: list[dict[str, Any]] = []
        self.answers: list[Reply] = []  # what each request got, in order
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with server._lock:
                    number = len(server.requests)
                    server.requests.append({"path": self.path, "body": body, "time": time.monotonic(),
                                            "authorization": self.headers.get("Authorization")})
                    if server.responder is not None:
                        reply = server.responder(body, number)
                    else:
                        reply = server.replies.pop(0) if server.replies else 500
                    server.answers.append(reply)
                time.sleep(server.latency_s)
                if reply == HANG:
                    time.sleep(server.hang_s)
                    return
                if isinstance(reply, int):
                    reply = Fault(reply)
                if isinstance(reply, Fault):
                    body_text = reply.body if reply.body is not None else json.dumps(
                        {"error": {"message": f"scripted error {reply.status}", "type": "server_error"}})
                    headers = {"Retry-After": f"{reply.retry_after:g}"} if reply.retry_after is not None else {}
                    self._send(reply.status, body_text, headers)
                    return
                prompt_tokens = sum(len(m["content"].split()) for m in body["messages"])
                self._send(200, json.dumps({
                    "id": "chatcmpl-test", "object": "chat.completion", "created": int(time.time()),
                    "model": body["model"],
                    "choices": [{"index": 0, "finish_reason": "stop",
                                 "message": {"role": "assistant", "content": reply}}],
                    "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": len(reply.split()),
                              "total_tokens": prompt_tokens + len(reply.split())},
                }))

            def _send(self, status: int, text: str, headers: dict[str, str] | None = None) -> None:
                data = text.encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def __enter__(self) -> "OpenAIServer":
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
