"""Chat files on disk: read leniently; written atomically, through symlinks, mode and CRLF kept."""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import tempfile
from pathlib import Path

__all__ = ["display_path", "read_bytes", "read_text", "write_atomic"]


def display_path(path: Path, root: Path) -> str:
    """path relative to root when inside it, so messages stay short."""
    try:
        return path.relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path)


def read_bytes(path: Path, limit: int = -1) -> bytes:
    """A regular file's bytes (up to `limit`). Opened without blocking and checked first: a
    chat file that became a named pipe or a device raises OSError instead of hanging."""
    import stat

    nonblock = getattr(os, "O_NONBLOCK", 0)  # absent on Windows, where FIFOs are no files
    fd = os.open(path, os.O_RDONLY | nonblock)
    with open(fd, "rb") as handle:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(errno.EISDIR, "it is a directory")
        if not stat.S_ISREG(mode):
            raise OSError(errno.EINVAL, "it is not a regular file (a pipe or a device)")
        if nonblock:
            os.set_blocking(fd, True)
        return handle.read(limit)


def read_text(path: Path, errors: str = "surrogateescape") -> str | None:
    """A file's text with universal newlines (as open() in text mode reads it), or None when
    it is absent or unreadable."""
    try:
        text = read_bytes(path).decode("utf-8", errors=errors)
    except (OSError, ValueError):
        return None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _newline_of(path: Path) -> str:
    """Keep a file's CRLF line endings when we rewrite it."""
    try:
        return "\r\n" if b"\r\n" in read_bytes(path, 65536) else "\n"
    except (OSError, ValueError):
        return "\n"


def write_atomic(path: Path, text: str) -> None:
    """Write via a temp file and os.replace, so a crash never leaves a half-written file.

    A symlink is written through: the file it points at gets the new content (replaced in its
    own directory) and the link stays a link, as an editor saving it would leave it. Replacing
    the link itself with a regular file would silently detach it from the file the user chose.
    """
    path = Path(os.path.realpath(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    newline = _newline_of(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", errors="surrogateescape", newline=newline) as f:
            f.write(text)
        if path.exists():
            shutil.copymode(path, tmp)
        else:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
