"""The uploader's last run (upload.last.json) read back for `analytics status`: every field
checked before it is trusted, then bounded and escaped for the terminal (anyone could have
edited it)."""

from __future__ import annotations

import contextlib
import json
from typing import TYPE_CHECKING, Any

from blackboxai.terminal import shown

if TYPE_CHECKING:
    from blackboxai.analytics.core import Analytics

__all__ = ["last_delivery"]

_TALLIES = ("sent", "kept", "rejected")
# The counts of events deleted unsent, by why (`status.py` says what each means).
_DELETED = ("expired", "future", "discarded", "old_format", "malformed")


def last_delivery(analytics: Analytics) -> dict[str, Any] | None:
    """What the uploader recorded about its latest run; None unless it is well-formed. Every
    value is bounded and cleaned before anyone prints it (see `_cleaned`)."""
    from blackboxai.analytics.fileops import read_regular

    with contextlib.suppress(OSError, ValueError, RecursionError):
        last = json.loads(read_regular(analytics.data_dir / "upload.last.json", 1 << 20))
        if _well_formed(last):
            return _cleaned(last)
    return None


def _counts(value: object, kind: type) -> bool:
    return isinstance(value, dict) and all(
        isinstance(k, str) and type(v) is kind and not (isinstance(v, int) and v < 0)
        for k, v in value.items()
    )


def _notes(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _well_formed(last: object) -> bool:
    """A file anyone could have edited: check every field we read before trusting it."""
    if not isinstance(last, dict):
        return False
    when = last.get("time")
    if isinstance(when, bool) or not isinstance(when, (int, float)) or not 0 <= when < 2**40:
        return False
    tallies = [last.get(k, {}) for k in _TALLIES]
    notes = [last.get(k, {}) for k in ("errors", "refused", "rejected_why")]
    numbers = [last.get(k, 0) for k in ("waiting", *_DELETED)]
    return (
        all(_counts(t, int) for t in tallies)
        and all(_counts(n, str) for n in notes)
        and all(type(n) is int and n >= 0 for n in numbers)
        and all(_notes(last.get(k, [])) for k in ("failures", "set_aside"))
    )


# Bounds on what is shown from upload.last.json: a run has two services, a few notes.
_MAX_NAMES = 4  # entries per table
_MAX_NAME = 40  # characters of a service name
_MAX_NOTE = 200  # characters of a reason
_MAX_NOTES = 3  # notes per list
_MAX_COUNT = 10**9


def _table(value: dict[str, Any], cell: Any) -> dict[str, Any]:
    items = sorted(value.items())[:_MAX_NAMES]
    return {shown(k, _MAX_NAME): cell(v) for k, v in items}


def _cleaned(last: dict[str, Any]) -> dict[str, Any]:
    """A well-formed record, bounded and printable: a few entries per table, short names and
    notes without control characters, counts below a billion."""
    out: dict[str, Any] = dict(last)
    for key in (*_TALLIES, "requests"):
        if _counts(last.get(key, {}), int):
            out[key] = _table(last.get(key, {}), lambda n: min(n, _MAX_COUNT))
        else:
            out.pop(key, None)
    for key in ("errors", "refused", "rejected_why"):
        out[key] = _table(last.get(key, {}), lambda v: shown(v, _MAX_NOTE))
    for key in ("failures", "set_aside"):
        notes = last.get(key, [])
        out[key] = [shown(n, _MAX_NOTE) for n in notes[:_MAX_NOTES]]
        if len(notes) > _MAX_NOTES:
            out[key].append(f"and {len(notes) - _MAX_NOTES} more")
    for key in ("waiting", *_DELETED):
        out[key] = min(last.get(key, 0), _MAX_COUNT)
    out["busy"] = last.get("busy") is True
    return {k: out[k] for k in ("time", *_FIELDS) if k in out}


_FIELDS = (
    *_TALLIES,
    "errors",
    "refused",
    "rejected_why",
    "requests",
    "waiting",
    "discarded",
    "old_format",
    "malformed",
    "expired",
    "future",
    "set_aside",
    "failures",
    "busy",
)
