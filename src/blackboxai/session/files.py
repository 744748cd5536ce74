"""Chat files on disk: read leniently; written atomically, through symlinks, mode and CRLF kept."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path

__all__ = ["display_path", "read_text", "write_atomic"]


def display_path(path: Path, root: Path) -> str:
    """path relative to root when inside it, so messages stay short."""
    try:
        return path.relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path)


def read_text(path: Path) -> str | None:
    """A file's text, or None when it is absent (or unreadable)."""
    try:
        return path.read_text(encoding="utf-8", errors="surrogateescape")
    except (OSError, ValueError):
        return None


def _newline_of(path: Path) -> str:
    """Keep a file's CRLF line endings when we rewrite it."""
    try:
        with path.open("rb") as handle:
            return "\r\n" if b"\r\n" in handle.read(65536) else "\n"
    except OSError:
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
