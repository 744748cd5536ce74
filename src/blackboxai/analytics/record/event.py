"""One recorded event: the caller's name and properties scrubbed, stamped with the system facts,
the anonymous id, the time and an id of its own, and serialised once for every place it goes:
the user's audit log, the dry-run printer, and (without what the user has not agreed to) the
spool."""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TextIO

from blackboxai.analytics.destinations import Destination
from blackboxai.analytics.record.scrub import Scalar, scrub_name, scrub_properties
from blackboxai.analytics.record.system import system_properties

__all__ = ["Event", "event_id", "print_debug", "stamp"]

# One encoder for every line: json.dumps builds a new one per call when given any option.
_encode = json.JSONEncoder(separators=(",", ":"), allow_nan=False).encode


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
            record: dict[str, object] = {
                "event": self.name,
                "properties": self.properties,
                "user_id": self.user_id,
                "time": self.time,
                "id": self.id,
            }
            if self.withheld:
                record["withheld"] = list(self.withheld)
            self._line = _encode(record)
        return self._line

    def spool_line(self, generation: int, destinations: Sequence[Destination]) -> str | None:
        """What may leave, for the spool: None when the event itself is withheld (or has nowhere
        to go); otherwise without its withheld properties, with its consent generation and
        its destinations fixed now, so later settings never redirect it."""
        if not destinations or self.name in self.withheld:
            return None
        if not self.withheld:  # the usual case: the log's line, with where and under what
            return _spool_prefix(generation, tuple(destinations)) + self.log_line()[1:]
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
        return _encode(record)


@functools.lru_cache(maxsize=64)
def _spool_prefix(generation: int, destinations: tuple[Destination, ...]) -> str:
    """`{"gen":…,"to":[…],` for a run's generation and destinations, serialised once."""
    return _encode({"gen": generation, "to": [d.to_json() for d in destinations]})[:-1] + ","


class _Ids:
    """Random (version 4) UUIDs, 122 bits from the OS's random source each, as uuid.uuid4()
    makes them; the random bytes are read 64 ids at a time rather than one system call each."""

    def __init__(self) -> None:
        self._pool, self._at, self._pid = b"", 0, os.getpid()

    def __call__(self) -> str:
        at = self._at
        if at + 16 > len(self._pool) or self._pid != os.getpid():  # a forked child reads anew
            self._pool, at, self._pid = os.urandom(1024), 0, os.getpid()
        self._at = at + 16
        h = self._pool[at : at + 16].hex()
        # The version nibble is 4; the variant's two bits are 10 (8, 9, a or b): 122 bits left.
        variant = "89ab"[int(h[16], 16) & 3]
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{variant}{h[17:20]}-{h[20:]}"


event_id = _Ids()


def stamp(
    name: object,
    properties: Mapping[str, object],
    *,
    user_id: str | None,
    clock: Callable[[], float],
    withhold: Callable[[str, Iterable[str]], tuple[str, ...]] | None = None,
) -> Event:
    """Scrub the caller's name and properties, add the system properties, the id and the time.
    `withhold` names what of the event the user has not agreed to send."""
    props = scrub_properties(properties)
    props.update(system_properties())
    clean = scrub_name(name)
    withheld = withhold(clean, props) if withhold is not None else ()
    return Event(clean, props, user_id, round(clock(), 3), event_id(), withheld)


def print_debug(event: Event, would_send: bool, stream: TextIO | None = None) -> None:
    """The dry run: the event on stderr as it would be sent (or not), nothing else."""
    verdict = "would send" if would_send and event.name not in event.withheld else "not sending"
    print(f"analytics debug: {verdict}: {event.log_line()}", file=stream or sys.stderr)
