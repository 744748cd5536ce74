"""One event's way through the layer: scrub, stamp, serialise, then every output in turn.

Outputs share a two-method seam, `write(event)` and `close()`: the user's audit log, the debug
printer, and the spool buffer (in handoff.py). Which of them are active is the whole "mode" of an
Analytics object, chosen in one place (outputs.py: `Outputs.select`, from `Analytics._apply`).
"""

from __future__ import annotations

import functools
import json
import sys
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol, TextIO

from blackboxai.analytics.backends import Backend
from blackboxai.analytics.scrub import Scalar, scrub_name, scrub_properties
from blackboxai.analytics.system import system_properties

__all__ = ["DebugPrinter", "Event", "Output", "Withhold", "stamp"]

# Which catalogue items of an event may not be sent: (event name, property names) -> items.
Withhold = Callable[[str, Iterable[str]], tuple[str, ...]]


def _dumps(record: Mapping[str, object]) -> str:
    return json.dumps(record, separators=(",", ":"), allow_nan=False)


@dataclass(slots=True)
class Event:
    """One recorded event, already scrubbed. `withheld` names the catalogue items (the event
    itself, or `event.property`) that the user has not agreed to send."""

    name: str
    properties: dict[str, Scalar]
    user_id: str | None
    time: float  # epoch seconds, millisecond precision
    id: str
    withheld: tuple[str, ...] = ()
    _line: str | None = field(default=None, repr=False, compare=False)

    def log_line(self) -> str:
        """The audit log's line: everything recorded, withheld items marked as such.
        Serialised once: the log and the spool both start from it."""
        if self._line is None:
            self._line = self._serialise()
        return self._line

    def _serialise(self) -> str:
        record: dict[str, object] = {
            "event": self.name,
            "properties": self.properties,
            "user_id": self.user_id,
            "time": self.time,
            "id": self.id,
        }
        if self.withheld:
            record["withheld"] = list(self.withheld)
        return _dumps(record)

    def spool_line(self, generation: int, destinations: Sequence[Backend]) -> str | None:
        """What may leave, for the spool: None when the event itself is withheld (or has nowhere
        to go); otherwise without its withheld properties, with its consent generation and
        its destinations fixed now, so later settings never redirect it."""
        if not destinations or self.name in self.withheld:
            return None
        if not self.withheld:  # the usual case: the log's line, with where and under what
            return spool_prefix(generation, destinations) + self.log_line()[1:]
        # Items are "event.property" (the event's name may hold dots too) or "*.property".
        hidden = {item.removeprefix(f"{self.name}.").removeprefix("*.") for item in self.withheld}
        properties = {k: v for k, v in self.properties.items() if k not in hidden}
        record = {
            "event": self.name,
            "properties": properties,
            "user_id": self.user_id,
            "time": self.time,
            "id": self.id,
            "gen": generation,
            "to": [d.to_json() for d in destinations],
        }
        return _dumps(record)


@functools.lru_cache(maxsize=64)
def spool_prefix(generation: int, destinations: Sequence[Backend]) -> str:
    """`{"gen":…,"to":[…],` for a run's generation and destinations, serialised once."""
    return _dumps({"gen": generation, "to": [d.to_json() for d in destinations]})[:-1] + ","


def stamp(
    name: object,
    properties: Mapping[str, object],
    *,
    user_id: str | None,
    clock: Callable[[], float],
    withhold: Withhold | None = None,
) -> Event:
    """Scrub the caller's name and properties, add the system properties, the id and the time."""
    props = scrub_properties(properties)
    props.update(system_properties())
    clean = scrub_name(name)
    withheld = withhold(clean, props) if withhold is not None else ()
    return Event(clean, props, user_id, round(clock(), 3), str(uuid.uuid4()), withheld)


class Output(Protocol):
    """Where recorded events go; `write` may raise, the façade contains it."""

    def write(self, event: Event) -> None: ...

    def close(self) -> None: ...


class DebugPrinter:
    """The dry run: each event on stderr as it would be sent (or not), nothing else."""

    def __init__(self, would_send: bool, stream: TextIO | None = None) -> None:
        self.would_send = would_send
        self._stream = stream

    def write(self, event: Event) -> None:
        verdict = (
            "would send"
            if self.would_send and event.name not in event.withheld
            else ("not sending")
        )
        print(f"analytics debug: {verdict}: {event.log_line()}", file=self._stream or sys.stderr)

    def close(self) -> None:
        pass
