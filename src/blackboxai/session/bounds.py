"""Where a name the user types may lead: inside the checkout it lies in and the working project.

A name is typed by the user, but the directories and links along it may be a clone's. The
checkout a name lies in is found from the name itself, not from the current directory: from
$HOME, `repo/notes.md -> ../.ssh/id_rsa` lies in `repo`, however wide the home "project" is.
"""

from __future__ import annotations

import os
from pathlib import Path

from blackboxai.config.trust import git_root, resolved

__all__ = ["boundary", "culprit", "name_checkout", "shown_part"]


def _real_prefix(path: Path) -> Path:
    """The leading part of an absolute, normalised `path` reached without a symlink: below the
    first link the directories are wherever the link's owner chose."""
    current = Path(path.anchor)
    for part in path.parts[1:]:
        step = current / part
        if step.is_symlink():
            break
        current = step
    return current


def _holds(outer: Path, inner: Path) -> bool:
    try:
        return resolved(inner).is_relative_to(resolved(outer))
    except (OSError, RuntimeError):
        return True  # in doubt, no checkout: the narrower bound is the project's


def name_checkout(given: Path, home: Path | None) -> Path | None:
    """The git work tree `given` (absolute, normalised) lies in, found by walking up from its
    directory without following symlinks; None outside git, or when that work tree holds the
    home directory (dotfiles kept in git are no clone)."""
    root = git_root(_real_prefix(given.parent))
    if root is None or (home is not None and _holds(root, home)):
        return None
    return root.resolve()


def boundary(given: Path, project: Path, home: Path | None) -> Path | None:
    """The narrowest place `given` must stay in once its symlinks are followed: the checkout it
    lies in and the working directory's `project` (when it lies in it), whichever is narrower
    (both hold `given`, so one holds the other). None when it lies in neither."""
    found = [project] if given.is_relative_to(project) else []
    checkout = name_checkout(given, home)
    if checkout is not None:
        found.append(checkout)
    return max(found, key=lambda path: len(path.parts), default=None)


def culprit(given: Path, bound: Path) -> Path:
    """The first leading part of `given` whose symlinks lead outside `bound`: the link to name
    (the whole name when only its last part is a link, or when nothing along it can be told)."""
    for depth in range(len(bound.parts) + 1, len(given.parts)):
        part = Path(*given.parts[:depth])
        try:
            if not resolved(part).is_relative_to(bound):
                return part
        except (OSError, RuntimeError, ValueError):
            break
    return given


def shown_part(part: Path, root: Path) -> str:
    """A leading part of a relative name, as relative to the working directory as the name."""
    return os.path.relpath(part, root)
