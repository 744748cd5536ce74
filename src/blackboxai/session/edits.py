"""Parse the model's edit blocks and apply them only to chat files, all-or-nothing per file."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

__all__ = [
    "EDIT_FORMATS",
    "DiffEdit",
    "EditFailure",
    "EditResult",
    "WholeEdit",
    "apply_blocks",
    "apply_edits",
    "clean_path",
    "display_path",
    "parse_diff",
    "parse_whole",
    "replace_once",
    "write_atomic",
]

EDIT_FORMATS = ("whole", "diff")

_FENCE = re.compile(r"^\s*(`{3,})")
_SEARCH = re.compile(r"^\s*<{5,9} SEARCH\s*$")
_DIVIDER = re.compile(r"^\s*={5,9}\s*$")
_REPLACE = re.compile(r"^\s*>{5,9} REPLACE\s*$")
_MARKERS = ("```", "<<<<<", "=====", ">>>>>")


class WholeEdit(NamedTuple):
    """A file's complete new content, as named by the model."""

    path: str
    content: str


class DiffEdit(NamedTuple):
    """One SEARCH/REPLACE block, as named by the model."""

    path: str
    search: str
    replace: str


@dataclass(frozen=True)
class EditFailure:
    """Why a file's blocks were not applied; reason is a fixed code safe for analytics."""

    path: str
    reason: str  # "no_match" | "not_in_chat" | "malformed" | "write_error"
    message: str
    blocks: int = 1


@dataclass(frozen=True)
class EditResult:
    """What an apply pass did, so the session can report it and count it."""

    changed: tuple[Path, ...] = ()
    blocks_applied: int = 0
    failures: tuple[EditFailure, ...] = ()

    @property
    def files_changed(self) -> int:
        return len(self.changed)

    @property
    def blocks_failed(self) -> int:
        return sum(f.blocks for f in self.failures)

    @property
    def reason(self) -> str | None:
        """The first failure's code: one short reason per reply is enough for analytics."""
        return self.failures[0].reason if self.failures else None


# New contents to write (with how many blocks each carries), and the blocks that failed.
Plan = tuple[dict[Path, tuple[str, int]], tuple[EditFailure, ...]]


def clean_path(line: str) -> str | None:
    """The file path a line names, or None when the line reads as prose or markup."""
    if line.strip().startswith(_MARKERS):
        return None
    text = line.strip().lstrip("#").strip().strip("*`'\"").rstrip(":").strip("*`'\"")
    if not text or any(c.isspace() for c in text):
        return None
    return text


def _join(lines: Sequence[str]) -> str:
    return "".join(line + "\n" for line in lines)


def _previous_nonblank(lines: Sequence[str], index: int) -> int:
    while index >= 0 and not lines[index].strip():
        index -= 1
    return index


def parse_whole(text: str) -> tuple[list[WholeEdit], int]:
    """(edits, malformed count) from "path line + fenced block" pairs; other fences are skipped."""
    lines = text.splitlines()
    edits: list[WholeEdit] = []
    malformed = 0
    i = 0
    while i < len(lines):
        opening = _FENCE.match(lines[i])
        if not opening:
            i += 1
            continue
        ticks = opening.group(1)  # the block ends at a fence of the same length
        end = next((j for j in range(i + 1, len(lines)) if lines[j].strip() == ticks), None)
        before = _previous_nonblank(lines, i - 1)
        path = clean_path(lines[before]) if before >= 0 else None
        if end is None:
            malformed += 1 if path is not None else 0
            break
        if path is not None:
            edits.append(WholeEdit(path, _join(lines[i + 1 : end])))
        i = end + 1
    return edits, malformed


def _find(lines: Sequence[str], start: int, wanted: re.Pattern[str]) -> int | None:
    """Index of the next line matching wanted, stopping at a new SEARCH marker."""
    for j in range(start, len(lines)):
        if wanted.match(lines[j]):
            return j
        if _SEARCH.match(lines[j]):
            return None
    return None


def parse_diff(text: str) -> tuple[list[DiffEdit], int]:
    """(edits, malformed count) from SEARCH/REPLACE blocks; a pathless block reuses the last."""
    lines = text.splitlines()
    edits: list[DiffEdit] = []
    malformed = 0
    last_path: str | None = None
    i = 0
    while i < len(lines):
        if not _SEARCH.match(lines[i]):
            i += 1
            continue
        before = _previous_nonblank(lines, i - 1)
        if before >= 0 and _FENCE.match(lines[before]):
            before = _previous_nonblank(lines, before - 1)
        path = (clean_path(lines[before]) if before >= 0 else None) or last_path
        divider = _find(lines, i + 1, _DIVIDER)
        end = _find(lines, divider + 1, _REPLACE) if divider is not None else None
        if path is None or divider is None or end is None:
            malformed += 1
            i += 1
            continue
        edits.append(DiffEdit(path, _join(lines[i + 1 : divider]), _join(lines[divider + 1 : end])))
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


def display_path(path: Path, root: Path) -> str:
    """path relative to root when inside it, so messages stay short."""
    try:
        return path.relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path)


def _not_in_chat(shown: str, blocks: int) -> EditFailure:
    message = f"Edit to {shown} rejected: the file is not in the chat (/add it first)."
    return EditFailure(shown, "not_in_chat", message, blocks)


def _malformed(count: int) -> tuple[EditFailure, ...]:
    if not count:
        return ()
    message = f"Ignored {count} malformed edit block(s): expected a file path and a complete block."
    return (EditFailure("", "malformed", message, count),)


def _plan_whole(
    edits: Sequence[WholeEdit], malformed: int, root: Path, chat: Collection[Path]
) -> Plan:
    """Decide what to write for whole-file edits; only files in the chat may change."""
    writes: dict[Path, tuple[str, int]] = {}
    failures: list[EditFailure] = []
    for edit in edits:
        path = (root / edit.path).resolve()
        if path in chat:
            writes[path] = (edit.content, writes.get(path, ("", 0))[1] + 1)
        elif "." in edit.path or "/" in edit.path:  # "Usage:" above a snippet is not a file
            failures.append(_not_in_chat(edit.path, 1))
    return writes, (*failures, *_malformed(malformed))


def _plan_diff(
    edits: Sequence[DiffEdit],
    malformed: int,
    root: Path,
    chat: Collection[Path],
    read: Callable[[Path], str | None],
) -> Plan:
    """Decide what to write for SEARCH/REPLACE blocks; a file with any failed block stays as is."""
    groups: dict[Path, list[DiffEdit]] = {}
    for edit in edits:
        groups.setdefault((root / edit.path).resolve(), []).append(edit)
    writes: dict[Path, tuple[str, int]] = {}
    failures: list[EditFailure] = []
    for path, blocks in groups.items():
        shown = blocks[0].path
        if path not in chat:
            failures.append(_not_in_chat(shown, len(blocks)))
            continue
        original = read(path)
        new = apply_blocks(original, blocks)
        if new is None:
            message = f"Edit to {shown} failed: the SEARCH text was not found; nothing changed."
            failures.append(EditFailure(shown, "no_match", message, len(blocks)))
            continue
        writes[path] = (new, len(blocks))
    return writes, (*failures, *_malformed(malformed))


def _read(path: Path) -> str | None:
    """A file's text with newlines normalised, or None when it is absent (or unreadable)."""
    try:
        return path.read_text(encoding="utf-8", errors="surrogateescape")
    except OSError:
        return None


def _newline_of(path: Path) -> str:
    """Keep a file's CRLF line endings when we rewrite it."""
    try:
        with path.open("rb") as handle:
            return "\r\n" if b"\r\n" in handle.read(65536) else "\n"
    except OSError:
        return "\n"


def write_atomic(path: Path, text: str) -> None:
    """Write via a temp file and os.replace, so a crash never leaves a half-written file."""
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


def apply_edits(reply: str, edit_format: str, root: Path, chat: Collection[Path]) -> EditResult:
    """Parse reply in edit_format and write the resulting changes to files in the chat."""
    root = root.resolve()
    chat = frozenset(path.resolve() for path in chat)
    if edit_format == "diff":
        diff_edits, malformed = parse_diff(reply)
        writes, planned_failures = _plan_diff(diff_edits, malformed, root, chat, _read)
    else:
        whole_edits, malformed = parse_whole(reply)
        writes, planned_failures = _plan_whole(whole_edits, malformed, root, chat)
    changed: list[Path] = []
    failures = list(planned_failures)
    applied = 0
    for path, (text, blocks) in writes.items():
        if text == _read(path):
            applied += blocks
            continue
        try:
            write_atomic(path, text)
        except OSError as exc:
            shown = display_path(path, root)
            message = f"Could not write {shown}: {exc.strerror or exc}; it is unchanged."
            failures.append(EditFailure(shown, "write_error", message, blocks))
            continue
        applied += blocks
        changed.append(path)
    return EditResult(tuple(changed), applied, tuple(failures))
