"""Apply the model's edit blocks only to chat files, all-or-nothing per file, never truncated.

Parsing lives in whole.py and diff.py, disk access in files.py; their names are re-exported
here for callers that import them from blackboxai.session.edits.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from blackboxai.config.options import EDIT_FORMATS  # declared once, with the options
from blackboxai.config.trust import resolved
from blackboxai.session.diff import DiffEdit, apply_blocks, parse_diff, replace_once
from blackboxai.session.files import display_path, read_text, write_atomic
from blackboxai.session.markup import clean_path, looks_like_file
from blackboxai.session.paths import printable
from blackboxai.session.whole import WholeEdit, WholeRefusal, parse_whole

__all__ = [
    "EDIT_FORMATS",
    "FAILURE_REASONS",
    "DiffEdit",
    "EditFailure",
    "EditResult",
    "WholeEdit",
    "WholeRefusal",
    "apply_blocks",
    "apply_edits",
    "clean_path",
    "display_path",
    "parse_diff",
    "parse_whole",
    "replace_once",
    "write_atomic",
]


# Every EditFailure.reason; they go into analytics as edit_failed.reason, so the set is fixed.
FAILURE_REASONS = ("no_match", "not_in_chat", "malformed", "ambiguous_fence", "write_error")

_REFUSED = {
    "malformed": "its code block is never closed",
    "ambiguous_fence": (
        "the reply's ``` fences do not pair up unambiguously (does the file contain ``` lines?);"
        " ask for it fenced with ````"
    ),
}


@dataclass(frozen=True)
class EditFailure:
    """Why a file's blocks were not applied; reason is one of FAILURE_REASONS."""

    path: str
    reason: str
    message: str
    blocks: int = 1

    def __post_init__(self) -> None:
        if self.reason not in FAILURE_REASONS:  # a new code must be listed (and catalogued)
            raise ValueError(f"unknown edit failure reason {self.reason!r}")


@dataclass(frozen=True)
class EditResult:
    """What an apply pass did, so the session can report it and count it."""

    changed: tuple[Path, ...] = ()
    blocks_applied: int = 0
    failures: tuple[EditFailure, ...] = ()
    lines_added: int = 0  # over the files changed: lines in the new text and not the old
    lines_removed: int = 0  # and the other way round (each line counted as often as it occurs)

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


def _chat_key(root: Path, name: str | Path) -> Path | None:
    """Where a path really is; None when no file can be there (a NUL byte, a symlink loop)."""
    try:
        return resolved(root / name)
    except (OSError, ValueError, RuntimeError):
        return None


def _not_in_chat(shown: str, blocks: int) -> EditFailure:
    message = f"Edit to {printable(shown)} rejected: the file is not in the chat (/add it first)."
    return EditFailure(shown, "not_in_chat", message, blocks)


def _malformed(count: int) -> tuple[EditFailure, ...]:
    if not count:
        return ()
    message = f"Ignored {count} malformed edit block(s): expected a file path and a complete block."
    return (EditFailure("", "malformed", message, count),)


def _refused(refusal: WholeRefusal) -> EditFailure:
    why = _REFUSED[refusal.reason]
    message = f"Edit to {printable(refusal.path)} refused: {why}; nothing was written."
    return EditFailure(refusal.path, refusal.reason, message)


Find = Callable[[str], Path | None]  # the chat file a reply's name means (its key), or None
Where = Callable[[Path], Path | str]  # where a chat file is read and written now, or why not


def _plan_whole(
    edits: Sequence[WholeEdit],
    refusals: Sequence[WholeRefusal],
    chat: Collection[Path],
    find: Find,
) -> Plan:
    """Decide what to write for whole-file edits; only files in the chat may change."""
    writes: dict[Path, tuple[str, int]] = {}
    failures: list[EditFailure] = []
    for edit in edits:
        path = find(edit.path)
        if path is not None and path in chat:
            writes[path] = (edit.content, writes.get(path, ("", 0))[1] + 1)
        elif looks_like_file(edit.path):  # "Usage:" above a snippet is not a file
            failures.append(_not_in_chat(edit.path, 1))
    for refusal in refusals:
        if find(refusal.path) in chat or looks_like_file(refusal.path):
            failures.append(_refused(refusal))
    return writes, tuple(failures)


def _plan_diff(
    edits: Sequence[DiffEdit],
    malformed: Sequence[str],
    chat: Collection[Path],
    find: Find,
    where: Where,
) -> Plan:
    """Decide what to write for SEARCH/REPLACE blocks; a file with any failed block stays as is."""
    groups: dict[Path | None, list[DiffEdit]] = {}
    for edit in edits:
        groups.setdefault(find(edit.path), []).append(edit)
    broken = [find(name) if name else None for name in malformed]
    writes: dict[Path, tuple[str, int]] = {}
    failures: list[EditFailure] = []
    for path, blocks in groups.items():
        shown = printable(blocks[0].path)  # the model's reply chose it: no control characters
        if path is None or path not in chat:
            failures.append(_not_in_chat(shown, len(blocks)))
            continue
        if path in broken:
            message = f"Edit to {shown} failed: one of its blocks is malformed; nothing changed."
            failures.append(EditFailure(shown, "malformed", message, len(blocks)))
            continue
        place = where(path)
        if isinstance(place, str):
            failures.append(EditFailure(shown, "write_error", place, len(blocks)))
            continue
        new = apply_blocks(read_text(place), blocks)
        if new is None:
            message = f"Edit to {shown} failed: the SEARCH text was not found; nothing changed."
            failures.append(EditFailure(shown, "no_match", message, len(blocks)))
            continue
        writes[path] = (new, len(blocks))
    return writes, (*failures, *_malformed(len(malformed)))


def _write(plan: Plan, root: Path, names: Mapping[Path, str], where: Where) -> EditResult:
    """Carry out a plan; a file that cannot be written is a failure, the others still land."""
    writes, planned_failures = plan
    changed: list[Path] = []
    failures = list(planned_failures)
    applied = added = removed = 0
    for path, (text, blocks) in writes.items():
        shown = names.get(path) or printable(display_path(path, root))
        place = where(path)  # checked again just before writing: a link may have been swapped in
        if isinstance(place, str):
            failures.append(EditFailure(shown, "write_error", place, blocks))
            continue
        old = read_text(place)
        if text == old:
            applied += blocks
            continue
        try:
            write_atomic(place, text)
        except (OSError, ValueError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
            message = f"Could not write {shown}: {reason}; it is unchanged."
            failures.append(EditFailure(shown, "write_error", message, blocks))
            continue
        applied += blocks
        changed.append(path)
        more, fewer = _line_changes(old or "", text)
        added, removed = added + more, removed + fewer
    return EditResult(tuple(changed), applied, tuple(failures), added, removed)


def _line_changes(old: str, new: str) -> tuple[int, int]:
    """Lines added and removed, as multisets of lines: linear in the files' size (a real diff is
    quadratic in the worst case), and a line that only moved counts as neither."""
    from collections import Counter

    before, after = Counter(old.splitlines()), Counter(new.splitlines())
    return sum((after - before).values()), sum((before - after).values())


def apply_edits(
    reply: str,
    edit_format: str,
    root: Path,
    chat: Collection[Path],
    names: Mapping[Path, str] | None = None,
    *,
    find: Find | None = None,
    where: Where | None = None,
) -> EditResult:
    """Parse reply in edit_format and write the resulting changes to files in the chat.

    names maps a chat file's key to how the user knows it, for messages. By default a key is a
    resolved path and a reply's name means the chat file it resolves to. A session passes
    `find` (then `chat` holds its keys as they are) and `where`, which checks a file again
    before it is read or written and may refuse it with one line.
    """
    root = root.resolve()
    if find is None:
        chat = frozenset(key for key in (_chat_key(root, path) for path in chat) if key is not None)
        find = functools.partial(_chat_key, root)
    else:
        chat = frozenset(chat)
    where = where or (lambda path: path)
    if edit_format == "diff":
        diff_edits, malformed = parse_diff(reply)
        plan = _plan_diff(diff_edits, malformed, chat, find, where)
    else:
        whole_edits, refusals = parse_whole(reply)
        plan = _plan_whole(whole_edits, refusals, chat, find)
    return _write(plan, root, names or {}, where)
