"""What one delivery run did, saved as upload.last.json for `analytics status` and debug."""

from __future__ import annotations

import contextlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from blackboxai.analytics.fileops import atomic_write

__all__ = ["LAST_FILE", "Outcome", "save_outcome"]

LAST_FILE = "upload.last.json"


def _bump(counts: dict[str, int], name: str, n: int = 1) -> None:
    if n:
        counts[name] = counts.get(name, 0) + n


@dataclass
class Outcome:
    """Counts per service name ("posthog", "mixpanel"); each event is counted where it ended."""

    sent: dict[str, int] = field(default_factory=dict)  # taken by the service
    kept: dict[str, int] = field(default_factory=dict)  # still waiting for it, for a later run
    rejected: dict[str, int] = field(default_factory=dict)  # refused for good as invalid: deleted
    rejected_why: dict[str, str] = field(default_factory=dict)  # the service's word on those
    errors: dict[str, str] = field(default_factory=dict)  # why some were kept (the last reason)
    refused: dict[str, str] = field(default_factory=dict)  # the key or token was refused (401/403)
    requests: dict[str, int] = field(default_factory=dict)
    waiting: int = 0  # events kept for later, each once however many services it waits for
    # Deleted without being sent anywhere, by why: consent withdrawn or changed since they were
    # recorded (opt-out, reset-id, a clear); recorded by an older release that did not say
    # where to; not a record we could have written (no id, a time that is no time); waited
    # longer than the age bound; dated further ahead than that bound (a wrong clock).
    discarded: int = 0
    old_format: int = 0
    malformed: int = 0
    expired: int = 0
    future: int = 0
    set_aside: list[str] = field(default_factory=list)  # things in the way, moved aside
    failures: list[str] = field(default_factory=list)  # the run itself failed: why, in words
    busy: bool = False  # another run held the lock for all of the time this one could wait

    @property
    def complete(self) -> bool:
        """Nothing had to be kept and nothing went wrong: everything waiting was settled one way
        or another. `analytics send` exits non-zero when this is false."""
        return not self.busy and not self.failures and not any(self.kept.values())

    def count(self, counts: dict[str, int], name: str, n: int = 1) -> None:
        _bump(counts, name, n)


def save_outcome(directory: Path, outcome: Outcome, when: float) -> None:
    """Replace upload.last.json; `time` is epoch seconds with millisecond precision."""
    body = {"time": round(when, 3), **asdict(outcome)}
    with contextlib.suppress(OSError):
        atomic_write(directory / LAST_FILE, json.dumps(body).encode())
