"""Each destination's delivery record across runs, for `analytics status`: when it last took
events, how many it took and refused, why it refused them, and the last thing that went wrong.

A user who mistypes a collector's endpoint, or whose token expired, finds out here, in one line,
rather than from an empty dashboard weeks later. Updated at the end of each run that sent or
tried to send (delivery.health.json in the data dir; anyone can edit it, so views/lastrun.py
checks what it reads back)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from blackboxai.analytics.defaults import HEALTH_FILE
from blackboxai.analytics.fileops import atomic_write, read_regular

__all__ = ["HEALTH_FILE", "Tally", "update_health"]

_MAX_BYTES = 1 << 20
_MAX_ENTRIES = 16  # destinations remembered (the most recently used)


def _read(path: Path) -> dict[str, dict[str, object]]:
    try:
        data = json.loads(read_regular(path, _MAX_BYTES))
    except (OSError, ValueError, RecursionError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: dict(v) for k, v in data.items() if isinstance(k, str) and isinstance(v, dict)}


def _count(entry: Mapping[str, object], key: str) -> int:
    value = entry.get(key)
    return value if type(value) is int and value >= 0 else 0


@dataclass
class Tally:
    """What one run did with one destination (a service at one place: after a change of
    endpoint, events recorded for the old one still go there, in the same run as the new
    one's, and each has its own record)."""

    sent: int = 0
    rejected: int = 0
    kept: int = 0
    rejected_why: str = ""  # the service's word on those it rejected
    error: str = ""  # the last thing that went wrong


def update_health(directory: Path, tallies: Mapping[tuple[str, str], Tally], when: float) -> None:
    """Add one run's tally of each destination ((name, where it is) -> Tally) to its record."""
    path = directory / HEALTH_FILE
    health = _read(path)
    at = round(when, 3)
    for (name, host), tally in tallies.items():
        key = f"{name} {host}"
        entry = health.pop(key, {"name": name, "host": host})
        sent, rejected = tally.sent, tally.rejected
        entry["accepted"] = _count(entry, "accepted") + sent
        entry["rejected"] = _count(entry, "rejected") + rejected
        if sent:
            entry["last_accepted"] = at
        if rejected and tally.rejected_why:
            entry["rejected_why"] = tally.rejected_why
        if tally.error:
            entry["last_error"], entry["last_error_time"] = tally.error, at
        elif sent and not tally.kept:  # all went well: the last error is history
            entry.pop("last_error", None)
            entry.pop("last_error_time", None)
        health[key] = entry  # the most recent last
    kept = dict(list(health.items())[-_MAX_ENTRIES:])
    with contextlib.suppress(OSError):
        atomic_write(path, json.dumps(kept).encode())
