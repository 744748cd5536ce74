"""The one place that decides whether a session reports and whether to ask: a pure function."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = [
    "CI_VARIABLES",
    "Decision",
    "Stored",
    "decide",
    "do_not_track",
    "in_ci",
    "may_send",
]

# Environment variables that mean "this is a CI job": nobody is there to answer a question.
CI_VARIABLES = (
    "CI",
    "CONTINUOUS_INTEGRATION",
    "GITHUB_ACTIONS",
    "GITLAB_CI",
    "BUILDKITE",
    "CIRCLECI",
    "TRAVIS",
    "TF_BUILD",
    "JENKINS_URL",
    "TEAMCITY_VERSION",
    "BITBUCKET_BUILD_NUMBER",
    "CODEBUILD_BUILD_ID",
    "DRONE",
)


class Stored(enum.Enum):
    """What the state file says, reduced to what matters for consent."""

    FRESH = "fresh"  # no state yet
    NOT_ASKED = "not-asked"  # state exists, the question was never answered
    CONSENTED = "consented"
    DISABLED = "disabled"  # permanently opted out
    ODD = "odd"  # unreadable or malformed: treated as no consent, never overwritten with one


@dataclass(frozen=True)
class Decision:
    """Whether this session reports, whether to ask first, and the rule that decided."""

    report: bool
    ask: bool
    why: str
    note: str | None = None  # one line to show the user, e.g. a flag that had no effect
    review: bool = False  # show what the catalogue added since the user agreed, and ask once


def _falsy(value: str | None) -> bool:
    return value is None or value.strip().lower() in ("", "0", "false", "no", "off")


def do_not_track(env: Mapping[str, str]) -> bool:
    """DO_NOT_TRACK set to anything but empty or 0 (the consoledonottrack.com convention)."""
    value = env.get("DO_NOT_TRACK")
    return value is not None and value.strip() not in ("", "0")


def in_ci(env: Mapping[str, str]) -> bool:
    """True when any well-known CI variable is set to something truthy."""
    return any(not _falsy(env.get(name)) for name in CI_VARIABLES)


def decide(
    stored: Stored,
    flag: bool | None,
    *,
    flag_source: str = "--analytics",
    dnt: bool = False,
    ci: bool = False,
    tty: bool = False,
    unseen: bool = False,
    policy: str | None = None,
) -> Decision:
    """Decide from plain values; every path that can stop reporting comes before any that allows it.

    `flag` is the session's analytics setting (None: not given, True: `--analytics`,
    False: `--no-analytics`), and `flag_source` names where it came from. `unseen`: the events
    catalogue has entries newer than the version the user agreed to. `policy`: why the
    machine's policy turns analytics off ("turned off by /etc/xdg/blackboxai/policy.yml"), or
    None when it leaves them to the user; nothing the user has stored or says can undo it.
    """
    if policy is not None:
        note = f"{flag_source} has no effect: analytics are {policy}." if flag is True else None
        return Decision(False, False, policy, note)
    if stored is Stored.ODD:
        return Decision(False, False, "the analytics state file could not be read")
    if stored is Stored.DISABLED:
        note = None
        if flag is True:
            note = (
                f"{flag_source} has no effect: analytics are permanently disabled "
                "(run `blackboxai analytics on` to undo that)."
            )
        return Decision(False, False, "analytics are permanently disabled", note)
    if flag is False:
        return Decision(False, False, f"turned off for this session by {flag_source}")
    if dnt:
        note = f"{flag_source} has no effect while DO_NOT_TRACK is set." if flag else None
        return Decision(False, False, "DO_NOT_TRACK is set", note)
    if stored in (Stored.FRESH, Stored.NOT_ASKED):
        if not tty:
            return Decision(False, False, "not opted in yet (no terminal to ask on)")
        if ci:  # a CI job has nobody to answer, even when it has a terminal
            return Decision(False, False, "not opted in yet (never asked in CI)")
        return Decision(False, True, "not opted in yet")
    # Stored consent from here on.
    if ci and flag is not True:
        return Decision(False, False, f"running in CI without {flag_source}")
    # What the catalogue added since the user agreed is shown where someone can answer.
    review = unseen and tty and not ci
    if flag is True:
        return Decision(True, False, f"opted in, and turned on by {flag_source}", review=review)
    return Decision(True, False, "opted in", review=review)


def may_send(
    stored: Stored, uuid: str | None, generation: int, record: Mapping[str, object]
) -> bool:
    """Whether a recorded event may leave now: consent is stored, and has been continuously since
    the event was recorded (same anonymous id, same consent generation)."""
    return (
        stored is Stored.CONSENTED
        and uuid is not None
        and record.get("user_id") == uuid
        and record.get("gen", 0) == generation
    )
