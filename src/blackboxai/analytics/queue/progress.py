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
from collections.abc import Iterator
from pathlib import Path

from blackboxai.analytics.destinations import Destination
from blackboxai.analytics.fileops import NotRegularFile, atomic_write, move_aside, read_regular

__all__ = ["PROGRESS_FILE", "Progress", "destination_key"]

PROGRESS_FILE = "upload.progress"
MEMO_FILE = "upload.memo.json"  # destination key -> its sink's memo, kept between runs
# Far above what a full spool's ids can take (10,000 events x 2 destinations x ~60 bytes).
_MAX_BYTES = 64 * 1024 * 1024
_MAX_MEMO_BYTES = 16 * 1024 * 1024


def destination_key(destination: Destination) -> str:
    """A short stable name for a destination (keeps the key itself out of this file)."""
    raw = "\0".join((destination.name, destination.host, destination.key)).encode()
    return hashlib.sha256(raw).hexdigest()[:20]


class Progress:
    """upload.progress in the data dir: append-only lines {"to": key, "ids": [...]}."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / PROGRESS_FILE
        self.memo_path = directory / MEMO_FILE

    def _entries(self) -> Iterator[dict[str, object]]:
        """Our lines, in order. Any line that is not one of ours (torn by a kill mid-write, or
        junk) is skipped: a torn one is the batch in flight, sent again."""
        try:
            raw = read_regular(self.path, _MAX_BYTES)
        except (OSError, ValueError):  # missing, not a regular file, unreadable, far too large
            return
        for line in raw.splitlines():
            try:
                entry = json.loads(line)
            except (ValueError, RecursionError):
                continue
            if isinstance(entry, dict) and isinstance(entry.get("to"), str):
                yield entry

    def settled(self) -> dict[str, set[str]]:
        """Destination key -> ids already settled there."""
        done: dict[str, set[str]] = {}
        for entry in self._entries():
            ids = entry.get("ids")
            if isinstance(ids, list):
                key = str(entry["to"])
                done.setdefault(key, set()).update(i for i in ids if isinstance(i, str))
        return done

    # -- what a sink must remember once a request is settled (a collector's metric streams) ----
    def memo(self, destination: Destination) -> str | None:
        """The destination's latest memo: from this file (written with the request it belongs
        to, in the same line), else from the memo file an earlier round kept."""
        key = destination_key(destination)
        return self._memos().get(key) or _read_memos(self.memo_path).get(key)

    def _memos(self) -> dict[str, str]:
        found: dict[str, str] = {}
        for entry in self._entries():
            memo = entry.get("memo")
            if isinstance(memo, str):
                found[str(entry["to"])] = memo
        return found

    def keep_memos(self) -> None:
        """Before this file is cleared: its memos go to the memo file (one atomic replace), so a
        later run starts where this one's settled requests left each destination. Raises
        OSError when they cannot be kept: the file must then stay."""
        found = self._memos()
        if found:
            kept = {**_read_memos(self.memo_path), **found}
            atomic_write(self.memo_path, json.dumps(kept, separators=(",", ":")).encode())

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

    def add(self, destination: Destination, ids: list[str], memo: str | None = None) -> None:
        """Record a settled request, and what its sink must remember of it (`memo`); one
        write, so a line is whole or (after a kill) torn, never the ids without the memo.
        Raises OSError when it cannot: the run must then stop sending."""
        if not ids:
            return
        entry: dict[str, object] = {"to": destination_key(destination), "ids": ids}
        if memo is not None:
            entry["memo"] = memo
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


def _read_memos(path: Path) -> dict[str, str]:
    try:
        data = json.loads(read_regular(path, _MAX_MEMO_BYTES))
    except (OSError, ValueError, RecursionError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: v for k, v in data.items() if isinstance(k, str) and isinstance(v, str)}
