"""A loopback server speaking enough PostHog (/batch/) and Mixpanel (/track) for the real SDKs."""

from __future__ import annotations

import gzip
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs


def refused_url() -> str:
    """A loopback URL on which nothing listens: connections are refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


class Backend:
    """mode: "ok", "error" (HTTP 500), or "silent" (accepts, never answers until stopped)."""

    def __init__(self, mode: str = "ok") -> None:
        self.mode = mode
        self.posthog: list[dict[str, Any]] = []  # every capture message received
        self.posthog_bodies: list[dict[str, Any]] = []
        self.mixpanel: list[dict[str, Any]] = []  # every event received
        self.requests: list[str] = []  # paths, in order
        self._stop = threading.Event()
        self._lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                with owner._lock:
                    owner.requests.append(self.path.split("?")[0])
                if owner.mode == "silent":
                    owner._stop.wait(60)
                    return
                if owner.mode == "error":
                    self._answer(500, b'{"error": "boom"}')
                    return
                owner._record(self.path.split("?")[0], body, self.headers.get("Content-Encoding"))
                if self.path.startswith("/track"):
                    self._answer(200, b'{"status": 1, "error": null}')
                else:
                    self._answer(200, b'{"status": "Ok"}')

            def _answer(self, code: int, payload: bytes) -> None:
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def _record(self, path: str, body: bytes, encoding: str | None) -> None:
        with self._lock:
            if path.startswith("/track"):
                form = parse_qs(body.decode())
                events = json.loads(form["data"][0])
                self.mixpanel.extend(events if isinstance(events, list) else [events])
            else:
                if encoding == "gzip":
                    body = gzip.decompress(body)
                payload = json.loads(body)
                self.posthog_bodies.append(payload)
                self.posthog.extend(payload.get("batch", [payload]))

    def wait_for(self, *, posthog: int = 0, mixpanel: int = 0, timeout: float = 20) -> bool:
        """Wait until at least this many events arrived (a detached uploader sends them)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.posthog) >= posthog and len(self.mixpanel) >= mixpanel:
                    return True
            time.sleep(0.05)
        return False

    def __enter__(self) -> Backend:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self.server.shutdown()
        self.server.server_close()
