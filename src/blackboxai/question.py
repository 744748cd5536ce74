"""The first-run opt-in question: once, on a terminal, never blocking a script."""

from __future__ import annotations

from collections.abc import Callable

from blackboxai.analytics.defaults import DOCS_PATH

__all__ = ["PRIVACY_LINE", "QUESTION", "ask_opt_in"]

PRIVACY_LINE = (
    "blackboxai respects your privacy and never collects your code, prompts, chats, keys "
    "or any personal info."
)
MORE_INFO = f"For more info: {DOCS_PATH} (or run `blackboxai analytics status`)."
QUESTION = "Allow collection of anonymous analytics to help improve blackboxai? (Y)es/(N)o [Yes]: "


def parse_answer(text: str) -> bool | None:
    """Yes, No, or None for anything we should ask again about. Enter means the default, Yes."""
    answer = text.strip().lower()
    if answer in ("", "y", "yes"):
        return True
    if answer in ("n", "no"):
        return False
    return None


def ask_opt_in(
    read: Callable[[str], str] = input, write: Callable[[str], None] = print
) -> bool | None:
    """Ask until answered; None when the user leaves with Ctrl-C or EOF (nothing is stored then)."""
    write("")
    write(PRIVACY_LINE)
    write(MORE_INFO)
    while True:
        try:
            answer = parse_answer(read(QUESTION))
        except (EOFError, KeyboardInterrupt):
            write("")
            return None
        if answer is not None:
            return answer
        write("Please answer y or n.")
