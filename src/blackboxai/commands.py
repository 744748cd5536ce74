"""The Typer command tree: the root command (options and FILES) and `blackboxai analytics …`.

Built only when the fast parser (argv.py) declines a command line: help, --version, the
subcommands and every mistake. The session itself starts in `cli.start`, from either path.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperGroup

from blackboxai import __version__
from blackboxai.argv import from_params
from blackboxai.config.options import DEFAULTS, OPTIONS
from blackboxai.startup import OptOutStored, begin, start

if TYPE_CHECKING:
    from blackboxai.analytics import Analytics
    from blackboxai.config.settings import Settings

__all__ = ["AppState", "HostGroup", "app"]

FILES_KEY = "blackboxai.files"
ARGS_KEY = "blackboxai.args"  # what follows the root options: a subcommand and its arguments


class HostGroup(TyperGroup):
    """Root group: positionals are files to chat about, unless the first names a subcommand.

    Only public click API (parse_args, invoke, make_parser, ctx.invoke, ctx.meta), so it works
    with click 8.1 to 8.5 and with the click that typer vendors since 0.26.
    """

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        first = self._first_positional(ctx, args)
        # A name after `--` is a file to chat about, even one that names a command.
        command = first in self.commands and not self._after_double_dash(ctx, args)
        if first is None or command:
            rest: list[str] = super().parse_args(ctx, args)  # what follows the subcommand
            if first is not None:
                ctx.meta[ARGS_KEY] = [first, *rest]
            return rest
        ctx.allow_interspersed_args = True  # options may come after the files
        rest = super().parse_args(ctx, args)  # the group set `first` aside as a command name
        ctx.meta[FILES_KEY] = [first, *rest]
        return rest

    def _first_positional(self, ctx: Any, args: list[str]) -> str | None:
        """A side-effect-free trial parse that stops at the first positional argument."""
        try:
            _, positionals, _ = self.make_parser(ctx).parse_args(args=list(args))
        except Exception:
            return None  # let the real parse report the usage error
        return positionals[0] if positionals else None

    def _after_double_dash(self, ctx: Any, args: list[str]) -> bool:
        """Whether the first positional comes after a `--`: nothing positional before it."""
        return "--" in args and self._first_positional(ctx, args[: args.index("--")]) is None

    def invoke(self, ctx: Any) -> Any:
        if FILES_KEY in ctx.meta:  # a session with files: the root callback, no subcommand
            with ctx:
                return ctx.invoke(self.callback, **ctx.params)
        return super().invoke(ctx)

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        return ["[OPTIONS]", "[FILES]...", "| COMMAND [ARGS]..."]

    def format_help(self, ctx: Any, formatter: Any) -> None:
        """The root's help; an option that the machine's policy decides says so, and why."""
        from blackboxai.policy import system_policy

        locked = system_policy().locked
        params: list[Any] = self.get_params(ctx)  # options have a help text; the rest, none
        amended = [
            (param, param.help, locked[(param.name or "").replace("_", "-")][1])
            for param in params
            if (param.name or "").replace("_", "-") in locked and hasattr(param, "help")
        ]
        for param, text, why in amended:
            param.help = f"{text or ''}  [set by policy: {why}]"
        try:
            super().format_help(ctx, formatter)
        finally:  # the app is built once per process: leave it as it was
            for param, text, _ in amended:
                param.help = text


@dataclass
class AppState:
    """What a subcommand finds on the root context's `obj`."""

    settings: Settings
    analytics: Analytics


app = typer.Typer(
    cls=HostGroup,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    rich_markup_mode=None,
    help="blackboxai: a command-line coding assistant.\n\n"
    "Run `blackboxai [FILES]...` to chat about files, or one of the commands below. "
    "Each option can also be set in a .blackboxai.conf.yml file (in your home directory, or "
    "a project's, which can only make things more private) or a BLACKBOXAI_* variable. "
    "Analytics are opt-in and anonymous: see `blackboxai analytics --help`.",
)


def opt(name: str) -> Any:
    """The Typer option of a registry entry: its flag(s), metavar, help and shown default.

    The parameter's own default is None (or False): "not given", so that files and variables
    below the command line still count; the shown default is the registry's.
    """
    spec = OPTIONS[name]
    default = DEFAULTS[name]
    shown = f"  [default: {default}]" if isinstance(default, str) else ""
    return typer.Option(
        f"--{name}/--no-{name}" if spec.negatable else f"--{name}",
        metavar=spec.metavar,
        help=spec.help + shown,
        show_default=False,
    )


def _version(value: bool) -> None:
    if value:
        print(f"blackboxai {__version__}")
        raise typer.Exit()


Opt = typer.Option


@app.callback(invoke_without_command=True)
def root(
    ctx: typer.Context,
    analytics: Annotated[bool | None, opt("analytics")] = None,
    analytics_disable: Annotated[bool, opt("analytics-disable")] = False,
    analytics_log: Annotated[str | None, opt("analytics-log")] = None,
    analytics_debug: Annotated[bool, opt("analytics-debug")] = False,
    analytics_posthog_host: Annotated[str | None, opt("analytics-posthog-host")] = None,
    analytics_posthog_project_api_key: Annotated[
        str | None, opt("analytics-posthog-project-api-key")
    ] = None,
    analytics_mixpanel_token: Annotated[str | None, opt("analytics-mixpanel-token")] = None,
    analytics_mixpanel_host: Annotated[str | None, opt("analytics-mixpanel-host")] = None,
    analytics_otlp_endpoint: Annotated[str | None, opt("analytics-otlp-endpoint")] = None,
    analytics_otlp_protocol: Annotated[str | None, opt("analytics-otlp-protocol")] = None,
    analytics_otlp_headers: Annotated[str | None, opt("analytics-otlp-headers")] = None,
    model: Annotated[str | None, opt("model")] = None,
    edit_format: Annotated[str | None, opt("edit-format")] = None,
    openai_api_base: Annotated[str | None, opt("openai-api-base")] = None,
    openai_api_key: Annotated[str | None, opt("openai-api-key")] = None,
    file: Annotated[list[str] | None, opt("file")] = None,
    message: Annotated[
        str | None,
        Opt("--message", "-m", metavar="TEXT", help="Send one message, apply the reply, and exit."),
    ] = None,
    config: Annotated[
        str | None,
        Opt(
            "--config",
            "-c",
            metavar="FILE",
            help="Read settings from this YAML file too (above any .blackboxai.conf.yml).",
        ),
    ] = None,
    exit_: Annotated[
        bool, Opt("--exit", help="Do all start-up work, then exit 0 without waiting for input.")
    ] = False,
    version: Annotated[
        bool, Opt("--version", callback=_version, is_eager=True, help="Show the version and exit.")
    ] = False,
) -> None:
    """The parameters declare the options for Typer; their values are read back from
    `ctx.params` by `from_params`, the same Invocation the fast path builds from argv."""
    invocation = from_params(ctx.params, ctx.meta.get(FILES_KEY, ()))
    stored = isinstance(ctx.obj, OptOutStored) and bool(ctx.obj)  # by main(), before parsing
    if ctx.invoked_subcommand is None:
        raise typer.Exit(start(invocation, stored=stored))
    from blackboxai.host import decide, wants_opt_out
    from blackboxai.terminal import say

    # --exit and --message run a session: before a command they would be silently dropped.
    # (An opt-out on the same line was stored by main() already: no mistake blocks it.)
    session_only = [
        f
        for f, given in (
            ("--exit", invocation.exit_now),
            ("--message", invocation.message is not None),
        )
        if given
    ]
    if session_only:
        say(
            f"blackboxai: {session_only[0]} starts a session; it cannot go before the command "
            f"{ctx.invoked_subcommand!r} (only settings such as --no-analytics can)"
        )
        raise typer.Exit(2)

    asked = invocation.values.get("analytics-disable") is True
    opt_out = (asked or wants_opt_out(ctx.meta.get(ARGS_KEY, []))) and not stored
    begun = begin(invocation, opt_out=opt_out, session=False, tried=stored)
    if isinstance(begun, int):
        raise typer.Exit(begun)
    settings, tracker = begun
    ctx.obj = AppState(settings, tracker)
    decide(tracker, settings)
    ctx.call_on_close(tracker.close)


def _attach_commands() -> None:
    from blackboxai.analytics_cli import analytics_app

    app.add_typer(
        analytics_app,
        name="analytics",
        short_help="See or change your analytics choice; review waiting events.",
    )


_attach_commands()
