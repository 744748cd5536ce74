"""From a command line to a session or a command: settings, the opt-out it asks for, analytics.

Both parsers end here: the fast one (argv.py) for a session, the Typer app (commands.py) for
help, subcommands and mistakes.
"""

from __future__ import annotations

from blackboxai.argv import Invocation
from blackboxai.terminal import say

TYPE_CHECKING = False
if TYPE_CHECKING:
    from blackboxai.analytics import Analytics
    from blackboxai.config.settings import Settings

__all__ = ["OptOutStored", "begin", "start"]


class OptOutStored(int):
    """Passed to the Typer app as `ctx.obj`: whether main() already stored an opt-out."""


def start(invocation: Invocation, *, stored: bool = False) -> int:
    """A whole session from its command line; its exit status. `stored`: main() has already
    stored the opt-out this command line asks for."""
    from blackboxai.host import run

    asked = invocation.values.get("analytics-disable") is True
    begun = begin(invocation, opt_out=asked and not stored, tried=stored)
    if isinstance(begun, int):
        return begun
    settings, tracker = begun
    return run(
        settings,
        tracker,
        files=list(invocation.files),
        message=invocation.message,
        exit_now=invocation.exit_now,
    )


def begin(
    invocation: Invocation, *, opt_out: bool, session: bool = True, tried: bool = False
) -> tuple[Settings, Analytics] | int:
    """Settings and analytics, or an exit status when the session cannot go on. A subcommand
    (`session=False`) records no events, so it opens no audit log. `tried`: main() has already
    stored the opt-out this command line asks for, or said why it could not.

    A mistake on the command line stops before anything is read or opened, except that an
    opt-out asked for on it is stored first: no other mistake ever blocks an opt-out.
    """
    from pathlib import Path

    from blackboxai.host import StartError, prepare

    mistake = _mistake(invocation)
    if mistake is not None and not opt_out:
        say(f"blackboxai: {mistake}")
        return 2
    config = Path(invocation.config) if invocation.config else None
    try:
        settings, tracker = prepare(
            dict(invocation.values), config=config, opt_out=opt_out, session=session, tried=tried
        )
    except StartError as exc:
        if exc.message:
            say(f"blackboxai: {exc.message}")
        return exc.code
    if mistake is not None:
        tracker.close()
        say(f"blackboxai: {mistake}")
        return 2
    return settings, tracker


def _mistake(invocation: Invocation) -> str | None:
    """A usage error that the parsers cannot see: an empty --config, or a first file (where a
    command would stand) that does not exist and looks like a misspelt command (`status`)."""
    import os

    from blackboxai.argv import suggest

    if invocation.config == "":
        return "--config needs a file name, not an empty string"
    first = invocation.files[0] if invocation.files and not invocation.literal else ""
    meant = suggest(first)
    if meant is not None and not os.path.lexists(first):
        return f"no such file or command: {first!r} (did you mean {meant!r}?)"
    return None
