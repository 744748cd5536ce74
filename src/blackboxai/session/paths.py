"""Paths the user types (/add, /drop, the command line): one line for any that cannot be used."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from blackboxai.config.trust import resolved, special_kind
from blackboxai.session.bounds import boundary, culprit, shown_part
from blackboxai.terminal import escaped, shown

__all__ = [
    "PATH_ERRORS",
    "ChatFile",
    "PathProblem",
    "admit",
    "in_git_dir",
    "locate",
    "printable",
    "problem_line",
    "user_path",
]

# What Path(), expanduser(), resolve() and stat() raise for a bad path: OSError (too long,
# permission, a loop: trust.resolved() makes 3.13 say so too), ValueError (a NUL byte;
# UnicodeEncodeError for an unencodable name) and RuntimeError (~nosuchuser; a symlink loop
# before Python 3.13).
PATH_ERRORS = (OSError, ValueError, RuntimeError)
_SHOWN_MAX = 80


class PathProblem(Exception):
    """A path the user gave cannot be used; str() is the one line to show them."""


@dataclass(frozen=True)
class ChatFile:
    """A chat file: the path as the user gave it (shown, read and written through) and where it
    led when it was added (its identity in the chat)."""

    given: Path  # absolute and normalised, symlinks not followed
    path: Path  # resolved when added
    bound: Path | None = None  # where the name must stay should its links change (bounds.py)

    def now(self) -> Path:
        """Where the name leads now; raises PATH_ERRORS."""
        return resolved(self.given)

    def strays(self, now: Path) -> bool:
        """Whether `now` is a new place for the name, outside the checkout or project it lies
        in or inside its .git directory: a link swapped in after it was added, which the user
        never chose."""
        if self.bound is None or now == self.path:
            return False
        return not now.is_relative_to(self.bound) or in_git_dir(now, self.bound)


def in_git_dir(path: Path, bound: Path) -> bool:
    """Whether resolved `path` lies in a `.git` directory below `bound` (in any letter case, as
    case-insensitive file systems read it): its config and hooks run code, and are not the
    project's files."""
    return path.is_relative_to(bound) and any(
        part.lower() == ".git" for part in path.relative_to(bound).parts
    )


def printable(raw: str) -> str:
    """raw escaped, with the middle of a very long name cut out: for one-line messages."""
    return shown(raw, _SHOWN_MAX)


def _reason(raw: str, exc: BaseException) -> str:
    if isinstance(exc, UnicodeError):
        return "the name cannot be encoded for this system"
    if isinstance(exc, ValueError) and "\0" in raw:
        return "a path cannot contain a NUL byte"
    if isinstance(exc, OSError):
        return exc.strerror.lower() if exc.strerror else type(exc).__name__
    if isinstance(exc, RuntimeError) and "loop" in str(exc).lower():
        return "too many levels of symbolic links"
    if isinstance(exc, RuntimeError) and raw.startswith("~"):
        user = raw.split("/", 1)[0][1:]
        if not user:
            return "your home directory is not known, so ~ cannot be expanded"
        return f"there is no user {printable(user)}, so ~{printable(user)} cannot be expanded"
    return str(exc) or type(exc).__name__


def problem_line(raw: str, exc: BaseException) -> str:
    """The one line shown for a path error: which path, and why, in words."""
    return f"Cannot use {printable(raw)}: {_reason(raw, exc)}."


@contextlib.contextmanager
def user_path(raw: str) -> Iterator[None]:
    """The one place a path error becomes a line: anything raised in the block for raw."""
    try:
        yield
    except PATH_ERRORS as exc:
        raise PathProblem(problem_line(raw, exc)) from None


def locate(raw: str, root: Path) -> ChatFile:
    """Where raw (~ expanded, relative to root) points; raises PathProblem."""
    with user_path(raw):
        given = Path(os.path.normpath(root / Path(raw).expanduser()))
        return ChatFile(given, resolved(given))


def _leads_out(raw: str, file: ChatFile, bound: Path, root: Path) -> PathProblem:
    """The refusal for a relative name whose links lead out of `bound`, naming the link."""
    target = escaped(str(file.path))  # whole: the user may need to type it
    part = culprit(file.given, bound)
    if part == file.given:
        why = f"{printable(raw)} is a symbolic link to {target}"
    else:
        link = escaped(str(part.resolve()))
        why = (
            f"{printable(raw)} is in {printable(shown_part(part, root))}, a symbolic link to {link}"
        )
    return PathProblem(
        f"{why}, outside the project; not added (name {target} itself if you mean it)."
    )


def admit(
    raw: str,
    root: Path,
    project: Path | None = None,
    *,
    climb: bool = False,
    home: Path | None = None,
) -> tuple[ChatFile, bool]:
    """(file, exists) for a file to add; raises PathProblem with the reason it cannot be added.

    A relative path must not climb out of root (unless `climb`: names from the command line,
    which the shell resolved against the same directory). An absolute path is the user's
    decision. A relative name that leads out, through a symlink, of the git checkout it lies in
    or of the project (`project`, default root), whichever is narrower, is refused, naming the
    link: a committed link such as `notes.md -> ~/.ssh/id_rsa` must not carry a key to the
    model unnoticed, wherever the user runs from. Naming the target itself adds it. Only
    regular files can be added: reading a named pipe would hang.
    """
    with user_path(raw):
        file = locate(raw, root)
        relative = not Path(raw).expanduser().is_absolute()
        if relative and not climb and not file.given.is_relative_to(root):
            raise PathProblem(
                f"{printable(raw)} is outside the working directory; use an absolute path."
            )
        bound = boundary(file.given, (project or root).resolve(), home)
        if relative and bound is not None and not file.path.is_relative_to(bound):
            raise _leads_out(raw, file, bound, root)
        if relative and bound is not None and in_git_dir(file.path, bound):
            raise PathProblem(
                f"{printable(raw)} leads into the repository's .git directory "
                f"({escaped(str(file.path))}), which is not the project's; not added "
                "(name it by its absolute path if you mean it)."
            )
        file = ChatFile(file.given, file.path, bound)
        if file.path.is_dir():
            raise PathProblem(f"{printable(raw)} is a directory; add files one by one.")
        kind = special_kind(file.path)
        if kind is not None:
            raise PathProblem(f"{printable(raw)} is {kind}, not a regular file; not added.")
        return file, file.path.exists()
