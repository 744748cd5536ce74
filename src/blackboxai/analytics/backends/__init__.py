"""One small adapter per vendor SDK behind a two-method seam: send(batch) and close()."""

from __future__ import annotations

from typing import Protocol

__all__ = ["Record", "Sink", "SinkError"]

# A waiting event as spooled: {"event", "properties", "user_id", "time", "id", "to"}.
Record = dict[str, object]


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
