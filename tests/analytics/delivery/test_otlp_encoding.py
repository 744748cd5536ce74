"""The team collector's pure pieces: settings and OTEL_* variables into destinations, spooled
records into OTLP log records and usage metrics, the JSON encoding, the collector's answers read
back; and the sinks' requests through the strict stand-in (tests/otlp_collector.py)."""

from __future__ import annotations

import gc
import gzip
import http.client
import itertools
import json
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from google.protobuf import json_format
from hypothesis import given, settings
from hypothesis import strategies as st
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.logs.v1 import logs_pb2

from blackboxai.analytics.delivery.retry import Verdict, classify
from blackboxai.analytics.delivery.sinks import Answer
from blackboxai.analytics.delivery.sinks.otlp import LogsSink, MetricsSink
from blackboxai.analytics.delivery.sinks.otlp.logs import (
    host_arch,
    logs_request,
    os_type,
    record_resource,
    time_ns,
)
from blackboxai.analytics.delivery.sinks.otlp.metrics import (
    METRICS as METRIC_DEFS,
)
from blackboxai.analytics.delivery.sinks.otlp.metrics import (
    MetricsState,
    metrics_request,
)
from blackboxai.analytics.delivery.sinks.otlp.wire import (
    parse_partial_success,
    parse_status,
    to_json,
)
from blackboxai.analytics.destinations import Destination
from blackboxai.analytics.destinations.collector import (
    LOGS,
    METRICS,
    collector_destinations,
    feeds_metrics,
    parse_headers,
    parse_resource_attributes,
)
from tests.loopback import refused_url
from tests.otlp_collector import JSON, PROTOBUF, Collector, otlp_json_to_proto_json, tls_files

USER = "6f1c2d4e-8a3b-4c5d-9e0f-112233445566"
SESSION = "0a1b2c3d-4e5f-4a6b-8c7d-8e9fa0b1c2d3"
SYSTEM = {
    "python_version": "3.11.7",
    "os_platform": "Linux",
    "os_release": "6.1",
    "machine": "x86_64",
    "blackboxai_version": "0.9.0",
    "session_id": SESSION,
}
NOW = 1_764_900_100_000_000_000
BASE = "https://otel.example.com:4318"


def record(event: str, t: float = 1764900000.123, **props: Any) -> dict[str, Any]:
    """A spooled record as a consented session writes it."""
    return {
        "event": event,
        "properties": {**props, **SYSTEM},
        "user_id": USER,
        "time": t,
        "id": str(uuid.uuid4()),
        "gen": 3,
        "to": [],
    }


MESSAGE = record(
    "message_send",
    main_model="gpt-4o-mini",
    edit_format="diff",
    prompt_tokens=812,
    completion_tokens=120,
    total_tokens=932,
    duration_s=1.5,
    cost_usd=0.000194,
    note=None,
    cached=False,
)


@pytest.fixture
def collector() -> Iterator[Collector]:
    with Collector() as server:
        yield server


def post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
    """One raw POST: (status, headers in lower case, body)."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.netloc, timeout=10)
    try:
        conn.request("POST", parts.path, body=body, headers=headers)
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def destinations(endpoint: str | None = BASE, **env: str) -> dict[str, Destination]:
    found, problems = collector_destinations(endpoint, None, None, env)
    assert problems == []
    return {d.name: d for d in found}


# -- resource -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("platform", "expected"),
    [("Linux", "linux"), ("Darwin", "darwin"), ("Windows", "windows"), ("FreeBSD", "freebsd"),
     ("SunOS", "solaris"), ("CYGWIN_NT-10.0", "windows"), ("Haiku", "haiku")],
)  # fmt: skip
def test_os_type_follows_the_semantic_conventions(platform: str, expected: str) -> None:
    assert os_type(platform) == expected


@pytest.mark.parametrize(
    ("machine", "expected"),
    [("x86_64", "amd64"), ("AMD64", "amd64"), ("aarch64", "arm64"), ("arm64", "arm64"),
     ("armv7l", "arm32"), ("i686", "x86"), ("ppc64le", "ppc64"), ("s390x", "s390x"),
     ("riscv64", "riscv64")],
)  # fmt: skip
def test_host_arch_follows_the_semantic_conventions(machine: str, expected: str) -> None:
    assert host_arch(machine) == expected


@pytest.mark.parametrize(
    "value",
    [
        "team=blue",
        "team=blue,deployment.environment.name=prod",
        " team = blue , region=eu%2Cwest ",
        "key=a%3Db%20c,other=%E2%9C%93",
        "k=v=w",
        "k=",
    ],
)
def test_resource_attributes_parse_as_the_python_sdk_does(
    value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from opentelemetry.sdk.resources import OTELResourceDetector

    monkeypatch.delenv("OTEL_SERVICE_NAME", raising=False)
    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", value)
    sdk = dict(OTELResourceDetector().detect().attributes)
    assert sdk  # the comparison below is between two non-empty readings
    assert parse_resource_attributes(value) == (sdk, [])


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("team=blue,oops", "OTEL_RESOURCE_ATTRIBUTES: an item is not key=value"),
        ("team=blue,=x", "OTEL_RESOURCE_ATTRIBUTES: an item is not key=value"),
        ("t=%FF", "OTEL_RESOURCE_ATTRIBUTES: t: not UTF-8 once percent-decoded"),
    ],
)
def test_a_bad_resource_attribute_discards_the_whole_value(value: str, why: str) -> None:
    assert parse_resource_attributes(value) == (
        {},
        [f"{why}: the whole variable is ignored"],
    )


def test_our_resource_attributes_win_over_the_teams() -> None:
    extra = {"service.name": "impostor", "os.type": "plan9", "team": "blue"}
    assert record_resource(record("launched"), extra) == {
        "service.name": "blackboxai",
        "os.type": "linux",
        "team": "blue",
        "service.version": "0.9.0",
        "host.arch": "amd64",
    }


# -- logs -----------------------------------------------------------------------------------------
def test_each_record_is_one_log_record_with_typed_attributes() -> None:
    request = logs_request(
        [MESSAGE, record("launched", t=1764900000.5)],
        resource={"team": "blue", "service.name": "not-ours"},
        observed_ns=NOW,
    )
    (resource_logs,) = request.resource_logs
    resource = {kv.key: kv.value.string_value for kv in resource_logs.resource.attributes}
    assert resource == {
        "team": "blue",
        "service.name": "blackboxai",  # ours win over OTEL_RESOURCE_ATTRIBUTES
        "service.version": "0.9.0",
        "os.type": "linux",
        "host.arch": "amd64",
    }
    (scope_logs,) = resource_logs.scope_logs
    assert (scope_logs.scope.name, scope_logs.scope.version) == ("blackboxai", "0.9.0")
    first, second = scope_logs.log_records
    assert (first.event_name, second.event_name) == ("message_send", "launched")
    assert first.body.string_value == "message_send"
    assert first.time_unix_nano == 1_764_900_000_123_000_000  # float math: ...122999808
    assert second.time_unix_nano == 1_764_900_000_500_000_000
    assert first.observed_time_unix_nano == NOW
    assert first.severity_number == logs_pb2.SEVERITY_NUMBER_INFO
    kinds = {kv.key: kv.value.WhichOneof("value") for kv in first.attributes}
    assert kinds == {
        "event.name": "string_value",
        "log.record.uid": "string_value",
        "user.id": "string_value",
        "session.id": "string_value",
        "main_model": "string_value",
        "edit_format": "string_value",
        "prompt_tokens": "int_value",
        "completion_tokens": "int_value",
        "total_tokens": "int_value",
        "duration_s": "double_value",
        "cost_usd": "double_value",
        "note": None,  # present, an empty AnyValue
        "cached": "bool_value",
        "python_version": "string_value",
        "os_platform": "string_value",
        "os_release": "string_value",
        "machine": "string_value",
        "blackboxai_version": "string_value",
    }  # and no session_id: it is session.id
    values = {kv.key: kv for kv in first.attributes}
    assert values["note"].HasField("value")
    assert values["event.name"].value.string_value == "message_send"
    assert values["session.id"].value.string_value == SESSION
    assert values["user.id"].value.string_value == USER
    assert values["log.record.uid"].value.string_value == MESSAGE["id"]  # the same on a resend
    assert values["prompt_tokens"].value.int_value == 812
    assert values["duration_s"].value.double_value == 1.5
    assert values["cached"].value.bool_value is False


def test_records_of_two_versions_are_two_resources() -> None:
    old = record("launched")
    old["properties"]["blackboxai_version"] = "0.8.0"
    request = logs_request([old, record("launched"), record("exit")], resource={}, observed_ns=NOW)
    versions = [
        {kv.key: kv.value.string_value for kv in rl.resource.attributes}["service.version"]
        for rl in request.resource_logs
    ]
    assert versions == ["0.8.0", "0.9.0"]
    assert [rl.scope_logs[0].scope.version for rl in request.resource_logs] == versions
    assert [len(rl.scope_logs[0].log_records) for rl in request.resource_logs] == [1, 2]


def test_an_int_beyond_int64_keeps_its_digits_and_a_record_without_ids_has_none() -> None:
    r = record("exception", type="OverflowError", big=2**70, small=-(2**63))
    del r["properties"]["session_id"]  # withheld: the user agreed to an earlier catalogue
    r["user_id"] = None
    (log,) = (
        logs_request([r], resource={}, observed_ns=NOW).resource_logs[0].scope_logs[0].log_records
    )
    attrs = {kv.key: kv.value for kv in log.attributes}
    assert attrs["big"].string_value == str(2**70)
    assert attrs["small"].int_value == -(2**63)
    assert "session.id" not in attrs and "user.id" not in attrs


@given(st.integers(min_value=0, max_value=4_102_444_800_000))  # ms up to 2100
def test_event_times_convert_to_nanoseconds_exactly(ms: int) -> None:
    assert time_ns(round(ms / 1000, 3)) == ms * 1_000_000
    assert time_ns(ms // 1000) == (ms // 1000) * 1_000_000_000


@pytest.mark.parametrize("bad", [None, "1764900000", float("nan"), float("inf"), -1.0, True])
def test_a_time_that_is_not_one_is_left_unset(bad: Any) -> None:
    assert time_ns(bad) == 0
    (log,) = (
        logs_request([record("launched", t=bad)], resource={}, observed_ns=NOW)
        .resource_logs[0]
        .scope_logs[0]
        .log_records
    )
    assert (log.time_unix_nano, log.observed_time_unix_nano) == (0, NOW)


# -- JSON -----------------------------------------------------------------------------------------
def test_json_has_integer_enums_string_int64_and_hex_ids() -> None:
    request = logs_request([MESSAGE], resource={}, observed_ns=NOW)
    log = request.resource_logs[0].scope_logs[0].log_records[0]
    log.trace_id = bytes.fromhex("5b8efff798038103d269b633813fc60c")
    log.span_id = bytes.fromhex("eee19b7ec3c1b174")
    data = json.loads(to_json(request))
    out = data["resourceLogs"][0]["scopeLogs"][0]["logRecords"][0]
    assert out["severityNumber"] == 9
    assert out["timeUnixNano"] == "1764900000123000000"
    assert out["observedTimeUnixNano"] == str(NOW)
    assert out["traceId"] == "5b8efff798038103d269b633813fc60c"
    assert out["spanId"] == "eee19b7ec3c1b174"
    assert out["eventName"] == "message_send"
    assert {"key": "note", "value": {}} in out["attributes"]
    assert {"key": "prompt_tokens", "value": {"intValue": "812"}} in out["attributes"]
    # Decoded by the stand-in's strict rules (the spec's), it is the same message.
    again = ExportLogsServiceRequest()
    json_format.ParseDict(otlp_json_to_proto_json(data, again.DESCRIPTOR, "spec"), again)
    assert again == request


def test_metrics_json_has_integer_temporality() -> None:
    batch = metrics_request([MESSAGE], resource={}, now_ns=NOW, state=None)
    assert batch.request is not None
    data = json.loads(to_json(batch.request))
    metric = data["resourceMetrics"][0]["scopeMetrics"][0]["metrics"][0]
    assert metric["name"] == "blackboxai.token.usage"
    assert metric["sum"]["aggregationTemporality"] == 1
    assert metric["sum"]["isMonotonic"] is True
    again = ExportMetricsServiceRequest()
    json_format.ParseDict(otlp_json_to_proto_json(data, again.DESCRIPTOR, "spec"), again)
    assert again == batch.request


# -- metrics --------------------------------------------------------------------------------------
BATCH = [
    record("launched", t=1764900000.001),
    MESSAGE,
    record("message_send", main_model="gpt-4o-mini", prompt_tokens=100, completion_tokens=10),
    record("message_send", main_model="claude-sonnet-4", prompt_tokens=5, completion_tokens=0),
    record("edit_applied", edit_format="diff", files_changed=1, blocks=2, lines_added=7,
           lines_removed=3),
    record("edit_failed", edit_format="diff", blocks_failed=1, reason="no_match"),
    record("command_add"),
    record("command_add"),
    record("command_unknown"),
    record("cli session", main_model="gpt-4o-mini", edit_format="diff", files_in_chat=2),
]  # fmt: skip
INPUT = ("blackboxai.token.usage", (("model", "gpt-4o-mini"), ("type", "input")))

Points = dict[tuple[str, tuple[Any, ...]], tuple[float, int, int]]


def points_of(request: ExportMetricsServiceRequest | None) -> Points:
    """(metric, attributes) -> (value, start, end) of every point."""
    out: Points = {}
    for rm in request.resource_metrics if request is not None else ():
        for sm in rm.scope_metrics:
            for m in sm.metrics:
                for p in m.sum.data_points:
                    attrs = tuple(sorted((kv.key, kv.value.string_value) for kv in p.attributes))
                    value = p.as_double if p.WhichOneof("value") == "as_double" else p.as_int
                    assert (m.name, attrs) not in out, "one point per stream and request"
                    out[(m.name, attrs)] = (value, p.start_time_unix_nano, p.time_unix_nano)
    return out


def test_only_the_events_a_metric_counts_feed_the_metrics() -> None:
    fed = [
        e for e in ("launched", "message_send", "edit_applied", "edit_failed") if feeds_metrics(e)
    ]
    assert len(fed) == 4
    assert feeds_metrics("command_ls") and feeds_metrics("command_unknown")
    for other in ("cli session", "exit", "exception", "api_error", "model warning", "command_"):
        assert not feeds_metrics(other), other


def test_usage_metrics_of_a_batch() -> None:
    batch = metrics_request(BATCH, resource={"team": "blue"}, now_ns=NOW, state=None)
    assert batch.request is not None
    got = {key: value for key, (value, _, _) in points_of(batch.request).items()}
    assert got == {
        ("blackboxai.session.count", ()): 1,
        INPUT: 912,
        ("blackboxai.token.usage", (("model", "gpt-4o-mini"), ("type", "output"))): 130,
        ("blackboxai.token.usage", (("model", "claude-sonnet-4"), ("type", "input"))): 5,
        ("blackboxai.cost.usage", (("model", "gpt-4o-mini"),)): pytest.approx(0.000194),
        ("blackboxai.edit.count", (("edit_format", "diff"), ("outcome", "applied"))): 1,
        ("blackboxai.edit.count", (("edit_format", "diff"), ("outcome", "failed"))): 1,
        ("blackboxai.lines_of_code.count", (("type", "added"),)): 7,
        ("blackboxai.lines_of_code.count", (("type", "removed"),)): 3,
        ("blackboxai.command.count", (("command", "add"),)): 2,
        ("blackboxai.command.count", (("command", "unknown"),)): 1,
    }  # no output point of 0 tokens; `cli session` counts towards nothing
    assert batch.points == len(got)
    (rm,) = batch.request.resource_metrics
    metrics = {m.name: m for m in rm.scope_metrics[0].metrics}
    assert set(metrics) == set(METRIC_DEFS)
    assert {name: m.unit for name, m in metrics.items()} == {
        name: d.unit for name, d in METRIC_DEFS.items()
    }
    assert all(m.sum.is_monotonic and m.sum.aggregation_temporality == 1 for m in metrics.values())
    assert metrics["blackboxai.cost.usage"].sum.data_points[0].WhichOneof("value") == "as_double"
    assert metrics["blackboxai.token.usage"].sum.data_points[0].WhichOneof("value") == "as_int"
    resource = {kv.key: kv.value.string_value for kv in rm.resource.attributes}
    assert resource["team"] == "blue" and resource["service.name"] == "blackboxai"
    for _, start, end in points_of(batch.request).values():
        assert (start, end) == (1_764_900_000_001_000_000, NOW)  # the first event, now


def test_user_and_session_ids_are_metric_attributes_only_when_asked() -> None:
    plain = metrics_request([record("launched")], resource={}, now_ns=NOW, state=None)
    asked = metrics_request(
        [record("launched")],
        resource={},
        now_ns=NOW,
        state=None,
        include_user_id=True,
        include_session_id=True,
    )
    assert list(points_of(plain.request)) == [("blackboxai.session.count", ())]
    assert list(points_of(asked.request)) == [
        ("blackboxai.session.count", (("session.id", SESSION), ("user.id", USER)))
    ]


def test_a_batch_with_no_usage_sends_nothing_but_starts_the_state() -> None:
    batch = metrics_request(
        [record("cli session"), record("message_send", prompt_tokens=0)],
        resource={},
        now_ns=NOW,
        state=None,
    )
    assert batch.request is None and batch.points == 0
    assert batch.state.start_ns == 1_764_900_000_123_000_000 and batch.state.series == {}


def run_batches(batches: list[list[dict[str, Any]]], temporality: Any) -> list[Points]:
    """Each batch sent in turn, one second apart, the state committed to disk in between."""
    state, out, now = None, [], NOW
    for batch in batches:
        result = metrics_request(
            batch, resource={}, temporality=temporality, now_ns=now, state=state
        )
        state = MetricsState.from_json(result.state.to_json())  # as committed to disk
        out.append(points_of(result.request))
        now += 1_000_000_000
    return out


def test_delta_windows_are_contiguous_and_cumulative_keeps_its_start() -> None:
    first, second, third = run_batches([BATCH[:3], BATCH[1:4], BATCH[1:2]], "delta")
    assert second[INPUT][1] == first[INPUT][2]  # the next window starts where the last ended
    assert third[INPUT][1] == second[INPUT][2]
    assert (first[INPUT][0], second[INPUT][0], third[INPUT][0]) == (912, 912, 812)
    assert all(end - start > 0 for _, start, end in second.values())
    new = ("blackboxai.token.usage", (("model", "claude-sonnet-4"), ("type", "input")))
    assert new not in first and second[new][1] == first[INPUT][1]  # from the writer's start
    c1, c2, c3 = run_batches([BATCH[:3], BATCH[1:4], BATCH[1:2]], "cumulative")
    assert c1[INPUT][1] == c2[INPUT][1] == c3[INPUT][1]  # the same start
    assert (c1[INPUT][0], c2[INPUT][0], c3[INPUT][0]) == (912, 1824, 2636)  # the running total
    assert c3[INPUT][2] - c1[INPUT][2] == 2_000_000_000


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=len(BATCH)), max_size=5))
def test_every_event_is_counted_once_however_the_batches_fall(cuts: list[int]) -> None:
    bounds = [0, *sorted(cuts), len(BATCH)]
    batches = [BATCH[a:b] for a, b in itertools.pairwise(bounds)]
    (whole,) = run_batches([BATCH], "delta")
    deltas: dict[Any, float] = {}
    ends: dict[Any, int] = {}
    for points in run_batches(batches, "delta"):
        for key, (value, start, end) in points.items():
            deltas[key] = deltas.get(key, 0) + value
            assert start == ends.get(key, start), "a gap or an overlap"
            assert start < end
            ends[key] = end
    assert deltas == pytest.approx({k: v[0] for k, v in whole.items()})
    last: dict[Any, float] = {}
    for points in run_batches(batches, "cumulative"):
        last.update({k: v[0] for k, v in points.items()})
    assert last == pytest.approx({k: v[0] for k, v in whole.items()})


def test_a_pruned_series_that_returns_starts_after_the_floor() -> None:
    state = metrics_request(BATCH, resource={}, now_ns=NOW, state=None).state
    assert len(state.series) == 11
    pruned = state.pruned(3)
    assert len(pruned.series) == 3 and pruned.floor_ns == NOW
    assert state.pruned(11) is state
    later = metrics_request([record("command_add")], resource={}, now_ns=NOW + 10, state=pruned)
    assert list(points_of(later.request).values()) == [(1, NOW, NOW + 10)]


# -- the collector's answers, read ----------------------------------------------------------------
def test_partial_success_and_status_are_read_from_the_stand_ins_answers(
    collector: Collector,
) -> None:
    logs = logs_request([MESSAGE, MESSAGE], resource={}, observed_ns=NOW)
    for kind, body in ((PROTOBUF, logs.SerializeToString()), (JSON, to_json(logs))):
        collector.partial(rejected=1, message="too many attributes")
        status, headers, answer = post(collector.url_for("logs"), body, {"Content-Type": kind})
        assert status == 200
        assert parse_partial_success(answer, headers["content-type"], "logs") == (
            1,
            "too many attributes",
        )
        status, headers, answer = post(collector.url_for("logs"), body, {"Content-Type": kind})
        assert parse_partial_success(answer, headers["content-type"], "logs") == (0, "")
        status, headers, answer = post(collector.url_for("logs"), b"{]", {"Content-Type": kind})
        assert status == 400
        assert parse_status(answer, headers["content-type"]).startswith("failed to decode")
    metrics = metrics_request(BATCH, resource={}, now_ns=NOW, state=None).request
    assert metrics is not None
    collector.partial(rejected=2, message="late", signal="metrics")
    status, headers, answer = post(
        collector.url_for("metrics"), to_json(metrics), {"Content-Type": JSON}
    )
    assert parse_partial_success(answer, headers["content-type"], "metrics") == (2, "late")


def test_a_response_that_is_not_otlp_raises_and_a_page_says_nothing() -> None:
    assert parse_partial_success(b"", PROTOBUF, "logs") == (0, "")
    with pytest.raises(ValueError, match="Content-Type"):
        parse_partial_success(b"<html>ok</html>", "text/html", "logs")
    with pytest.raises(ValueError, match="undecodable"):
        parse_partial_success(b"\xff\xff\xff", PROTOBUF, "metrics")
    with pytest.raises(ValueError, match="over"):
        parse_partial_success(b"\0" * (4 * 1024 * 1024 + 1), PROTOBUF, "logs")
    assert parse_status(b"415 unsupported media type", "text/plain") == ""
    assert parse_status(b"<html>502</html>", "text/html") == ""
    assert parse_status(b'{"code": 3, "message": "bad"}', "application/json; charset=utf-8") == (
        "bad"
    )


# -- a round trip through the stand-in ------------------------------------------------------------
@pytest.mark.parametrize("kind", [PROTOBUF, JSON])
@pytest.mark.parametrize("gzipped", [False, True])
def test_round_trip_through_the_strict_receiver(
    collector: Collector, kind: str, gzipped: bool
) -> None:
    logs = logs_request(BATCH, resource={"team": "blue"}, observed_ns=NOW)
    metrics = metrics_request(BATCH, resource={"team": "blue"}, now_ns=NOW, state=None).request
    assert metrics is not None
    for signal, message in (("logs", logs), ("metrics", metrics)):
        body = message.SerializeToString() if kind == PROTOBUF else to_json(message)
        headers = {"Content-Type": kind}
        if gzipped:
            body, headers["Content-Encoding"] = gzip.compress(body), "gzip"
        status, _, answer = post(collector.url_for(signal), body, headers)
        assert status == 200, parse_status(answer, kind)
    assert collector.messages("logs") == [logs]
    assert collector.messages("metrics") == [metrics]
    views = collector.log_records()
    assert [v.event_name for v in views] == [r["event"] for r in BATCH]
    assert views[1].attributes["prompt_tokens"] == 812
    assert views[1].attributes["note"] is None
    assert views[1].resource["os.type"] == "linux" and views[1].resource["team"] == "blue"
    tokens = collector.points("blackboxai.token.usage")
    assert {(p.attributes["type"], p.attributes["model"]): p.value for p in tokens} == {
        ("input", "gpt-4o-mini"): 912,
        ("output", "gpt-4o-mini"): 130,
        ("input", "claude-sonnet-4"): 5,
    }
    assert all(p.temporality == 1 and p.monotonic for p in collector.points())


# -- the sinks' requests and how their answers are read -------------------------------------------
def send_once(
    url: str, records: list[dict[str, Any]], signal: str = LOGS, *, read: float = 3.0, **env: str
) -> Answer:
    """One request by the uploader's own adapter for one of the collector's destinations."""
    dest = destinations(url, **env)[signal]
    sink = LogsSink(dest, 1.0, read) if signal == LOGS else MetricsSink(dest, 1.0, read)
    try:
        return sink.send(records)
    finally:
        sink.close()
        # requests keeps the closed session's socket in a reference cycle: collected now, the
        # stand-in's keep-alive handler sees the connection end instead of waiting out its 10 s.
        gc.collect()


def test_the_sinks_post_each_signal_with_its_headers_and_encoding(collector: Collector) -> None:
    env = {"OTEL_EXPORTER_OTLP_HEADERS": "x-team=blue", "OTEL_EXPORTER_OTLP_COMPRESSION": "gzip"}
    assert send_once(collector.url, [MESSAGE], **env).status == 200
    assert send_once(collector.url, [MESSAGE], METRICS, **env).status == 200
    first, second = collector.requests
    assert (first.path, second.path) == ("/v1/logs", "/v1/metrics")
    for received in (first, second):
        assert received.headers["content-type"] == PROTOBUF
        assert received.headers["content-encoding"] == "gzip"
        assert received.headers["x-team"] == "blue"
    assert [v.event_name for v in collector.log_records()] == ["message_send"]
    assert {(p.name, p.attributes.get("type")): p.value for p in collector.points()} == {
        ("blackboxai.token.usage", "input"): 812,
        ("blackboxai.token.usage", "output"): 120,
        ("blackboxai.cost.usage", None): pytest.approx(0.000194),
    }


def test_a_header_value_is_sent_as_the_utf8_its_percent_encoding_names(
    collector: Collector,
) -> None:
    env = {"OTEL_EXPORTER_OTLP_HEADERS": "x-sig=%E2%9C%93,x-team=caf%C3%A9,x-plain=a%20b"}
    assert send_once(collector.url, [MESSAGE], **env).status == 200
    (received,) = collector.requests
    raw = {k: received.headers[k].encode("latin-1") for k in ("x-sig", "x-team", "x-plain")}
    assert raw == {"x-sig": "✓".encode(), "x-team": "café".encode(), "x-plain": b"a b"}
    assert len(collector.log_records()) == 1


@pytest.mark.parametrize(
    ("script", "status", "verdict", "detail"),
    [
        (("partial", 1, "too long"), 200, Verdict.OK, "1 rejected by the collector: too long"),
        (("fail", 401, "missing or empty authorization header"), 401, Verdict.REFUSED,
         "HTTP 401: missing or empty authorization header; the collector refused the credentials"
         " (analytics-otlp-headers)"),
        (("fail", 403, "forbidden"), 403, Verdict.REFUSED,
         "HTTP 403: forbidden; the collector refused the credentials (analytics-otlp-headers)"),
        (("fail", 400, "bad data"), 400, Verdict.REJECT,
         "HTTP 400: bad data; the collector refused the data as invalid"),
        (("fail", 415, "no"), 415, Verdict.REJECT,
         "HTTP 415: no; the collector does not take http/protobuf (analytics-otlp-protocol)"),
        (("fail", 500, "boom"), 500, Verdict.REJECT,
         "HTTP 500: boom; not retried, as the OTLP spec says"),
        (("fail", 502, "later"), 502, Verdict.RETRY, "HTTP 502: later"),
        (("fail", 413, "too large"), 413, Verdict.SPLIT, "HTTP 413: too large"),
        (("redirect", 302, "https://sso.example/login"), 302, Verdict.OTHER,
         "HTTP 302: the host answered with a redirect to https://sso.example/login, not followed"),
    ],
)  # fmt: skip
def test_each_answer_is_read_as_the_otlp_spec_says(
    collector: Collector, script: tuple[Any, ...], status: int, verdict: Verdict, detail: str
) -> None:
    kind, value, text = script
    if kind == "partial":
        collector.partial(rejected=value, message=text)
    elif kind == "fail":
        collector.fail(value, message=text)
    else:
        collector.redirect(text, status=value)
    answer = send_once(collector.url, [MESSAGE, MESSAGE])
    assert (answer.status, answer.detail) == (status, detail)
    assert classify(answer, 2) is verdict
    assert answer.rejected == (1 if kind == "partial" else 0)
    assert collector.count("/v1/logs") == 1  # one request: the sink never retries itself


def test_a_404_says_the_endpoint_is_wrong_and_a_429_how_long_to_wait() -> None:
    with Collector(prefix="/otlp") as collector:
        wrong = send_once(collector.base, [MESSAGE])  # the prefix left out
        collector.fail(429, retry_after=7)
        busy = send_once(collector.url, [MESSAGE])
    assert (wrong.status, classify(wrong, 1)) == (404, Verdict.REJECT)
    assert wrong.detail == (
        f"HTTP 404; nothing takes OTLP at {collector.base}/v1/logs (is the endpoint right?)"
    )
    assert (busy.status, busy.retry_after, classify(busy, 1)) == (429, 7.0, Verdict.RETRY)


def test_no_answer_and_an_otel_timeout_are_status_0() -> None:
    refused = send_once(refused_url(), [MESSAGE])
    assert (refused.status, refused.detail) == (0, "no answer (ConnectionError)")
    with Collector("silent") as silent:
        started = time.monotonic()
        late = send_once(silent.url, [MESSAGE], read=60.0, OTEL_EXPORTER_OTLP_TIMEOUT="300")
        took = time.monotonic() - started
        assert silent.count("/v1/logs") == 1
    assert (late.status, late.detail) == (0, "no answer (ReadTimeout)")
    assert took < 30  # the 300 ms of OTEL_EXPORTER_OTLP_TIMEOUT, not the 60 s read bound


def test_a_tls_file_that_is_not_there_is_an_answer_that_names_it(tmp_path: Path) -> None:
    tls = tls_files(tmp_path / "tls")
    missing = str(tmp_path / "missing.pem")
    with Collector(tls=tls) as collector:
        no_ca = send_once(collector.url, [MESSAGE], OTEL_EXPORTER_OTLP_CERTIFICATE=missing)
        no_cert = send_once(
            collector.url,
            [MESSAGE],
            OTEL_EXPORTER_OTLP_CERTIFICATE=tls.ca,
            OTEL_EXPORTER_OTLP_CLIENT_KEY=missing,
            OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE=missing,
        )
        assert collector.requests == []
    assert (no_ca.status, classify(no_ca, 1)) == (0, Verdict.NO_ANSWER)  # kept, and said
    assert no_ca.detail == (
        "cannot use the TLS files: Could not find a suitable TLS CA certificate bundle, "
        f"invalid path: {missing}"
    )
    assert (no_cert.status, classify(no_cert, 1)) == (0, Verdict.NO_ANSWER)
    assert no_cert.detail == (
        "cannot use the TLS files: Could not find the TLS certificate file, invalid path: "
        f"{missing}"
    )


# -- settings and the environment -----------------------------------------------------------------
EVERYTHING = {
    "OTEL_EXPORTER_OTLP_ENDPOINT": "http://elsewhere:4318",
    "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT": "http://elsewhere:4318/v1/logs",
    "OTEL_EXPORTER_OTLP_HEADERS": "authorization=Bearer%20x",
    "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json",
    "OTEL_RESOURCE_ATTRIBUTES": "team=blue",
}


def test_otel_variables_alone_never_make_a_destination() -> None:
    assert collector_destinations(None, None, None, EVERYTHING) == ((), [])
    assert collector_destinations("", "http/json", "a=b", EVERYTHING) == ((), [])


def test_the_environment_is_an_argument(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in EVERYTHING.items():
        monkeypatch.setenv(name, value)
    found = destinations(BASE)
    assert found[LOGS] == Destination(LOGS, f"{BASE}/v1/logs", "", (("protocol", "http/protobuf"),))
    assert found[METRICS].host == f"{BASE}/v1/metrics"
    assert os.environ["OTEL_EXPORTER_OTLP_LOGS_ENDPOINT"]  # it was there, and not read


@pytest.mark.parametrize(
    ("endpoint", "logs", "metrics"),
    [
        (BASE, f"{BASE}/v1/logs", f"{BASE}/v1/metrics"),
        (f"{BASE}/", f"{BASE}/v1/logs", f"{BASE}/v1/metrics"),
        (f" {BASE}/otlp/ ", f"{BASE}/otlp/v1/logs", f"{BASE}/otlp/v1/metrics"),
    ],
)
def test_the_base_endpoint_gets_each_signals_path(endpoint: str, logs: str, metrics: str) -> None:
    found = destinations(endpoint, OTEL_EXPORTER_OTLP_ENDPOINT="http://elsewhere:4318/x")
    assert (found[LOGS].host, found[METRICS].host) == (logs, metrics)
    assert (found[LOGS].key, found[METRICS].key) == ("", "")


def test_a_signals_own_endpoint_variable_is_used_as_it_is() -> None:
    found = destinations(
        BASE,
        OTEL_EXPORTER_OTLP_LOGS_ENDPOINT="https://logs.example/ingest",
        OTEL_EXPORTER_OTLP_METRICS_ENDPOINT="https://metrics.example",
    )
    assert found[LOGS].host == "https://logs.example/ingest"
    assert found[METRICS].host == "https://metrics.example/"  # the root path added
    empty = destinations(BASE, OTEL_EXPORTER_OTLP_LOGS_ENDPOINT="  ")  # empty is unset
    assert empty[LOGS].host == f"{BASE}/v1/logs"


def test_a_url_that_is_not_http_is_no_destination_and_said() -> None:
    found, problems = collector_destinations(
        BASE, None, None, {"OTEL_EXPORTER_OTLP_METRICS_ENDPOINT": "ftp://metrics.example/x"}
    )
    assert [d.name for d in found] == [LOGS]
    assert problems == [
        "the collector's metrics URL 'ftp://metrics.example/x' is not http(s): nothing goes there"
    ]
    found, problems = collector_destinations("file:///tmp/x", None, None, {})
    assert found == () and len(problems) == 2


def test_our_headers_win_name_by_name_and_a_signals_own_replace_the_general() -> None:
    found, problems = collector_destinations(
        BASE,
        None,
        "Authorization=Bearer%20ours,x-extra=a%2Cb",
        {
            "OTEL_EXPORTER_OTLP_HEADERS": "authorization=Bearer%20theirs,x-team=blue",
            "OTEL_EXPORTER_OTLP_METRICS_HEADERS": "x-only=metrics",
        },
    )
    assert problems == []
    logs, metrics = found
    assert parse_headers(logs.option("headers"), "h") == (
        {"authorization": "Bearer ours", "x-team": "blue", "x-extra": "a,b"},
        [],
    )
    assert parse_headers(metrics.option("headers"), "h") == (
        {"x-only": "metrics", "authorization": "Bearer ours", "x-extra": "a,b"},
        [],
    )
    assert "ours" not in json.dumps(logs.shown()) and logs.shown() == {
        "name": LOGS,
        "host": f"{BASE}/v1/logs",
    }


def test_protocol_timeout_tls_files_and_compression_per_signal() -> None:
    found, problems = collector_destinations(
        BASE,
        None,
        None,
        {
            "OTEL_EXPORTER_OTLP_PROTOCOL": "HTTP/JSON",
            "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL": "http/protobuf",
            "OTEL_EXPORTER_OTLP_TIMEOUT": "2500",
            "OTEL_EXPORTER_OTLP_LOGS_TIMEOUT": "0",
            "OTEL_EXPORTER_OTLP_COMPRESSION": "GZIP",
            "OTEL_EXPORTER_OTLP_CERTIFICATE": "/etc/team/ca.pem",
            "OTEL_EXPORTER_OTLP_CLIENT_KEY": "/etc/team/client.key",
            "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE": "/etc/team/client.pem",
            "OTEL_EXPORTER_OTLP_METRICS_CLIENT_CERTIFICATE": "/etc/team/metrics.pem",
        },
    )
    assert problems == []
    logs, metrics = (dict(d.options) for d in found)
    assert logs == {
        "protocol": "http/json",
        "timeout_ms": "0",
        "compression": "GZIP",
        "certificate": "/etc/team/ca.pem",
        "client_key": "/etc/team/client.key",
        "client_certificate": "/etc/team/client.pem",
    }
    assert metrics == {**logs, "protocol": "http/protobuf", "timeout_ms": "2500",
                       "client_certificate": "/etc/team/metrics.pem"}  # fmt: skip


def test_our_protocol_wins_over_the_variable() -> None:
    found, problems = collector_destinations(
        BASE, "http/protobuf", None, {"OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"}
    )
    assert problems == [] and {d.option("protocol") for d in found} == {"http/protobuf"}


def test_a_client_key_without_its_certificate_is_not_used() -> None:
    found, problems = collector_destinations(
        BASE, None, None, {"OTEL_EXPORTER_OTLP_CLIENT_KEY": "/k.pem"}
    )
    assert all(d.option("client_key") is None for d in found)
    assert "a client key and a client certificate go together: neither is used" in problems


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, None), ("", None), ("delta", None), ("LowMemory", None), (" Cumulative ", "cumulative"),
     ("weekly", None)],
)  # fmt: skip
def test_temporality_is_delta_unless_cumulative_is_asked_for(
    value: str | None, expected: str | None
) -> None:
    env = {} if value is None else {"OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE": value}
    found, problems = collector_destinations(BASE, None, None, env)
    logs, metrics = found
    assert metrics.option("temporality") == expected
    assert logs.option("temporality") is None
    assert problems == (
        ["OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE 'weekly' is unknown: delta is used"]
        if value == "weekly"
        else []
    )


@pytest.mark.parametrize("value", ["true", "1", "TRUE", "yes"])
def test_ids_on_metric_points_only_when_asked(value: str) -> None:
    asked = destinations(
        BASE, OTEL_METRICS_INCLUDE_USER_ID=value, OTEL_METRICS_INCLUDE_SESSION_ID=value
    )
    assert asked[METRICS].option("include_user_id") == "true"
    assert asked[METRICS].option("include_session_id") == "true"
    assert asked[LOGS].option("include_user_id") is None
    plain = destinations(BASE, OTEL_METRICS_INCLUDE_USER_ID="false")
    assert plain[METRICS].option("include_user_id") is None


def test_resource_attributes_travel_with_both_destinations() -> None:
    found = destinations(BASE, OTEL_RESOURCE_ATTRIBUTES="team=platform,env=dev%2Ceu")
    for dest in found.values():
        assert parse_resource_attributes(dest.option("resource")) == (
            {"team": "platform", "env": "dev,eu"},
            [],
        )


def test_the_options_survive_the_spool() -> None:
    found = destinations(
        BASE,
        OTEL_EXPORTER_OTLP_HEADERS="authorization=Bearer%20x%2Cy",
        OTEL_RESOURCE_ATTRIBUTES="team=blue",
        OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE="cumulative",
    )
    for dest in found.values():
        assert Destination.from_json(json.loads(json.dumps(dest.to_json()))) == dest


@pytest.mark.parametrize(
    ("env", "said"),
    [
        ({"OTEL_EXPORTER_OTLP_TIMEOUT": "10.5"},
         "OTEL_EXPORTER_OTLP_TIMEOUT '10.5' is not a whole number of milliseconds: ignored"),
        ({"OTEL_EXPORTER_OTLP_TIMEOUT": "-1"},
         "OTEL_EXPORTER_OTLP_TIMEOUT '-1' is not a whole number of milliseconds: ignored"),
        ({"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"},
         "OTEL_EXPORTER_OTLP_PROTOCOL 'grpc' is not http/protobuf or http/json: "
         "http/protobuf is used"),
        ({"OTEL_EXPORTER_OTLP_HEADERS": "no-equals,x=1"},
         "OTEL_EXPORTER_OTLP_HEADERS: an item is not name=value; skipped"),
        ({"OTEL_EXPORTER_OTLP_COMPRESSION": "zstd"},
         "OTEL_EXPORTER_OTLP_COMPRESSION 'zstd': not used"),
        ({"OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE": "/c.pem"},
         "a client key and a client certificate go together: neither is used"),
        ({"OTEL_RESOURCE_ATTRIBUTES": "team"},
         "OTEL_RESOURCE_ATTRIBUTES: an item is not key=value: the whole variable is ignored"),
    ],
)  # fmt: skip
def test_a_value_that_cannot_be_used_is_said_in_one_line(env: dict[str, str], said: str) -> None:
    found, problems = collector_destinations(BASE, None, None, env)
    assert len(found) == 2  # the rest still works
    assert said in problems
    assert len(problems) == len(set(problems)), f"said more than once: {problems}"


def test_a_signals_own_bad_compression_is_named() -> None:
    _, problems = collector_destinations(
        BASE, None, None, {"OTEL_EXPORTER_OTLP_LOGS_COMPRESSION": "br"}
    )
    assert problems == ["OTEL_EXPORTER_OTLP_LOGS_COMPRESSION 'br': not used"]


def test_bad_resource_attributes_are_said_even_when_the_logs_url_is_unusable() -> None:
    found, problems = collector_destinations(
        BASE,
        None,
        None,
        {"OTEL_EXPORTER_OTLP_LOGS_ENDPOINT": "ftp://x/", "OTEL_RESOURCE_ATTRIBUTES": "oops"},
    )
    assert [d.name for d in found] == [METRICS]
    assert (
        "OTEL_RESOURCE_ATTRIBUTES: an item is not key=value: the whole variable is ignored"
        in problems
    )


@pytest.mark.parametrize(
    "value",
    [
        "api-key=abc123",
        "Authorization=Bearer%20abc, x-team = blue",
        "Authorization=Bearer abc",  # an unencoded space: the liberal reading
        "k=a=b,empty=",
        "x-sig=%E2%9C%93,,",
    ],
)
def test_headers_parse_as_the_python_exporter_does(value: str) -> None:
    from opentelemetry.util.re import parse_env_headers

    expected = dict(parse_env_headers(value, liberal=True))
    assert expected
    assert parse_headers(value, "OTEL_EXPORTER_OTLP_HEADERS") == (expected, [])


@pytest.mark.parametrize(
    ("value", "said"),
    [
        ("no-equals", "H: an item is not name=value; skipped"),
        ("bad key=v", "H: an item is not name=value; skipped"),
        ("x=%0D%0Ainjected: 1", "H: x: a line break in the value; skipped"),
        ("x=%FF", "H: x: not UTF-8 once percent-decoded; skipped"),
    ],
)
def test_a_bad_header_item_is_skipped_and_said(value: str, said: str) -> None:
    assert parse_headers(f"{value},good=1", "H") == ({"good": "1"}, [said])
