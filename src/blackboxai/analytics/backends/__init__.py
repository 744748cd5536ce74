"""One small adapter per vendor SDK behind a two-method seam: send(batch) and close()."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

__all__ = ["ADAPTERS", "Backend", "Record", "Sink", "SinkError"]

# A waiting event as spooled, one JSON object a line:
#   {"event": str, "properties": {str: scalar}, "user_id": uuid, "time": epoch seconds (float,
#    millisecond precision), "id": uuid4 (the event's own, stable across resends),
#    "gen": consent generation it was recorded in, "to": [Backend.to_json(), ...]}
# The destinations are fixed when the event is recorded: later settings never redirect it.
Record = dict[str, object]

# Backend name -> "module:Class" of its adapter, imported only by the uploader.
ADAPTERS = {
    "posthog": "blackboxai.analytics.backends.posthog_sink:PostHogSink",
    "mixpanel": "blackboxai.analytics.backends.mixpanel_sink:MixpanelSink",
}


@dataclass(frozen=True)
class Backend:
    """Where an event goes: a service (the name of its adapter), its host, its key or token."""

    name: str
    host: str
    key: str

    def to_json(self) -> dict[str, str]:
        return {"name": self.name, "host": self.host, "key": self.key}

    @classmethod
    def from_json(cls, data: object) -> Backend | None:
        """The destination a spooled record names, or None when it is not one we can read."""
        if not isinstance(data, dict):
            return None
        fields = [data.get(k) for k in ("name", "host", "key")]
        if not all(isinstance(f, str) and f for f in fields):
            return None
        return cls(*fields)  # type: ignore[arg-type]


class SinkError(Exception):
    """A batch was not delivered. kind: "network" (stop for this run), "retry" (try once more),
    or "rejected" (the backend refused it for good: drop and count)."""

    def __init__(self, kind: str, detail: str, retry_after: float | None = None) -> None:
        super().__init__(f"{kind}: {detail}")
        self.kind = kind
        self.detail = detail
        self.retry_after = retry_after


def classify_status(status: object, retry_after: float | None = None) -> SinkError:
    """Map an HTTP answer to what the uploader does: only 408, 429 and 5xx earn a retry."""
    code = status if isinstance(status, int) else 0
    if code in (408, 429) or code >= 500 or code == 0:
        return SinkError("retry", f"HTTP {status}", retry_after)
    return SinkError("rejected", f"HTTP {status}")


class Sink(Protocol):
    name: str
    max_batch: int

    def send(self, batch: list[Record]) -> None: ...

    def close(self) -> None: ...
