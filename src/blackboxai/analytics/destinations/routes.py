"""Where each event goes: every destination of the run, except that a collector's metrics take
only the events that count towards a metric; and how the audit log names those destinations."""

from __future__ import annotations

import json
from collections.abc import Sequence

from blackboxai.analytics.destinations import Destination
from blackboxai.analytics.destinations.collector import METRICS, feeds_metrics

__all__ = ["Routes"]


class Routes:
    """A run's destinations, chosen per event name (names come from a small fixed set, so each
    is worked out once)."""

    def __init__(self, destinations: Sequence[Destination]) -> None:
        self.destinations = tuple(destinations)
        self._to: dict[str, tuple[Destination, ...]] = {}
        self._shown: dict[str, str] = {}

    def to(self, event: str) -> tuple[Destination, ...]:
        found = self._to.get(event)
        if found is None:
            found = tuple(d for d in self.destinations if d.name != METRICS or feeds_metrics(event))
            if len(self._to) < 1024:
                self._to[event] = found
        return found

    def audited(self, event: str, line: str) -> str:
        """The audit log's line for an event queued to be sent: the line as recorded, naming
        where it goes (never a key, a token or a header)."""
        shown = self._shown.get(event)
        if shown is None:
            names = [d.shown() for d in self.to(event)]
            shown = ',"to":' + json.dumps(names, separators=(",", ":")) + "}"
            if len(self._shown) < 1024:
                self._shown[event] = shown
        return line[:-1] + shown
