"""One small adapter per vendor SDK behind a two-method seam: send(batch) -> Answer, and close()."""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timezone
from pathlib import Path
from typing import Protocol

from blackboxai.analytics.destinations import Destination
from blackboxai.analytics.queue.waiting import Record, epoch_seconds

__all__ = [
    "ADAPTERS",
    "Answer",
    "Sink",
    "SinkFactory",
    "event_millis",
    "load_sink",
    "retry_after",
    "sink_factory",
]

# Destination name -> "module:Class" of its adapter, imported only by the uploader. An adapter is
# built as Class(destination, connect_timeout, read_timeout, data_dir) and follows the Sink
# protocol (data_dir: where an adapter keeps what it must remember between runs).
ADAPTERS = {
    "posthog": "blackboxai.analytics.delivery.sinks.posthog:PostHogSink",
    "mixpanel": "blackboxai.analytics.delivery.sinks.mixpanel:MixpanelSink",
    "otlp-logs": "blackboxai.analytics.delivery.sinks.otlp:LogsSink",
    "otlp-metrics": "blackboxai.analytics.delivery.sinks.otlp:MetricsSink",
}


@dataclass(frozen=True)
class Answer:
    """What a service said to one request, before anyone decides what it means.

    `status` is the HTTP status, 0 when no answer came (refused, reset, timed out). `failed` names
    the events the service itself reported invalid while taking the rest (Mixpanel's
    `failed_records`); `deferred`, those of them it refused only for now (dated ahead of its
    clock): they are kept, not deleted. `retry_after` is the server's Retry-After in seconds.
    `from_service`: the body is recognisably the service's own error answer, so a 400 or 413
    is its verdict on the data (an HTML page from a proxy is not, and deletes nothing).
    `final`: the service says the request must never be sent again (an OTLP collector's 400 and
    every other answer its spec calls non-retryable): the whole batch is dropped, and said.
    `rejected`: of a request taken, how many records the service refused without naming them
    (an OTLP partial success)."""

    status: int
    failed: tuple[str, ...] = ()
    deferred: tuple[str, ...] = ()
    retry_after: float | None = None
    detail: str = ""
    from_service: bool = False
    final: bool = False
    rejected: int = 0
    memo: str | None = None  # what the sink must remember once this request is settled
    # Taken, but with something the user should hear of: a 2xx that was not the service's own
    # answer (a web page where a collector was expected). Said as the destination's last error.
    note: str = ""


class Sink(Protocol):
    """An adapter: one request per send(); never retries, never sleeps, reports what it heard.

    A network failure is an Answer with status 0; only an SDK that broke may raise."""

    name: str
    max_batch: int  # events per request
    max_bytes: int  # spooled bytes per request (the records' JSON lines)

    def send(self, batch: list[Record]) -> Answer: ...

    def close(self) -> None: ...


def load_sink(
    destination: Destination, connect_timeout: float, read_timeout: float, data_dir: Path
) -> Sink:
    """Build the adapter a destination names; raises if it is unknown or its SDK fails to load."""
    target = ADAPTERS.get(destination.name)
    if target is None:
        raise LookupError(f"no adapter for {destination.name!r}")
    module, _, cls = target.partition(":")
    adapter = getattr(importlib.import_module(module), cls)
    sink: Sink = adapter(destination, connect_timeout, read_timeout, data_dir)
    return sink


SinkFactory = Callable[[Destination], "Sink"]


def sink_factory(
    data_dir: Path,
    connect_timeout: float,
    request_timeout: float,
    sinks: SinkFactory | Mapping[str, Sink] | None = None,
) -> SinkFactory:
    """The seam a delivery run builds its adapters through: the real ones by default (reads may
    take as long as the whole request: an answer within the bound counts); tests pass sinks by
    destination (a function) or by name (a mapping)."""
    if sinks is None:
        return lambda dest: load_sink(dest, connect_timeout, request_timeout, data_dir)
    if isinstance(sinks, Mapping):
        table = sinks
        return lambda dest: table[dest.name]
    return sinks


def retry_after(value: object, now: Callable[[], float] = time.time) -> float | None:
    """Seconds to wait from a Retry-After value: delay-seconds, however many, or an HTTP date
    (counted from now; one gone by means now). None when absent or unreadable. Whether a wait
    is too long for this run is the retry layer's call, not the parser's."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        seconds = float(value)
    else:
        text = str(value).strip()
        try:
            seconds = float(text)
        except ValueError:
            # Imported here: email.utils imports socket, which a session never loads.
            from email.utils import parsedate_to_datetime

            try:
                when = parsedate_to_datetime(text)
            except (TypeError, ValueError, IndexError, OverflowError):
                return None
            if when.tzinfo is None:
                when = when.replace(tzinfo=timezone.utc)
            return max(0.0, when.timestamp() - now())
    return seconds if seconds >= 0 else None  # NaN compares false: None too


def event_millis(record: Record) -> int:
    """The event's time in whole milliseconds, computed the same way on every resend (the
    services deduplicate on it). A record without a usable time counts as recorded at epoch 0."""
    when = epoch_seconds(record.get("time"))
    return 0 if when is None else round(when * 1000)
