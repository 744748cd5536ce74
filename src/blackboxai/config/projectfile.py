"""What a project's config file may set: the more private value, and files inside its checkout.

A cloned repository is not its user (see `trust.py`). What its file may not set is dropped with a
one-line warning naming the file, the line and where the user can set it instead; `settings.py`
reads the files and merges them.
"""

from __future__ import annotations

from pathlib import Path

from blackboxai.config.options import CONFIG_NAME, OPTIONS, Kind, Trust, env_name
from blackboxai.config.trust import checkout_root, confine, expand_home, in_git_dir, special_kind
from blackboxai.terminal import shown
from blackboxai.yamlfile import describe

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["OFF", "UNREADABLE", "file_refusal", "from_project", "off_said", "refused"]

# A project file (or its analytics value) that cannot be read may have said no: this run is
# off (analytics: false from that file), unless a later source turns analytics on.
OFF = "not reporting analytics in this run (it may have said so)"
UNREADABLE = f"ignoring this project file, and {OFF}"


def off_said(warnings: list[str], analytics: object, source: str | None) -> list[str]:
    """The warnings, with each OFF they end with made true: when a later source (the command
    line, a variable, a --config file) set analytics to true after all, they name it instead."""
    if analytics is not True or source is None:
        return warnings
    instead = f"leaving analytics in this run to {source}"
    return [w[: -len(OFF)] + instead if w.endswith(OFF) else w for w in warnings]


def file_refusal(path: Path, home: Path) -> str | None:
    """Why a project's config file is not read at all (it resolves outside its checkout, or
    into its .git directory); None when it may be read."""
    root = checkout_root(path.parent, home)
    if confine(path, root) is not None:
        return None
    why = (
        "it is in the repository's .git directory, which is not the project's"
        if in_git_dir(path, root)
        else "it is a link to a file outside the project, which a checkout cannot make "
        "blackboxai read"
    )
    return f"blackboxai: ignoring config file {shown(path)}: {why}"


def from_project(
    option: str,
    value: Any,
    base: Path,
    home: Path,
    where: tuple[str, list[str]],
    warnings: list[str],
) -> Any:
    """What a project's file may set: the more private value, and paths inside its checkout
    (`where`: the key's place, and each list item's)."""
    spec, (at, item_ats) = OPTIONS[option], where
    if spec.trust is Trust.PRIVATE and value is not spec.private:
        what = f"{option}: {'true' if value else 'false'}"
        warnings.append(refused(option, what, at, "can only make analytics more private"))
        return None
    if spec.trust is not Trust.INSIDE:
        return value
    entries = value if spec.kind is Kind.PATHS else (value,)
    if len(item_ats) != len(entries):
        item_ats = [at] * len(entries)
    root = checkout_root(base, home)
    kept = []
    for entry, entry_at in zip(entries, item_ats, strict=True):
        named = base / expand_home(entry, home)
        real = confine(named, root)
        if real is None:
            why = (
                "is in the repository's .git directory, which is not the project's; a "
                "project's config file can only name the project's own files"
                if in_git_dir(named, root)
                else f"leads outside the project {shown(root)}; a project's config file can "
                "only name files inside it"
            )
            warnings.append(
                f"blackboxai: ignoring {option} {describe(entry)} in {entry_at}: it {why}"
            )
        elif special_kind(real) is not None:  # reading a named pipe would hang the session
            warnings.append(
                f"blackboxai: ignoring {option} {describe(entry)} in {entry_at}: it is "
                f"{special_kind(real)}, not a regular file"
            )
        else:
            kept.append(str(real))
    if spec.kind is Kind.PATHS:
        return tuple(kept)
    return kept[0] if kept else None


def refused(option: str, what: str, at: str, reason: str) -> str:
    """One line: what was ignored, where, why, and where the user can set it instead."""
    places = [f"~/{CONFIG_NAME}", "a --config file", env_name(option)]
    spec = OPTIONS[option]
    if spec.kind is not Kind.BOOL or spec.negatable:
        places.append(f"--{option}")  # a flag that can say it (there is no --no-analytics-debug)
    return (
        f"blackboxai: ignoring {what} in {at}: a project's config file {reason}; set it in "
        f"{', '.join(places[:-1])} or {places[-1]}"
    )
