"""The user's own JSONL audit log: one os.write per complete line, opened for appending."""

from __future__ import annotations

import os

__all__ = ["AuditLog", "LogError", "open_log"]


class LogError(Exception):
    """The log cannot be opened; the message is one line naming the path."""


def open_log(path: str) -> AuditLog:
    """Open for appending (created 0600 if new), or raise LogError saying why."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    except FileNotFoundError:
        raise LogError(f"cannot open analytics log {path}: its directory does not exist") from None
    except IsADirectoryError:
        raise LogError(f"cannot open analytics log {path}: it is a directory") from None
    except PermissionError:
        raise LogError(f"cannot open analytics log {path}: permission denied") from None
    except OSError as exc:
        raise LogError(f"cannot open analytics log {path}: {exc.strerror or exc}") from None
    return AuditLog(path, fd)


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
