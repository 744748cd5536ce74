"""A loopback stand-in for an OpenTelemetry collector's OTLP/HTTP receiver, as strict as one.

Every request is decoded with the official `opentelemetry-proto` messages; nothing here knows the
wire format. The rules, and where they are read from:

open-telemetry/opentelemetry-proto `docs/specification.md`:
- "OTLP/HTTP Request": POST to `/v1/logs` (an `ExportLogsServiceRequest`) and `/v1/metrics` (an
  `ExportMetricsServiceRequest`); "Non-default URL paths ... MAY be configured" (`prefix`,
  `paths`); "The client MAY gzip the content and in that case MUST include Content-Encoding:
  gzip"; the body size is limited "including after decompression", and "If the limit is
  exceeded, the server MUST respond with HTTP 413".
- "Binary Protobuf Encoding": Content-Type `application/x-protobuf`. "JSON Protobuf Encoding":
  `application/json`, the proto3 JSON mapping with these deviations, enforced here: `traceId` and
  `spanId` are hex, not base64; "Values of enum fields MUST be encoded as integer values ... the
  enum name strings MUST NOT be used"; "The keys of JSON objects are field names converted to
  lowerCamelCase. Original field names are not valid"; receivers "MUST ignore message fields
  with unknown names"; 64-bit integers may be numbers or decimal strings.
- "OTLP/HTTP Response": the answer uses the request's Content-Type. "Full Success": 200 with an
  empty `Export<signal>ServiceResponse`. "Partial Success": 200 with `partial_success` set
  (`rejected_log_records` / `rejected_data_points`, `error_message`). "Failures": every 4xx/5xx
  body is a `google.rpc.Status`; "Bad Data": an undecodable request gets 400. "OTLP/HTTP
  Throttling": 429 or 503, optionally with Retry-After.

open-telemetry/opentelemetry-collector, where the spec leaves room (`receiver/otlpreceiver/
otlphttp.go`, `config/confighttp`): a method other than POST is 405 and an unknown Content-Type
415, both text/plain; an unknown path is Go's 404 "404 page not found"; an unsupported
Content-Encoding is 400 ("unsupported Content-Encoding: x", a Status); a missing or wrong
credential is 401 (contrib `bearertokenauthextension`: "missing or empty authorization header",
"scheme or token does not match"), checked before anything else; the body limit defaults to
20 MiB (`max_request_body_size`). The collector is more lenient than the spec in two places:
its JSON decoder (pdata) also takes snake_case keys and enum names. `json_rules="spec"` (the
default) refuses them with 400, so a client that breaks the spec's MUSTs is caught;
`json_rules="collector"` accepts them as the collector does. Hex ids of the wrong length or
not hex are refused in both (pdata `bytesid.go`: "length mismatch"). Over the body limit the
collector answers 400; this stand-in answers the spec's 413 (neither is retryable).

Kept: `requests` (every request: path, headers, raw body, the decoded message, the answer, what
was kept of it), `log_records()`, `points()`, `headers()`, `count(path)`. Scripted:
`partial(rejected, message)`, `fail(status, times, retry_after)`, `redirect(location)`. Modes:
"ok", "silent" (reads the request, never answers). `tls_files()` makes a CA and certificates for
127.0.0.1 (trustme); `Collector(tls=...)` then serves HTTPS, and `require_client_cert=True` asks
for mTLS. Handler threads are joined when the collector stops; waiting is on a Condition, never
a sleep.
"""

from __future__ import annotations

import base64
import json
import ssl
import threading
import zlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from google.protobuf import json_format
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import DecodeError, Message
from google.rpc import status_pb2
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2
from opentelemetry.proto.common.v1 import common_pb2

PROTOBUF = "application/x-protobuf"
JSON = "application/json"
DEFAULT_MAX_BODY = 20 * 1024 * 1024  # the collector's max_request_body_size default
HEX_IDS = {"trace_id": 16, "span_id": 8, "parent_span_id": 8}  # bytes fields written in hex

# The gRPC code a Status carries for an HTTP status (the collector's statusutil does the same).
GRPC_CODES = {400: 3, 401: 16, 403: 7, 404: 12, 413: 8, 429: 8, 500: 13, 502: 14, 503: 14, 504: 4}

SIGNALS: dict[str, tuple[type[Message], type[Message]]] = {
    "logs": (logs_service_pb2.ExportLogsServiceRequest, logs_service_pb2.ExportLogsServiceResponse),
    "metrics": (
        metrics_service_pb2.ExportMetricsServiceRequest,
        metrics_service_pb2.ExportMetricsServiceResponse,
    ),
}


@dataclass(frozen=True)
class TLSFiles:
    """PEM files: `ca` is what a user puts in OTEL_EXPORTER_OTLP_CERTIFICATE; `cert`/`key`
    serve 127.0.0.1 and localhost; `client_cert`/`client_key` are for mTLS."""

    ca: str
    cert: str
    key: str
    client_cert: str
    client_key: str


def tls_files(directory: Path) -> TLSFiles:
    """A fresh CA, a server certificate for 127.0.0.1 and localhost, and a client certificate,
    written into `directory` (made in the test: nothing is trusted beyond it)."""
    import trustme  # only tests that serve HTTPS need it

    directory.mkdir(parents=True, exist_ok=True)
    ca = trustme.CA()
    server = ca.issue_cert("127.0.0.1", "localhost")
    client = ca.issue_cert("client.example")
    files = TLSFiles(
        ca=str(directory / "ca.pem"),
        cert=str(directory / "server.pem"),
        key=str(directory / "server.key"),
        client_cert=str(directory / "client.pem"),
        client_key=str(directory / "client.key"),
    )
    ca.cert_pem.write_to_path(files.ca)
    server.private_key_pem.write_to_path(files.key)
    server.cert_chain_pems[0].write_to_path(files.cert)
    for extra in server.cert_chain_pems[1:]:
        extra.write_to_path(files.cert, append=True)
    client.private_key_pem.write_to_path(files.client_key)
    client.cert_chain_pems[0].write_to_path(files.client_cert)
    return files


@dataclass
class Received:
    """One request as it arrived, and what it was answered."""

    method: str
    path: str
    headers: dict[str, str]  # names in lower case
    body: bytes  # as sent (compressed, if it was)
    signal: str | None = None  # "logs" or "metrics" for a known path
    message: Message | None = None  # the decoded request, when it decoded
    status: int | None = None  # None: not answered (yet, or "silent")
    answer: bytes = b""
    kept: Message | None = None  # what was kept of it (a partial success drops some)


@dataclass(frozen=True)
class LogView:
    """A received log record with its resource and scope, values as Python values."""

    record: Any  # opentelemetry.proto.logs.v1.logs_pb2.LogRecord
    resource: dict[str, Any]
    scope: str
    scope_version: str
    attributes: dict[str, Any]

    @property
    def event_name(self) -> str:
        return str(self.record.event_name)


@dataclass(frozen=True)
class PointView:
    """A received metric data point: name, kind, attributes, value, temporality, times."""

    name: str
    unit: str
    kind: str  # "sum", "gauge", "histogram", ...
    attributes: dict[str, Any]
    value: int | float
    temporality: int  # AggregationTemporality: 1 delta, 2 cumulative, 0 for a gauge
    monotonic: bool
    start_ns: int
    end_ns: int
    resource: dict[str, Any]
    scope: str


@dataclass
class _Scripted:
    status: int
    headers: dict[str, str]
    signal: str | None
    message: str = "scripted"
    rejected: int = 0  # for a 200 partial success
    html: str | None = None  # answer this page (text/html) instead of a Status


def any_value(value: Any) -> Any:
    """An AnyValue as a Python value (None for an empty value)."""
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [any_value(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return attributes(value.kvlist_value.values)
    return getattr(value, kind)


def attributes(pairs: Any) -> dict[str, Any]:
    return {kv.key: any_value(kv.value) for kv in pairs}


def _is_repeated(fd: FieldDescriptor) -> bool:
    flag = getattr(fd, "is_repeated", None)  # protobuf 7 removed `label`
    if flag is not None:
        return bool(flag)
    return bool(fd.label == fd.LABEL_REPEATED)


class JSONRuleError(ValueError):
    """The JSON breaks a rule of the spec's "JSON Protobuf Encoding"."""


def otlp_json_to_proto_json(value: Any, desc: Descriptor, rules: str) -> Any:
    """OTLP JSON -> the standard proto3 JSON that json_format parses: hex ids become base64,
    unknown keys are dropped; with rules "spec", snake_case keys and enum names are refused."""
    if not isinstance(value, dict):
        raise JSONRuleError(f"{desc.name}: expected a JSON object")
    out: dict[str, Any] = {}
    by_json = {fd.json_name: fd for fd in desc.fields}
    by_name = {fd.name: fd for fd in desc.fields}
    for key, item in value.items():
        fd = by_json.get(key)
        if fd is None and key in by_name:
            if rules == "spec":
                raise JSONRuleError(
                    f"{desc.name}: key {key!r} is not lowerCamelCase "
                    f"(use {by_name[key].json_name!r})"
                )
            fd = by_name[key]
        if fd is None:
            continue  # "MUST ignore message fields with unknown names"
        out[fd.json_name] = _field(item, fd, rules)
    return out


def _field(item: Any, fd: FieldDescriptor, rules: str) -> Any:
    if item is None:
        return None
    if _is_repeated(fd):
        if not isinstance(item, list):
            raise JSONRuleError(f"{fd.full_name}: expected a JSON array")
        return [_one(v, fd, rules) for v in item]
    return _one(item, fd, rules)


def _one(item: Any, fd: FieldDescriptor, rules: str) -> Any:
    if fd.type == fd.TYPE_MESSAGE:
        return otlp_json_to_proto_json(item, fd.message_type, rules)
    if fd.type == fd.TYPE_ENUM and isinstance(item, str):
        if rules == "spec":
            raise JSONRuleError(f"{fd.full_name}: enum values MUST be integers, not {item!r}")
        if item not in fd.enum_type.values_by_name:  # json_format would drop it silently
            raise JSONRuleError(f"{fd.full_name}: unknown string value {item!r}")
    if fd.type == fd.TYPE_BYTES and fd.name in HEX_IDS:
        if not isinstance(item, str):
            raise JSONRuleError(f"{fd.full_name}: expected a hex string")
        if not item:
            return ""
        if len(item) != 2 * HEX_IDS[fd.name]:
            raise JSONRuleError(f"{fd.full_name}: length mismatch")
        try:
            raw = bytes.fromhex(item)
        except ValueError as exc:
            raise JSONRuleError(f"{fd.full_name}: {exc}") from None
        return base64.b64encode(raw).decode()
    return item


class Collector:
    """An OTLP/HTTP receiver on a loopback port (see the module docstring for the rules).

    `prefix` goes before the default paths (`/v1/logs`, `/v1/metrics`); `paths` maps "logs" or
    "metrics" to a path of its own (an OTEL_EXPORTER_OTLP_LOGS_ENDPOINT is used as-is).
    `require_headers`: header -> exact value, else 401 (a bearertokenauth extension). `port`: 0
    for any free one, or a given one (a collector that was down, back where it was)."""

    def __init__(
        self,
        mode: str = "ok",
        *,
        prefix: str = "",
        paths: Mapping[str, str] | None = None,
        require_headers: Mapping[str, str] | None = None,
        tls: TLSFiles | None = None,
        require_client_cert: bool = False,
        max_body: int = DEFAULT_MAX_BODY,
        json_rules: str = "spec",
        port: int = 0,
    ) -> None:
        if json_rules not in ("spec", "collector"):
            raise ValueError(f"json_rules: {json_rules!r}")
        self.mode = mode
        self.max_body = max_body
        self.json_rules = json_rules
        self.require_headers = {k.lower(): v for k, v in (require_headers or {}).items()}
        prefix = prefix.rstrip("/")
        self.routes: dict[str, str] = {
            f"{prefix}/v1/logs": "logs",
            f"{prefix}/v1/metrics": "metrics",
        }
        for signal, path in (paths or {}).items():
            if signal not in SIGNALS:
                raise ValueError(f"unknown signal {signal!r}")
            self.routes = {p: s for p, s in self.routes.items() if s != signal}
            self.routes[path] = signal
        self.requests: list[Received] = []
        self._script: list[_Scripted] = []
        self._stop = threading.Event()
        self._cond = threading.Condition()
        self.server = _Server(("127.0.0.1", port), self._handler())
        self.server.daemon_threads = False  # joined by server_close(): no thread outlives a test
        scheme = "http"
        if tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(tls.cert, tls.key)
            if require_client_cert:
                context.verify_mode = ssl.CERT_REQUIRED
                context.load_verify_locations(tls.ca)
            # The handshake happens in the handler's thread, on its first read, not in accept().
            self.server.socket = context.wrap_socket(
                self.server.socket, server_side=True, do_handshake_on_connect=False
            )
            scheme = "https"
        self.base = f"{scheme}://127.0.0.1:{self.server.server_address[1]}"
        self.url = self.base + prefix  # what OTEL_EXPORTER_OTLP_ENDPOINT would be
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}
        )

    def url_for(self, signal: str) -> str:
        """The full URL of a signal (what OTEL_EXPORTER_OTLP_<SIGNAL>_ENDPOINT would be)."""
        return self.base + next(p for p, s in self.routes.items() if s == signal)

    # -- scripting --------------------------------------------------------------------------------
    def fail(
        self,
        status: int,
        times: int = 1,
        retry_after: float | str | None = None,
        signal: str | None = None,
        message: str = "scripted failure",
        html: str | None = None,
    ) -> None:
        """Answer the next `times` well-formed requests (of `signal`, if given) with `status`
        and a Status (or the `html` page, as a proxy would); keep nothing from them.
        `retry_after`: seconds, or the header's text as is (an HTTP date)."""
        headers = {}
        if retry_after is not None:
            text = retry_after if isinstance(retry_after, str) else f"{retry_after:g}"
            headers["Retry-After"] = text
        with self._cond:
            self._script += [_Scripted(status, headers, signal, message, html=html)] * times

    def partial(
        self, rejected: int, message: str = "", times: int = 1, signal: str | None = None
    ) -> None:
        """Answer the next `times` requests 200 with `partial_success`: `rejected` items refused
        (the request's last ones: they are not kept), `message` as error_message."""
        with self._cond:
            self._script += [_Scripted(200, {}, signal, message, rejected=rejected)] * times

    def redirect(
        self, location: str, status: int = 307, times: int = 1, signal: str | None = None
    ) -> None:
        """Answer the next `times` requests with a `status` redirect to `location`."""
        with self._cond:
            self._script += [_Scripted(status, {"Location": location}, signal)] * times

    # -- what was kept, and waiting for it --------------------------------------------------------
    def messages(self, signal: str) -> list[Any]:
        """The decoded requests of `signal` whose contents were kept, in order."""
        with self._cond:
            return [r.kept for r in self.requests if r.kept is not None and r.signal == signal]

    def log_records(self) -> list[LogView]:
        out = []
        for request in self.messages("logs"):
            for rl in request.resource_logs:
                resource = attributes(rl.resource.attributes)
                for sl in rl.scope_logs:
                    for record in sl.log_records:
                        out.append(
                            LogView(
                                record,
                                resource,
                                sl.scope.name,
                                sl.scope.version,
                                attributes(record.attributes),
                            )
                        )
        return out

    def points(self, name: str | None = None) -> list[PointView]:
        out = []
        for request in self.messages("metrics"):
            for rm in request.resource_metrics:
                resource = attributes(rm.resource.attributes)
                for sm in rm.scope_metrics:
                    for metric in sm.metrics:
                        if name is None or metric.name == name:
                            out.extend(_points(metric, resource, sm.scope.name))
        return out

    def headers(self) -> list[dict[str, str]]:
        """The headers of every request, in order."""
        with self._cond:
            return [dict(r.headers) for r in self.requests]

    def count(self, path: str) -> int:
        """How many requests arrived for `path` (any method, any answer)."""
        with self._cond:
            return sum(1 for r in self.requests if r.path == path)

    def answers(self) -> list[tuple[str, int | None]]:
        with self._cond:
            return [(r.path, r.status) for r in self.requests]

    def wait_until(self, predicate: Callable[[], bool], timeout: float = 20) -> bool:
        """Wait until `predicate` holds (checked whenever a request is answered or kept)."""
        with self._cond:
            return self._cond.wait_for(predicate, timeout)

    def wait_for(
        self, *, logs: int = 0, points: int = 0, requests: int = 0, timeout: float = 20
    ) -> bool:
        """Wait until at least this many log records and data points were kept, and this many
        requests answered (a detached uploader sends them)."""

        def enough() -> bool:
            answered = sum(1 for r in self.requests if r.status is not None)
            return (
                answered >= requests
                and self._kept("logs") >= logs
                and self._kept("metrics") >= points
            )

        return self.wait_until(enough, timeout)

    def _kept(self, signal: str) -> int:  # with self._cond held
        n = 0
        for r in self.requests:
            if r.kept is not None and r.signal == signal:
                n += _items(r.kept, signal)
        return n

    def __enter__(self) -> Collector:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self.server.shutdown()  # returns once serve_forever has
        self.server.server_close()  # joins the handler threads
        self._thread.join()

    # -- the HTTP side ----------------------------------------------------------------------------
    def _handler(self) -> type[BaseHTTPRequestHandler]:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            timeout = 10  # a client that stalls mid-request cannot hold a thread forever
            protocol_version = "HTTP/1.1"  # keep-alive, as a collector does

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                owner._serve(self)

            def do_GET(self) -> None:
                owner._serve(self)

            def do_PUT(self) -> None:
                owner._serve(self)

        return Handler

    def _serve(self, h: BaseHTTPRequestHandler) -> None:
        try:
            body = _read_body(h, self.max_body)
        except (OSError, ValueError):
            h.close_connection = True
            return
        headers = {k.lower(): v for k, v in h.headers.items()}
        received = Received(h.command, urlsplit(h.path).path, headers, body or b"")
        with self._cond:
            self.requests.append(received)
            self._cond.notify_all()
        if self.mode == "silent":
            self._stop.wait()
            h.close_connection = True
            return
        kind = _media_type(headers.get("content-type", ""))
        status, content_type, payload, extra = self._decide(received, kind, body)
        with self._cond:
            received.status, received.answer = status, payload
            self._cond.notify_all()
        try:
            h.send_response(status)
            h.send_header("Content-Type", content_type)
            h.send_header("Content-Length", str(len(payload)))
            for name, value in extra.items():
                h.send_header(name, value)
            h.end_headers()
            h.wfile.write(payload)
        except OSError:  # the client gave up
            h.close_connection = True

    def _decide(
        self, r: Received, kind: str, body: bytes | None
    ) -> tuple[int, str, bytes, dict[str, str]]:
        answer_as = kind if kind in (PROTOBUF, JSON) else JSON  # errorHandler's fallback
        for name, value in self.require_headers.items():
            got = r.headers.get(name)
            if not got:
                return self._status(
                    401, f"missing or empty authorization header: {name}", answer_as
                )
            if got != value:
                return self._status(401, "scheme or token does not match", answer_as)
        encoding = r.headers.get("content-encoding", "").strip().lower()
        if encoding not in ("", "identity", "gzip", "deflate", "zlib"):
            return self._status(400, f"unsupported Content-Encoding: {encoding}", answer_as)
        r.signal = self.routes.get(r.path)
        if r.signal is None:
            return 404, "text/plain; charset=utf-8", b"404 page not found\n", {}
        if r.method != "POST":
            return 405, "text/plain", b"405 method not allowed, supported: [POST]", {}
        if kind not in (PROTOBUF, JSON):
            text = f"415 unsupported media type, supported: [{JSON}, {PROTOBUF}]"
            return 415, "text/plain", text.encode(), {}
        if body is None:
            return self._status(413, "request body too large", kind)
        try:
            data = _decompress(body, encoding, self.max_body)
        except _TooLarge:
            return self._status(413, "request body too large", kind)
        except (OSError, EOFError, zlib.error) as exc:
            return self._status(400, f"failed to decompress: {exc}", kind)
        request_type, response_type = SIGNALS[r.signal]
        try:
            message = _decode(data, kind, request_type(), self.json_rules)
        except (DecodeError, json_format.ParseError, JSONRuleError, ValueError) as exc:
            return self._status(400, f"failed to decode the request: {exc}", kind)
        with self._cond:
            r.message = message
            scripted = self._take(r.signal)
        if scripted is not None and scripted.status != 200:
            if 300 <= scripted.status < 400:
                return scripted.status, "text/plain", b"", scripted.headers
            if scripted.html is not None:
                return scripted.status, "text/html", scripted.html.encode(), scripted.headers
            return self._status(scripted.status, scripted.message, kind, scripted.headers)
        response = response_type()
        kept = request_type()
        kept.CopyFrom(message)
        if scripted is not None:
            _reject_last(kept, r.signal, scripted.rejected)
            partial = response.partial_success  # type: ignore[attr-defined]
            field_name = "rejected_log_records" if r.signal == "logs" else "rejected_data_points"
            setattr(partial, field_name, scripted.rejected)
            partial.error_message = scripted.message
        with self._cond:
            r.kept = kept
        return 200, kind, _encode(response, kind), {}

    def _take(self, signal: str) -> _Scripted | None:  # with self._cond held
        for i, scripted in enumerate(self._script):
            if scripted.signal is None or scripted.signal == signal:
                del self._script[i]
                return scripted
        return None

    @staticmethod
    def _status(
        status: int, message: str, kind: str, headers: dict[str, str] | None = None
    ) -> tuple[int, str, bytes, dict[str, str]]:
        body = status_pb2.Status(code=GRPC_CODES.get(status, 2), message=message)
        return status, kind, _encode(body, kind), dict(headers or {})


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a failed TLS handshake or a client that hung up: nothing to report


class _TooLarge(Exception):
    pass


def _media_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def _read_body(h: BaseHTTPRequestHandler, limit: int) -> bytes | None:
    """The request body as sent (chunked or not); None when it is over `limit` (read and
    dropped, so the answer still reaches the client)."""
    if h.headers.get("Transfer-Encoding", "").lower() == "chunked":
        parts, size = [], 0
        while True:
            line = h.rfile.readline(1024)
            n = int(line.split(b";", 1)[0].strip() or b"0", 16)
            if n == 0:
                while h.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass
                break
            chunk = h.rfile.read(n)
            h.rfile.readline(8)
            size += len(chunk)
            if size <= limit:
                parts.append(chunk)
        return b"".join(parts) if size <= limit else None
    length = int(h.headers.get("Content-Length") or 0)
    if length > limit:
        remaining = length
        while remaining > 0:
            chunk = h.rfile.read(min(remaining, 1 << 16))
            if not chunk:
                break
            remaining -= len(chunk)
        return None
    return h.rfile.read(length)


def _decompress(body: bytes, encoding: str, limit: int) -> bytes:
    if encoding in ("", "identity"):
        return body
    if encoding == "gzip":
        decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)
    else:  # deflate / zlib: the zlib format, as the collector reads it
        decoder = zlib.decompressobj()
    data = decoder.decompress(body, limit + 1)
    if len(data) > limit:
        raise _TooLarge
    if not decoder.eof:
        raise EOFError("compressed data ended early")
    return data


def _decode(data: bytes, kind: str, message: Message, rules: str) -> Message:
    if kind == PROTOBUF:
        message.ParseFromString(data)
        return message
    try:
        value = json.loads(data)
    except (UnicodeDecodeError, ValueError) as exc:
        raise ValueError(f"invalid JSON: {exc}") from None
    standard = otlp_json_to_proto_json(value, message.DESCRIPTOR, rules)
    json_format.ParseDict(standard, message, ignore_unknown_fields=True)
    return message


def _encode(message: Message, kind: str) -> bytes:
    if kind == PROTOBUF:
        return bytes(message.SerializeToString())
    return json_format.MessageToJson(message, indent=None).encode()


def _items(message: Any, signal: str) -> int:
    if signal == "logs":
        return sum(len(sl.log_records) for rl in message.resource_logs for sl in rl.scope_logs)
    return sum(1 for _ in _all_points(message))


def _all_points(message: Any) -> Iterator[tuple[Any, Any]]:
    for rm in message.resource_metrics:
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                kind = metric.WhichOneof("data")
                if kind is not None:
                    for point in getattr(metric, kind).data_points:
                        yield getattr(metric, kind).data_points, point


def _reject_last(message: Any, signal: str, n: int) -> None:
    """Drop the last `n` log records or data points: what a partial success refused."""
    if signal == "logs":
        containers = [sl.log_records for rl in message.resource_logs for sl in rl.scope_logs]
    else:
        containers = []
        for points, _ in _all_points(message):
            if not containers or containers[-1] is not points:
                containers.append(points)
    for container in reversed(containers):
        while n > 0 and len(container) > 0:
            del container[len(container) - 1]
            n -= 1


def _points(metric: Any, resource: dict[str, Any], scope: str) -> list[PointView]:
    kind = metric.WhichOneof("data")
    if kind is None:
        return []
    data = getattr(metric, kind)
    temporality = int(getattr(data, "aggregation_temporality", 0))
    monotonic = bool(getattr(data, "is_monotonic", False))
    out = []
    for p in data.data_points:
        if kind in ("sum", "gauge"):
            value: int | float = p.as_int if p.WhichOneof("value") == "as_int" else p.as_double
        else:
            value = p.sum if p.HasField("sum") else 0
        out.append(
            PointView(
                metric.name,
                metric.unit,
                kind,
                attributes(p.attributes),
                value,
                temporality,
                monotonic,
                int(p.start_time_unix_nano),
                int(p.time_unix_nano),
                resource,
                scope,
            )
        )
    return out


def kv(key: str, value: Any) -> common_pb2.KeyValue:
    """A KeyValue for building requests in tests (str, bool, int, float, None)."""
    out = common_pb2.KeyValue(key=key)
    if value is None:
        out.value.SetInParent()
    elif isinstance(value, bool):
        out.value.bool_value = value
    elif isinstance(value, int):
        out.value.int_value = value
    elif isinstance(value, float):
        out.value.double_value = value
    else:
        out.value.string_value = str(value)
    return out


__all__ = [
    "JSON",
    "PROTOBUF",
    "Collector",
    "LogView",
    "PointView",
    "Received",
    "TLSFiles",
    "any_value",
    "attributes",
    "kv",
    "tls_files",
]
