"""Events waiting to be sent: a bounded JSONL file that sessions append and the uploader claims.

The files, their locks and the bound are here; what the lines say, read back, is in records.py."""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

from blackboxai.analytics.defaults import SPOOL_MAX_BYTES, SPOOL_MAX_EVENTS
from blackboxai.analytics.fileops import (
    NotRegularFile,
    atomic_write,
    ensure_private_dir,
    lockable,
    locked,
    move_aside,
    open_regular,
    read_regular,
)
from blackboxai.analytics.queue.progress import Progress
from blackboxai.analytics.queue.waiting import Record, count_lines, newlines, read_waiting

__all__ = ["Spool"]

# Trim to this share of the limits, so a full spool is not rewritten on every append.
_TRIM_TO = 0.8


def _remove(path: Path) -> None:
    """Delete whatever is at `path`; a directory in the way is moved aside (it holds no events)."""
    try:
        path.unlink()
    except FileNotFoundError:
        pass
    except (IsADirectoryError, PermissionError):  # EPERM: a directory, on macOS
        move_aside(path)


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
        self.set_aside: list[str] = []  # what was in the way, and where it was moved

    # -- sessions ---------------------------------------------------------------
    def append(
        self,
        lines: list[str],
        *,
        still_wanted: Callable[[], bool] | None = None,
        wait: float | None = None,
    ) -> bool:
        """Append complete lines in one write, then enforce the bound (oldest dropped first).

        `still_wanted` is asked under the lock that clear() takes, so a put-back by the
        uploader can never land after an opt-out has cleared the spool. Returns whether the
        lines were written (False: `still_wanted` said no). The lock is waited for `wait`
        seconds at most (None: as long as it takes); then LockTimeout, nothing written."""
        if not lines:
            return True
        ensure_private_dir(self.directory)
        data = ("\n".join(lines) + "\n").encode()
        with locked(lockable(self.lock_path), timeout=wait):
            if still_wanted is not None and not still_wanted():
                return False
            fd = self._open_for_append()
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

    def _open_for_append(self) -> int:
        flags = os.O_RDWR | os.O_APPEND | os.O_CREAT
        try:
            return open_regular(self.path, flags)
        except (NotRegularFile, IsADirectoryError):  # something in the way holds no events
            self._move_aside(self.path)
            return open_regular(self.path, flags)

    def _move_aside(self, path: Path) -> None:
        aside = move_aside(path)
        if aside is not None:
            self.set_aside.append(f"{path.name} (not a regular file) -> {aside.name}")

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
        with os.fdopen(open_regular(self.path), "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            total = newlines(handle)
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
        """How many events the bound dropped; 0 for anything but a small count of ours."""
        try:
            count = int(read_regular(self.dropped_path, 64).strip() or 0)
        except (OSError, ValueError):
            return 0
        return count if 0 <= count < 10**12 else 0

    # -- readers ----------------------------------------------------------------
    def _claimed_paths(self) -> list[Path]:
        try:
            return sorted(self.directory.glob("claimed-*.jsonl"))
        except OSError:
            return []

    def files(self) -> list[Path]:
        """Every file holding waiting events: claimed ones (older) first, then the spool. Only
        regular files are claimed files; the spool's path is listed whether it exists or not."""
        return [*(p for p in self._claimed_paths() if _is_regular(p)), self.path]

    def records(self) -> Iterator[Record]:
        """Waiting events, oldest first, each once, with the destinations it still waits for:
        what the progress of an interrupted run says was settled is left out. Unreadable lines,
        and anything that is not a regular file, are skipped; nothing is ever waited on."""
        settled = Progress(self.directory).settled()
        for item in read_waiting(self.files(), settled):
            if item.owed is None or item.owed:  # else settled everywhere it was meant to go
                yield item.shown()

    def count(self) -> int:
        """How many events wait (see records()). With only the spool to read, and no progress
        of an interrupted run, its lines are counted without parsing them: a session's exit."""
        if not self._claimed_paths() and not Progress(self.directory).path.exists():
            return count_lines(self.path)
        return sum(1 for _ in self.records())

    def clear(
        self, *, wait: float | None = None, keep: Callable[[bytes], bool] | None = None
    ) -> int:
        """Delete every waiting event (an opt-out or a user's --clear) but the lines `keep` says
        are not the user's to delete; returns how many were deleted.
        Writes nothing when there is nothing to delete: not even the lock (no consent, no file).
        Without the lock file no append is under way, and any that starts will find consent
        gone: an append creates the lock before it asks whether its events are still wanted.
        The lock is waited for `wait` seconds at most; then LockTimeout, nothing deleted."""
        present = [*self._claimed_paths(), self.path, self.dropped_path]
        if not os.path.lexists(self.lock_path) and not any(os.path.lexists(p) for p in present):
            return 0
        count, kept = self.count(), 0
        with contextlib.suppress(FileNotFoundError), locked(lockable(self.lock_path), timeout=wait):
            # Each file keeps its own kept lines, under its own name: a claimed file's belong to
            # the run that claimed it (and its progress), which may be sending them right now.
            for path in [*self._claimed_paths(), self.path]:
                lines = self._kept(path, keep) if keep is not None else []
                if lines:
                    atomic_write(path, b"\n".join(lines) + b"\n")
                else:
                    _remove(path)
                kept += len(lines)
        _remove(self.dropped_path)
        return count - kept

    def _kept(self, path: Path, keep: Callable[[bytes], bool]) -> list[bytes]:
        """The lines of `path` that `keep` keeps (the caller holds the lock)."""
        with contextlib.suppress(OSError, ValueError):
            lines = read_regular(path, 8 * self.max_bytes).splitlines()
            return [line for line in lines if keep(line)]
        return []

    # -- the uploader -----------------------------------------------------------
    def has_waiting(self) -> bool:
        """Whether a run has anything to look at; when not, it takes no lock and writes nothing."""
        return bool(self._claimed_paths()) or os.path.lexists(self.path)

    def claim(self) -> None:
        """Rename the spool aside so new appends start afresh. Caller holds the upload lock."""
        if not os.path.lexists(self.path):
            return
        with locked(lockable(self.lock_path)):
            try:
                info = self.path.lstat()
            except FileNotFoundError:
                return
            if not stat.S_ISREG(info.st_mode):
                self._move_aside(self.path)
                return
            if info.st_size == 0:
                return
            os.replace(
                self.path, self.directory / f"claimed-{os.getpid()}-{os.urandom(4).hex()}.jsonl"
            )

    def claimed(self) -> list[Path]:
        """The claimed files a run reads; anything else of that name is moved aside."""
        found = []
        for path in self._claimed_paths():
            if _is_regular(path):
                found.append(path)
            elif os.path.lexists(path):
                self._move_aside(path)
        return found

    def put_back(self, lines: list[str], *, still_wanted: Callable[[], bool]) -> bool:
        """Return events that must wait, ahead of those spooled since the claim: they are older,
        and the bound drops from the front. One atomic replace, under the lock that appends and
        clear() take; `still_wanted` is asked under it. Returns whether they were written."""
        if not lines:
            return True
        ensure_private_dir(self.directory)
        with locked(lockable(self.lock_path)):
            if not still_wanted():
                return False
            try:
                with os.fdopen(open_regular(self.path), "rb") as handle:
                    newer = handle.read()
            except FileNotFoundError:
                newer = b""
            except (NotRegularFile, IsADirectoryError):
                self._move_aside(self.path)
                newer = b""
            if newer and not newer.endswith(b"\n"):
                newer += b"\n"  # a writer died mid-line: keep the torn line apart
            atomic_write(self.path, ("\n".join(lines) + "\n").encode() + newer)
            self._trim()
        return True


def _is_regular(path: Path) -> bool:
    try:
        return stat.S_ISREG(path.lstat().st_mode)
    except OSError:
        return False
