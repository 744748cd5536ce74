"""The `blackboxai` command: a session's command line takes the fast path; the rest goes to Typer.

It wires; it does not decide. The command line is read by argv.py (the common session
invocation, without importing Typer) or by the Typer app in commands.py (help, --version,
subcommands, mistakes); both end in startup.py, and a session's life is host.py's.
"""

from __future__ import annotations

import sys

from blackboxai.argv import parse
from blackboxai.startup import OptOutStored, start
from blackboxai.terminal import replace_unshowable, say, silence_stdout

__all__ = ["main"]


def main(prog_name: str | None = None) -> None:
    """Console entry point; the last line of defence against a traceback reaching the user."""
    replace_unshowable()
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
        say("\nAborted!")
        sys.exit(1)
    except BrokenPipeError:  # our reader went away: exit 1 quietly, as click does
        silence_stdout()
        sys.exit(1)
    except Exception as exc:
        say(f"blackboxai: unexpected error: {type(exc).__name__}: {exc}")
        sys.exit(1)
    sys.exit(code)
