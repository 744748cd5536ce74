"""The standard usage metrics, derived in the uploader from the same events (nothing new runs
in a session), as monotonic Sums: sessions, tokens, cost, lines of code, edits, commands.

Counted once: the metrics are a destination of their own, with its own delivery progress, so
each event is in exactly one accepted request. Delta temporality by default (what importers such
as DX require), cumulative when OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE asks for it.
Between requests (and runs) a `MetricsState` remembers, per stream, where its last accepted point
ended and its running total, so that delta windows neither overlap nor leave gaps and a
cumulative stream keeps its start (metrics/data-model.md, "Resets and Gaps"). Metric attributes
stay low-cardinality: user.id and session.id only when the team asks (OTEL_METRICS_INCLUDE_*).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.metrics.v1 import metrics_pb2

from blackboxai.analytics.delivery.sinks.otlp.logs import (
    SCOPE_NAME,
    Record,
    kv,
    record_resource,
    session_id,
    time_ns,
)
from blackboxai.analytics.destinations.collector import feeds_metrics

__all__ = ["METRICS", "MetricsBatch", "MetricsState", "metrics_request"]


@dataclass(frozen=True)
class MetricDef:
    """A metric as docs/team-telemetry.md shows it (generated): what it counts, from what."""

    unit: str
    description: str
    attributes: str  # its point attributes
    source: str  # which events (and properties) it is counted from
    floating: bool = False  # as_double, else as_int


METRICS: dict[str, MetricDef] = {
    "blackboxai.session.count": MetricDef(
        "{session}", "Sessions started", "none", "`launched`: one each"
    ),
    "blackboxai.token.usage": MetricDef(
        "tokens",
        "Tokens sent to and received from models",
        "`type` (`input`, `output`), `model`",
        "`message_send`: `prompt_tokens` (input), `completion_tokens` (output)",
    ),
    "blackboxai.cost.usage": MetricDef(
        "USD",
        "What model replies cost, as the endpoint reported it",
        "`model`",
        "`message_send`: `cost_usd`, when the endpoint reports one (never estimated)",
        True,
    ),
    "blackboxai.lines_of_code.count": MetricDef(
        "{line}",
        "Lines added or removed by edits",
        "`type` (`added`, `removed`)",
        "`edit_applied`: `lines_added`, `lines_removed`",
    ),
    "blackboxai.edit.count": MetricDef(
        "{edit}",
        "Replies whose edits were applied or failed",
        "`outcome` (`applied`, `failed`), `edit_format`",
        "`edit_applied`, `edit_failed`: one each",
    ),
    "blackboxai.command.count": MetricDef(
        "{command}", "Slash commands used", "`command` (`add`, `ls`, ...)", "`command_*`: one each"
    ),
}


def _count(value: object) -> int | None:
    """A non-negative whole count, or None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and value > 0:
        return value
    if isinstance(value, float) and math.isfinite(value) and value > 0 and value.is_integer():
        return int(value)
    return None


def _amount(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) and value > 0 else None


Increment = tuple[str, dict[str, str], float]  # metric, point attributes, value


def _increments(record: Record) -> list[Increment]:
    """The usage a record stands for: the events collector.feeds_metrics names (the session
    queues only those for the metrics), with the properties catalogue version 3 added (lines,
    cost) used when present."""
    event = record.get("event")
    if not isinstance(event, str) or not feeds_metrics(event):
        return []
    props = record.get("properties") or {}
    model = props.get("main_model")
    with_model = {"model": model} if isinstance(model, str) and model else {}
    edit_format = props.get("edit_format")
    with_format = {"edit_format": edit_format} if isinstance(edit_format, str) else {}
    out: list[Increment] = []
    if event == "launched":
        out.append(("blackboxai.session.count", {}, 1))
    elif event == "message_send":
        for prop, kind in (("prompt_tokens", "input"), ("completion_tokens", "output")):
            n = _count(props.get(prop))
            if n is not None:
                out.append(("blackboxai.token.usage", {"type": kind, **with_model}, n))
        cost = _amount(props.get("cost_usd"))
        if cost is not None:
            out.append(("blackboxai.cost.usage", with_model, cost))
    elif event in ("edit_applied", "edit_failed"):
        outcome = "applied" if event == "edit_applied" else "failed"
        out.append(("blackboxai.edit.count", {"outcome": outcome, **with_format}, 1))
        for prop, kind in (("lines_added", "added"), ("lines_removed", "removed")):
            n = _count(props.get(prop))
            if n is not None and event == "edit_applied":
                out.append(("blackboxai.lines_of_code.count", {"type": kind}, n))
    else:  # a command_* event
        out.append(("blackboxai.command.count", {"command": event[8:]}, 1))
    return out


def _series_key(metric: str, resource: Mapping[str, str], attrs: Mapping[str, str]) -> str:
    return json.dumps([metric, sorted(resource.items()), sorted(attrs.items())])


def usage_increments(
    records: Iterable[Record],
    *,
    resource: Mapping[str, str],
    include_user_id: bool = False,
    include_session_id: bool = False,
) -> dict[str, float]:
    """Series key -> the batch's increment. A key is canonical JSON of (metric, resource items,
    point attributes): the stream's identity in the data model."""
    totals: dict[str, float] = {}
    for record in records:
        res = record_resource(record, resource)
        extra: dict[str, str] = {}
        if include_user_id and isinstance(record.get("user_id"), str):
            extra["user.id"] = record["user_id"]
        session = session_id(record)
        if include_session_id and session is not None:
            extra["session.id"] = session
        for metric, attrs, value in _increments(record):
            key = _series_key(metric, res, {**attrs, **extra})
            totals[key] = totals.get(key, 0) + value
    return totals


@dataclass(frozen=True)
class SeriesState:
    start_ns: int  # the cumulative start: when this stream began counting
    last_end_ns: int  # the end of its last accepted point: the next delta point starts here
    total: float  # everything counted since start_ns


@dataclass(frozen=True)
class MetricsState:
    """What one writer (one data directory and destination) must remember between uploader
    runs so that delta points neither overlap nor leave gaps and cumulative points keep their
    start and total. Committed only after the collector accepted the request (200, partial
    success included). `floor_ns`: the latest end of any series pruned away; a series that comes
    back starts after it (a new cumulative start, a reset the data model recognises)."""

    start_ns: int
    floor_ns: int = 0
    series: Mapping[str, SeriesState] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(
            {
                "start_ns": self.start_ns,
                "floor_ns": self.floor_ns,
                "series": {k: [s.start_ns, s.last_end_ns, s.total] for k, s in self.series.items()},
            },
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, text: str) -> MetricsState:
        data = json.loads(text)
        series = {
            str(k): SeriesState(int(v[0]), int(v[1]), float(v[2]))
            for k, v in dict(data["series"]).items()
        }
        return cls(int(data["start_ns"]), int(data.get("floor_ns", 0)), series)

    def pruned(self, max_series: int) -> MetricsState:
        """At most `max_series` streams, the most recently reported kept (per-session streams
        would otherwise grow without end)."""
        if len(self.series) <= max_series:
            return self
        order = sorted(self.series.items(), key=lambda kv: kv[1].last_end_ns, reverse=True)
        kept, dropped = order[:max_series], order[max_series:]
        floor = max([self.floor_ns, *(s.last_end_ns for _, s in dropped)])
        return MetricsState(self.start_ns, floor, dict(kept))


class MetricsBatch(NamedTuple):
    request: ExportMetricsServiceRequest | None  # None: nothing to send (no empty envelopes)
    state: MetricsState  # to commit once the collector accepted `request`
    points: int


def metrics_request(
    records: Sequence[Record],
    *,
    resource: Mapping[str, str],
    temporality: Literal["delta", "cumulative"] = "delta",
    now_ns: int,
    state: MetricsState | None,
    include_user_id: bool = False,
    include_session_id: bool = False,
) -> MetricsBatch:
    """The standard usage metrics of a batch, as monotonic Sums, all points ending at `now_ns`.

    Delta: a stream's point covers (its last accepted end, now]: contiguous windows, so each
    event is counted in exactly one point as long as each event is in exactly one accepted batch
    (the uploader's per-destination progress). Cumulative: (the stream's start, now] with the
    running total. A fresh state starts at the batch's earliest event (or now)."""
    increments = usage_increments(
        records,
        resource=resource,
        include_user_id=include_user_id,
        include_session_id=include_session_id,
    )
    if state is None:
        times = [t for t in (time_ns(r.get("time")) for r in records) if t > 0]
        state = MetricsState(start_ns=min([*times, now_ns]))
    if not increments:
        return MetricsBatch(None, state, 0)
    fresh_start = max(state.start_ns, state.floor_ns)
    previous = {k: state.series.get(k) for k in increments}
    starts = [p.last_end_ns if p else fresh_start for p in previous.values()]
    end = max([now_ns, *(s + 1 for s in starts)])
    series = dict(state.series)
    rows: list[tuple[str, dict[str, str], dict[str, str], int, float]] = []
    for key, inc in increments.items():
        prev = previous[key]
        metric, res_items, attr_items = json.loads(key)
        new = SeriesState(
            prev.start_ns if prev else fresh_start,
            end,
            (prev.total if prev else 0.0) + inc,
        )
        series[key] = new
        if temporality == "delta":
            start, value = (prev.last_end_ns if prev else fresh_start), inc
        else:
            start, value = new.start_ns, new.total
        rows.append((metric, dict(res_items), dict(attr_items), start, value))
    aggregation = (
        metrics_pb2.AGGREGATION_TEMPORALITY_DELTA
        if temporality == "delta"
        else metrics_pb2.AGGREGATION_TEMPORALITY_CUMULATIVE
    )
    request = ExportMetricsServiceRequest()
    by_resource: dict[tuple[Any, ...], Any] = {}
    by_metric: dict[tuple[tuple[Any, ...], str], Any] = {}
    version_of = {tuple(r.items()): r.get("service.version", "") for _, r, _, _, _ in rows}
    for metric, res, attrs, start, value in rows:
        res_key = tuple(res.items())
        scope_metrics = by_resource.get(res_key)
        if scope_metrics is None:
            resource_metrics = request.resource_metrics.add()
            resource_metrics.resource.attributes.extend(kv(k, v) for k, v in res.items())
            scope_metrics = resource_metrics.scope_metrics.add()
            scope_metrics.scope.name = SCOPE_NAME
            scope_metrics.scope.version = version_of[res_key]
            by_resource[res_key] = scope_metrics
        proto_metric = by_metric.get((res_key, metric))
        if proto_metric is None:
            definition = METRICS[metric]
            proto_metric = scope_metrics.metrics.add(
                name=metric, unit=definition.unit, description=definition.description
            )
            proto_metric.sum.is_monotonic = True
            proto_metric.sum.aggregation_temporality = aggregation
            by_metric[(res_key, metric)] = proto_metric
        point = proto_metric.sum.data_points.add(start_time_unix_nano=start, time_unix_nano=end)
        point.attributes.extend(kv(k, v) for k, v in attrs.items())
        if METRICS[metric].floating:
            point.as_double = float(value)
        else:
            point.as_int = int(value)
    new_state = MetricsState(state.start_ns, state.floor_ns, series)
    return MetricsBatch(request, new_state, len(rows))
