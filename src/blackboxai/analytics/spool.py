"""Events waiting to be sent: a bounded JSONL file that sessions append and the uploader claims."""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path

from blackboxai.analytics.defaults import SPOOL_MAX_BYTES, SPOOL_MAX_EVENTS
from blackboxai.analytics.fileops import atomic_write, ensure_private_dir, locked

__all__ = ["Spool"]

# Trim to this share of the limits, so a full spool is not rewritten on every append.
_TRIM_TO = 0.8


class Spool:
    """spool.jsonl (waiting), claimed-*.jsonl (being sent), dropped (count of overflow losses)."""

    def __init__(
        self,
        directory: Path,
        *,
        max_events: int = SPOOL_MAX_EVENTS,
        max_bytes: int = SPOOL_MAX_BYTES,
    ) -> None:
        self.directory = directory
        self.path = directory / "spool.jsonl"
        self.lock_path = directory / "spool.lock"
        self.dropped_path = directory / "spool.dropped"
        self.max_events = max_events
        self.max_bytes = max_bytes
        # Appends by this process since the bound was last checked (None: never checked).
        self._since_check: tuple[int, int] | None = None

    # -- sessions ---------------------------------------------------------------
    def append(self, lines: list[str], *, still_wanted: Callable[[], bool] | None = None) -> bool:
        """Append complete lines in one write, then enforce the bound (oldest dropped first).

        `still_wanted` is asked under the lock that clear() takes, so a put-back by the
        uploader can never land after an opt-out has cleared the spool. Returns whether the
        lines were written (False: `still_wanted` said no)."""
        if not lines:
            return True
        ensure_private_dir(self.directory)
        data = ("\n".join(lines) + "\n").encode()
        with locked(self.lock_path):
            if still_wanted is not None and not still_wanted():
                return False
            fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                end = os.fstat(fd).st_size
                if end and os.lseek(fd, end - 1, os.SEEK_SET) >= 0 and os.read(fd, 1) != b"\n":
                    data = b"\n" + data  # a writer died mid-line: don't glue our first event to it
                os.write(fd, data)
                size = os.fstat(fd).st_size
            finally:
                os.close(fd)
            if self._check_due(len(lines), len(data)) and size > self._floor():
                self._trim()
                self._since_check = (0, 0)
        return True

    def _floor(self) -> int:
        # A record is well over 100 bytes, so a file smaller than this is within both limits.
        return min(self.max_bytes, self.max_events * 100)

    def _check_due(self, lines: int, size: int) -> bool:
        """Check the bound on the first append, then after each fifth of a limit."""
        if self._since_check is None:
            self._since_check = (lines, size)
            return True
        n, b = self._since_check[0] + lines, self._since_check[1] + size
        self._since_check = (n, b)
        return n >= self.max_events // 5 or b >= self.max_bytes // 5

    def _trim(self) -> None:
        """Keep the newest events within the limits; count the dropped. Caller holds the lock.

        Only the tail that can survive is read, and lines are found with rfind rather than
        split, so a flood costs at most one tail's worth of memory."""
        with self.path.open("rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            total = sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 16), b""))
            if total <= self.max_events and size <= self.max_bytes:
                return
            start = max(0, size - int(self.max_bytes * _TRIM_TO))
            handle.seek(start)
            tail = handle.read()
        begin = tail.find(b"\n") + 1 if start > 0 else 0  # skip a line cut by the seek
        search = len(tail) - 1 if tail.endswith(b"\n") else len(tail)
        for _ in range(int(self.max_events * _TRIM_TO)):
            newline = tail.rfind(b"\n", begin, search)
            if newline < 0:
                break
            search = newline
        else:
            begin = search + 1
        kept = memoryview(tail)[begin:]
        atomic_write(self.path, kept)
        self._add_dropped(total - tail.count(b"\n", begin))

    def _add_dropped(self, count: int) -> None:
        atomic_write(self.dropped_path, str(self.dropped() + count).encode())

    def dropped(self) -> int:
        try:
            return int(self.dropped_path.read_text().strip() or 0)
        except (OSError, ValueError):
            return 0

    # -- readers ----------------------------------------------------------------
    def files(self) -> list[Path]:
        """Every file holding waiting events: claimed ones (older) first, then the spool."""
        try:
            claimed = sorted(self.directory.glob("claimed-*.jsonl"))
        except OSError:
            claimed = []
        return [*claimed, self.path]

    def records(self) -> Iterator[dict[str, object]]:
        """Waiting events, oldest first; unreadable lines are skipped."""
        for path in self.files():
            try:
                handle = path.open("rb")
            except OSError:
                continue
            with handle:
                for line in handle:
                    with contextlib.suppress(ValueError):
                        record = json.loads(line)
                        if isinstance(record, dict):
                            yield record

    def count(self) -> int:
        total = 0
        for path in self.files():
            with contextlib.suppress(OSError), path.open("rb") as handle:
                total += sum(
                    chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 16), b"")
                )
        return total

    def clear(self) -> int:
        """Delete every waiting event (an opt-out or a user's --clear); returns how many."""
        count = self.count()
        with contextlib.suppress(FileNotFoundError), locked(self.lock_path):
            for path in self.files():
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
        with contextlib.suppress(FileNotFoundError):
            self.dropped_path.unlink()
        return count

    # -- the uploader -----------------------------------------------------------
    def claim(self) -> None:
        """Rename the spool aside so new appends start afresh. Caller holds the upload lock."""
        with locked(self.lock_path):
            try:
                if self.path.stat().st_size == 0:
                    return
            except FileNotFoundError:
                return
            os.replace(
                self.path, self.directory / f"claimed-{os.getpid()}-{os.urandom(4).hex()}.jsonl"
            )

    def claimed(self) -> list[Path]:
        return [p for p in self.files() if p != self.path]

    def put_back(self, lines: list[str], *, still_wanted: Callable[[], bool]) -> bool:
        """Return events that must wait, ahead of those spooled since the claim: they are older,
        and the bound drops from the front. One atomic replace, under the lock that appends and
        clear() take; `still_wanted` is asked under it. Returns whether they were written."""
        if not lines:
            return True
        ensure_private_dir(self.directory)
        with locked(self.lock_path):
            if not still_wanted():
                return False
            try:
                newer = self.path.read_bytes()
            except FileNotFoundError:
                newer = b""
            if newer and not newer.endswith(b"\n"):
                newer += b"\n"  # a writer died mid-line: keep the torn line apart
            atomic_write(self.path, ("\n".join(lines) + "\n").encode() + newer)
            self._trim()
        return True
