"""Reading a model reply line by line: which lines are code fences and which name a file."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import NamedTuple

__all__ = [
    "Fence",
    "clean_path",
    "fence_of",
    "header_before",
    "join_lines",
    "looks_like_file",
    "previous_nonblank",
    "reply_lines",
]

# A backtick fence: indentation, three or more backticks, an info string without backticks
# (CommonMark: "```foo```" is inline code, not a fence).
_FENCE = re.compile(r"^([ \t]*)(`{3,})([^`]*)$")
_MARKERS = ("```", "<<<<<", "=====", ">>>>>")


class Fence(NamedTuple):
    """One fence line: how far it is indented, how many backticks, and its info string."""

    indent: int
    ticks: int
    info: str

    @property
    def bare(self) -> bool:
        """A fence with no info string: the only kind that can close a block."""
        return not self.info


def fence_of(line: str) -> Fence | None:
    """The fence a line is, or None when it is not one."""
    match = _FENCE.match(line.rstrip())
    if match is None:
        return None
    indent, ticks, info = match.groups()
    return Fence(len(indent), len(ticks), info.strip())


def reply_lines(text: str) -> list[str]:
    """text split at newlines only (CRLF too): U+2028 or a form feed inside a file stays put."""
    lines = text.replace("\r\n", "\n").split("\n")
    return lines[:-1] if lines and lines[-1] == "" else lines


def join_lines(lines: Sequence[str]) -> str:
    return "".join(line + "\n" for line in lines)


def previous_nonblank(lines: Sequence[str], index: int) -> int:
    while index >= 0 and not lines[index].strip():
        index -= 1
    return index


def clean_path(line: str) -> str | None:
    """The file path a line names, or None when the line reads as prose or markup."""
    if line.strip().startswith(_MARKERS):
        return None
    text = line.strip().lstrip("#").strip().strip("*`'\"").rstrip(":").strip("*`'\"")
    if not text or any(c.isspace() for c in text):
        return None
    return text


def header_before(lines: Sequence[str], index: int) -> str | None:
    """The path named on the last non-blank line before lines[index], if it names one."""
    before = previous_nonblank(lines, index - 1)
    return clean_path(lines[before]) if before >= 0 else None


def looks_like_file(name: str) -> bool:
    """A path-like name ("a.py", "src/x"), not a word such as "Usage:" above a snippet."""
    return "." in name or "/" in name
