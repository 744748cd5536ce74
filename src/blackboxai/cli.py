"""The `blackboxai` command: a session's command line takes the fast path; the rest goes to Typer.

It wires; it does not decide. Settings, consent and the session live in host.py; the command
line is read by argv.py (the common session invocation, without importing Typer) or by the
Typer app in commands.py (help, --version, subcommands, mistakes). Both end in `start()`.
"""

from __future__ import annotations

import sys

from blackboxai.argv import Invocation, parse

TYPE_CHECKING = False
if TYPE_CHECKING:
    from blackboxai.analytics import Analytics
    from blackboxai.settings import Settings

__all__ = ["OptOutStored", "begin", "main", "start"]


class OptOutStored(int):
    """Passed to the Typer app as `ctx.obj`: whether main() already stored an opt-out."""


def main(prog_name: str | None = None) -> None:
    """Console entry point; the last line of defence against a traceback reaching the user."""
    args = sys.argv[1:]
    try:
        invocation = parse(args)
        if invocation is None:
            from blackboxai.commands import app
            from blackboxai.host import asks_off, asks_opt_out, store_opt_out

            early = asks_opt_out(args)
            if early:  # before click can refuse a mistake beside it; it says how that went
                store_opt_out(confirm=asks_off(args))
            # obj tells the root callback the opt-out was already stored (or tried): not twice
            app(args=args, prog_name=prog_name or "blackboxai", obj=OptOutStored(early))
            return
        code = start(invocation)
    except KeyboardInterrupt:  # as click reports it on the Typer path
        print("\nAborted!", file=sys.stderr)
        sys.exit(1)
    except BrokenPipeError:  # our reader went away: exit 1 quietly, as click does
        _silence_stdout()
        sys.exit(1)
    except Exception as exc:
        print(f"blackboxai: unexpected error: {type(exc).__name__}: {exc}", file=sys.stderr)
        sys.exit(1)
    sys.exit(code)


def start(invocation: Invocation, *, stored: bool = False) -> int:
    """A whole session from its command line; its exit status. `stored`: main() has already
    stored the opt-out this command line asks for."""
    from blackboxai.host import run

    asked = invocation.values.get("analytics-disable") is True
    begun = begin(invocation, opt_out=asked and not stored)
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
    invocation: Invocation, *, opt_out: bool, session: bool = True
) -> tuple[Settings, Analytics] | int:
    """Settings and analytics, or an exit status when the session cannot go on. A subcommand
    (`session=False`) records no events, so it opens no audit log.

    A mistake on the command line stops before anything is read or opened, except that an
    opt-out asked for on it is stored first: no other mistake ever blocks an opt-out.
    """
    from pathlib import Path

    from blackboxai.host import StartError, prepare

    mistake = _mistake(invocation)
    if mistake is not None and not opt_out:
        say(mistake)
        return 2
    config = Path(invocation.config) if invocation.config else None
    try:
        settings, tracker = prepare(
            dict(invocation.values), config=config, opt_out=opt_out, session=session
        )
    except StartError as exc:
        if exc.message:
            say(exc.message)
        return exc.code
    if mistake is not None:
        tracker.close()
        say(mistake)
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


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush cannot fail again."""
    import contextlib
    import os

    with contextlib.suppress(OSError, ValueError):
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def say(message: str) -> None:
    print(f"blackboxai: {message}", file=sys.stderr, flush=True)
