"""What a run claimed: the waiting events, once each, and the destinations each still waits for."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from blackboxai.analytics.backends import Backend, Record
from blackboxai.analytics.defaults import SPOOL_MAX_BYTES
from blackboxai.analytics.fileops import read_regular
from blackboxai.analytics.progress import destination_key

__all__ = ["MALFORMED", "OLD_FORMAT", "Waiting", "batches", "load_claimed", "seconds", "to_line"]

# A claimed file is a renamed spool (bounded by SPOOL_MAX_BYTES plus a fifth); far past that, it
# is not ours to parse.
_MAX_CLAIMED_BYTES = 8 * SPOOL_MAX_BYTES


# Why a claimed event can never be sent, and is deleted (counted by reason).
OLD_FORMAT = "old-format"  # recorded by a release that named services only, not destinations
MALFORMED = "malformed"  # not a record we could have written: no id, a time that is no time...


@dataclass
class Waiting:
    """A claimed event and the destinations it still waits for (None: it can never be sent,
    and `problem` says why)."""

    record: Record
    owed: list[Backend] | None
    size: int
    taken: bool  # some destination took it, in this run or an earlier one
    problem: str | None = None


def seconds(record: Record) -> float | None:
    """The event's time in epoch seconds; None unless it is a number in the range any real
    event can have (JSON allows 10**400, which no float holds)."""
    when = record.get("time")
    if isinstance(when, bool) or not isinstance(when, (int, float)) or not 0 <= when < 2**40:
        return None
    return float(when)


def to_line(item: Waiting) -> str:
    owed = [b.to_json() for b in item.owed or ()]
    return json.dumps({**item.record, "to": owed}, separators=(",", ":"))


def _destinations(record: Record) -> list[Backend] | str:
    """The destinations a record names, or why it names none we can read: a record of the
    previous release gave names only (where it was meant to go is unknown)."""
    to = record.get("to")
    if not isinstance(to, list):
        return MALFORMED
    found = [Backend.from_json(entry) for entry in to]
    if any(b is None for b in found):
        return OLD_FORMAT if all(isinstance(e, str) for e in to) else MALFORMED
    return list(dict.fromkeys(found))  # type: ignore[arg-type]


def _problem(record: Record) -> str | None:
    if not isinstance(record.get("id"), str) or seconds(record) is None:
        return MALFORMED
    return None


def load_claimed(files: list[Path], settled: dict[str, set[str]]) -> Iterator[Waiting]:
    """Claimed events, once each by id, minus what the progress file says was settled. An event
    found twice (a run killed between putting back and deleting) waits only where both copies do.
    A line or a file that is not ours never stops the others: it is skipped or counted."""
    items: dict[str, Waiting] = {}
    unusable: list[Waiting] = []
    for path in files:
        try:
            raw = read_regular(path, _MAX_CLAIMED_BYTES)
        except FileNotFoundError:  # cleared under us by an opt-out
            continue
        except (OSError, ValueError):  # not a file we wrote: it is dropped with the others
            continue
        for line in raw.splitlines():
            try:
                record = json.loads(line)
            except (ValueError, RecursionError):  # a line torn by a killed writer, or junk
                continue
            if not isinstance(record, dict):
                continue
            dests = _destinations(record)
            problem = dests if isinstance(dests, str) else _problem(record)
            if problem is not None or isinstance(dests, str):
                unusable.append(Waiting(record, None, len(line), False, problem))
                continue
            ident = str(record["id"])
            owed = [b for b in dests if ident not in settled.get(destination_key(b), ())]
            seen = items.get(ident)
            if seen is None:
                items[ident] = Waiting(record, owed, len(line), owed != dests)
            elif seen.owed is not None:
                seen.owed = [b for b in seen.owed if b in owed]
                seen.taken = seen.taken or owed != dests
    yield from unusable
    yield from items.values()


def batches(items: list[Waiting], max_batch: int, max_bytes: int) -> Iterator[list[Waiting]]:
    batch: list[Waiting] = []
    size = 0
    for item in items:
        if batch and (len(batch) >= max_batch or size + item.size > max_bytes):
            yield batch
            batch, size = [], 0
        batch.append(item)
        size += item.size
    if batch:
        yield batch
