"""A local OpenAI-compatible chat-completions server for tests: it replays recorded answers
(text labels by text, or the answer a ``reply`` function picks for a request, e.g. a persona
narrative) and, on cue, fails the ways real endpoints do (429 with Retry-After, 500, a
timeout, a body that is not JSON, an answer missing items or with a label outside its set).
It listens on 127.0.0.1 only and keeps every request body, so tests can check what left the
machine."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

# The labels an unrecorded text gets.
DEFAULT_LABELS = {
    "intent": "other",
    "intent_confidence": 0.5,
    "journey_stage": "retention",
    "journey_stage_confidence": 0.5,
    "sentiment": 0.0,
    "sentiment_confidence": 0.5,
    "emotion": "neutral",
    "emotion_confidence": 0.5,
}
BEHAVIOURS = ("ok", "429", "500", "400", "timeout", "malformed", "partial", "invalid")


class ReplayServer:
    def __init__(
        self,
        recordings: dict[str, dict[str, Any]],
        script: list[str] | None = None,
        delay_seconds: float = 1.0,
        reply: Callable[[dict[str, Any]], str] | None = None,
    ) -> None:
        self.recordings = recordings
        self.reply = reply  # the answer to a request that is not a labelling request
        self.script = list(script or [])
        self.delay_seconds = delay_seconds  # how long a "timeout" answer takes
        self.requests: list[dict[str, Any]] = []
        self.behaviours: list[str] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def _next(self, body: dict[str, Any]) -> str:
        with self._lock:
            self.requests.append(body)
            behaviour = self.script.pop(0) if self.script else "ok"
            self.behaviours.append(behaviour)
            return behaviour

    def labels(self, body: dict[str, Any], behaviour: str) -> tuple[str, int]:
        texts = json.loads(body["messages"][-1]["content"])["texts"]
        labels = [{"id": t["id"], **self.recordings.get(t["text"], DEFAULT_LABELS)} for t in texts]
        if behaviour == "partial":
            labels = labels[1:]
        if behaviour == "invalid":
            labels[0] = {**labels[0], "intent": "refund"}
        return json.dumps({"labels": labels}), len(texts)

    def answer(self, body: dict[str, Any], behaviour: str) -> dict[str, Any]:
        if self.reply is not None:
            content, texts = self.reply(body), 1
        else:
            content, texts = self.labels(body, behaviour)
        return {
            "id": "chatcmpl-replay",
            "object": "chat.completion",
            "model": body.get("model"),
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content}}],
            "usage": {"prompt_tokens": 100 * texts, "completion_tokens": 40 * texts},
        }

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def _send(self, status: int, payload: bytes, headers: dict[str, str] | None = None):
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length))
                behaviour = server._next(body)
                if behaviour == "429":
                    self._send(429, b'{"error": "rate limited"}', {"Retry-After": "0.05"})
                elif behaviour in ("500", "400"):
                    self._send(int(behaviour), b'{"error": "server error"}')
                elif behaviour == "timeout":
                    time.sleep(server.delay_seconds)
                    self._send(200, json.dumps(server.answer(body, "ok")).encode())
                elif behaviour == "malformed":
                    self._send(200, b'{"choices": [{"message": {"content": "sure! {labels: ["}}]}')
                else:
                    self._send(200, json.dumps(server.answer(body, behaviour)).encode())

        return Handler

    @contextmanager
    def running(self) -> Iterator[ReplayServer]:
        thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._server.shutdown()
            self._server.server_close()
            thread.join(timeout=5)
