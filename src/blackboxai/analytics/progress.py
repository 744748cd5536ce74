"""Progress of delivery runs: which events each destination has already settled, per request.

One line is appended (one write, O_APPEND) as soon as a request is answered, naming the
destination and the ids it took or refused for good. A run killed at any instant thus leaves a
record of every answered batch, and the next run skips those events for that destination: at most
the batch in flight is sent again. Applying the file twice changes nothing (ids are unique and
only ever leave a destination's queue), so it is cleared only after the files it covers are gone.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from pathlib import Path

from blackboxai.analytics.backends import Backend
from blackboxai.analytics.fileops import NotRegularFile, read_regular

__all__ = ["PROGRESS_FILE", "Progress", "destination_key"]

PROGRESS_FILE = "upload.progress"
# Far above what a full spool's ids can take (10,000 events x 2 destinations x ~60 bytes).
_MAX_BYTES = 64 * 1024 * 1024


def destination_key(backend: Backend) -> str:
    """A short stable name for a destination (keeps the key itself out of this file)."""
    raw = "\0".join((backend.name, backend.host, backend.key)).encode()
    return hashlib.sha256(raw).hexdigest()[:20]


class Progress:
    """upload.progress in the data dir: append-only lines {"to": key, "ids": [...]}."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / PROGRESS_FILE

    def settled(self) -> dict[str, set[str]]:
        """Destination key -> ids already settled there. A torn last line (a kill mid-write)
        is skipped: that batch is the one in flight, and is sent again."""
        try:
            raw = read_regular(self.path, _MAX_BYTES)
        except FileNotFoundError:
            return {}
        except (NotRegularFile, OSError, ValueError):
            return {}
        done: dict[str, set[str]] = {}
        for line in raw.splitlines():
            with contextlib.suppress(ValueError):
                entry = json.loads(line)
                to, ids = entry.get("to"), entry.get("ids")
                if isinstance(to, str) and isinstance(ids, list):
                    done.setdefault(to, set()).update(i for i in ids if isinstance(i, str))
        return done

    def add(self, backend: Backend, ids: list[str]) -> None:
        """Record a settled request; one write, so a line is whole or (after a kill) torn."""
        if not ids:
            return
        line = json.dumps({"to": destination_key(backend), "ids": ids}, separators=(",", ":"))
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            data = ("\n" + line + "\n").encode()  # a leading newline ends any torn line before
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
        finally:
            os.close(fd)

    def clear(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
