"""Where each event goes: every destination of the run, except that a collector's metrics take
only the events that count towards a metric; and how an event's lines say so (the spool's, for
the uploader; the audit log's, for the user). `plan` works the run's destinations out of what
the caller set and the machine's policy."""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, NamedTuple

from blackboxai.analytics.destinations import Destination, destinations
from blackboxai.analytics.destinations.collector import (
    LOGS,
    METRICS,
    collector_destinations,
    feeds_metrics,
)

if TYPE_CHECKING:
    from blackboxai.policy import Policy

__all__ = ["Routes", "Way", "plan"]

Collector = tuple[str | None, str | None, str | None]  # endpoint, protocol, headers


def plan(
    policy: Policy,
    posthog: tuple[str | None, str | None],  # host, project key
    mixpanel: tuple[str | None, str | None],  # token, host
    collector: Collector,
    env: Mapping[str, str],
) -> tuple[Routes, list[str]]:
    """A run's routes, and what of its settings was ignored (one line each). The machine's
    policy has the last word: no PostHog or Mixpanel when it turned them off; its collector
    instead of the caller's (nor do OTEL_* variables touch it), which receives every event
    whatever the user chose when the policy requires it (`Routes.required_by_policy`)."""
    ignored: list[str] = []
    if policy.collector[0] is not None:
        names = ("otlp_endpoint", "otlp_protocol", "otlp_headers")
        tried = [
            n
            for n, mine, its in zip(names, collector, policy.collector, strict=True)
            if mine and mine != its
        ]
        if tried:
            named = tried[0] if len(tried) == 1 else ", ".join(tried[:-1]) + " and " + tried[-1]
            ignored.append(
                f"{named} {'has' if len(tried) == 1 else 'have'} no effect: "
                f"the collector is set by {policy.where}"
            )
        found, problems = collector_destinations(*policy.collector, {})
    else:
        found, problems = collector_destinations(*collector, env)
    run = destinations(*posthog, *mixpanel, found, hosted=policy.hosted)
    return Routes(run, required=policy.otlp_required and bool(found)), ignored + problems


class Way(NamedTuple):
    """Where one event goes under one consent generation, and how its lines say so."""

    to: tuple[Destination, ...]
    # The spool line's start, `{"gen":…,"to":[…],` (with `"by":"policy",` for what the
    # machine's policy alone sends): the consent it goes under and its destinations, fixed now
    # so that later settings never redirect it.
    head: str
    # The audit log line's end, `,"to":[…]}`: where it goes, as a person may be shown it (never a
    # key, a token or a header).
    tail: str


class Routes:
    """A run's destinations, chosen per event name (names come from a small fixed set, so each
    is worked out once)."""

    def __init__(self, destinations: Sequence[Destination], *, required: bool = False) -> None:
        self.destinations = tuple(destinations)
        # The collector receives every event whatever the user chose (the policy's
        # analytics-otlp-required: the one exception to the user's word, docs/policy.md).
        self.required_by_policy = required
        self._to: dict[str, tuple[Destination, ...]] = {}
        self._ways: dict[tuple[str, int, bool], Way] = {}

    def to(self, event: str) -> tuple[Destination, ...]:
        found = self._to.get(event)
        if found is None:
            found = tuple(d for d in self.destinations if d.name != METRICS or feeds_metrics(event))
            if len(self._to) < 1024:
                self._to[event] = found
        return found

    def required(self, event: str) -> tuple[Destination, ...]:
        """Where an event goes when only the machine's policy sends it: its collector."""
        return tuple(d for d in self.to(event) if d.name in (LOGS, METRICS))

    def way(self, event: str, generation: int, required: bool = False) -> Way:
        """An event's Way under `generation`; `required`: sent by the machine's policy alone,
        so only to its collector. Worked out once for each (name, generation, required)."""
        key = (event, generation, required)
        found = self._ways.get(key)
        if found is None:
            to = self.required(event) if required else self.to(event)
            head: dict[str, object] = {"gen": generation}
            if required:
                head["by"] = "policy"
            head["to"] = [d.to_json() for d in to]
            compact = functools.partial(json.dumps, separators=(",", ":"))
            shown = compact([d.shown() for d in to])
            found = Way(to, compact(head)[:-1] + ",", f',"to":{shown}}}')
            if len(self._ways) < 1024:
                self._ways[key] = found
        return found
