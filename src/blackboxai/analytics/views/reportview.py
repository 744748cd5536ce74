"""The report's two faces: plain data for `--json`, and bar-chart tables for the terminal.

Both come from one `report.Summary`; rich is imported only when tables are drawn.
"""

from __future__ import annotations

from dataclasses import asdict, astuple
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from blackboxai.terminal import escaped

if TYPE_CHECKING:
    from collections import Counter

    from rich.console import Console
    from rich.table import Table

    from blackboxai.analytics.views.report import Summary

__all__ = ["render", "to_json"]

_BAR_WIDTH = 30
_PARTIALS = ("", "▏", "▎", "▍", "▌", "▋", "▊", "▉")
_BLOCKS = "█" + "".join(_PARTIALS)
_Row = tuple[str, list[str], int]  # label, formatted number cells, value the bar is scaled to


def _ranked(counter: Counter[str]) -> dict[str, int]:
    """Count desc, then name, so output is deterministic and the top entries come first."""
    return dict(sorted(counter.items(), key=lambda kv: (-kv[1], kv[0])))


def to_json(summary: Summary) -> dict[str, object]:
    """Plain dict for `--json`: built-in types only, counters ranked, keys stable."""
    models = sorted(summary.models.items(), key=lambda kv: (-kv[1].messages, kv[0]))
    return {
        "lines_read": summary.lines_read,
        "events": summary.events,
        "broken_lines": summary.broken_lines,
        "files": list(summary.files),
        "missing_files": list(summary.missing_files),
        "first_time": summary.first_time,
        "last_time": summary.last_time,
        "users": summary.users,
        "by_event": _ranked(summary.by_event),
        "models": {name: asdict(m) for name, m in models},
        "edit_formats": _ranked(summary.edit_formats),
        "commands": _ranked(summary.commands),
        "exits": _ranked(summary.exits),
        "exceptions": _ranked(summary.exceptions),
        "api_errors": _ranked(summary.api_errors),
    }


def _bar(value: int, largest: int, width: int = _BAR_WIDTH, *, blocks: bool = True) -> str:
    """Bar in eighths of a cell so close counts still look different; non-zero never vanishes.
    Without `blocks` (a charset that lacks them), whole cells of '#'."""
    if value <= 0 or largest <= 0:
        return ""
    if not blocks:
        return "#" * max(1, round(value * width / largest))
    eighths = max(1, round(value * width * 8 / largest))
    return "█" * (eighths // 8) + _PARTIALS[eighths % 8]


def _shows_blocks(encoding: str) -> bool:
    """Whether output in `encoding` can carry the bars' block characters. Latin-1 and cp1252
    (a redirected stdout on Windows) cannot: their bars would all be '?' (or, on a strict
    stream, an error half-way through the report)."""
    try:
        (_BLOCKS + "…").encode(encoding)
    except (UnicodeError, LookupError):
        return False
    return True


def _plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def _when(t: int) -> str:
    """ISO 8601 UTC; a timestamp outside datetime's range is shown raw rather than crashing."""
    try:
        return datetime.fromtimestamp(t, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (OverflowError, OSError, ValueError):
        return str(t)


def _table(
    title: str, headings: list[str], rows: list[_Row], max_rows: int, room: int, blocks: bool
) -> Table:
    """One ranked table: label, right-aligned numbers, and a bar scaled to the largest value."""
    from rich import box
    from rich.table import Table
    from rich.text import Text

    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, show_edge=False)
    table.add_column(headings[0], overflow="fold", min_width=min(10, len(headings[0]) + 4))
    for heading in headings[1:]:
        table.add_column(heading, justify="right", no_wrap=True)
    table.add_column("", no_wrap=True, overflow="crop", style="cyan")
    largest = max((value for _, _, value in rows), default=0)
    # Shrink the bar, not the numbers, when the terminal is narrow (3 = padding + rule).
    shown = rows[:max_rows]
    used = min(max((len(r[0]) for r in shown), default=0), 32) + 3 * (len(headings) + 1)
    for i, heading in enumerate(headings[1:]):
        used += max([len(heading), *(len(r[1][i]) for r in shown)])
    width = max(8, min(_BAR_WIDTH, room - used))
    for name, cells, value in shown:
        table.add_row(Text(escaped(name)), *cells, _bar(value, largest, width, blocks=blocks))
    if len(rows) > max_rows:
        more = "…" if blocks else "..."
        table.add_row(Text(f"{more} {len(rows) - max_rows:,} more", style="dim"))
    return table


def render(summary: Summary, console: Console, *, max_rows: int = 30) -> None:
    """Human report: a header, then one bar-chart table per non-empty section."""
    from rich.text import Text

    s, out = summary, console.print
    blocks = _shows_blocks(console.encoding)
    if s.files:
        out(Text("Files: " + ", ".join(escaped(f) for f in s.files)))
    counts = [_plural(s.lines_read, "line"), _plural(s.events, "event")]
    out(Text(", ".join([*counts, _plural(s.users, "distinct user")])))
    if s.first_time is not None and s.last_time is not None:
        out(Text(f"From {_when(s.first_time)} to {_when(s.last_time)} (UTC)"))
    if s.broken_lines:
        out(Text(f"Skipped {_plural(s.broken_lines, 'broken line')}.", style="yellow"))
    if not s.events:
        out(Text("no events"))
        return

    def ranked(title: str, label: str, counter: Counter[str]) -> None:
        """Counter sections share one layout; empty ones are left out entirely."""
        if counter:
            rows = [(name, [f"{n:,}"], n) for name, n in _ranked(counter).items()]
            out(_table(title, [label, "Count"], rows, max_rows, console.width, blocks))

    ranked("Events", "Event", s.by_event)
    if s.models:
        by_messages = sorted(s.models.items(), key=lambda kv: (-kv[1].messages, kv[0]))
        rows = [(name, [f"{n:,}" for n in astuple(m)], m.messages) for name, m in by_messages]
        headings = ["Model", "Messages", "Prompt tok", "Compl. tok", "Total tok"]
        out(_table("Models", headings, rows, max_rows, console.width, blocks))
    ranked("Edit formats", "Format", s.edit_formats)
    ranked("Commands", "Command", s.commands)
    ranked("Exits", "Reason", s.exits)
    ranked("Exceptions", "Type", s.exceptions)
    ranked("API errors", "Error class", s.api_errors)
