"""Path trust: where a project's config file may point. `confine()` is the one check.

A cloned repository is not its user. Its `.blackboxai.conf.yml` can name a file whose string
looks harmless but leads elsewhere (`notes.md -> ../.ssh/id_rsa`, `docs -> ~`), so the check is
made on the resolved path, symlinks followed, never on the string.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

from blackboxai.addresses import valid_name

__all__ = [
    "checkout_root",
    "confine",
    "expand_home",
    "git_root",
    "in_git_dir",
    "resolved",
    "special_kind",
    "user_home",
    "valid_name",
]

# What resolving a path can raise: OSError (a symlink loop, from resolved()); RuntimeError for a
# symlink loop before Python 3.13; ValueError for a NUL byte, UnicodeEncodeError (a ValueError)
# for a name the system cannot encode.
_UNRESOLVABLE = (OSError, RuntimeError, ValueError)
_WINDOWS_LOOP = 1921  # ERROR_CANT_RESOLVE_FILENAME: Windows' "too many links"


def resolved(path: Path) -> Path:
    """`path.resolve()`, refusing a symlink loop on every Python: the OSError (ELOOP) for one.

    Before 3.13 resolve() raised RuntimeError for a loop; 3.13 returns the looping path as it
    is (os.path.realpath's non-strict rule), which then passed for a new file inside the
    project (`/add loop/y.py`, a project file's `file: loop/y.py`). The OS itself still says
    ELOOP for it, so one stat() of the result tells (an absent file is fine: a new one)."""
    real = path.resolve()
    try:
        os.stat(real)
    except OSError as exc:
        if exc.errno == errno.ELOOP or getattr(exc, "winerror", None) == _WINDOWS_LOOP:
            raise
    return real


def confine(path: Path, root: Path) -> Path | None:
    """`path`'s real location if it lies inside `root`'s real location, else None.

    A relative `path` is taken from the current directory: join it to its base first.
    A path that cannot be resolved (a symlink loop, a NUL byte) is outside, and so is anything
    in the repository's own `.git` directory: its config and hooks run code, and are not the
    project.
    """
    try:
        real = resolved(path)
        real_root = resolved(root)
    except _UNRESOLVABLE:
        return None
    if not real.is_relative_to(real_root) or ".git" in real.relative_to(real_root).parts:
        return None
    return real


def in_git_dir(path: Path, root: Path) -> bool:
    """Whether `path` (which confine() refused) is in `root`'s own .git directory rather than
    outside the checkout: the two get different messages."""
    try:
        real, real_root = resolved(path), resolved(root)
    except _UNRESOLVABLE:
        return False
    return real.is_relative_to(real_root) and ".git" in real.relative_to(real_root).parts


def user_home() -> Path | None:
    """The user's home directory; None without HOME (and a passwd entry)."""
    try:
        return Path.home()
    except RuntimeError:
        return None


def expand_home(value: str, home: Path) -> str:
    """`~` and `~/...` mean the home directory: YAML and variables get no shell to expand them."""
    if value == "~":
        return str(home)
    for prefix in {"~/", "~" + os.sep}:
        if value.startswith(prefix):
            return str(home / value[len(prefix) :])
    return value


def git_root(start: Path) -> Path | None:
    """The enclosing git work tree, found by walking up (no subprocess on the start-up path)."""
    for directory in (start, *start.parents):
        if (directory / ".git").exists():
            return directory
    return None


def checkout_root(directory: Path, home: Path) -> Path:
    """The checkout that a project's config file in `directory` belongs to: its git work tree,
    or `directory` itself outside git. A work tree that holds the home directory (dotfiles kept
    in git) is no checkout: a tarball unpacked under it must not reach ~/.ssh."""
    root = git_root(directory)
    if root is None or _holds(root, home):
        return directory
    return root


def _holds(outer: Path, inner: Path) -> bool:
    try:
        return resolved(inner).is_relative_to(resolved(outer))
    except _UNRESOLVABLE:
        return True  # in doubt, the narrower root


def special_kind(path: Path) -> str | None:
    """What path is when it exists but is neither a regular file nor a directory (None
    otherwise): opening a named pipe or a device to read it can block forever, or never end."""
    import stat

    try:
        mode = path.stat().st_mode
    except (OSError, ValueError):
        return None  # absent (a new file) or unreadable: opening it will say why
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return None
    if stat.S_ISFIFO(mode):
        return "a named pipe"
    return "a socket" if stat.S_ISSOCK(mode) else "a device"
