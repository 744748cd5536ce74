"""The user's own JSONL audit log: one os.write per complete line, opened for appending."""

from __future__ import annotations

import errno
import os
import sys
import weakref

from blackboxai.terminal import shown

__all__ = [
    "AuditLog",
    "BothLogs",
    "LogError",
    "open_log",
    "open_nonblocking",
    "open_to_read",
    "opened",
    "read_reason",
    "shown_path",
]

_SHOWN = 80  # at most this much of a path goes into a message


class LogError(Exception):
    """The log cannot be opened; the message is one line naming the path."""


def shown_path(path: str) -> str:
    """A path for a one-line message: its start and its end, control characters escaped (a
    checkout's config could otherwise draw on the user's terminal)."""
    return shown(path, _SHOWN)


def opened(
    path: str | None, policy_log: str | None = None, named_by: str = ""
) -> tuple[AuditLog | BothLogs | None, str | None]:
    """The user's log at `path` opened for appending, or why it could not be (None: none asked
    for); with the machine's policy's `analytics-log` beside it (`named_by`: the policy file)
    when it names one: only then does an event cost a second write."""
    log, error = None, None
    if path is not None:
        try:
            log = open_log(path)
        except LogError as exc:
            error = str(exc)
    return (log if policy_log is None else BothLogs(policy_log, named_by, log)), error


def open_log(path: str) -> AuditLog:
    """Open for appending (created 0600 if new), or raise LogError saying why."""
    if not path:
        raise LogError(
            "the analytics log path is empty: name a file, e.g. --analytics-log events.jsonl"
        )
    try:
        fd = open_nonblocking(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    except OSError as exc:
        raise LogError(f"cannot open analytics log {shown_path(path)}: {_why(path, exc)}") from None
    except (ValueError, UnicodeError):  # a NUL byte, or a name the file system cannot encode
        raise LogError(f"cannot open analytics log {path!r}: it is not a valid file name") from None
    return AuditLog(path, fd)


def _glued(path: str, fd: int, size: int) -> bool:
    """Whether the line of `size` bytes just appended through `fd` landed on the end of half a
    line (a short write on a full disk or under `ulimit -f`, a crash mid-line, a hand-cut file).

    Asked after our write, not before it: O_APPEND writes to a file are serialised, so the byte
    before ours is final. Read before writing, a log also "ends mid-line" while another session's
    write is half-way in (its size grows a page at a time), and a newline put first then split
    that session's line. The byte is read through a second, read-only descriptor of the same
    file; anything else (a pipe, an unreadable file) is taken to end cleanly."""
    import stat

    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return False
        start = os.lseek(fd, 0, os.SEEK_CUR) - size  # O_APPEND left the offset after our line
        if start <= 0:
            return False
        reader = open_nonblocking(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        again = os.fstat(reader)
        if (again.st_dev, again.st_ino) != (st.st_dev, st.st_ino):  # replaced meanwhile
            return False
        os.lseek(reader, start - 1, os.SEEK_SET)
        return os.read(reader, 1) not in (b"\n", b"")
    except OSError:
        return False
    finally:
        os.close(reader)


def open_nonblocking(path: str, flags: int) -> int:
    """os.open with O_NONBLOCK, then blocking again: opening a FIFO that nobody reads (for the
    log) or writes (for `analytics report`) would otherwise hang the CLI forever. Reading a
    FIFO with no writer then ends at once, as an empty file. A directory is refused."""
    import stat

    nonblock = getattr(os, "O_NONBLOCK", 0)
    fd = os.open(path, flags | nonblock, 0o600)
    try:
        if stat.S_ISDIR(os.fstat(fd).st_mode):
            raise IsADirectoryError(errno.EISDIR, "Is a directory")
        if nonblock:
            os.set_blocking(fd, True)  # then ordinary blocking reads and writes
    except BaseException:
        os.close(fd)
        raise
    return fd


def open_to_read(path: str) -> int:
    """A log to read: a regular file, or a pipe (`report <(zcat old.jsonl.gz)`). A device
    (/dev/zero, /dev/urandom, a terminal) could be read forever: refused, as ENODEV."""
    import stat

    fd = open_nonblocking(path, os.O_RDONLY)
    mode = os.fstat(fd).st_mode
    if not (stat.S_ISREG(mode) or stat.S_ISFIFO(mode)):
        os.close(fd)
        raise OSError(errno.ENODEV, "not a file", path)
    return fd


def read_reason(path: str, exc: OSError) -> str:
    """Why a log cannot be read, in words, for `analytics report`."""
    if exc.errno == errno.ENOENT:
        return "it is a broken symbolic link" if os.path.islink(path) else "no such file"
    if exc.errno == errno.EISDIR:
        return "it is a directory"
    if exc.errno == errno.ENODEV:
        return "it is a device, not a file: reading it might never end"
    return _why(path, exc)


def _why(path: str, exc: OSError) -> str:
    if exc.errno == errno.ENOENT and os.path.islink(path):
        return "it is a symbolic link to a file that does not exist"
    reasons = {
        errno.ENOENT: "its directory does not exist",
        errno.ENOTDIR: "a part of its directory is a file",
        errno.EISDIR: "it is a directory",
        errno.EACCES: "permission denied",
        errno.ENXIO: "it is a pipe that nothing is reading",
        errno.ENAMETOOLONG: "the name is too long",
    }
    return reasons.get(exc.errno or 0, exc.strerror or str(exc))


class AuditLog:
    """Appends whole lines; with O_APPEND each write lands at the end, so no line tears. If our
    first line landed on the end of half a line (_glued), it is written again on a line of its
    own: only the half line, with the copy glued to it, is lost, as the spool loses a torn line."""

    def __init__(self, path: str, fd: int) -> None:
        self.path = path
        self._fd: int | None = fd
        self._first = True
        self._closer = weakref.finalize(self, os.close, fd)  # closed even if never close()d

    def write(self, line: str) -> None:
        """Append one event's line. If the log fails (a full disk, a vanished mount), it stops,
        and says so once: the user asked for it, so losing it silently would mislead them."""
        fd = self._fd
        try:
            if fd is None:
                return
            data = (line + "\n").encode()
            if os.write(fd, data) != len(data):  # a full disk: never leave half a line silently
                raise OSError(f"short write to {self.path}")
            if self._first:  # our first line may have landed on a torn one: see _glued
                self._first = False
                if _glued(self.path, fd, len(data)):
                    self._append(fd, data)
        except OSError as exc:
            self.close()
            reason = exc.strerror or str(exc)
            print(
                f"blackboxai: analytics log {shown_path(self.path)} stopped: {reason}",
                file=sys.stderr,
                flush=True,
            )

    def _append(self, fd: int, data: bytes) -> None:
        if os.write(fd, data) != len(data):  # a full disk: never leave half a line behind silently
            raise OSError(f"short write to {self.path}")

    def same_file(self, other: AuditLog) -> bool:
        """Whether both are open on one file (so each line is written there once)."""
        if self._fd is None or other._fd is None:
            return False
        try:
            mine, theirs = os.fstat(self._fd), os.fstat(other._fd)
        except OSError:
            return False
        return (mine.st_dev, mine.st_ino) == (theirs.st_dev, theirs.st_ino)

    def close(self) -> None:
        self._fd = None
        self._closer()


class BothLogs:
    """The user's own log (if any) and the one the machine's policy names: the same line to each.
    The policy's file is opened at the first event, so a command that records none (`analytics
    status`) creates none; if it cannot be opened, that is said once on stderr and the user's log
    goes on. The same file named twice gets each line once."""

    def __init__(self, path: str, named_by: str, user: AuditLog | None) -> None:
        self.path = path
        self._named_by = named_by  # the policy file, for the message
        self._user = user
        self._log: AuditLog | None = None
        self._tried = False

    def write(self, line: str) -> None:
        if self._user is not None:
            self._user.write(line)
        if not self._tried:
            self._tried = True
            self._log = self._open()
        if self._log is not None:
            self._log.write(line)

    def _open(self) -> AuditLog | None:
        try:
            log = open_log(self.path)
        except LogError as exc:
            print(f"blackboxai: {exc} (named by {self._named_by})", file=sys.stderr, flush=True)
            return None
        if self._user is not None and self._user.same_file(log):
            log.close()
            return None
        return log

    def close(self) -> None:
        for log in (self._user, self._log):
            if log is not None:
                log.close()
