"""Where each event goes: every destination of the run, except that a collector's metrics take
only the events that count towards a metric; and how the audit log names those destinations.
`plan` works the run's destinations out of what the caller set and the machine's policy."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from blackboxai.analytics.destinations import Destination, destinations
from blackboxai.analytics.destinations.collector import (
    LOGS,
    METRICS,
    collector_destinations,
    feeds_metrics,
)

if TYPE_CHECKING:
    from blackboxai.policy import Policy

__all__ = ["Routes", "plan"]

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


class Routes:
    """A run's destinations, chosen per event name (names come from a small fixed set, so each
    is worked out once)."""

    def __init__(self, destinations: Sequence[Destination], *, required: bool = False) -> None:
        self.destinations = tuple(destinations)
        # The collector receives every event whatever the user chose (the policy's
        # analytics-otlp-required: the one exception to the user's word, docs/policy.md).
        self.required_by_policy = required
        self._to: dict[str, tuple[Destination, ...]] = {}
        self._shown: dict[str, str] = {}

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

    def audited(self, event: str, line: str, required: bool = False) -> str:
        """The audit log's line for an event queued to be sent: the line as recorded, naming
        where it goes (never a key, a token or a header); `required`: by the policy alone."""
        key = ("!" if required else "") + event
        shown = self._shown.get(key)
        if shown is None:
            names = [d.shown() for d in (self.required(event) if required else self.to(event))]
            shown = ',"to":' + json.dumps(names, separators=(",", ":")) + "}"
            if len(self._shown) < 1024:
                self._shown[key] = shown
        return line[:-1] + shown
