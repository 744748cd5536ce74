"""Private files and directories, exclusive locks, safe reads, atomic replaces: disk primitives."""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import time
from collections.abc import Iterator
from pathlib import Path

__all__ = [
    "LockTimeout",
    "NotRegularFile",
    "atomic_write",
    "ensure_private_dir",
    "lockable",
    "locked",
    "move_aside",
    "open_regular",
    "read_regular",
]

try:  # POSIX: flock is released by the kernel when its holder dies, however it dies.
    import fcntl
except ImportError:  # Windows (or a POSIX build without fcntl): filelock, imported on use
    fcntl = None  # type: ignore[assignment]

_POLL = 0.05  # seconds between tries while waiting for a busy lock


class LockTimeout(Exception):
    """The lock stayed busy for longer than the caller was willing to wait."""


class NotRegularFile(OSError):
    """A path that should hold a small regular file holds something else (a FIFO, a directory)."""


def ensure_private_dir(path: Path) -> None:
    """Create the directory (and parents) readable by this user only; one clear error if not."""
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
    except FileExistsError:  # a file (or a dangling link) where a directory should be
        raise NotADirectoryError(errno.ENOTDIR, "a file is in the way", str(path)) from None
    if not path.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, "not a directory", str(path))


@contextlib.contextmanager
def locked(lock_path: Path, *, timeout: float | None = None) -> Iterator[None]:
    """Hold an exclusive lock on `lock_path` (created 0600).

    `timeout`: None waits as long as it takes; 0 tries once; otherwise seconds. Raises
    LockTimeout when the lock is still busy then. On POSIX this is `flock` on the file; without
    `fcntl` it is `filelock.FileLock`, which uses the platform's own primitive (msvcrt on Windows).
    """
    if fcntl is None:
        with _filelock(lock_path, timeout):
            yield
        return
    # O_NOFOLLOW: a link put there after lockable() looked is refused (ELOOP), not followed.
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o600)
    try:
        _flock(fd, timeout)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def lockable(path: Path) -> Path:
    """The path of a lock file, with anything there that is not a regular file (a directory, a
    FIFO, a symbolic link, dangling or not) moved aside first: a directory can never be locked,
    and a link would have the lock created, or taken, wherever it points. We only ever create
    regular files there, so nothing moved aside was anyone's lock."""
    with contextlib.suppress(OSError):
        if not stat.S_ISREG(path.lstat().st_mode):
            move_aside(path)
    return path


def _flock(fd: int, timeout: float | None) -> None:
    if timeout is None:
        fcntl.flock(fd, fcntl.LOCK_EX)
        return
    deadline = time.monotonic() + timeout
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise LockTimeout(str(fd)) from None
            time.sleep(_POLL)


@contextlib.contextmanager
def _filelock(lock_path: Path, timeout: float | None) -> Iterator[None]:
    import filelock

    lock = filelock.FileLock(str(lock_path), timeout=-1 if timeout is None else timeout)
    try:
        lock.acquire(poll_interval=_POLL)
    except filelock.Timeout:
        raise LockTimeout(str(lock_path)) from None
    try:
        yield
    finally:
        lock.release()


def open_regular(path: Path, flags: int = os.O_RDONLY, mode: int = 0o600) -> int:
    """A descriptor on a regular file. O_NONBLOCK, so a FIFO put in our place is never waited on
    (opened for reading it answers at once; for writing, ENXIO); anything but a regular file is
    refused with NotRegularFile. (O_NONBLOCK changes nothing for a regular file.)"""
    fd = os.open(path, flags | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0), mode)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise NotRegularFile(errno.EINVAL, "not a regular file", str(path))
    except BaseException:
        os.close(fd)
        raise
    return fd


def read_regular(path: Path, limit: int) -> bytes:
    """A small regular file's bytes. Never blocks (a FIFO is refused, not opened for a reader
    that never comes) and never reads more than `limit` bytes (raises ValueError beyond it)."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    fd = os.open(path, flags)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            kind = "a directory" if stat.S_ISDIR(info.st_mode) else "not a regular file"
            raise NotRegularFile(errno.EINVAL, kind, str(path))
        if info.st_size > limit:
            raise ValueError(f"larger than {limit} bytes")
        chunks = []
        while chunk := os.read(fd, limit + 1):
            chunks.append(chunk)
            if sum(map(len, chunks)) > limit:
                raise ValueError(f"larger than {limit} bytes")
        return b"".join(chunks)
    finally:
        os.close(fd)


def move_aside(path: Path) -> Path | None:
    """Rename whatever is at `path` (a directory, a FIFO, a broken file) out of the way, so a
    fresh file can take its place; returns the new name, or None when nothing was there."""
    aside = path.with_name(f"{path.name}.unusable-{os.urandom(4).hex()}")
    try:
        os.replace(path, aside)
    except FileNotFoundError:
        return None
    return aside


def atomic_write(path: Path, data: bytes | memoryview) -> None:
    """Write a private file so readers see the old or the new content, never a torn one."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(3).hex()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o600)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    os.close(fd)
    try:
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
