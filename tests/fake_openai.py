"""A loopback OpenAI-compatible server, so tests exercise the real httpx client offline.

Leaving the `with` block stops it: a Slow reply still waiting is cut short, and the server's
thread and every handler thread are joined, so none outlives the test."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

__all__ = ["FakeOpenAI", "HTTPError", "Raw", "RecordedRequest", "Reply", "Slow"]

DEFAULT_USAGE = {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18}


@dataclass(frozen=True)
class Reply:
    """A chat completion with this content; usage=None leaves the usage field out."""

    content: str
    usage: dict[str, int] | None = field(default_factory=lambda: dict(DEFAULT_USAGE))


@dataclass(frozen=True)
class HTTPError:
    """An error status with the standard {"error": {"message": ...}} body."""

    status: int
    message: str = "Internal error"


@dataclass(frozen=True)
class Raw:
    """Any body at all: non-JSON text, or JSON that is not a chat completion."""

    body: str
    status: int = 200
    content_type: str = "application/json"


@dataclass(frozen=True)
class Slow:
    """Wait before answering, to provoke client timeouts."""

    seconds: float
    then: Reply | HTTPError | Raw | str = "late"


@dataclass(frozen=True)
class RecordedRequest:
    """What the server received, for assertions."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any  # decoded JSON, or the raw text when not JSON


ReplySpec = Reply | HTTPError | Raw | Slow | str


def _completion(reply: Reply, model: str) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": 0,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": reply.content},
                "finish_reason": "stop",
            }
        ],
    }
    if reply.usage is not None:
        body["usage"] = reply.usage
    return body


class _QuietServer(ThreadingHTTPServer):
    """Clients that time out close their sockets early; that is expected, not an error.
    Handler threads are not daemons: server_close() joins them."""

    daemon_threads = False
    block_on_close = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Swallow BrokenPipe and friends from abandoned requests."""


class FakeOpenAI:
    """`with FakeOpenAI() as api:` serves api.replies in order at api.url; records api.requests."""

    def __init__(self, replies: list[ReplySpec] | None = None) -> None:
        self.replies: list[ReplySpec] = list(replies or [])
        self.requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()  # set on leaving the `with` block: Slow replies end
        self._server = _QuietServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def __enter__(self) -> FakeOpenAI:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._server.shutdown()
        self._server.server_close()  # joins the handler threads
        self._thread.join()

    def _next(self) -> ReplySpec:
        with self._lock:
            return self.replies.pop(0) if self.replies else HTTPError(500, "no canned reply left")

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            timeout = 10  # a client that stalls mid-request cannot hold a thread forever

            def log_message(self, format: str, *args: Any) -> None:
                """Keep test output quiet."""

            def _send(self, status: int, body: str, content_type: str) -> None:
                data = body.encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                try:
                    body: Any = json.loads(raw)
                except ValueError:
                    body = raw
                fake._record(RecordedRequest("POST", self.path, dict(self.headers.items()), body))
                if self.path.rstrip("/") != "/v1/chat/completions":
                    self._send(
                        404, json.dumps({"error": {"message": "not found"}}), "application/json"
                    )
                    return
                model = body.get("model", "") if isinstance(body, dict) else ""
                self._answer(fake._next(), str(model))

            def _answer(self, spec: ReplySpec, model: str) -> None:
                if isinstance(spec, Slow):
                    if fake._stop.wait(spec.seconds):
                        return  # the test is over: no answer
                    spec = spec.then
                if isinstance(spec, str):
                    spec = Reply(spec)
                if isinstance(spec, Reply):
                    self._send(200, json.dumps(_completion(spec, model)), "application/json")
                elif isinstance(spec, HTTPError):
                    error = {"error": {"message": spec.message, "type": "server_error"}}
                    self._send(spec.status, json.dumps(error), "application/json")
                else:
                    assert isinstance(spec, Raw)
                    self._send(spec.status, spec.body, spec.content_type)

        return Handler
