"""The questions analytics asks: opt in on the first run, and later about what is new.

Asked only where the consent rules say someone can answer (a terminal, not CI), once each.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence

from blackboxai.analytics.defaults import DOCS_URL

__all__ = ["MORE_INFO", "NEW_QUESTION", "PRIVACY_LINE", "QUESTION", "ask_new_items", "ask_opt_in"]

PRIVACY_LINE = (
    "blackboxai respects your privacy and never collects your code, prompts, chats, keys "
    "or any personal info."
)
MORE_INFO = (
    f"For more info: {DOCS_URL} (or run `blackboxai analytics events` to list what is collected)."
)
QUESTION = "Allow collection of anonymous analytics to help improve blackboxai? (Y)es/(N)o [Yes]: "
NEW_QUESTION = "Also allow these? (Y)es/(N)o [Yes]: "

Read = Callable[[str], str]
Write = Callable[[str], None]


def _to_stderr(text: str) -> None:
    """The question and its notices go to stderr: a command's output stays its own."""
    print(text, file=sys.stderr)


def _read(prompt: str) -> str:
    """input(), with its prompt on stderr (where input() puts it depends on readline)."""
    sys.stderr.write(prompt)
    sys.stderr.flush()
    return input()


def parse_answer(text: str) -> bool | None:
    """Yes, No, or None for anything we should ask again about. Enter means the default, Yes."""
    answer = text.strip().lower()
    if answer in ("", "y", "yes"):
        return True
    if answer in ("n", "no"):
        return False
    return None


def _ask(question: str, read: Read, write: Write) -> bool | None:
    """Ask until answered; None when the user leaves with Ctrl-C or EOF (nothing is stored)."""
    while True:
        try:
            answer = parse_answer(read(question))
        except (EOFError, KeyboardInterrupt):
            write("")
            return None
        if answer is not None:
            return answer
        write("Please answer y or n.")


def collector_line(collector: str) -> str:
    """Where else a yes sends what is collected: a team's own collector, named."""
    return (
        f"A yes also sends it to your team's own OpenTelemetry collector at {collector} "
        "(analytics-otlp-endpoint)."
    )


def ask_opt_in(
    collector: str | None = None, read: Read = _read, write: Write = _to_stderr
) -> bool | None:
    """The first-run question: what is and isn't collected, where it goes (`collector`: the
    host of a team's collector a yes would also send to), where to read more, yes or no."""
    write("")
    write(PRIVACY_LINE)
    if collector is not None:
        write(collector_line(collector))
    write(MORE_INFO)
    return _ask(QUESTION, read, write)


def ask_new_items(
    descriptions: Sequence[str], read: Read = _read, write: Write = _to_stderr
) -> bool | None:
    """After an upgrade: only what the events catalogue added since the user said yes."""
    write("")
    write("Since you agreed to share anonymous analytics, blackboxai can also collect:")
    for line in descriptions:
        write(f"  - {line}")
    write("These are kept out of what is sent until you answer. Nothing else changes.")
    return _ask(NEW_QUESTION, read, write)
