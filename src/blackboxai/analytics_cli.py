"""`blackboxai analytics …`: see and change your choice; review and clear waiting events."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from blackboxai.analytics import Analytics
    from blackboxai.config.settings import Settings

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


_SEND_LOCK_WAIT = 5.0  # seconds `analytics send` waits for a running uploader

JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


def _state(ctx: typer.Context) -> tuple[Analytics, Settings]:
    obj = ctx.find_root().obj
    return obj.analytics, obj.settings


def _waiting(count: int) -> str:
    return f"{count} waiting event{'' if count == 1 else 's'}"


def _events(count: int) -> str:
    return f"{count} event{'' if count == 1 else 's'}"


def _fail(message: str, code: int = 1) -> typer.Exit:
    typer.echo(f"blackboxai: {message}", err=True)
    return typer.Exit(code)


@analytics_app.command()
def status(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Whether this session would report and why, your anonymous id, and what is waiting."""
    from blackboxai.analytics.views.status import collect_status, render_status

    analytics, _ = _state(ctx)
    data = collect_status(analytics)
    typer.echo(json.dumps(data, indent=2) if as_json else render_status(data))


@analytics_app.command()
def on(ctx: typer.Context) -> None:
    """Opt in to the current events catalogue (the only way back after a permanent opt-out)."""
    analytics, settings = _state(ctx)
    if analytics.policy.off is not None:  # nothing can turn them on, nor store a consent for later
        raise _fail(f"analytics on has no effect: analytics are {analytics.policy.off}")
    if settings.analytics_disable:  # it was just stored again: turning on would not last
        raise _fail(
            f"analytics-disable is set by {settings.source('analytics-disable')}; "
            "remove it there first, then run `blackboxai analytics on`"
        )
    from blackboxai.analytics.consent.catalogue import new_items
    from blackboxai.analytics.views.status import stored_text

    odd = analytics.state.stored.value == "odd"  # an unusable file is replaced whole
    if not analytics.opt_in():
        raise _fail(f"could not turn analytics on: {analytics.last_error}")
    # What this opt-in changed: the state read under the lock, not the one read at start-up
    # (thirty `analytics on` at once: only one of them turned analytics on).
    found = analytics.replaced
    before = "odd" if odd or found is None else found.stored.value
    was = stored_text(before)
    # What on agreed to that was not agreed before: new catalogue entries, and any declined.
    news = found is not None and bool(
        found.declined or new_items(found.catalogue_version, (), analytics.catalogue)
    )
    if before == "consented" and news:
        typer.echo("Analytics were already on; you now agree to the current events catalogue.")
    elif before == "consented":
        typer.echo("Analytics were already on, for the whole current events catalogue.")
    else:
        typer.echo(f"Analytics are on (was: {was}). Anonymous id: {analytics.state.uuid}")
    decision = analytics.decision
    if decision is not None and not decision.report:  # e.g. DO_NOT_TRACK: stored, but not now
        typer.echo(f"Nothing is sent while this holds: {decision.why}.", err=True)


@analytics_app.command()
def off(ctx: typer.Context) -> None:
    """Permanently opt out; events waiting to be sent are deleted."""
    # Start-up stored the opt-out before reading any setting, and said on stderr in one line
    # how that went (choice.apply_disable): a broken setting can never block it, and nothing
    # is said twice, not even the events it could not delete. Here: only the exit status.
    analytics, _ = _state(ctx)
    if analytics.state.stored.value != "disabled" or analytics.pending_count(by_policy=False):
        raise typer.Exit(1)


@analytics_app.command("reset-id")
def reset_id(ctx: typer.Context) -> None:
    """Start over with a new anonymous id; events waiting under the old one are deleted."""
    analytics, _ = _state(ctx)
    old = analytics.state.uuid
    waiting = analytics.pending_count(by_policy=False)
    if not analytics.reset_id():
        raise _fail(f"could not reset the id: {analytics.last_error}")
    if old is None:
        typer.echo("No anonymous id to reset: one is made only when you opt in.")
        return
    typer.echo(
        f"New anonymous id: {analytics.state.uuid} (was: {old}). Deleted {_waiting(waiting)}."
    )


@analytics_app.command()
def pending(
    ctx: typer.Context,
    clear: Annotated[bool, typer.Option("--clear", help="Delete every waiting event.")] = False,
) -> None:
    """List the events waiting to be sent, one JSON object a line, with the backends they await."""
    analytics, _ = _state(ctx)
    if clear:
        deleted = analytics.clear_pending()
        if analytics.last_error:
            raise _fail(f"could not clear everything: {analytics.last_error}")
        left = analytics.pending_count(by_policy=False)
        if left:
            raise _fail(f"{_waiting(left)} could not be deleted")
        typer.echo(f"Deleted {_waiting(deleted)}.")
        return
    count = 0
    for record in analytics.spool.records():
        typer.echo(json.dumps(record, sort_keys=True))
        count += 1
    typer.echo(f"{_events(count)} waiting.", err=True)


@analytics_app.command()
def send(ctx: typer.Context) -> None:
    """Deliver waiting events now, in the foreground, if this session may report (or the
    machine's policy requires its collector)."""
    from dataclasses import asdict

    from blackboxai.analytics.delivery.run import deliver
    from blackboxai.analytics.views.status import outcome_lines

    analytics, _ = _state(ctx)
    decision = analytics.decision
    required = analytics.routes.required_by_policy  # its events go whatever the user chose
    if (decision is None or not decision.report) and not required:
        raise _fail(f"not sending: {decision.why if decision else 'no consent'}")
    if analytics.debug:  # the dry run holds here too: show, never send
        count = analytics.pending_count()
        typer.echo(f"Dry run (analytics debug): {_events(count)} would be sent; nothing was sent.")
        return
    # In the foreground, wait only briefly for a background run to finish its batch.
    # (What waits for a service the machine's policy turned off stays unsent.)
    outcome = deliver(analytics.upload_config(lock_wait=_SEND_LOCK_WAIT))
    if outcome.busy:
        raise _fail("another delivery is running; try again shortly")
    lines = outcome_lines(asdict(outcome))
    for line in lines or ["Nothing to send."]:
        typer.echo(line)
    if not outcome.complete:
        raise typer.Exit(1)  # some events had to be kept, or the run failed: a script should know


@analytics_app.command()
def events(
    ctx: typer.Context,
    new: Annotated[
        bool, typer.Option("--new", help="Only what you have not agreed to (and why).")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Print the catalogue of every event blackboxai can record, with its properties."""
    from blackboxai.analytics.consent.catalogue import load_catalogue, render_catalogue

    if new:
        analytics, _ = _state(ctx)
        listing = _not_agreed(analytics)
        if as_json:
            typer.echo(json.dumps(listing, indent=2))
        elif not listing:
            typer.echo("Nothing: you have agreed to everything in the current catalogue.")
        for entry in [] if as_json else listing:
            typer.echo(f"{entry['item']} ({entry['why']}): {entry['description']}")
        return
    catalogue = load_catalogue()
    typer.echo(json.dumps(catalogue, indent=2) if as_json else render_catalogue(catalogue))


def _not_agreed(analytics: Analytics) -> list[dict[str, str]]:
    """Catalogue items the user has not agreed to: all of them before an opt-in, or after an
    opt-out (which says so: that user did answer)."""
    from blackboxai.analytics.consent.catalogue import catalogue_items

    items = catalogue_items()
    stored = analytics.state.stored.value
    if stored != "consented":
        why = "you opted out" if stored == "disabled" else "not opted in"
        return [{"item": i.name, "why": why, "description": i.description} for i in items.values()]
    listing = [
        {"item": i.name, "why": "new since you agreed", "description": i.description}
        for i in analytics.unseen_items()
    ]
    listing += [
        {"item": name, "why": "you said no", "description": items[name].description}
        for name in analytics.state.declined
        if name in items
    ]
    return listing


@analytics_app.command()
def report(
    ctx: typer.Context,
    logs: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="[LOG]...",
            show_default=False,
            help="Audit logs (JSON lines); - reads standard input. Default: --analytics-log.",
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Summarise audit logs as tables and bars: events, models, commands, exits, errors."""
    from blackboxai.analytics.record.auditlog import shown_path
    from blackboxai.analytics.views.report import summarise
    from blackboxai.analytics.views.reportview import render, to_json

    _, settings = _state(ctx)
    paths = list(logs or [])
    if not paths and settings.analytics_log:
        paths = [settings.analytics_log]
    if not paths:
        raise _fail(
            "no log to summarise: name one (a file written with --analytics-log FILE, "
            "the repository's sample-analytics.jsonl, or - for standard input)",
            2,
        )
    summary = summarise(paths)
    for missing in summary.missing_files:  # one line each, with the reason (the report names none)
        why = summary.reasons.get(missing, "it cannot be read")
        typer.echo(f"blackboxai: cannot read {shown_path(missing)}: {why}", err=True)
    if as_json:
        typer.echo(json.dumps(to_json(summary), indent=2))
    else:
        from rich.console import Console

        render(summary, Console())
    if summary.missing_files and not summary.lines_read:
        raise typer.Exit(1)
