"""Whole-file edits: find each file's fenced block by its real end, or refuse it, never cut it.

A file block is a path line, then a fence of N backticks, then the content, then a bare fence
of exactly N backticks (no deeper indented than the opening one). Inside it, a fence of N or
more backticks with an info string (```sh), or a longer bare one, opens a nested block that
the next bare fence at least as long closes; shorter fences are plain content. So a README
with ```sh blocks inside a ```markdown block, or anything inside a ```` block, comes back
whole.

What cannot be told apart is a bare nested ``` inside a ``` block: the file's own code
block and the end of the file look the same. That misreading shows up later in the reply: a
bare fence that opens no file block, or a block that never closes. Either makes the reply
ambiguous, and then no block of it is written: a refused edit can be asked for again, a
truncated file is lost work.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from blackboxai.session.markup import (
    Fence,
    fence_of,
    header_before,
    join_lines,
    looks_like_file,
    reply_lines,
)

__all__ = ["WholeEdit", "WholeRefusal", "parse_whole"]


class WholeEdit(NamedTuple):
    """A file's complete new content, as named by the model."""

    path: str
    content: str


class WholeRefusal(NamedTuple):
    """A file block that is not written: "malformed" (never closed) or "ambiguous_fence"."""

    path: str
    reason: str


def _file_block_end(lines: Sequence[str], start: int, opening: Fence) -> int | None:
    """Index of the fence that closes the file block opened at start (nesting-aware)."""
    nested: int | None = None  # backticks of the open nested block, if any
    for j in range(start + 1, len(lines)):
        fence = fence_of(lines[j])
        if fence is None:
            continue
        if nested is not None:
            if fence.bare and fence.ticks >= nested:
                nested = None
        elif fence.ticks < opening.ticks:
            continue
        elif fence.bare and fence.ticks == opening.ticks and fence.indent <= opening.indent:
            return j
        else:
            nested = fence.ticks
    return None


def _snippet_end(lines: Sequence[str], start: int, opening: Fence) -> int | None:
    """Index of the bare fence that closes a snippet (not a file): its content is literal."""
    for j in range(start + 1, len(lines)):
        fence = fence_of(lines[j])
        if fence is not None and fence.bare and fence.ticks >= opening.ticks:
            return j
    return None


class _Reader:
    """One pass over a reply's lines, collecting file blocks and noting ambiguity."""

    def __init__(self, text: str) -> None:
        self.lines = reply_lines(text)
        self.edits: list[WholeEdit] = []
        self.unclosed: str | None = None
        self.ambiguous = False

    def read(self) -> None:
        i = 0
        while i < len(self.lines):
            fence = fence_of(self.lines[i])
            end = i if fence is None else self._block(i, fence)
            if end is None:  # an unclosed block swallows the rest of the reply
                self.ambiguous = True
                return
            i = end + 1

    def _block(self, start: int, fence: Fence) -> int | None:
        """Read the block opened at start; the index of its closing fence, None if unclosed."""
        header = header_before(self.lines, start)
        after_a_file = bool(self.edits)
        if header is None or (fence.bare and after_a_file and not looks_like_file(header)):
            # After a file, a bare fence that opens no file may be that file's own ``` line.
            self.ambiguous = self.ambiguous or (fence.bare and after_a_file)
            return _snippet_end(self.lines, start, fence)
        end = _file_block_end(self.lines, start, fence)
        if end is None:
            self.unclosed = header
        else:
            self.edits.append(WholeEdit(header, join_lines(self.lines[start + 1 : end])))
        return end


def parse_whole(text: str) -> tuple[list[WholeEdit], list[WholeRefusal]]:
    """(edits to write, refusals): if the reply is ambiguous anywhere, every block is refused."""
    reader = _Reader(text)
    reader.read()
    refused = [WholeRefusal(reader.unclosed, "malformed")] if reader.unclosed else []
    if reader.ambiguous and reader.edits:
        refused = [WholeRefusal(edit.path, "ambiguous_fence") for edit in reader.edits] + refused
        return [], refused
    return reader.edits, refused
