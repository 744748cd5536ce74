"""Each destination's delivery record (delivery.health.json) read back for `analytics status`:
when it last took events, how many it took and refused and why, and its last error. Every field
is checked before it is trusted and escaped before it is shown (anyone could have edited it)."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Sequence
from typing import Any

from blackboxai.addresses import without_credentials
from blackboxai.analytics.defaults import HEALTH_FILE
from blackboxai.analytics.destinations import Destination
from blackboxai.analytics.fileops import read_regular
from blackboxai.analytics.queue.waiting import epoch_seconds
from blackboxai.terminal import shown

__all__ = ["destination_health", "health_lines"]

_MAX_NOTE = 200
_MAX_COUNT = 10**12


def _entry(value: object) -> dict[str, Any] | None:
    """One destination's record, checked and bounded; None when it is not one we wrote."""
    if not isinstance(value, dict):
        return None
    name, host = value.get("name"), value.get("host")
    if not isinstance(name, str) or not isinstance(host, str):
        return None
    out: dict[str, Any] = {"name": shown(name, 40), "host": shown(without_credentials(host), 200)}
    for key in ("accepted", "rejected"):
        count = value.get(key, 0)
        out[key] = min(count, _MAX_COUNT) if type(count) is int and count >= 0 else 0
    for key in ("last_accepted", "last_error_time"):
        out[key] = epoch_seconds(value.get(key))
    for key in ("last_error", "rejected_why"):
        note = value.get(key)
        out[key] = shown(note, _MAX_NOTE) if isinstance(note, str) and note else None
    return out


def destination_health(data_dir: Any, configured: Sequence[Destination]) -> list[dict[str, Any]]:
    """A record for each configured destination (a fresh one when it was never delivered to),
    then any other it holds (events recorded for an earlier setting may still go there)."""
    found: dict[tuple[str, str], dict[str, Any]] = {}
    with contextlib.suppress(OSError, ValueError, RecursionError, LookupError, TypeError):
        data = json.loads(read_regular(data_dir / HEALTH_FILE, 1 << 20))
        for value in data.values() if isinstance(data, dict) else ():
            entry = _entry(value)
            if entry is not None:
                found[(entry["name"], entry["host"])] = entry
    out = []
    for dest in configured:
        key = (shown(dest.name, 40), shown(dest.where, 200))
        fresh = _entry({"name": dest.name, "host": dest.where})
        entry = found.pop(key, None) or fresh
        if entry is not None:
            out.append(entry)
    return [*out, *found.values()]


def _when(seconds: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(seconds))


def health_lines(entries: Sequence[dict[str, Any]]) -> list[str]:
    """One line per destination: where, what it took and when, what it refused, the last
    error (a 401 reads "the collector refused the credentials (analytics-otlp-headers)", a
    wrong path says so)."""
    lines = []
    for e in entries:
        parts = [f"{e['accepted']:,} accepted"]
        if e["last_accepted"] is not None:
            parts[0] += f", the last at {_when(e['last_accepted'])}"
        if e["rejected"]:
            why = f" ({e['rejected_why']})" if e["rejected_why"] else ""
            parts.append(f"{e['rejected']:,} rejected{why}")
        if e["last_error"]:
            parts.append(f"last error {_when(e['last_error_time'] or 0)}: {e['last_error']}")
        elif not e["accepted"] and not e["rejected"]:
            parts = ["nothing delivered yet"]
        lines.append(f"{e['name']} {e['host']}: {'; '.join(parts)}")
    return lines
