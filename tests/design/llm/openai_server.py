"""A small OpenAI-compatible chat-completions server on 127.0.0.1, for tests.

Replies are scripted per request: a reply is either a text (answered as a normal chat
completion) or an HTTP status code (answered as that error), or "hang" (no answer).
`latency_s` delays every answer, like a remote API (benchmarks: the LLM's time is waiting).
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class OpenAIServer:
    def __init__(self, replies: list[str | int], latency_s: float = 0.0) -> None:
        self.replies = list(replies)
        self.latency_s = latency_s
        self.requests: list[dict[str, Any]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                server.requests.append({"path": self.path, "body": body,
                                        "authorization": self.headers.get("Authorization")})
                reply = server.replies.pop(0) if server.replies else 500
                time.sleep(server.latency_s)
                if reply == "hang":
                    time.sleep(5)
                    return
                if isinstance(reply, int):
                    self._send(reply, {"error": {"message": f"scripted error {reply}", "type": "server_error"}})
                    return
                prompt_tokens = sum(len(m["content"].split()) for m in body["messages"])
                self._send(200, {
                    "id": "chatcmpl-test", "object": "chat.completion", "created": int(time.time()),
                    "model": body["model"],
                    "choices": [{"index": 0, "finish_reason": "stop",
                                 "message": {"role": "assistant", "content": reply}}],
                    "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": len(reply.split()),
                              "total_tokens": prompt_tokens + len(reply.split())},
                })

            def _send(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
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
