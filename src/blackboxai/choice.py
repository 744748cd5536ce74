"""A session's analytics choice: a requested opt-out first, the questions where the rules say
someone can answer them, one line for anything the user should know, then enable().

The rules themselves are `analytics.consent.decide`, applied by `Analytics`; this module only
talks to the user. Every notice goes to stderr, so stdout stays the program's own (and JSON).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence

from blackboxai.analytics import Analytics
from blackboxai.analytics.consent.rules import Decision, Stored
from blackboxai.analytics.fileops import atomic_write
from blackboxai.config.settings import Settings
from blackboxai.terminal import say

__all__ = ["OPTED_OUT", "apply_disable", "decide", "resolve_consent"]

NOTICE_FILE = "policy.notice"  # the last notice of a policy's collector, as said
OPTED_OUT = "Analytics are now permanently disabled; nothing will be sent."
ALREADY = "Analytics are permanently disabled; nothing will be sent."

Ask = Callable[[str | None], bool | None]  # the team collector a yes also covers, if any
AskNew = Callable[[Sequence[str]], bool | None]


def decide(analytics: Analytics, settings: Settings, *, tty: bool | None = None) -> Decision:
    """The consent rules for this session's analytics setting, naming where it came from."""
    return analytics.decide(settings.analytics, tty=tty, flag_source=settings.source("analytics"))


def apply_disable(analytics: Analytics, *, confirm: bool = False) -> int | None:
    """Store a permanent opt-out and say, in one line, what it changed (with `confirm`, also
    when nothing changed: `analytics off` always answers); an exit status if it could not be
    stored at all. Events it could not delete are never sent: their consent has ended."""
    was_disabled = analytics.state.stored is Stored.DISABLED and not analytics.state.marker
    waiting = analytics.pending_count(by_policy=False)
    if not analytics.disable(permanently=True):  # the command then stops: nothing else runs
        say(f"blackboxai: could not disable analytics: {analytics.last_error}")
        return 1
    left = analytics.pending_count(by_policy=False)
    deleted = waiting - left
    held = analytics.state.marker  # analytics.json could not be written: say which, and why
    why = analytics.last_error  # that, and events left waiting (a lock another process holds)
    if left and "could not be deleted" not in (why or ""):  # files that would not go
        gone = f"{left} event{'' if left == 1 else 's'} could not be deleted"
        why = "; ".join(filter(None, (why, f"{gone}, and will never be sent")))
    if was_disabled and not (deleted or why or confirm):
        return None  # nothing changed, and nobody asked
    line = ALREADY if was_disabled else OPTED_OUT
    if deleted:
        line += f" Deleted {deleted} waiting event{'' if deleted == 1 else 's'}."
    if held:
        why = f"{why}; {analytics.store.marker_path} keeps the opt-out until it can be"
    if why:
        line += f" ({why}.)"
    if analytics.routes.required_by_policy:  # not "nothing will be sent": say what still is
        line = line.replace("; nothing will be sent.", ".", 1) + _still_sent(analytics)
    say(line)
    return None


def _still_sent(analytics: Analytics) -> str:
    """What an opt-out does not stop: the collector the machine's policy requires."""
    if not analytics.routes.required_by_policy:
        return ""
    return (
        f" This machine's policy ({analytics.policy.where}) still sends usage events, without an"
        f" id, to your organisation's collector at {collector_host(analytics)}; nothing else"
        " is sent."
    )


def resolve_consent(
    analytics: Analytics,
    settings: Settings,
    *,
    ask: Ask,
    ask_new: AskNew,
    tty: bool | None = None,
) -> None:
    """Apply the rules, ask where they say so, store the answers, then enable(): the
    Analytics object itself decides whether this session reports."""
    decision = decide(analytics, settings, tty=tty)
    if decision.note:
        say(decision.note)
    required = analytics.routes.required_by_policy
    if required and _interactive(tty):  # a notice, once, instead of the question
        _tell_required(analytics)
    if decision.ask and not required:
        _store(analytics, ask(collector_host(analytics)))
    elif decision.review:
        answer = ask_new([item.description for item in analytics.unseen_items()])
        if answer is not None and not analytics.review_catalogue(answer):
            say(f"blackboxai: could not store your answer: {analytics.last_error}")
    analytics.enable()
    if analytics.debug:
        _debug_lines(analytics)


def collector_host(analytics: Analytics) -> str | None:
    """The host of the team collector this run's events also go to, shown plainly; or None."""
    from urllib.parse import urlsplit

    from blackboxai.terminal import shown

    for dest in analytics.destinations:
        if dest.name.startswith("otlp-"):
            where = urlsplit(dest.host).netloc.rpartition("@")[2]  # never a user name or password
            return shown(where or dest.where, 80)
    return None


def _interactive(tty: bool | None) -> bool:
    """Where the question would be asked: a terminal, and not CI."""
    import os
    import sys

    from blackboxai.analytics.consent.rules import in_ci

    if tty is None:
        tty = sys.stdin.isatty() and sys.stdout.isatty()
    return tty and not in_ci(os.environ)


def _tell_required(analytics: Analytics) -> None:
    """Once per machine policy (remembered in the data directory, where its events wait): the
    organisation's collector receives the events whatever the user chooses. Instead of the
    question: `blackboxai analytics on` is how to share with the other destinations too."""
    line = (
        f"blackboxai: this machine's policy ({analytics.policy.where}) sends blackboxai's usage "
        f"events, without an id, to your organisation's collector at {collector_host(analytics)}, "
        "whatever you choose about analytics (`blackboxai analytics status` shows it)."
    )
    try:
        told = analytics.data_dir / NOTICE_FILE
        if told.read_text(encoding="utf-8", errors="replace") == line:
            return
    except (LookupError, OSError):
        pass
    say(line)
    with contextlib.suppress(LookupError, OSError):
        analytics.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        atomic_write(analytics.data_dir / NOTICE_FILE, line.encode())


def _store(analytics: Analytics, answer: bool | None) -> None:
    if answer is None:  # Ctrl-C or EOF: nothing stored, asked again next time
        return
    stored = analytics.opt_in() if answer else analytics.disable(permanently=True)
    if not stored:
        say(f"blackboxai: could not store your answer: {analytics.last_error}")
    elif answer:
        say("Thank you. Turn analytics off any time with `blackboxai analytics off`.")
    else:
        say(
            "Analytics are off for good. `blackboxai analytics on` changes that."
            + _still_sent(analytics)
        )


def _debug_lines(analytics: Analytics) -> None:
    from blackboxai.analytics.views.lastrun import last_delivery
    from blackboxai.analytics.views.status import collect_status, delivery_text

    status = collect_status(analytics)
    verdict = "yes" if status["would_report"] else "no"
    say(f"analytics debug: reporting: {verdict} ({status['why']})")
    if analytics.state.problem:
        say(f"analytics debug: state file {analytics.state_path}: {analytics.state.problem}")
    say(f"analytics debug: last delivery: {delivery_text(last_delivery(analytics))}")
