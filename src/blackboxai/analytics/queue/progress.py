"""Progress of delivery runs: which events each destination has already settled, per request.

One line is appended (one write, O_APPEND) as soon as a request is answered, naming the
destination and the ids it took or refused for good. A run killed at any instant thus leaves a
record of every answered batch, and the next run skips those events for that destination: at most
the batch in flight is sent again. Applying the file twice changes nothing (ids are unique and
only ever leave a destination's queue), so it is cleared only after the files it covers are gone.

A run that cannot write this file must not send: it checks that it can before its first request
(`reserve`), and stops at the first line it fails to write.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import stat
from pathlib import Path

from blackboxai.analytics.destinations import Destination
from blackboxai.analytics.fileops import NotRegularFile, move_aside, read_regular

__all__ = ["PROGRESS_FILE", "Progress", "destination_key"]

PROGRESS_FILE = "upload.progress"
# Far above what a full spool's ids can take (10,000 events x 2 destinations x ~60 bytes).
_MAX_BYTES = 64 * 1024 * 1024


def destination_key(destination: Destination) -> str:
    """A short stable name for a destination (keeps the key itself out of this file)."""
    raw = "\0".join((destination.name, destination.host, destination.key)).encode()
    return hashlib.sha256(raw).hexdigest()[:20]


class Progress:
    """upload.progress in the data dir: append-only lines {"to": key, "ids": [...]}."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / PROGRESS_FILE

    def settled(self) -> dict[str, set[str]]:
        """Destination key -> ids already settled there. Any line that is not one of ours (torn
        by a kill mid-write, or junk) is skipped: a torn one is the batch in flight, sent again."""
        try:
            raw = read_regular(self.path, _MAX_BYTES)
        except (OSError, ValueError):  # missing, not a regular file, unreadable, far too large
            return {}
        done: dict[str, set[str]] = {}
        for line in raw.splitlines():
            try:
                entry = json.loads(line)
            except (ValueError, RecursionError):
                continue
            if not isinstance(entry, dict):
                continue
            to, ids = entry.get("to"), entry.get("ids")
            if isinstance(to, str) and isinstance(ids, list):
                done.setdefault(to, set()).update(i for i in ids if isinstance(i, str))
        return done

    def repair(self) -> str | None:
        """Move aside whatever is at the path if it is not a regular file (a directory, a FIFO):
        it holds no progress of ours, and would fail every write. Returns its new name."""
        try:
            mode = self.path.lstat().st_mode
        except OSError:
            return None
        if stat.S_ISREG(mode):
            return None
        aside = move_aside(self.path)
        return aside.name if aside is not None else None

    def reserve(self, size: int) -> None:
        """Check that a line of `size` bytes can be written before anything is sent; raises
        OSError if not (a full disk, a read-only directory, something in the way). The line is
        taken back at once, written whole or not: left there, it used up the very room the
        run's progress lines and its outcome (upload.last.json) then needed, and a run that
        failed left it, so every later run added another."""
        self._append(
            json.dumps({"reserve": "x" * max(0, size - 16)}, separators=(",", ":")), keep=False
        )

    def add(self, destination: Destination, ids: list[str]) -> None:
        """Record a settled request; one write, so a line is whole or (after a kill) torn.
        Raises OSError when it cannot: the run must then stop sending."""
        if not ids:
            return
        entry = {"to": destination_key(destination), "ids": ids}
        self._append(json.dumps(entry, separators=(",", ":")))

    def _append(self, line: str, *, keep: bool = True) -> None:
        """One line at the end; without `keep`, the file is cut back to its size before (only
        the uploader writes here, under the upload lock, so nothing else is cut)."""
        # O_NONBLOCK: a FIFO put here is refused (no reader: ENXIO), never waited on.
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NONBLOCK", 0)
        fd = os.open(self.path, flags | getattr(os, "O_BINARY", 0), 0o600)
        try:
            found = os.fstat(fd)
            if not stat.S_ISREG(found.st_mode):
                raise NotRegularFile(errno.EINVAL, "not a regular file", str(self.path))
            data = ("\n" + line + "\n").encode()  # a leading newline ends any torn line before
            view = memoryview(data)
            try:
                while view:
                    view = view[os.write(fd, view) :]
            finally:
                if not keep:
                    os.ftruncate(fd, found.st_size)
        finally:
            os.close(fd)

    def clear(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            try:
                self.path.unlink()
            except (IsADirectoryError, PermissionError):  # a directory put here (EPERM on macOS)
                move_aside(self.path)
