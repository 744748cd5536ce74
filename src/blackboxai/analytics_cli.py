"""`blackboxai analytics …`: see and change your choice; review and clear waiting events."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from blackboxai.analytics import Analytics
    from blackboxai.settings import Settings

__all__ = ["analytics_app"]

analytics_app = typer.Typer(
    help="Show and change your analytics choice; review what is waiting to be sent.",
)


@analytics_app.callback(invoke_without_command=True)
def _group(ctx: typer.Context) -> None:
    """Bare `blackboxai analytics` shows this help and succeeds: asking for help is no error."""
    if ctx.invoked_subcommand is None:
        typer.echo(ctx.get_help())
        raise typer.Exit(0)


JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


def _stored_text(analytics: Analytics) -> str:
    from blackboxai.analytics.status import stored_text

    return stored_text(analytics.state.stored.value)


def _state(ctx: typer.Context) -> tuple[Analytics, Settings]:
    obj = ctx.find_root().obj
    return obj.analytics, obj.settings


def _fail(message: str, code: int = 1) -> typer.Exit:
    typer.echo(f"blackboxai: {message}", err=True)
    return typer.Exit(code)


@analytics_app.command()
def status(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Whether this session would report and why, your anonymous id, and what is waiting."""
    from blackboxai.analytics.status import collect_status, render_status

    analytics, _ = _state(ctx)
    data = collect_status(analytics)
    typer.echo(json.dumps(data, indent=2) if as_json else render_status(data))


@analytics_app.command()
def on(ctx: typer.Context) -> None:
    """Opt in (the only way back after a permanent opt-out)."""
    analytics, settings = _state(ctx)
    if settings.analytics_disable:  # it was just stored again: turning on would not last
        raise _fail(
            f"analytics-disable is set by {settings.source('analytics-disable')}; "
            "remove it there first, then run `blackboxai analytics on`"
        )
    before = analytics.state.stored.value
    was = _stored_text(analytics)
    if not analytics.opt_in():
        raise _fail(f"could not turn analytics on: {analytics.last_error}")
    if before == "consented":
        typer.echo("Analytics were already on; nothing changed.")
    else:
        typer.echo(f"Analytics are on (was: {was}). Anonymous id: {analytics.state.uuid}")


@analytics_app.command()
def off(ctx: typer.Context) -> None:
    """Permanently opt out; events waiting to be sent are deleted."""
    analytics, _ = _state(ctx)
    before = analytics.state.stored.value
    waiting = analytics.pending_count()
    if not analytics.disable(permanently=True):
        raise _fail(f"could not turn analytics off: {analytics.last_error}")
    if before == "disabled" and not waiting:
        typer.echo("Analytics were already permanently disabled; nothing changed.")
    else:
        typer.echo(f"Analytics are permanently disabled. Deleted {waiting} waiting events.")


@analytics_app.command("reset-id")
def reset_id(ctx: typer.Context) -> None:
    """Start over with a new anonymous id; events waiting under the old one are deleted."""
    analytics, _ = _state(ctx)
    old = analytics.state.uuid
    waiting = analytics.pending_count()
    if not analytics.reset_id():
        raise _fail(f"could not reset the id: {analytics.last_error}")
    typer.echo(
        f"New anonymous id: {analytics.state.uuid} (was: {old or 'none'}). "
        f"Deleted {waiting} waiting events."
    )


@analytics_app.command()
def pending(
    ctx: typer.Context,
    clear: Annotated[bool, typer.Option("--clear", help="Delete every waiting event.")] = False,
) -> None:
    """List the events waiting to be sent, one JSON object a line, with the backends they await."""
    analytics, _ = _state(ctx)
    if clear:
        typer.echo(f"Deleted {analytics.clear_pending()} waiting events.")
        return
    count = 0
    for record in analytics.spool.records():
        typer.echo(json.dumps(record, sort_keys=True))
        count += 1
    typer.echo(f"{count} events waiting.", err=True)


@analytics_app.command()
def send(ctx: typer.Context) -> None:
    """Deliver waiting events now, in the foreground, if this session may report."""
    from blackboxai.analytics.upload import deliver

    analytics, _ = _state(ctx)
    decision = analytics.decision
    if decision is None or not decision.report:
        raise _fail(f"not sending: {decision.why if decision else 'no consent'}")
    if analytics.debug:  # the dry run holds here too: show, never send
        count = sum(1 for _ in analytics.spool.records())
        typer.echo(
            f"Dry run (analytics debug): {count} waiting events would be sent; nothing was sent."
        )
        return
    outcome = deliver(analytics.upload_config())
    if outcome.busy:
        raise _fail("another delivery is running; try again shortly")
    for name in sorted(set(outcome.sent) | set(outcome.errors) | set(outcome.kept)):
        line = f"{name}: sent {outcome.sent.get(name, 0)}"
        if name in outcome.errors:
            line += f", kept {outcome.kept.get(name, 0)} for later ({outcome.errors[name]})"
        typer.echo(line)
    if not (outcome.sent or outcome.errors):
        typer.echo("Nothing to send.")


@analytics_app.command()
def events(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Print the catalogue of every event blackboxai can record, with its properties."""
    from blackboxai.analytics.catalogue import load_catalogue, render_catalogue

    catalogue = load_catalogue()
    typer.echo(json.dumps(catalogue, indent=2) if as_json else render_catalogue(catalogue))


@analytics_app.command()
def report(
    ctx: typer.Context,
    logs: Annotated[
        list[Path] | None, typer.Argument(metavar="[LOG]...", show_default=False)
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Summarise audit logs (default: --analytics-log, else the sample) as tables and bars."""
    from blackboxai.analytics.report import render, summarise, to_json

    _, settings = _state(ctx)
    paths = list(logs or [])
    if not paths:
        if settings.analytics_log:
            paths = [Path(settings.analytics_log)]
        else:
            sample = Path(__file__).resolve().parents[2] / "sample-analytics.jsonl"
            if not sample.is_file():
                raise _fail("no log given: name one, or set --analytics-log", 2)
            paths = [sample]
    summary = summarise(paths)
    if as_json:
        typer.echo(json.dumps(to_json(summary), indent=2))
    else:
        from rich.console import Console

        render(summary, Console())
    if summary.missing_files and not summary.lines_read:
        raise typer.Exit(1)
