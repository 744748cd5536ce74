"""What the spool's lines say, read back: JSON records read leniently, lines counted without
parsing, and each waiting event once, with the destinations it still waits for."""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

from blackboxai.analytics.backends import Backend
from blackboxai.analytics.fileops import open_regular
from blackboxai.analytics.progress import destination_key

__all__ = ["count_lines", "read_records", "still_owed"]

Record = dict[str, object]


def _reader(path: Path) -> BinaryIO | None:
    """The file opened for reading, or None when it is missing or not a regular file."""
    try:
        return os.fdopen(open_regular(path), "rb")
    except OSError:
        return None


def count_lines(path: Path) -> int:
    """How many lines (events) the file holds; 0 when it is missing or not a regular file."""
    handle = _reader(path)
    if handle is None:
        return 0
    with handle:
        return _lines(handle)


def _lines(handle: BinaryIO) -> int:
    return sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 16), b""))


def read_records(paths: Iterable[Path]) -> Iterator[Record]:
    """Every JSON object in the files, in order. Unreadable lines, and files that are missing or
    not regular files, are skipped; nothing is ever waited on."""
    for path in paths:
        handle = _reader(path)
        if handle is None:
            continue
        with handle:
            for line in handle:
                with contextlib.suppress(ValueError, RecursionError):
                    record = json.loads(line)
                    if isinstance(record, dict):
                        yield record


def still_owed(records: Iterable[Record], settled: dict[str, set[str]]) -> Iterator[Record]:
    """Each event once, with the destinations it still waits for: what `settled` (the progress
    of an interrupted run: destination key -> ids) says was delivered is left out."""
    found: dict[str, tuple[Record, list[object]]] = {}
    for record in records:
        ident = record.get("id")
        owed = _owed(record, settled)
        if not isinstance(ident, str) or owed is None or record.get("to") == []:
            yield record  # not ours to judge (no id, an older release's, no destination)
            continue
        seen = found.get(ident)
        if seen is None:
            found[ident] = (record, owed)
        else:  # a copy put back before a run was killed: it waits where both copies do
            found[ident] = (seen[0], [d for d in seen[1] if d in owed])
    for record, owed in found.values():
        if owed:  # otherwise settled everywhere it was meant to go
            yield {**record, "to": owed}


def _owed(record: Record, settled: dict[str, set[str]]) -> list[object] | None:
    """The record's destinations minus those the progress file says settled it; None when its
    `to` is not a list of destinations (a record of an older release, or junk)."""
    to = record.get("to")
    if not isinstance(to, list):
        return None
    ident = record.get("id")
    owed: list[object] = []
    for entry in to:
        backend = Backend.from_json(entry)
        if backend is None:
            return None
        if ident not in settled.get(destination_key(backend), ()):
            owed.append(entry)
    return owed
