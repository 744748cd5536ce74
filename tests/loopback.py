"""A loopback stand-in for PostHog and Mixpanel that applies their real ingestion rules.

Not a permissive sink: it refuses what the real services refuse, and accepts silently what they
accept silently. The rules, and the sources they are read from, are in `ingestion_rules.py`;
this module is the HTTP side and what each service kept:

- `posthog`: every event filed under a project, duplicates included (PostHog de-duplicates on
  `uuid` only eventually); `nowhere`: events answered 200 under a well-shaped key of no project
  (`posthog_keys` names the projects; None: every key is one).
- `mixpanel`: every event ingested (strings cut at 255), duplicates included;
  `mixpanel_counted()`: as Mixpanel counts them; `mixpanel_dropped`: events /track answered
  `status: 1` for and dropped (older than 5 days). `mixpanel_tokens` names the projects /import
  authenticates (None: any non-empty token).
- `fail(status, times, retry_after, path)` scripts answers such as the services' 429 (with
  Retry-After) and 502/503; `redirect(status, location, ...)` a 3xx (an SSO proxy, a captive
  portal, a moved host), and `pages` what a GET is answered with (200 HTML), e.g. the login
  page a redirect points to. Every request is in `requests`, a GET as "GET <path>".

Modes: "ok"; "error" (every request 500); "tls-port" (every request 400 with nginx's HTML page
for plain HTTP sent to an HTTPS port: a refusal that is no service's); "silent" (reads the
request, never answers);
"trickle" (answers one byte at a time, forever: a per-read timeout never fires). `delay` slows
every answer. Handler threads are joined when the server stops.
"""

from __future__ import annotations

import atexit
import gzip
import json
import socket
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests import ingestion_rules as rules

_UNHEARD: list[socket.socket] = []  # one port, bound and never listening, while tests run


def refused_url() -> str:
    """A loopback URL on which nothing listens: connections are refused at once.

    Its port stays bound, and never listens, until this process ends: a port only looked up and
    let go could be taken meanwhile by a server that another test, or another test process
    (pytest-xdist's workers, CI's suites on other Pythons), starts on port 0."""
    if not _UNHEARD:
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        atexit.register(sock.close)
        _UNHEARD.append(sock)
    return f"http://127.0.0.1:{_UNHEARD[0].getsockname()[1]}"


# What nginx answers a plain HTTP request sent to its HTTPS port (ngx_http_special_response.c,
# ngx_http_error_497_page), with status 400 and text/html.
NGINX_400 = (
    "<html>\r\n<head><title>400 The plain HTTP request was sent to HTTPS port</title></head>\r\n"
    "<body>\r\n<center><h1>400 Bad Request</h1></center>\r\n"
    "<center>The plain HTTP request was sent to HTTPS port</center>\r\n"
    "<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
)


class Reply:
    """An answer: a status, a body (text, or JSON for anything else), extra headers, and its
    content type when not the body's (text/plain or application/json)."""

    def __init__(
        self, status: int, body: Any, headers: dict[str, str] | None = None, kind: str = ""
    ) -> None:
        self.status, self.body, self.headers, self.kind = status, body, headers or {}, kind


class Backend:
    """Both services on one loopback port (see the module docstring for the rules)."""

    def __init__(
        self,
        mode: str = "ok",
        *,
        posthog_keys: set[str] | None = None,
        mixpanel_tokens: set[str] | None = None,
        delay: float = 0.0,
        now: Callable[[], float] = time.time,
    ) -> None:
        self.mode = mode
        self.posthog_keys = posthog_keys
        self.mixpanel_tokens = mixpanel_tokens
        self.delay = delay
        self.now = now
        self.posthog: list[dict[str, Any]] = []  # every event filed under a project, as received
        self.posthog_bodies: list[dict[str, Any]] = []
        self.nowhere: list[dict[str, Any]] = []  # answered 200, filed under no project
        self.mixpanel: list[dict[str, Any]] = []  # every event ingested, strings cut at 255
        self.mixpanel_dropped: list[dict[str, Any]] = []  # /track events older than 5 days
        self.requests: list[str] = []  # paths, in order
        self.answers: list[tuple[str, int]] = []  # (path, status), in order
        self.pages: dict[str, str] = {}  # path -> the HTML a GET of it is answered with
        self._script: list[tuple[int, dict[str, str], str | None]] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = False  # joined by server_close(): no thread outlives a test
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever)

    # -- scripting and waiting ------------------------------------------------------------------
    def fail(
        self,
        status: int,
        times: int = 1,
        retry_after: float | str | None = None,
        path: str | None = None,
    ) -> None:
        """Answer the next `times` requests (to `path`, if given) with `status`; ingest nothing.
        `retry_after`: seconds, or the header's text as is (an HTTP date)."""
        headers = {}
        if retry_after is not None:
            text = retry_after if isinstance(retry_after, str) else f"{retry_after:g}"
            headers["Retry-After"] = text
        with self._lock:
            self._script += [(status, headers, path)] * times

    def redirect(self, status: int, location: str, times: int = 1, path: str | None = None) -> None:
        """Answer the next `times` POSTs (to `path`, if given) with a `status` redirect to
        `location`; ingest nothing."""
        with self._lock:
            self._script += [(status, {"Location": location}, path)] * times

    def mixpanel_counted(self) -> list[dict[str, Any]]:
        """Mixpanel's events as it counts them: duplicates on (event, distinct_id, time,
        $insert_id) once."""
        seen: dict[tuple[Any, ...], dict[str, Any]] = {}
        with self._lock:
            for e in self.mixpanel:
                p = e["properties"]
                seen.setdefault((e["event"], p["distinct_id"], p["time"], p["$insert_id"]), e)
        return list(seen.values())

    def wait_for(self, *, posthog: int = 0, mixpanel: int = 0, timeout: float = 20) -> bool:
        """Wait until at least this many events arrived (a detached uploader sends them)."""
        return self.wait_until(
            lambda: len(self.posthog) >= posthog and len(self.mixpanel) >= mixpanel, timeout
        )

    def wait_until(self, predicate: Callable[[], bool], timeout: float = 20) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if predicate():
                    return True
            time.sleep(0.02)
        return False

    def __enter__(self) -> Backend:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self.server.shutdown()  # returns once serve_forever has
        self.server.server_close()  # joins the handler threads
        self._thread.join()

    # -- the HTTP side --------------------------------------------------------------------------
    def _handler(self) -> type[BaseHTTPRequestHandler]:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            timeout = 10  # a client that stalls mid-request cannot hold a thread forever

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                owner._serve(self)

            def do_GET(self) -> None:
                owner._page(self)

        return Handler

    def _serve(self, h: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(h.path)
        path, query = parts.path, parse_qs(parts.query)
        body = h.rfile.read(int(h.headers.get("Content-Length") or 0))
        with self._lock:
            self.requests.append(path)
        if self.mode == "silent":
            self._stop.wait()
            return
        if self.mode == "trickle":
            self._trickle(h)
            return
        if self.delay:
            self._stop.wait(self.delay)
        reply = self._scripted(path)
        if reply is None:
            reply = self._route(h, path, body, query)
        self._answer(h, path, reply)

    def _page(self, h: BaseHTTPRequestHandler) -> None:
        path = urlsplit(h.path).path
        with self._lock:
            self.requests.append(f"GET {path}")
        page = self.pages.get(path)
        reply = Reply(404, "not found") if page is None else Reply(200, page, kind="text/html")
        self._answer(h, f"GET {path}", reply)

    def _route(
        self, h: BaseHTTPRequestHandler, path: str, body: bytes, query: dict[str, list[str]]
    ) -> Reply:
        if self.mode == "error":
            return Reply(500, "internal error")
        if self.mode == "tls-port":
            return Reply(400, NGINX_400, kind="text/html")
        if path in ("/batch", "/batch/"):
            return self._posthog(h, body)
        if path == "/track":
            return self._track(body, query)
        if path == "/import":
            return self._import(h, body, query)
        return Reply(404, "not found")

    def _scripted(self, path: str) -> Reply | None:
        with self._lock:
            for i, (status, headers, only) in enumerate(self._script):
                if only is None or only == path:
                    del self._script[i]
                    if 300 <= status < 400:
                        return Reply(status, "", headers)
                    if path == "/import":  # /import answers errors as JSON (see _mp)
                        return Reply(status, _mp(status, "scripted", "Scripted").body, headers)
                    return Reply(status, "scripted failure", headers)
        return None

    def _answer(self, h: BaseHTTPRequestHandler, path: str, reply: Reply) -> None:
        text = reply.body if isinstance(reply.body, str) else json.dumps(reply.body)
        payload = text.encode()
        kind = reply.kind or ("text/plain" if isinstance(reply.body, str) else "application/json")
        with self._lock:
            self.answers.append((path, reply.status))
        try:
            h.send_response(reply.status)
            h.send_header("Content-Type", kind)
            h.send_header("Content-Length", str(len(payload)))
            for name, value in reply.headers.items():
                h.send_header(name, value)
            h.end_headers()
            h.wfile.write(payload)
        except OSError:  # the client gave up (a killed uploader)
            pass

    def _trickle(self, h: BaseHTTPRequestHandler) -> None:
        try:
            for byte in b"HTTP/1.1 200 OK\r\nX-Trickle: ":
                h.wfile.write(bytes([byte]))
                h.wfile.flush()
            while not self._stop.wait(0.1):
                h.wfile.write(b"a")
                h.wfile.flush()
        except OSError:
            pass

    # -- PostHog --------------------------------------------------------------------------------
    def _posthog(self, h: BaseHTTPRequestHandler, body: bytes) -> Reply:
        if len(body) > rules.POSTHOG_MAX_BODY:  # axum's body limit, in its words
            return Reply(413, "Failed to buffer the request body: length limit exceeded")
        try:
            if h.headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            payload = json.loads(body)
        except (ValueError, OSError) as exc:
            return Reply(400, f"failed to decode request: {type(exc).__name__}")
        refusal = rules.posthog_refusal(payload)
        if refusal is not None:
            return Reply(*refusal)
        key = str(payload["api_key"]).strip()
        with self._lock:
            self.posthog_bodies.append(payload)
            known = self.posthog_keys is None or key in self.posthog_keys
            (self.posthog if known else self.nowhere).extend(payload["batch"])
        return Reply(200, {"status": "Ok"})

    # -- Mixpanel -------------------------------------------------------------------------------
    def _track(self, body: bytes, query: dict[str, list[str]]) -> Reply:
        form = parse_qs(body.decode())
        verbose = (form.get("verbose") or query.get("verbose") or ["0"])[0] == "1"
        try:
            events = json.loads(form["data"][0])
        except (KeyError, ValueError):
            return Reply(200, {"status": 0, "error": "data, missing or empty"} if verbose else "0")
        events = events if isinstance(events, list) else [events]
        now = self.now()
        with self._lock:
            for event in events:
                seconds = rules.event_seconds(event.get("properties", {}).get("time"))
                old = seconds is not None and now - seconds > rules.TRACK_MAX_AGE
                (self.mixpanel_dropped if old else self.mixpanel).append(rules.cut_strings(event))
        return Reply(200, {"status": 1, "error": None} if verbose else "1")

    def _import(self, h: BaseHTTPRequestHandler, body: bytes, query: dict[str, list[str]]) -> Reply:
        token = rules.basic_user(h.headers.get("Authorization"))
        if not token or (self.mixpanel_tokens is not None and token not in self.mixpanel_tokens):
            return _mp(401, "Invalid credentials", "Unauthorized")
        try:
            if h.headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            if len(body) > rules.MIXPANEL_MAX_BODY:
                return _mp(413, "request exceeds max limit of 2097152 bytes", TOO_LARGE)
            kind = (h.headers.get("Content-Type") or "").split(";")[0].strip()
            if kind == "application/x-www-form-urlencoded":
                form = parse_qs(body.decode())
                query = {**query, **{k: v for k, v in form.items() if k == "strict"}}
                body = form["data"][0].encode()
            if kind == "application/x-ndjson":
                events = [json.loads(line) for line in body.splitlines() if line.strip()]
            else:
                events = json.loads(body)
            events = events if isinstance(events, list) else [events]
        except (ValueError, KeyError, OSError):
            return _mp(400, "unable to parse the request body", "Bad Request")
        if len(events) > rules.MIXPANEL_MAX_EVENTS:
            return _mp(413, "request exceeds max limit of 2000 events", TOO_LARGE)
        failed = [f for i, e in enumerate(events) if (f := rules.import_refusal(i, e, self.now()))]
        bad = {f["index"] for f in failed}
        good = [rules.cut_strings(e) for i, e in enumerate(events) if i not in bad]
        with self._lock:
            self.mixpanel.extend(good)
        if failed and (query.get("strict") or ["0"])[0] == "1":
            return Reply(
                400,
                {
                    "code": 400,
                    "error": "some data points in the request failed validation",
                    "failed_records": failed,
                    "num_records_imported": len(good),
                    "status": "Bad Request",
                },
            )
        return Reply(200, {"code": 200, "num_records_imported": len(good), "status": "OK"})


TOO_LARGE = "Request Entity Too Large"  # the docs' StrictTooLarge example


def _mp(status: int, error: str, word: str) -> Reply:
    """An /import error as the docs give it: {"code", "error", "status"} (mixpanel/docs
    openapi/src/ingestion.openapi.yaml, StrictUnauthorized, StrictTooLarge, RateLimitExceeded;
    StrictInvalid adds `failed_records` and `num_records_imported`)."""
    return Reply(status, {"code": status, "error": error, "status": word})
