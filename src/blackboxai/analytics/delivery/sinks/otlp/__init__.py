"""A team's OpenTelemetry collector: the events as log records (`LogsSink`) and the usage metrics
(`MetricsSink`), posted over OTLP/HTTP with the official messages, and the answer read as the
spec says (open-telemetry/opentelemetry-proto docs/specification.md, "OTLP/HTTP Response"):

- 2xx: taken; a `partial_success` names how many records were rejected: those are counted as
  rejected, never sent again;
- 429, 502, 503, 504 (and no answer at all): retried with backoff, honouring Retry-After;
- 401, 403: the collector refused the credentials: kept, and said;
- a 3xx: not followed (a POST redirect is a misconfigured endpoint or a login page): kept, and
  said;
- 413: split, to find what fits;
- every other status: the batch is dropped, and why is said (the spec: never retried).

We post ourselves rather than through the SDK's exporters, which retry inside export(), report a
redirect or a partial success as plain success, and hide the status (NOTES in issue #20).
"""

from __future__ import annotations

import gzip
import time
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from blackboxai.addresses import without_credentials
from blackboxai.analytics.defaults import OTLP_BATCH, OTLP_BATCH_BYTES
from blackboxai.analytics.delivery.sinks import Answer, retry_after
from blackboxai.analytics.delivery.sinks.http import NoRedirects, status_detail
from blackboxai.analytics.delivery.sinks.otlp.logs import logs_request
from blackboxai.analytics.delivery.sinks.otlp.metrics import MetricsState, metrics_request
from blackboxai.analytics.delivery.sinks.otlp.wire import (
    JSON,
    MAX_RESPONSE,
    PROTOBUF,
    parse_partial_success,
    parse_status,
    to_json,
)
from blackboxai.analytics.destinations import Destination
from blackboxai.analytics.destinations.collector import (
    LOGS,
    METRICS,
    parse_headers,
    parse_resource_attributes,
)
from blackboxai.analytics.queue.progress import Progress
from blackboxai.analytics.queue.waiting import Record

if TYPE_CHECKING:
    from google.protobuf.message import Message

__all__ = ["LogsSink", "MetricsSink"]

Signal = Literal["logs", "metrics"]
_RETRY = (429, 502, 503, 504)  # "Retryable Response Codes"


class _Post:
    """One signal's requests to the collector, and its answers in our words."""

    def __init__(
        self, destination: Destination, signal: Signal, connect: float, read: float
    ) -> None:
        import requests

        self._requests = requests
        self._session = NoRedirects()  # a 3xx is the answer: see NoRedirects
        self.url, self.signal = destination.host, signal
        option = destination.option
        self.json = option("protocol") == "http/json"
        headers, _ = parse_headers(option("headers"), "headers")  # checked when recorded
        # Sent as the UTF-8 bytes their percent-encoding names: as str, http.client encodes
        # Latin-1 (another byte for an é) or raises (for anything beyond it).
        self.headers: dict[str, str | bytes] = {k: v.encode() for k, v in headers.items()}
        self.headers["Content-Type"] = JSON if self.json else PROTOBUF
        self.gzip = (option("compression") or "").lower() == "gzip"
        if self.gzip:
            self.headers["Content-Encoding"] = "gzip"
        # Per request, not on the session: REQUESTS_CA_BUNDLE would replace a session's CA.
        self.verify: str | bool = option("certificate") or True
        cert, key = option("client_certificate"), option("client_key")
        self.cert = (cert, key) if cert and key else None
        limit = option("timeout_ms")  # OTEL_EXPORTER_OTLP_TIMEOUT, when set: at most that
        if limit and limit.isascii() and limit.isdigit() and int(limit) > 0:
            read = min(read, int(limit) / 1000)
        self.timeout = (connect, read)

    def post(self, message: Message) -> Answer:
        body = to_json(message) if self.json else message.SerializeToString()
        if self.gzip:
            body = gzip.compress(body)
        try:
            response = self._session.post(
                self.url,
                data=body,
                headers=self.headers,
                timeout=self.timeout,
                verify=self.verify,
                cert=self.cert,
                allow_redirects=False,  # NoRedirects forces it too
            )
            content = response.content[: MAX_RESPONSE + 1]
        except self._requests.exceptions.SSLError as exc:
            why = str(exc.args[0] if exc.args else exc)
            where = "OTEL_EXPORTER_OTLP_CERTIFICATE names the CA that signed the collector's"
            reason = "certificate verify failed" if "CERTIFICATE_VERIFY_FAILED" in why else "failed"
            return Answer(0, detail=f"TLS {reason} ({where})")
        except self._requests.exceptions.RequestException as exc:
            return Answer(0, detail=f"no answer ({type(exc).__name__})")
        except OSError as exc:  # requests' own check of the TLS file paths, before connecting
            return Answer(0, detail=f"cannot use the TLS files: {exc}")
        return self._answer(response.status_code, content, response.headers)

    def _answer(self, status: int, content: bytes, headers: object) -> Answer:
        kind = getattr(headers, "get", lambda _: None)("Content-Type")
        if 200 <= status < 300:
            try:
                rejected, message = parse_partial_success(content, kind, self.signal)
            except ValueError as exc:  # taken all the same (it said 2xx), and said
                note = (
                    f"HTTP {status}, but not an OTLP answer ({exc}): counted as taken; "
                    "is this a collector's OTLP endpoint?"
                )
                return Answer(status, detail=note, note=note)
            said = f"{rejected} rejected by the collector: {message}" if rejected else ""
            return Answer(status, rejected=rejected, detail=said.rstrip(": "))
        if 300 <= status < 400:
            return Answer(status, detail=status_detail(status, self._session.location))
        said = parse_status(content, kind)
        detail = f"HTTP {status}" + (f": {said}" if said else "")
        if status in (401, 403):
            said = f"{detail}; the collector refused the credentials (analytics-otlp-headers)"
            return Answer(status, detail=said)
        if status in _RETRY:
            wait = retry_after(getattr(headers, "get", lambda _: None)("Retry-After"))
            return Answer(status, retry_after=wait, detail=detail)
        if status == 413:  # too large: halves may pass; a single record too large is dropped
            return Answer(status, detail=detail, from_service=True)
        return Answer(status, detail=_final(status, detail, self), final=True)

    def close(self) -> None:
        self._session.close()


def _final(status: int, detail: str, post: _Post) -> str:
    """Why a batch was dropped, in words a user can act on."""
    if status == 404:
        where = without_credentials(post.url)
        return f"{detail}; nothing takes OTLP at {where} (is the endpoint right?)"
    if status == 415:
        kind = "http/json" if post.json else "http/protobuf"
        return f"{detail}; the collector does not take {kind} (analytics-otlp-protocol)"
    if status == 400:
        return f"{detail}; the collector refused the data as invalid"
    return f"{detail}; not retried, as the OTLP spec says"


class LogsSink:
    """The events as log records, one per event, at the collector's logs URL."""

    name = LOGS
    max_batch = OTLP_BATCH
    max_bytes = OTLP_BATCH_BYTES

    def __init__(
        self, destination: Destination, connect: float, read: float, data_dir: Path | None = None
    ) -> None:
        self._post = _Post(destination, "logs", connect, read)
        self._resource, _ = parse_resource_attributes(destination.option("resource"))

    def send(self, batch: list[Record]) -> Answer:
        request = logs_request(batch, resource=self._resource, observed_ns=time.time_ns())
        return self._post.post(request)

    def close(self) -> None:
        self._post.close()


class MetricsSink:
    """The usage metrics of each batch, at the collector's metrics URL. The streams' state is
    remembered with each settled request (the request's memo, kept with its progress): a run
    killed at any moment never counts an event twice, nor leaves a gap."""

    name = METRICS
    max_batch = OTLP_BATCH
    max_bytes = OTLP_BATCH_BYTES

    def __init__(
        self, destination: Destination, connect: float, read: float, data_dir: Path | None = None
    ) -> None:
        self._post = _Post(destination, "metrics", connect, read)
        option = destination.option
        self._resource, _ = parse_resource_attributes(option("resource"))
        self._cumulative = option("temporality") == "cumulative"
        self._user, self._session = (
            bool(option("include_user_id")),
            bool(option("include_session_id")),
        )
        memo = Progress(data_dir).memo(destination) if data_dir is not None else None
        self._state = _state(memo)

    def send(self, batch: list[Record]) -> Answer:
        made = metrics_request(
            batch,
            resource=self._resource,
            temporality="cumulative" if self._cumulative else "delta",
            now_ns=time.time_ns(),
            state=self._state,
            include_user_id=self._user,
            include_session_id=self._session,
        )
        if made.request is None:  # none of it counts towards a metric: nothing to send
            return Answer(200, memo=made.state.to_json())
        answer = self._post.post(made.request)
        if not 200 <= answer.status < 300:
            return answer
        self._state = made.state.pruned(_MAX_SERIES)
        return replace(answer, memo=self._state.to_json())

    def close(self) -> None:
        self._post.close()


_MAX_SERIES = 10_000  # streams remembered (per-session ones would otherwise grow without end)


def _state(memo: str | None) -> MetricsState | None:
    if memo is None:
        return None
    try:
        return MetricsState.from_json(memo)
    except (ValueError, KeyError, TypeError, IndexError):  # not ours: start afresh
        return None
