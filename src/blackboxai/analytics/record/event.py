"""One recorded event: the caller's name and properties scrubbed, stamped with the run's facts,
the anonymous id, the time and an id of its own, and serialised once for every place it goes:
the user's audit log, the dry-run printer, and (without what the user has not agreed to) the
spool."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TextIO

from blackboxai.analytics.destinations import Destination
from blackboxai.analytics.record.encoding import encode, string
from blackboxai.analytics.record.ids import event_id
from blackboxai.analytics.record.scrub import Scalar, scrub_name, scrub_properties
from blackboxai.analytics.record.system import RunFacts

__all__ = ["Event", "print_debug", "stamp"]


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
    # The properties as JSON, when the run's facts follow the caller's unchanged (put together
    # from the caller's and the facts' JSON, which is serialised once per run).
    properties_json: str | None = field(default=None, repr=False, compare=False)
    _line: str | None = field(default=None, repr=False, compare=False)

    def log_line(self) -> str:
        """The audit log's line: everything recorded, withheld items marked as such.
        Serialised once: the log and the spool both start from it."""
        if self._line is None:
            self._line = self._spliced() or self._encoded()
        return self._line

    def _encoded(self) -> str:
        record: dict[str, object] = {
            "event": self.name,
            "properties": self.properties,
            "user_id": self.user_id,
            "time": self.time,
            "id": self.id,
        }
        if self.withheld:
            record["withheld"] = list(self.withheld)
        return encode(record)

    def _spliced(self) -> str | None:
        """The same line as the encoder writes, from the properties' JSON. None when there is
        none, or when the time is not a finite float (the encoder writes, or refuses, those)."""
        props, when = self.properties_json, self.time
        if props is None or type(when) is not float or when - when != 0.0:
            return None
        user = "null" if self.user_id is None else string(self.user_id)
        line = (
            f'{{"event":{string(self.name)},"properties":{props},'
            f'"user_id":{user},"time":{when!r},"id":{string(self.id)}'
        )
        if self.withheld:
            line += f',"withheld":{encode(list(self.withheld))}'
        return line + "}"

    def spool_line(
        self, generation: int, destinations: Sequence[Destination], by_policy: bool = False
    ) -> str | None:
        """What may leave, for the spool: None when the event itself is withheld (or has nowhere
        to go); otherwise without its withheld properties, with its consent generation and
        its destinations fixed now, so later settings never redirect it. `by_policy`: it goes
        because the machine's policy requires its collector, not by the user's consent."""
        if not destinations or self.name in self.withheld:
            return None
        if not self.withheld:  # the usual case: the log's line, with where and under what
            return _spool_prefix(generation, tuple(destinations), by_policy) + self.log_line()[1:]
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
            **({"by": "policy"} if by_policy else {}),
            "to": [d.to_json() for d in destinations],
        }
        return encode(record)


# Spool prefixes by (generation, id of the destinations tuple, by_policy), each with its tuple: a
# run's routes hand out the same tuple for an event every time, so the usual lookup hashes an int
# rather than each Destination (a dataclass's hash is Python code). The tuple kept in the entry
# is what makes the id safe: it cannot be freed, and its id reused, while it is here.
_prefixes: dict[tuple[int, int, bool], tuple[tuple[Destination, ...], str]] = {}


def _spool_prefix(generation: int, destinations: tuple[Destination, ...], by_policy: bool) -> str:
    """`{"gen":…,"to":[…],` for a run's generation and destinations, serialised once; with
    `"by":"policy"` for what the machine's policy sends whatever the user chose."""
    key = (generation, id(destinations), by_policy)
    found = _prefixes.get(key)
    if found is not None and found[0] is destinations:
        return found[1]
    head: dict[str, object] = {"gen": generation}
    if by_policy:
        head["by"] = "policy"
    head["to"] = [d.to_json() for d in destinations]
    prefix = encode(head)[:-1] + ","
    if len(_prefixes) >= 64:
        _prefixes.clear()
    _prefixes[key] = (destinations, prefix)
    return prefix


def stamp(
    name: object,
    properties: Mapping[str, object],
    *,
    user_id: str | None,
    clock: Callable[[], float],
    facts: RunFacts,
    withhold: Callable[[str, Iterable[str]], tuple[str, ...]] | None = None,
) -> Event:
    """Scrub the caller's name and properties, add the run's facts, the id and the time.
    `withhold` names what of the event the user has not agreed to send."""
    props = scrub_properties(properties)
    spliced = None
    if props.keys().isdisjoint(facts.properties):  # else the facts win, and the encoder writes
        own = encode(props)
        spliced = own[:-1] + "," + facts.json if len(own) > 2 else "{" + facts.json
    props.update(facts.properties)
    clean = scrub_name(name)
    withheld = withhold(clean, props) if withhold is not None else ()
    when = round(clock() * 1000) / 1000  # milliseconds (round(t, 3) costs far more)
    return Event(clean, props, user_id, when, event_id(), withheld, spliced)


def print_debug(event: Event, would_send: bool, stream: TextIO | None = None) -> None:
    """The dry run: the event on stderr as it would be sent (or not), nothing else."""
    verdict = "would send" if would_send and event.name not in event.withheld else "not sending"
    print(f"analytics debug: {verdict}: {event.log_line()}", file=stream or sys.stderr)
