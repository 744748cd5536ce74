"""One recorded event: the caller's name and properties scrubbed, stamped with the run's facts,
the anonymous id, the time and an id of its own, and serialised once for every place it goes:
the user's audit log, the dry-run printer, and (without what the user has not agreed to) the
spool."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import NamedTuple, TextIO

from blackboxai.analytics.destinations.routes import Way
from blackboxai.analytics.record.encoding import encode, string
from blackboxai.analytics.record.ids import event_id
from blackboxai.analytics.record.scrub import Scalar, scrub_name, scrub_properties
from blackboxai.analytics.record.system import RunFacts

__all__ = ["Event", "Stamper", "print_debug"]


@dataclass(slots=True)
class Event:
    """One recorded event, already scrubbed. `withheld` names the catalogue items (the event
    itself, `event.property` or `*.property`) that the user has not agreed to send."""

    name: str
    own: dict[str, Scalar]  # the caller's properties, scrubbed
    facts: Mapping[str, str]  # the run's, which every event carries (they win a clash)
    user_id: str | None
    time: float  # epoch seconds, millisecond precision
    id: str
    withheld: tuple[str, ...] = ()
    _line: str | None = field(default=None, repr=False, compare=False)

    @property
    def properties(self) -> dict[str, Scalar]:
        """Every property the event carries: the caller's, then the run's facts."""
        return {**self.own, **self.facts}

    def log_line(self) -> str:
        """The audit log's line: everything recorded, withheld items marked as such.
        Serialised once (by the Stamper, usually): the log and the spool both start from it."""
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
            self._line = encode(record)
        return self._line

    def spool_line(self, way: Way) -> str | None:
        """What may leave, for the spool: None when the event itself is withheld (or has nowhere
        to go); otherwise without its withheld properties, after the way's head (its consent
        generation and destinations, fixed now: later settings never redirect it)."""
        if not way.to or self.name in self.withheld:
            return None
        if not self.withheld:  # the usual case: the log's line, after the head
            return way.head + self.log_line()[1:]
        # Items are "event.property" or "*.property": a property is hidden when its own item is
        # withheld (taking the item apart instead would read "*.x", a property's own name, as x).
        held = set(self.withheld)
        properties = {
            k: v
            for k, v in self.properties.items()
            if f"{self.name}.{k}" not in held and f"*.{k}" not in held
        }
        record = {
            "event": self.name,
            "properties": properties,
            "user_id": self.user_id,
            "time": self.time,
            "id": self.id,
        }
        return way.head + encode(record)[1:]


class _Shape(NamedTuple):
    """What an event's name and property names decide, the same for every event of that shape."""

    name: str  # scrubbed
    name_json: str
    withheld: tuple[str, ...]
    tail: str  # the line's end: `}`, or what is withheld and `}`
    spliced: bool  # the facts follow the caller's properties unchanged (no key in common)


class Stamper:
    """Stamps a run's events under one consent mode: scrubbed, with the run's facts, `user_id`
    (None for what the policy alone sends), the time from `clock`, an id of its own, and
    what the user has not agreed to send (`withhold`; None: nothing is withheld).

    The line is written once here. The caller's properties are encoded and the facts' JSON
    (serialised once per run) spliced after them. A call site records the same property
    names every time, so each (name, property names) shape is judged once: the name
    scrubbed, the catalogue check, whether a caller's key collides with a fact (then the
    facts win, and the encoder writes the whole line)."""

    def __init__(
        self,
        facts: RunFacts,
        clock: Callable[[], float],
        user_id: str | None = None,
        withhold: Callable[[str, Iterable[str]], tuple[str, ...]] | None = None,
    ) -> None:
        self._facts, self._clock, self._user, self._withhold = facts, clock, user_id, withhold
        self._user_json = "null" if user_id is None else string(user_id)
        self._shapes: dict[tuple[str, tuple[str, ...]], _Shape] = {}

    def __call__(self, name: object, properties: Mapping[str, object]) -> Event:
        props = scrub_properties(properties)
        key = (name, tuple(props)) if type(name) is str else None
        shape = self._shapes.get(key) if key is not None else None
        if shape is None:
            shape = self._shape(name, props, key)
        when = round(self._clock() * 1000) / 1000  # milliseconds (round(t, 3) costs far more)
        uid = event_id()  # hex digits and dashes: JSON as it is
        line = None
        if shape.spliced and type(when) is float and when - when == 0.0:  # else: the encoder
            own = encode(props)
            opened = own[:-1] + "," if len(own) > 2 else "{"  # the caller's, then the facts
            line = (
                f'{{"event":{shape.name_json},"properties":{opened}{self._facts.json},'
                f'"user_id":{self._user_json},"time":{when!r},"id":"{uid}"{shape.tail}'
            )
        facts = self._facts.properties
        return Event(shape.name, props, facts, self._user, when, uid, shape.withheld, line)

    def _shape(
        self, name: object, props: dict[str, Scalar], key: tuple[str, tuple[str, ...]] | None
    ) -> _Shape:
        clean = scrub_name(name)
        facts = self._facts.properties
        keys = [*props, *(k for k in facts if k not in props)]  # as the merged dict holds them
        withheld = self._withhold(clean, keys) if self._withhold is not None else ()
        tail = f',"withheld":{encode(list(withheld))}}}' if withheld else "}"
        shape = _Shape(clean, string(clean), withheld, tail, props.keys().isdisjoint(facts))
        if key is not None and len(self._shapes) < 1024:
            self._shapes[key] = shape
        return shape


def print_debug(event: Event, would_send: bool, stream: TextIO | None = None) -> None:
    """The dry run: the event on stderr as it would be sent (or not), nothing else."""
    verdict = "would send" if would_send and event.name not in event.withheld else "not sending"
    print(f"analytics debug: {verdict}: {event.log_line()}", file=stream or sys.stderr)
