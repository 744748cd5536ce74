"""The `blackboxai` command: options, settings, analytics, session. It wires; it does not decide."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from blackboxai import __version__
from blackboxai.analytics import Analytics
from blackboxai.settings import Settings

__all__ = ["app", "main"]

FILES_KEY = "blackboxai.files"
ARGS_KEY = "blackboxai.args"  # what follows the root options: a subcommand and its arguments


class HostGroup(TyperGroup):
    """Root group: positionals are files to chat about, unless the first is a subcommand."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        first = self._first_positional(ctx, args)
        if first is None or first in self.commands:
            return super().parse_args(ctx, args)
        ctx.allow_interspersed_args = True  # options may come after the files
        rest = super(TyperGroup, self).parse_args(ctx, args)  # plain command parsing
        ctx.meta[FILES_KEY] = list(rest)
        ctx.args = []
        ctx._protected_args = []
        return []

    def _first_positional(self, ctx: Any, args: list[str]) -> str | None:
        """A side-effect-free trial parse that stops at the first positional argument."""
        try:
            _, positionals, _ = self.make_parser(ctx).parse_args(args=list(args))
        except Exception:
            return None  # let the real parse report the usage error
        return positionals[0] if positionals else None

    def invoke(self, ctx: Any) -> Any:
        ctx.meta[ARGS_KEY] = [*ctx._protected_args, *ctx.args]  # for root, before it runs
        return super().invoke(ctx)

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        return ["[OPTIONS]", "[FILES]...", "| COMMAND [ARGS]..."]


@dataclass
class AppState:
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
    "Analytics are opt-in and anonymous: see `blackboxai analytics --help`.",
)


def _version(value: bool) -> None:
    if value:
        print(f"blackboxai {__version__}")
        raise typer.Exit()


def fail(message: str, code: int = 2) -> typer.Exit:
    print(f"blackboxai: {message}", file=sys.stderr, flush=True)
    return typer.Exit(code)


Opt = typer.Option


@app.callback(invoke_without_command=True)
def root(
    ctx: typer.Context,
    analytics: Annotated[
        bool | None,
        Opt(
            "--analytics/--no-analytics",
            help="Report anonymous analytics in this session (if you opted in), or not.",
            show_default=False,
        ),
    ] = None,
    analytics_disable: Annotated[
        bool,
        Opt(
            "--analytics-disable",
            help="Permanently opt out of analytics; waiting events are deleted.",
        ),
    ] = False,
    analytics_log: Annotated[
        str | None,
        Opt(
            "--analytics-log",
            metavar="FILE",
            help="Append every analytics event to FILE as a JSON line (with --no-analytics too).",
        ),
    ] = None,
    analytics_debug: Annotated[
        bool,
        Opt(
            "--analytics-debug",
            help="Dry run: print each event as it would be sent, and send nothing.",
        ),
    ] = False,
    analytics_posthog_host: Annotated[
        str | None, Opt("--analytics-posthog-host", metavar="URL", help="PostHog host.")
    ] = None,
    analytics_posthog_project_api_key: Annotated[
        str | None,
        Opt("--analytics-posthog-project-api-key", metavar="KEY", help="PostHog project API key."),
    ] = None,
    analytics_mixpanel_token: Annotated[
        str | None,
        Opt(
            "--analytics-mixpanel-token",
            metavar="TOKEN",
            help="Mixpanel project token (Mixpanel is used only when set).",
        ),
    ] = None,
    analytics_mixpanel_host: Annotated[
        str | None,
        Opt(
            "--analytics-mixpanel-host",
            metavar="URL",
            help="Mixpanel base URL; events go to URL/track.",
        ),
    ] = None,
    model: Annotated[
        str | None,
        Opt(
            "--model",
            metavar="NAME",
            help="Model name for the chat endpoint.  [default: gpt-4o-mini]",
        ),
    ] = None,
    edit_format: Annotated[
        str | None,
        Opt(
            "--edit-format",
            metavar="whole|diff",
            help="How the model edits files.  [default: whole]",
        ),
    ] = None,
    openai_api_base: Annotated[
        str | None,
        Opt(
            "--openai-api-base",
            metavar="URL",
            help="OpenAI-compatible API base URL (or OPENAI_API_BASE).",
        ),
    ] = None,
    openai_api_key: Annotated[
        str | None,
        Opt(
            "--openai-api-key", metavar="KEY", help="API key for that endpoint (or OPENAI_API_KEY)."
        ),
    ] = None,
    file: Annotated[
        list[str] | None, Opt("--file", metavar="PATH", help="Add a file to the chat (repeatable).")
    ] = None,
    message: Annotated[
        str | None,
        Opt("--message", "-m", metavar="TEXT", help="Send one message, apply the reply, and exit."),
    ] = None,
    config: Annotated[
        Path | None,
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
    cli_values: dict[str, Any] = {
        "analytics": analytics,
        "analytics-disable": analytics_disable or None,
        "analytics-log": analytics_log,
        "analytics-debug": analytics_debug or None,
        "analytics-posthog-host": analytics_posthog_host,
        "analytics-posthog-project-api-key": analytics_posthog_project_api_key,
        "analytics-mixpanel-token": analytics_mixpanel_token,
        "analytics-mixpanel-host": analytics_mixpanel_host,
        "model": model,
        "edit-format": edit_format,
        "openai-api-base": openai_api_base,
        "openai-api-key": openai_api_key,
        "file": file or None,
    }
    from blackboxai.host import StartError, decide, prepare, run, wants_opt_out

    opt_out = analytics_disable or wants_opt_out(ctx.meta.get(ARGS_KEY, []))
    try:
        settings, tracker = prepare(cli_values, config=config, opt_out=opt_out)
    except StartError as exc:
        if exc.message:
            raise fail(exc.message, exc.code) from None
        raise typer.Exit(exc.code) from None
    ctx.obj = AppState(settings, tracker)
    if ctx.invoked_subcommand is not None:
        decide(tracker, settings)
        ctx.call_on_close(tracker.close)
        return
    code = run(
        settings, tracker, files=ctx.meta.get(FILES_KEY, []), message=message, exit_now=exit_
    )
    raise typer.Exit(code)


def _attach_commands() -> None:
    from blackboxai.analytics_cli import analytics_app

    app.add_typer(analytics_app, name="analytics")


_attach_commands()


def main(prog_name: str | None = None) -> None:
    """Console entry point; the last line of defence against a traceback reaching the user."""
    try:
        app(prog_name=prog_name or "blackboxai")
    except Exception as exc:
        print(f"blackboxai: unexpected error: {type(exc).__name__}: {exc}", file=sys.stderr)
        sys.exit(1)
