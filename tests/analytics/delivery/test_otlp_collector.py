"""The OTLP collector stand-in is as strict as a collector: it decodes, byte for byte, what the
official SDK's own exporters send (OTLPLogExporter, OTLPMetricExporter from
opentelemetry-exporter-otlp-proto-http), and refuses what a collector refuses."""

from __future__ import annotations

import base64
import gzip
import http.client
import json
import os
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from google.protobuf import json_format
from google.rpc import status_pb2
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2
from opentelemetry.proto.logs.v1 import logs_pb2
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import Counter, MeterProvider
from opentelemetry.sdk.metrics.export import AggregationTemporality, InMemoryMetricReader
from opentelemetry.sdk.resources import Resource

from tests.otlp_collector import JSON, PROTOBUF, Collector, TLSFiles, kv, tls_files

LOGS = "/v1/logs"
METRICS = "/v1/metrics"


@pytest.fixture(autouse=True)
def no_otel_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The SDK exporters read OTEL_* (and requests reads REQUESTS_CA_BUNDLE and CURL_CA_BUNDLE,
    which override a Session's own `verify`): none of the machine's may leak in."""
    for name in list(os.environ):
        if name.startswith("OTEL_") or name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
            monkeypatch.delenv(name)


@pytest.fixture
def collector() -> Iterator[Collector]:
    with Collector() as server:
        yield server


class Capturing(requests.Session):
    """A requests Session that keeps the body of every request it sends."""

    def __init__(self) -> None:
        super().__init__()
        self.bodies: list[bytes] = []

    def send(self, request: Any, **kwargs: Any) -> Any:
        self.bodies.append(request.body)
        return super().send(request, **kwargs)


def send_logs(exporter: OTLPLogExporter, *events: tuple[str, dict[str, Any]]) -> None:
    """Emit one log record per (event name, attributes) through the SDK, then flush."""
    provider = LoggerProvider(resource=Resource.create({"service.name": "sdk-test"}))
    provider.add_log_record_processor(SimpleLogRecordProcessor(exporter))
    logger = provider.get_logger("blackboxai.test", "1.2.3")
    for name, attrs in events:
        try:
            logger.emit(body=name, attributes=attrs, event_name=name)
        except TypeError:  # an SDK whose emit() takes only an API LogRecord
            from opentelemetry._logs import LogRecord

            logger.emit(LogRecord(body=name, attributes=attrs, event_name=name))
    provider.shutdown()


def export_counter(
    exporter: OTLPMetricExporter, temporality: AggregationTemporality, adds: list[int]
) -> str:
    """Count `adds` on a counter with the SDK, export once; the result's name."""
    reader = InMemoryMetricReader(preferred_temporality={Counter: temporality})
    provider = MeterProvider(
        metric_readers=[reader], resource=Resource.create({"service.name": "sdk-test"})
    )
    counter = provider.get_meter("blackboxai.test").create_counter("t.count", unit="{thing}")
    for n in adds:
        counter.add(n, {"kind": "a"})
    data = reader.get_metrics_data()
    assert data is not None
    result = exporter.export(data)
    provider.shutdown()
    return str(result.name)


def post(
    url: str,
    body: bytes,
    headers: dict[str, str],
    *,
    method: str = "POST",
    context: ssl.SSLContext | None = None,
    timeout: float = 10,
) -> tuple[int, dict[str, str], bytes]:
    """One raw request: (status, headers in lower case, body)."""
    parts = urlsplit(url)
    conn: http.client.HTTPConnection
    if parts.scheme == "https":
        conn = http.client.HTTPSConnection(parts.netloc, timeout=timeout, context=context)
    else:
        conn = http.client.HTTPConnection(parts.netloc, timeout=timeout)
    try:
        conn.request(method, parts.path, body=body, headers=headers)
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def status_of(body: bytes, kind: str) -> Any:
    """A google.rpc.Status answer, decoded as the spec says it is sent."""
    status = status_pb2.Status()
    if kind == PROTOBUF:
        status.ParseFromString(body)
    else:
        json_format.Parse(body, status)
    return status


def a_logs_request(n: int = 1) -> Any:
    request = logs_service_pb2.ExportLogsServiceRequest()
    scope_logs = request.resource_logs.add().scope_logs.add()
    for i in range(n):
        record = scope_logs.log_records.add(time_unix_nano=1_764_900_000_123_000_000 + i)
        record.attributes.append(kv("i", i))
    return request


# -- the SDK's exporters, decoded byte for byte ---------------------------------------------------
@pytest.mark.parametrize("compression", [Compression.NoCompression, Compression.Gzip])
def test_the_sdk_log_exporter_is_decoded_as_sent(
    collector: Collector, compression: Compression
) -> None:
    session = Capturing()
    exporter = OTLPLogExporter(
        endpoint=collector.url_for("logs"), compression=compression, session=session
    )
    send_logs(exporter, ("message_send", {"tokens": 812, "model": "gpt-4o-mini", "ok": True}))

    (received,) = collector.requests
    assert received.status == 200
    assert received.body == session.bodies[0]  # kept exactly as sent
    assert received.headers["content-type"] == PROTOBUF
    raw = gzip.decompress(received.body) if compression is Compression.Gzip else received.body
    assert received.headers.get("content-encoding") == (
        "gzip" if compression is Compression.Gzip else None
    )
    assert received.message == logs_service_pb2.ExportLogsServiceRequest.FromString(raw)
    (log,) = collector.log_records()
    assert log.event_name == "message_send"
    assert log.attributes == {"tokens": 812, "model": "gpt-4o-mini", "ok": True}
    assert log.resource["service.name"] == "sdk-test"
    assert (log.scope, log.scope_version) == ("blackboxai.test", "1.2.3")
    assert logs_service_pb2.ExportLogsServiceResponse.FromString(received.answer) == (
        logs_service_pb2.ExportLogsServiceResponse()
    )  # a full success: partial_success unset


@pytest.mark.parametrize(
    ("temporality", "code"),
    [(AggregationTemporality.DELTA, 1), (AggregationTemporality.CUMULATIVE, 2)],
)
def test_the_sdk_metric_exporter_is_decoded_as_points(
    collector: Collector, temporality: AggregationTemporality, code: int
) -> None:
    session = Capturing()
    exporter = OTLPMetricExporter(endpoint=collector.url_for("metrics"), session=session)
    assert export_counter(exporter, temporality, [3, 4]) == "SUCCESS"

    (received,) = collector.requests
    assert received.body == session.bodies[0]
    assert received.message == metrics_service_pb2.ExportMetricsServiceRequest.FromString(
        session.bodies[0]
    )
    (point,) = collector.points("t.count")
    assert (point.kind, point.unit, point.value, point.attributes) == (
        "sum",
        "{thing}",
        7,
        {"kind": "a"},
    )
    assert (point.temporality, point.monotonic) == (code, True)
    assert 0 < point.start_ns <= point.end_ns
    assert point.resource["service.name"] == "sdk-test"
    assert collector.count(METRICS) == 1 and collector.count(LOGS) == 0


# -- paths, methods, content types, bodies --------------------------------------------------------
def test_paths_are_the_defaults_under_a_prefix_or_each_signals_own() -> None:
    with Collector(prefix="/otlp/", paths={"logs": "/ingest/logs"}) as collector:
        assert collector.url_for("logs") == collector.base + "/ingest/logs"
        assert collector.url_for("metrics") == collector.url + "/v1/metrics"
        body = a_logs_request().SerializeToString()
        kind = {"Content-Type": PROTOBUF}
        assert post(collector.url_for("logs"), body, kind)[0] == 200
        status, _, text = post(collector.base + LOGS, body, kind)  # not a path here
        assert (status, text) == (404, b"404 page not found\n")
        assert post(collector.url + "/v1/logs", body, kind)[0] == 404  # logs moved away
        assert post(collector.url + "/v1/traces", body, kind)[0] == 404
        assert collector.count("/ingest/logs") == 1 and collector.count(LOGS) == 1
        assert len(collector.log_records()) == 1


def test_only_post_with_an_otlp_content_type_is_accepted(collector: Collector) -> None:
    body = a_logs_request().SerializeToString()
    url = collector.url_for("logs")
    status, headers, text = post(url, b"", {}, method="GET")
    assert status == 405 and headers["content-type"] == "text/plain"
    for kind in ("text/plain", "application/octet-stream", "application/protobuf"):
        status, headers, text = post(url, body, {"Content-Type": kind})
        assert status == 415, kind
        assert text.startswith(b"415 unsupported media type")
    assert post(url, body, {})[0] == 415  # no Content-Type at all
    # Parameters do not matter: the media type does (mime.ParseMediaType in the collector).
    assert post(url, body, {"Content-Type": "application/x-protobuf; charset=binary"})[0] == 200
    assert [status for _, status in collector.answers()] == [405, 415, 415, 415, 415, 200]
    assert len(collector.log_records()) == 1


@pytest.mark.parametrize("kind", [PROTOBUF, JSON])
def test_an_undecodable_body_is_400_with_a_status_in_the_requests_encoding(
    collector: Collector, kind: str
) -> None:
    status, headers, body = post(
        collector.url_for("logs"), b"\xff\x00garbage{", {"Content-Type": kind}
    )
    assert status == 400
    assert headers["content-type"] == kind
    assert "failed to decode" in status_of(body, kind).message
    assert status_of(body, kind).code == 3  # INVALID_ARGUMENT
    assert collector.log_records() == []


def test_gzip_is_honoured_and_bad_encodings_refused() -> None:
    body = a_logs_request(3).SerializeToString()
    with Collector(max_body=len(body) - 1) as collector:
        url = collector.url_for("logs")
        gz = {"Content-Type": PROTOBUF, "Content-Encoding": "gzip"}
        small = a_logs_request(1).SerializeToString()
        assert post(url, gzip.compress(small), gz)[0] == 200
        status, _, answer = post(url, gzip.compress(body), gz)  # too large once decompressed
        assert status == 413
        assert status_of(answer, PROTOBUF).message == "request body too large"
        assert post(url, b"\x1f\x8b not gzip", gz)[0] == 400
        status, _, answer = post(url, small, {"Content-Type": PROTOBUF, "Content-Encoding": "br"})
        assert status == 400
        assert status_of(answer, PROTOBUF).message == "unsupported Content-Encoding: br"
        assert len(collector.log_records()) == 1


# -- the JSON encoding's own rules ----------------------------------------------------------------
TRACE = "5B8EFFF798038103D269B633813FC60C"
SPAN = "EEE19B7EC3C1B174"


def json_logs(record: dict[str, Any]) -> bytes:
    return json.dumps({"resourceLogs": [{"scopeLogs": [{"logRecords": [record]}]}]}).encode()


GOOD = {
    "timeUnixNano": "1764900000123000000",  # int64 as a decimal string ...
    "observedTimeUnixNano": 1764900000999000000,  # ... or as a number
    "severityNumber": 9,
    "eventName": "message_send",
    "traceId": TRACE,
    "spanId": SPAN.lower(),  # hex is case-insensitive
    "attributes": [{"key": "n", "value": {"intValue": "812"}}, {"key": "e", "value": {}}],
    "someFutureField": {"x": 1},  # unknown fields are ignored
}


@pytest.mark.parametrize("rules", ["spec", "collector"])
def test_otlp_json_is_decoded_with_hex_ids_and_integer_enums(rules: str) -> None:
    with Collector(json_rules=rules) as collector:
        status, headers, body = post(
            collector.url_for("logs"), json_logs(GOOD), {"Content-Type": JSON}
        )
        assert status == 200 and headers["content-type"] == JSON
        assert json.loads(body) == {}  # an empty ExportLogsServiceResponse
        (log,) = collector.log_records()
        assert log.record.time_unix_nano == 1_764_900_000_123_000_000
        assert log.record.observed_time_unix_nano == 1_764_900_000_999_000_000
        assert log.record.severity_number == logs_pb2.SEVERITY_NUMBER_INFO
        assert log.record.trace_id == bytes.fromhex(TRACE)
        assert log.record.span_id == bytes.fromhex(SPAN)
        assert log.attributes == {"n": 812, "e": None}
        assert log.event_name == "message_send"


@pytest.mark.parametrize(
    ("change", "spec_only"),
    [
        ({"time_unix_nano": "1"}, True),  # original field names are not valid keys
        ({"severityNumber": "SEVERITY_NUMBER_INFO"}, True),  # enum names MUST NOT be used
        ({"severityNumber": "NOT_A_SEVERITY"}, False),
        ({"traceId": base64.b64encode(bytes.fromhex(TRACE)).decode()}, False),  # base64: no
        ({"spanId": "zz" * 8}, False),
        ({"timeUnixNano": "12abc"}, False),
    ],
)
def test_json_that_breaks_the_rules_is_400(change: dict[str, Any], spec_only: bool) -> None:
    record = {**GOOD, **change}
    if "time_unix_nano" in change:
        del record["timeUnixNano"]
    for rules in ("spec", "collector"):
        with Collector(json_rules=rules) as collector:
            status, _, body = post(
                collector.url_for("logs"), json_logs(record), {"Content-Type": JSON}
            )
            expected = 200 if (spec_only and rules == "collector") else 400
            assert status == expected, (rules, change)
            if status == 400:
                assert status_of(body, JSON).message.startswith("failed to decode the request")
            assert len(collector.log_records()) == (status == 200)


# -- credentials ----------------------------------------------------------------------------------
def test_required_headers_are_checked_and_every_requests_headers_kept() -> None:
    with Collector(require_headers={"Authorization": "Bearer s3cret"}) as collector:
        good = OTLPLogExporter(
            endpoint=collector.url_for("logs"),
            headers={"authorization": "Bearer s3cret", "x-team": "blue"},
        )
        send_logs(good, ("launched", {}))
        send_logs(OTLPLogExporter(endpoint=collector.url_for("logs")), ("launched", {}))
        wrong = OTLPLogExporter(
            endpoint=collector.url_for("logs"), headers={"authorization": "Bearer nope"}
        )
        send_logs(wrong, ("launched", {}))

        assert [status for _, status in collector.answers()] == [200, 401, 401]
        first, second, third = collector.requests
        assert first.headers["authorization"] == "Bearer s3cret"
        assert first.headers["x-team"] == "blue"
        assert first.headers["user-agent"].startswith("OTel-OTLP-Exporter-Python/")
        assert "authorization" not in second.headers
        assert status_of(second.answer, PROTOBUF).message == (
            "missing or empty authorization header: authorization"
        )
        assert status_of(second.answer, PROTOBUF).code == 16  # UNAUTHENTICATED
        assert status_of(third.answer, PROTOBUF).message == "scheme or token does not match"
        assert len(collector.log_records()) == 1
        assert collector.headers()[0]["x-team"] == "blue"


# -- scripted answers -----------------------------------------------------------------------------
def test_a_partial_success_is_200_with_the_rejected_count_and_keeps_the_rest(
    collector: Collector,
) -> None:
    collector.partial(rejected=1, message="attribute too long")
    body = a_logs_request(3).SerializeToString()
    status, headers, answer = post(collector.url_for("logs"), body, {"Content-Type": PROTOBUF})
    assert status == 200 and headers["content-type"] == PROTOBUF
    response = logs_service_pb2.ExportLogsServiceResponse.FromString(answer)
    assert response.HasField("partial_success")
    assert response.partial_success.rejected_log_records == 1
    assert response.partial_success.error_message == "attribute too long"
    assert [log.attributes["i"] for log in collector.log_records()] == [0, 1]
    assert collector.requests[0].message == a_logs_request(3)  # as sent, all three


def test_a_partial_success_in_json_counts_as_a_decimal_string(collector: Collector) -> None:
    collector.partial(rejected=2, message="too old", signal="metrics")
    request = metrics_service_pb2.ExportMetricsServiceRequest()
    metric = request.resource_metrics.add().scope_metrics.add().metrics.add(name="m")
    metric.sum.aggregation_temporality = 1
    for i in range(3):
        metric.sum.data_points.add(as_int=i, time_unix_nano=10 + i)
    body = json_format.MessageToJson(request, use_integers_for_enums=True).encode()
    assert post(collector.url_for("logs"), json_logs(GOOD), {"Content-Type": JSON})[0] == 200
    status, headers, answer = post(collector.url_for("metrics"), body, {"Content-Type": JSON})
    assert status == 200 and headers["content-type"] == JSON
    assert json.loads(answer) == {
        "partialSuccess": {"rejectedDataPoints": "2", "errorMessage": "too old"}
    }
    assert [p.value for p in collector.points()] == [0]


def test_scripted_failures_answer_a_status_with_retry_after_and_keep_nothing(
    collector: Collector,
) -> None:
    collector.fail(503, retry_after=0)
    exporter = OTLPLogExporter(endpoint=collector.url_for("logs"))
    send_logs(exporter, ("launched", {}))  # the SDK retries a 503 at once (Retry-After: 0)
    assert [status for _, status in collector.answers()] == [503, 200]
    first = collector.requests[0]
    assert status_of(first.answer, PROTOBUF).code == 14  # UNAVAILABLE
    assert len(collector.log_records()) == 1

    collector.fail(429, retry_after="Wed, 21 Oct 2015 07:28:00 GMT", signal="logs")
    status, headers, answer = post(
        collector.url_for("logs"), a_logs_request().SerializeToString(), {"Content-Type": PROTOBUF}
    )
    assert (status, headers["retry-after"]) == (429, "Wed, 21 Oct 2015 07:28:00 GMT")
    collector.fail(502, html="<html>bad gateway</html>")
    status, headers, answer = post(
        collector.url_for("logs"), a_logs_request().SerializeToString(), {"Content-Type": PROTOBUF}
    )
    assert (status, headers["content-type"], answer) == (
        502,
        "text/html",
        b"<html>bad gateway</html>",
    )
    assert len(collector.log_records()) == 1


def test_a_400_is_final_for_the_sdk_and_a_redirect_is_only_a_location(
    collector: Collector,
) -> None:
    collector.fail(400, message="bad data")
    send_logs(OTLPLogExporter(endpoint=collector.url_for("logs")), ("launched", {}))
    assert collector.answers() == [(LOGS, 400)]  # not retried

    collector.redirect("https://sso.example/login", status=302)
    body = a_logs_request().SerializeToString()
    status, headers, _ = post(collector.url_for("logs"), body, {"Content-Type": PROTOBUF})
    assert (status, headers["location"]) == (302, "https://sso.example/login")
    assert collector.log_records() == []
    assert post(collector.url_for("logs"), body, {"Content-Type": PROTOBUF})[0] == 200


# -- TLS ------------------------------------------------------------------------------------------
@pytest.fixture
def tls(tmp_path: Path) -> TLSFiles:
    return tls_files(tmp_path / "tls")


def test_https_with_a_ca_made_in_the_test(tls: TLSFiles) -> None:
    with Collector(tls=tls) as collector:
        assert collector.url.startswith("https://127.0.0.1:")
        trusting = OTLPLogExporter(endpoint=collector.url_for("logs"), certificate_file=tls.ca)
        send_logs(trusting, ("launched", {}))
        assert len(collector.log_records()) == 1

        body = a_logs_request().SerializeToString()
        with pytest.raises(ssl.SSLCertVerificationError):  # the system's CAs do not know it
            post(
                collector.url_for("logs"),
                body,
                {"Content-Type": PROTOBUF},
                context=ssl.create_default_context(),
            )
        plain = collector.url_for("logs").replace("https://", "http://")
        with pytest.raises((ConnectionError, http.client.HTTPException, OSError)):
            post(plain, body, {"Content-Type": PROTOBUF})
        assert len(collector.requests) == 1


def test_mutual_tls_wants_the_client_certificate(tls: TLSFiles) -> None:
    with Collector(tls=tls, require_client_cert=True) as collector:
        context = ssl.create_default_context(cafile=tls.ca)
        body = a_logs_request().SerializeToString()
        with pytest.raises((ssl.SSLError, ConnectionError, OSError)):
            post(collector.url_for("logs"), body, {"Content-Type": PROTOBUF}, context=context)
        context.load_cert_chain(tls.client_cert, tls.client_key)
        assert (
            post(collector.url_for("logs"), body, {"Content-Type": PROTOBUF}, context=context)[0]
            == 200
        )
        exporter = OTLPLogExporter(
            endpoint=collector.url_for("logs"),
            certificate_file=tls.ca,
            client_certificate_file=tls.client_cert,
            client_key_file=tls.client_key,
        )
        send_logs(exporter, ("launched", {}))
        assert len(collector.log_records()) == 2


# -- modes and waiting ----------------------------------------------------------------------------
def test_silent_never_answers_and_still_stops() -> None:
    with Collector("silent") as collector:
        with pytest.raises(TimeoutError):
            post(
                collector.url_for("logs"),
                a_logs_request().SerializeToString(),
                {"Content-Type": PROTOBUF},
                timeout=0.5,
            )
        assert collector.count(LOGS) == 1
        assert collector.answers() == [(LOGS, None)]


def test_waiting_is_woken_by_the_request(collector: Collector) -> None:
    started = threading.Event()
    results: list[int] = []

    def later() -> None:
        started.wait(10)
        body = a_logs_request(2).SerializeToString()
        results.append(post(collector.url_for("logs"), body, {"Content-Type": PROTOBUF})[0])

    thread = threading.Thread(target=later)
    thread.start()
    try:
        assert not collector.wait_for(logs=1, timeout=0.05)  # nothing sent yet
        started.set()
        assert collector.wait_for(logs=2, requests=1, timeout=10)
    finally:
        thread.join(10)
    assert results == [200]
    assert [log.attributes["i"] for log in collector.log_records()] == [0, 1]
