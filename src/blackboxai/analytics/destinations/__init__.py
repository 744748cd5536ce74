"""Where events go: a destination is a service (the name of its sink), where it is, and how to
reach it, fixed into each event as it is recorded, so that later settings never redirect what is
already waiting. A team's collector is built in collector.py; which event goes where, routes.py."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from blackboxai.addresses import without_credentials

__all__ = ["Destination", "destinations"]


@dataclass(frozen=True)
class Destination:
    """A service and where it is: PostHog or Mixpanel at a host with a key or token, or one
    signal of a team's OpenTelemetry collector (`otlp-logs`, `otlp-metrics`) at its URL, with
    what reaching it takes in `options` (protocol, headers, TLS files, timeout...)."""

    name: str
    host: str
    key: str = ""  # a project key or token; a collector's credentials are in its headers
    options: tuple[tuple[str, str], ...] = ()

    def option(self, name: str, default: str | None = None) -> str | None:
        return dict(self.options).get(name, default)

    def to_json(self) -> dict[str, object]:
        data: dict[str, object] = {"name": self.name, "host": self.host, "key": self.key}
        if self.options:
            data["options"] = dict(self.options)
        return data

    @property
    def where(self) -> str:
        """Where it is, as a person may be shown it (never with credentials in the URL)."""
        return without_credentials(self.host)

    def shown(self) -> dict[str, str]:
        """What a person may be shown (`analytics pending`, the audit log): never a key, a
        token or a header, nor the credentials in a collector's URL."""
        return {"name": self.name, "host": self.where}

    @classmethod
    def from_json(cls, data: object) -> Destination | None:
        """The destination a spooled record names, or None when it is not one we can read."""
        if not isinstance(data, dict):
            return None
        name, host, key = data.get("name"), data.get("host"), data.get("key", "")
        options = data.get("options", {})
        if not (isinstance(name, str) and name and isinstance(host, str) and host):
            return None
        if not isinstance(key, str) or not isinstance(options, Mapping):
            return None
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in options.items()):
            return None
        return cls(name, host, key, tuple(sorted(options.items())))


def destinations(
    posthog_host: str | None,
    posthog_key: str | None,
    mixpanel_token: str | None,
    mixpanel_host: str | None,
    collector: tuple[Destination, ...] = (),
    *,
    hosted: bool = True,
) -> tuple[Destination, ...]:
    """Where a run's events go: PostHog when a project key is known (the edge answers 200 to a
    made-up key and files the events nowhere, so there is no placeholder), Mixpanel when a
    token is set, and a team's collector when one is configured (collector.py). Neither
    PostHog nor Mixpanel when the machine's policy turned the hosted services off (`hosted`),
    whoever configured them."""
    from blackboxai.analytics.defaults import (
        MIXPANEL_DEFAULT_HOST,
        POSTHOG_DEFAULT_HOST,
        POSTHOG_PROJECT_API_KEY,
    )

    found: list[Destination] = []
    key = posthog_key or POSTHOG_PROJECT_API_KEY
    if key and hosted:
        found.append(Destination("posthog", posthog_host or POSTHOG_DEFAULT_HOST, key))
    if mixpanel_token and hosted:
        found.append(
            Destination("mixpanel", mixpanel_host or MIXPANEL_DEFAULT_HOST, mixpanel_token)
        )
    return (*found, *collector)
