"""The direct-SDK approach of a peer CLI (aider): SDKs imported at module top, called in event()."""

from __future__ import annotations

import atexit
import json
import os
import platform
import sys
import time
import uuid

import mixpanel
import posthog

__all__ = ["BaselineAnalytics"]

# Mixpanel's Consumer waits forever on a host that never answers (request_timeout=None by
# default); the benchmark sets this so the silent-backend runs terminate.
MIXPANEL_REQUEST_TIMEOUT = 10


def system_info() -> dict[str, str]:
    """What aider attaches to every event, recomputed per call as it does."""
    return {
        "python_version": sys.version.split()[0],
        "os_platform": platform.system(),
        "os_release": platform.release(),
        "machine": platform.machine(),
    }


class BaselineAnalytics:
    """uuid in a JSON file; event() appends to the log and calls both SDKs in the caller."""

    def __init__(
        self,
        *,
        data_dir: str,
        posthog_host: str,
        posthog_project_api_key: str,
        mixpanel_token: str | None = None,
        mixpanel_host: str | None = None,
        logfile: str | None = None,
    ) -> None:
        self.logfile = logfile
        self.user_id = load_uuid(data_dir)
        self.ph: posthog.Posthog | None = posthog.Posthog(
            posthog_project_api_key, host=posthog_host
        )
        self.mp: mixpanel.Mixpanel | None = None
        if mixpanel_token and mixpanel_host:
            consumer = mixpanel.Consumer(
                events_url=f"{mixpanel_host}/track", request_timeout=MIXPANEL_REQUEST_TIMEOUT
            )
            self.mp = mixpanel.Mixpanel(mixpanel_token, consumer=consumer)
        atexit.register(self.shutdown)

    def event(self, event_name: str, **kwargs: object) -> None:
        properties = dict(kwargs)
        properties.update(system_info())
        if self.mp is not None:
            try:
                self.mp.track(self.user_id, event_name, dict(properties))
            except mixpanel.MixpanelException:
                self.mp = None  # as aider does: give up on Mixpanel after a connection error
        if self.ph is not None:
            self.ph.capture(event_name, distinct_id=self.user_id, properties=dict(properties))
        if self.logfile:
            entry = {
                "event": event_name,
                "properties": properties,
                "user_id": self.user_id,
                "time": int(time.time()),
            }
            with open(self.logfile, "a") as handle:
                json.dump(entry, handle)
                handle.write("\n")

    def shutdown(self) -> None:
        """Registered with atexit: deliver what the PostHog client still holds."""
        if self.ph is not None:
            self.ph.shutdown()
            self.ph = None


def load_uuid(data_dir: str) -> str:
    """The stored anonymous id, created (with consent recorded) on first use."""
    path = os.path.join(data_dir, "analytics.json")
    try:
        with open(path) as handle:
            return str(json.load(handle)["uuid"])
    except (OSError, ValueError, KeyError):
        pass
    os.makedirs(data_dir, exist_ok=True)
    ident = str(uuid.uuid4())
    with open(path, "w") as handle:
        json.dump({"uuid": ident, "asked_opt_in": True, "permanently_disable": False}, handle)
    return ident
