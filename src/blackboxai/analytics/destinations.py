"""Where events go: a destination is a service, its host and its key, fixed into each event as it
is recorded, so that later settings never redirect what is already waiting."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Destination", "destinations"]


@dataclass(frozen=True)
class Destination:
    """A service (the name of its sink), its host, and its key or token."""

    name: str
    host: str
    key: str

    def to_json(self) -> dict[str, str]:
        return {"name": self.name, "host": self.host, "key": self.key}

    @classmethod
    def from_json(cls, data: object) -> Destination | None:
        """The destination a spooled record names, or None when it is not one we can read."""
        if not isinstance(data, dict):
            return None
        fields = [data.get(k) for k in ("name", "host", "key")]
        if not all(isinstance(f, str) and f for f in fields):
            return None
        return cls(*fields)  # type: ignore[arg-type]


def destinations(
    posthog_host: str | None,
    posthog_key: str | None,
    mixpanel_token: str | None,
    mixpanel_host: str | None,
    *,
    hosted: bool = True,
) -> tuple[Destination, ...]:
    """Where a run's events go: PostHog when a project key is known (the edge answers 200 to a
    made-up key and files the events nowhere, so there is no placeholder), Mixpanel when a
    token is set. Neither when the machine's policy turned the hosted services off (`hosted`),
    whoever configured them."""
    from blackboxai.analytics.defaults import (
        MIXPANEL_DEFAULT_HOST,
        POSTHOG_DEFAULT_HOST,
        POSTHOG_PROJECT_API_KEY,
    )

    found: list[Destination] = []
    if not hosted:
        return tuple(found)
    key = posthog_key or POSTHOG_PROJECT_API_KEY
    if key:
        found.append(Destination("posthog", posthog_host or POSTHOG_DEFAULT_HOST, key))
    if mixpanel_token:
        found.append(
            Destination("mixpanel", mixpanel_host or MIXPANEL_DEFAULT_HOST, mixpanel_token)
        )
    return tuple(found)
