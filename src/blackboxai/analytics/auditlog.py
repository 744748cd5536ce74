"""The user's own JSONL audit log: one os.write per complete line, opened for appending."""

from __future__ import annotations

import os

__all__ = ["AuditLog", "LogError", "open_log"]


class LogError(Exception):
    """The log cannot be opened; the message is one line naming the path."""


def open_log(path: str) -> AuditLog:
    """Open for appending (created 0600 if new), or raise LogError saying why."""
    try:
        # O_NONBLOCK: opening a FIFO that nobody reads would otherwise hang the CLI forever.
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NONBLOCK, 0o600)
    except OSError as exc:
        raise LogError(_why(path, exc)) from None
    os.set_blocking(fd, True)  # then ordinary blocking writes, one complete line each
    return AuditLog(path, fd)


def _why(path: str, exc: OSError) -> str:
    import errno

    reasons = {
        errno.ENOENT: "its directory does not exist",
        errno.EISDIR: "it is a directory",
        errno.EACCES: "permission denied",
        errno.ENXIO: "it is a pipe that nothing is reading",
    }
    return f"cannot open analytics log {path}: {reasons.get(exc.errno or 0, exc.strerror or exc)}"


class AuditLog:
    """Appends whole lines; with O_APPEND each write lands at the end, so no line tears."""

    def __init__(self, path: str, fd: int) -> None:
        self.path = path
        self._fd: int | None = fd

    def write_line(self, line: str) -> None:
        if self._fd is None:
            return
        data = (line + "\n").encode()
        written = os.write(self._fd, data)
        if written != len(data):  # a full disk: never leave half a line behind silently
            raise OSError(f"short write to {self.path}")

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
