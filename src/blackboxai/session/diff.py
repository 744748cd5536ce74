"""SEARCH/REPLACE edits: parse the blocks and apply them to a file's text, all or nothing."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import NamedTuple

from blackboxai.session.markup import (
    clean_path,
    fence_of,
    join_lines,
    previous_nonblank,
    reply_lines,
)

__all__ = ["DiffEdit", "apply_blocks", "parse_diff", "replace_once"]

_SEARCH = re.compile(r"^\s*<{5,9} SEARCH\s*$")
_DIVIDER = re.compile(r"^\s*={5,9}\s*$")
_REPLACE = re.compile(r"^\s*>{5,9} REPLACE\s*$")


class DiffEdit(NamedTuple):
    """One SEARCH/REPLACE block, as named by the model."""

    path: str
    search: str
    replace: str


def _find(lines: Sequence[str], start: int, wanted: re.Pattern[str]) -> int | None:
    """Index of the next line matching wanted, stopping at a new SEARCH marker."""
    for j in range(start, len(lines)):
        if wanted.match(lines[j]):
            return j
        if _SEARCH.match(lines[j]):
            return None
    return None


def _path_above(lines: Sequence[str], index: int) -> str | None:
    """The path on the line above a SEARCH marker, looking past one opening fence."""
    before = previous_nonblank(lines, index - 1)
    if before >= 0 and fence_of(lines[before]):
        before = previous_nonblank(lines, before - 1)
    return clean_path(lines[before]) if before >= 0 else None


def parse_diff(text: str) -> tuple[list[DiffEdit], list[str]]:
    """(edits, the path of each malformed block or ""); a pathless block reuses the last path.

    A malformed block keeps its path so that its file's other blocks are not applied alone.
    """
    lines = reply_lines(text)
    edits: list[DiffEdit] = []
    malformed: list[str] = []
    last_path: str | None = None
    i = 0
    while i < len(lines):
        if not _SEARCH.match(lines[i]):
            i += 1
            continue
        path = _path_above(lines, i) or last_path
        divider = _find(lines, i + 1, _DIVIDER)
        end = _find(lines, divider + 1, _REPLACE) if divider is not None else None
        if path is None or divider is None or end is None:
            malformed.append(path or "")
            i += 1
            continue
        search, replace = lines[i + 1 : divider], lines[divider + 1 : end]
        edits.append(DiffEdit(path, join_lines(search), join_lines(replace)))
        last_path = path
        i = end + 1
    return edits, malformed


def _replace_loose(text: str, search: str, replace: str) -> str | None:
    """Replace the first run of lines equal to search's lines, ignoring trailing whitespace."""
    lines = text.splitlines(keepends=True)
    have = [line.rstrip() for line in lines]
    want = [line.rstrip() for line in search.splitlines()]
    for start in range(len(lines) - len(want) + 1):
        if have[start : start + len(want)] == want:
            tail = "".join(lines[start + len(want) :])
            if replace and not replace.endswith("\n") and tail:
                replace += "\n"
            return "".join(lines[:start]) + replace + tail
    return None


def replace_once(text: str, search: str, replace: str) -> str | None:
    """search replaced once (exact, then line-loose); empty search appends; None when absent."""
    if not search.strip():
        return text + ("\n" if text and not text.endswith("\n") else "") + replace
    if search in text:
        return text.replace(search, replace, 1)
    return _replace_loose(text, search, replace)


def apply_blocks(text: str | None, blocks: Sequence[DiffEdit]) -> str | None:
    """Apply blocks in order to text (None: file absent); None if any block fails to match."""
    if text is None and any(block.search.strip() for block in blocks):
        return None
    current: str | None = text or ""
    for block in blocks:
        if current is None:
            return None
        current = replace_once(current, block.search, block.replace)
    return current
