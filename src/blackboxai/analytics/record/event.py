"""One recorded event: the caller's name and properties scrubbed, stamped with the system facts,
the anonymous id, the time and an id of its own, and serialised once for every place it goes:
the user's audit log, the dry-run printer, and (without what the user has not agreed to) the
spool."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from json.encoder import encode_basestring_ascii
from typing import TextIO

from blackboxai.analytics.destinations import Destination
from blackboxai.analytics.record.ids import event_id
from blackboxai.analytics.record.scrub import Scalar, scrub_name, scrub_properties
from blackboxai.analytics.record.system import system_properties

__all__ = ["Event", "print_debug", "stamp"]


def _encoder() -> Callable[[object], str]:
    """Compact JSON, as json.dumps(separators=(",", ":"), allow_nan=False) writes it. The C
    encoder that json builds anew on every call (half the cost of a line) is built once here;
    where there is none (another interpreter), json's own encoder."""
    make = getattr(json.encoder, "c_make_encoder", None)
    plain = json.JSONEncoder(separators=(",", ":"), allow_nan=False)
    if make is None:  # pragma: no cover - CPython always has it
        return plain.encode
    chunks = make(None, plain.default, encode_basestring_ascii, None, ":", ",", False, False, False)
    return lambda value: "".join(chunks(value, 0))


_encode = _encoder()  # for our own records only: plain data, never circular
_string = encode_basestring_ascii  # a str as that encoder writes it (in C)


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
    # The caller's properties as JSON, when the system properties follow them unchanged: the
    # line is then put together from the two, the system part serialised once per process.
    own_json: str | None = field(default=None, repr=False, compare=False)
    _line: str | None = field(default=None, repr=False, compare=False)

    def log_line(self) -> str:
        """The audit log's line: everything recorded, withheld items marked as such.
        Serialised once: the log and the spool both start from it."""
        if self._line is None and self.own_json is not None and type(self.time) is float:
            self._line = self._spliced(self.own_json)
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

    def _spliced(self, own: str) -> str | None:
        """The same line as the encoder writes, from the caller's properties' JSON and the
        system part's: `{"event":…,"properties":{…},"user_id":…,"time":…,"id":…}`."""
        if self.time - self.time != 0.0:  # inf or nan: the encoder refuses them, so must we
            return None
        system = _system_json()
        properties = own[:-1] + "," + system if len(own) > 2 else "{" + system
        user = "null" if self.user_id is None else _string(self.user_id)
        line = (
            f'{{"event":{_string(self.name)},"properties":{properties},'
            f'"user_id":{user},"time":{self.time!r},"id":{_string(self.id)}'
        )
        if self.withheld:
            line += f',"withheld":{_encode(list(self.withheld))}'
        return line + "}"

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


@functools.cache
def _system_json() -> str:
    """The system properties as the inside of a JSON object, and its closing brace."""
    return _encode(system_properties())[1:]


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
    system = system_properties()
    own = _encode(props) if props.keys().isdisjoint(system) else None  # else the system's win
    props.update(system)
    clean = scrub_name(name)
    withheld = withhold(clean, props) if withhold is not None else ()
    when = round(clock() * 1000) / 1000  # milliseconds (round(t, 3) costs far more)
    return Event(clean, props, user_id, when, event_id(), withheld, own)


def print_debug(event: Event, would_send: bool, stream: TextIO | None = None) -> None:
    """The dry run: the event on stderr as it would be sent (or not), nothing else."""
    verdict = "would send" if would_send and event.name not in event.withheld else "not sending"
    print(f"analytics debug: {verdict}: {event.log_line()}", file=stream or sys.stderr)
