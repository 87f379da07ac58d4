"""A scripted OpenAI-compatible chat server for tests (http.server in a thread, 127.0.0.1).

    with FakeLLM() as llm:
        llm.script("json", {"valence": 0.3, "energy": 0.4})
        client = LLMClient(LLMConfig(url=llm.url, model="fake-1", key="k", timeout=0.5))

Behaviours (``script(kind, payload)``; the last one repeats):

``json``      the payload as the message content (JSON text)
``fenced``    prose with the payload in a ```json fence
``text``      the payload (a string) as the content, e.g. non-JSON prose
``empty``     an empty content
``slow``      sleeps ``delay`` seconds, then answers like ``json``
``status``    HTTP error ``status`` (default 500) with an OpenAI-style error body
``no_json_mode``  HTTP 400 when the request has ``response_format``, else like ``json``
``garbage``   HTTP 200 with a body that is not JSON at all

``GET /v1/models`` lists ``models``. Every request is recorded in ``requests`` (method, path,
headers, parsed JSON body).
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class FakeLLM:
    def __init__(self, *, models: tuple[str, ...] = ("fake-1", "fake-2")) -> None:
        self.models = models
        self.requests: list[dict[str, Any]] = []
        self._steps: list[tuple[str, Any, dict[str, Any]]] = [("json", {}, {})]
        self._stop = threading.Event()
        self._lock = threading.Lock()
        handler = type("Handler", (_Handler,), {"fake": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    # ------------------------------------------------------------------ control
    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        assert isinstance(host, str)
        return f"http://{host}:{port}/v1"

    def script(self, kind: str, payload: Any = None, **opts: Any) -> FakeLLM:
        """Answer every following chat with this behaviour (replaces the script)."""
        with self._lock:
            self._steps = [(kind, payload, opts)]
        return self

    def then(self, kind: str, payload: Any = None, **opts: Any) -> FakeLLM:
        """Append a behaviour for the next chat (the last one repeats)."""
        with self._lock:
            self._steps.append((kind, payload, opts))
        return self

    def _next(self) -> tuple[str, Any, dict[str, Any]]:
        with self._lock:
            return self._steps.pop(0) if len(self._steps) > 1 else self._steps[0]

    def chats(self) -> list[dict[str, Any]]:
        """The recorded chat requests (POST /v1/chat/completions)."""
        return [r for r in self.requests if r["method"] == "POST"]

    def __enter__(self) -> FakeLLM:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


class _Handler(BaseHTTPRequestHandler):
    """Answers for one :class:`FakeLLM` (set as ``fake`` on a subclass per server)."""

    fake: FakeLLM

    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:  # keep test output quiet
        pass

    def _record(self, body: Any) -> None:
        with self.fake._lock:
            self.fake.requests.append(
                {
                    "method": self.command,
                    "path": self.path,
                    "headers": {k.lower(): v for k, v in self.headers.items()},
                    "json": body,
                }
            )

    def _send(self, status: int, payload: Any, *, raw: bytes | None = None) -> None:
        data = raw if raw is not None else json.dumps(payload).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up
            pass

    def do_GET(self) -> None:
        self._record(None)
        if self.path.rstrip("/") == "/v1/models":
            data = [{"id": m, "object": "model", "owned_by": "fake"} for m in self.fake.models]
            self._send(200, {"object": "list", "data": data})
        else:
            self._send(404, {"error": {"message": "not found"}})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        self._record(body)
        if self.path.rstrip("/") != "/v1/chat/completions":
            self._send(404, {"error": {"message": "not found"}})
            return
        kind, payload, opts = self.fake._next()
        if kind == "slow":
            self.fake._stop.wait(float(opts.get("delay", 2.0)))
            kind = "json"
        if kind == "status":
            status = int(opts.get("status", 500))
            self._send(status, {"error": {"message": f"fake error {status}"}})
            return
        if kind == "no_json_mode":
            if body and "response_format" in body:
                self._send(400, {"error": {"message": "response_format is not supported"}})
                return
            kind = "json"
        if kind == "garbage":
            self._send(200, None, raw=b"<html>proxy error</html>")
            return
        model = (body or {}).get("model", "?")
        self._send(200, _completion(model, _content(kind, payload)))


def _content(kind: str, payload: Any) -> str:
    """The assistant message of a scripted behaviour that answers 200."""
    if kind == "json":
        return json.dumps(payload)
    if kind == "fenced":
        return f"Here you go:\n```json\n{json.dumps(payload, indent=2)}\n```\nEnjoy!"
    if kind == "text":
        return str(payload)
    if kind == "empty":
        return ""
    raise AssertionError(f"unknown behaviour {kind}")


def _completion(model: str, content: str) -> dict[str, Any]:
    """An OpenAI chat completion holding ``content``."""
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }


def closed_port_url() -> str:
    """A base URL on 127.0.0.1 where nothing listens (connection refused)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"
