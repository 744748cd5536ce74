"""The spool's lines read back: each waiting event once, with the destinations it still waits for.

One reading serves everyone: `analytics pending` and `status` (through the spool) and the
uploader's claimed files (through delivery). A line or a file that is not ours never stops the
others: it is skipped, or returned with the reason it can never be sent.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from blackboxai.analytics.defaults import SPOOL_MAX_BYTES
from blackboxai.analytics.destinations import Destination
from blackboxai.analytics.fileops import open_regular, read_regular
from blackboxai.analytics.queue.progress import destination_key

__all__ = [
    "MALFORMED",
    "OLD_FORMAT",
    "Record",
    "Waiting",
    "count_lines",
    "epoch_seconds",
    "newlines",
    "read_waiting",
]

# A waiting event as spooled, one JSON object a line:
#   {"event": str, "properties": {str: scalar}, "user_id": uuid, "time": epoch seconds (float,
#    millisecond precision), "id": uuid4 (the event's own, stable across resends),
#    "gen": consent generation it was recorded in, "to": [Destination.to_json(), ...]}
# The destinations are fixed when the event is recorded: later settings never redirect it.
# Records of an older release name their services only ("to": ["posthog"]): they are deleted
# unsent, since where they were meant to go is unknown.
Record = dict[str, object]

# Why a waiting event can never be sent, and is deleted (counted by reason).
OLD_FORMAT = "old-format"  # recorded by a release that named services only, not destinations
MALFORMED = "malformed"  # not a record we could have written: no id, a time that is no time...

# A spool is bounded by SPOOL_MAX_BYTES (plus a fifth before a trim); far past that, a file is
# not ours to parse.
_MAX_FILE_BYTES = 8 * SPOOL_MAX_BYTES


@dataclass
class Waiting:
    """A waiting event and the destinations it still waits for (None: it can never be sent,
    and `problem` says why)."""

    record: Record
    owed: list[Destination] | None
    size: int
    taken: bool  # some destination took it, in this run or an earlier one
    problem: str | None = None

    def line(self) -> str:
        """The record as spooled again: only where it still waits."""
        owed = [d.to_json() for d in self.owed or ()]
        return json.dumps({**self.record, "to": owed}, separators=(",", ":"))

    def shown(self) -> Record:
        """The record as `analytics pending` lists it: where it still waits (without a
        collector's headers, TLS files or credentials in its URL), or as it is."""
        if self.owed is None:
            return self.record
        to = [{"name": d.name, "host": d.where, "key": d.key} for d in self.owed]
        return {**self.record, "to": to}


def epoch_seconds(value: object) -> float | None:
    """A time in epoch seconds; None unless it is a number in the range any real event can have
    (JSON allows 10**400, which no float holds)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 2**40:
        return None
    return float(value)


def count_lines(path: Path) -> int:
    """How many lines (events) the file holds; 0 when it is missing or not a regular file."""
    try:
        handle = os.fdopen(open_regular(path), "rb")
    except OSError:
        return 0
    with handle:
        return newlines(handle)


def newlines(handle: BinaryIO) -> int:
    """The newlines from the handle's position to its end, read in chunks (never a whole file)."""
    return sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 16), b""))


def _destinations(record: Record) -> list[Destination] | str:
    """The destinations a record names, or why it names none we can read: a record of an
    older release gave names only (where it was meant to go is unknown)."""
    to = record.get("to")
    if not isinstance(to, list):
        return MALFORMED
    found = [Destination.from_json(entry) for entry in to]
    if any(d is None for d in found):
        return OLD_FORMAT if all(isinstance(e, str) for e in to) else MALFORMED
    return list(dict.fromkeys(found))  # type: ignore[arg-type]


def _problem(record: Record) -> str | None:
    if not isinstance(record.get("id"), str) or epoch_seconds(record.get("time")) is None:
        return MALFORMED
    return None


def _records(files: Iterable[Path]) -> Iterator[tuple[Record, int]]:
    """Every JSON object in the files, in order, with its line's length. Files that are missing
    (cleared under us by an opt-out), not regular files or far too large are skipped."""
    for path in files:
        try:
            raw = read_regular(path, _MAX_FILE_BYTES)
        except (OSError, ValueError):
            continue
        for line in raw.splitlines():
            try:
                record = json.loads(line)
            except (ValueError, RecursionError):  # a line torn by a killed writer, or junk
                continue
            if isinstance(record, dict):
                yield record, len(line)


def read_waiting(files: Iterable[Path], settled: dict[str, set[str]]) -> Iterator[Waiting]:
    """Each waiting event once by id, minus what `settled` (the progress of an interrupted run:
    destination key -> ids) says was delivered. An event found twice (a run killed between
    putting back and deleting) waits only where both copies do. Events that can never be sent
    come first, with their `problem`."""
    items: dict[str, Waiting] = {}
    for record, size in _records(files):
        dests = _destinations(record)
        problem = dests if isinstance(dests, str) else _problem(record)
        if problem is not None or isinstance(dests, str):
            yield Waiting(record, None, size, False, problem)
            continue
        ident = str(record["id"])
        owed = [d for d in dests if ident not in settled.get(destination_key(d), ())]
        seen = items.get(ident)
        if seen is None:
            items[ident] = Waiting(record, owed, size, owed != dests)
        elif seen.owed is not None:
            seen.owed = [d for d in seen.owed if d in owed]
            seen.taken = seen.taken or owed != dests
    yield from items.values()
