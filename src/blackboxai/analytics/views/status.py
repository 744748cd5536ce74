"""What `analytics status` and `/analytics` show: the setting and the rule that decided it.

The uploader's record of its last run is read back, checked and bounded by `lastrun.py`.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from blackboxai.analytics.views.health import destination_health, health_lines
from blackboxai.analytics.views.lastrun import last_delivery
from blackboxai.terminal import shown

if TYPE_CHECKING:
    from blackboxai.analytics.core import Analytics
    from blackboxai.policy import Policy

__all__ = [
    "collect_status",
    "deleted_text",
    "delivery_text",
    "outcome_lines",
    "policy_text",
    "refused_text",
    "render_status",
    "stored_text",
]

_STORED_TEXT = {
    "fresh": "not answered yet",
    "not-asked": "not answered yet",
    "consented": "opted in",
    "disabled": "permanently disabled",
    "odd": "unreadable",
}


def stored_text(stored: str) -> str:
    """The stored choice in words a user reads."""
    return _STORED_TEXT.get(stored, stored)


def collect_status(analytics: Analytics) -> dict[str, Any]:
    """Plain data; reads files but writes nothing (status never creates an id)."""
    from blackboxai.analytics.consent.catalogue import catalogue_version

    decision = analytics.decision
    state = analytics.state
    hosts = {dest.name: dest.where for dest in analytics.destinations}
    consented = state.stored.value == "consented"
    return {
        "would_report": bool(decision and decision.report and analytics.destinations),
        "why": _why(analytics),
        "stored": state.stored.value,
        "state_problem": state.problem,
        "held_by_marker": state.marker,  # the opt-out is analytics.disabled's alone, for now
        "uuid": state.uuid,
        "state_file": str(analytics.state_path),
        "catalogue": {
            "current": catalogue_version(),
            "agreed": state.catalogue_version if consented else None,
            "unseen": [item.name for item in analytics.unseen_items()],
            "declined": list(state.declined) if consented else [],
        },
        "backends": {
            name: ({"host": hosts[name]} if name in hosts else None)
            for name in ("posthog", "mixpanel")
        },
        "collector": _collector(analytics),
        "destinations": destination_health(_where(analytics), analytics.destinations),
        "pending": analytics.pending_count(),
        "dropped": analytics.spool.dropped(),
        "last_delivery": last_delivery(analytics),
        "debug": analytics.debug,
        "policy": _policy(analytics.policy),
    }


def _policy(policy: Policy) -> dict[str, Any] | None:
    """What the machine's policy decided, for status (None: this machine has none)."""
    if not policy.exists:
        return None
    return {
        "file": policy.path,
        "problem": policy.problem,  # it cannot be read: analytics are off
        "said": {key: policy.public(key) for key in policy.said},
        "analytics_off": policy.off,  # why analytics are off on this machine, or None
        "hosted": policy.hosted,
        "log": policy.log,
        "otlp_required": policy.otlp_required,
        "locked": sorted(policy.locked),  # the options no user or project setting changes
    }


def _collector(analytics: Analytics) -> dict[str, str | None] | None:
    """The team collector's URLs and protocol (never its headers), or None."""
    found = [d for d in analytics.destinations if d.name.startswith("otlp-")]
    if not found:
        return None
    protocol = found[0].option("protocol") or ""
    # The policy's collector, when it receives every event whatever the user chose: its file.
    required = analytics.policy.where if analytics.routes.required_by_policy else None
    return {**{d.name[5:]: d.where for d in found}, "protocol": protocol, "required_by": required}


def _where(analytics: Analytics) -> Path | None:
    try:
        return analytics.data_dir
    except LookupError:
        return None


def _why(analytics: Analytics) -> str:
    """The rule that decided; consent with nowhere to send is no reporting either."""
    decision = analytics.decision
    if decision is None:
        return "not decided"
    if decision.report and not analytics.destinations and not analytics.policy.hosted:
        return (
            f"{decision.why}, but PostHog and Mixpanel are turned off by {analytics.policy.where}"
        )
    if decision.report and not analytics.destinations:
        return f"{decision.why}, but no analytics backend is configured"
    return decision.why


def _events(n: int) -> str:
    return f"{n} event{'' if n == 1 else 's'}"


def _older(n: int) -> str:
    return f"{n} older one{'' if n == 1 else 's'}"


_MAX_LINE = 800  # characters of the one-line summary
# Why events were deleted unsent: the outcome's count, and what it means.
_DELETED = {
    "expired": "expired (not delivered within {days} days of being recorded)",
    "future": "dated more than {days} days in the future (a clock was wrong, then or now)",
    "discarded": "recorded before consent changed (an opt-out, a new id or a clear)",
    "old_format": "recorded by an older release that did not say where to send them",
    "malformed": "unreadable",
}


def deleted_text(last: dict[str, Any]) -> str:
    """How many waiting events a run deleted without sending them, and why; "" for none."""
    from blackboxai.analytics.defaults import EVENT_MAX_AGE_DAYS

    parts = [
        f"{last[key]} {why.format(days=EVENT_MAX_AGE_DAYS)}"
        for key, why in _DELETED.items()
        if last.get(key)
    ]
    return "; ".join(parts)


def outcome_lines(last: dict[str, Any]) -> list[str]:
    """What a run did, for `analytics send`: per service what was sent, refused as invalid and
    kept (and why); what was deleted unsent and why; what went wrong with the run itself."""
    names = {n for key in ("sent", "rejected", "kept", "errors") for n in last.get(key, {})}
    lines = []
    for name in sorted(names):
        line = f"{name}: sent {last.get('sent', {}).get(name, 0)}"
        rejected = last.get("rejected", {}).get(name, 0)
        line += f", rejected {rejected}" + (" as invalid (deleted)" if rejected else "")
        line += f", kept {last.get('kept', {}).get(name, 0)} for later"
        if name in last.get("errors", {}):
            line += f" ({last['errors'][name]})"
        lines.append(line)
    if last.get("waiting"):
        lines.append(f"Waiting: {_events(last['waiting'])} kept for a later delivery.")
    if deleted_text(last):
        lines.append(f"Deleted unsent: {deleted_text(last)}.")
    lines += [f"Moved aside: {note}." for note in last.get("set_aside", [])]
    lines += [f"Delivery failed: {note}." for note in last.get("failures", [])]
    return lines


def delivery_text(last: dict[str, Any] | None) -> str:
    """The last delivery in one line: per service what it took, refused as invalid and kept
    (and why); what was deleted unsent; what went wrong with the run itself."""
    if not last:
        return "none yet"
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(last.get("time", 0)))
    sent, kept = last.get("sent", {}), last.get("kept", {})
    errors, rejected = last.get("errors", {}), last.get("rejected", {})
    parts = [f"{name} sent {n}" for name, n in sorted(sent.items())]
    parts += [f"{name} refused {n} as invalid" for name, n in sorted(rejected.items())]
    for name in sorted(set(kept) | set(errors)):
        part = f"{name} kept {kept.get(name, 0)} for later"
        parts.append(part + (f" ({errors[name]})" if name in errors else ""))
    if deleted_text(last):
        parts.append(f"deleted unsent: {deleted_text(last)}")
    parts += [f"moved aside {note}" for note in last.get("set_aside", [])]
    parts += [f"the run failed: {note}" for note in last.get("failures", [])]
    return shown(f"{when}: " + (", ".join(parts) if parts else "nothing to send"), _MAX_LINE)


# Where new events get their key or token, per service (a collector's credentials are headers).
_OPTIONS = {
    "posthog": ("key", "analytics-posthog-project-api-key"),
    "mixpanel": ("token", "analytics-mixpanel-token"),
    "otlp-logs": ("authorization header", "analytics-otlp-headers"),
    "otlp-metrics": ("authorization header", "analytics-otlp-headers"),
}


def refused_text(last: dict[str, Any] | None) -> list[str]:
    """One line per service whose key or token was refused at the last delivery. Events carry
    the key they were recorded with, so fixing the setting helps new events only."""
    from blackboxai.analytics.defaults import EVENT_MAX_AGE_DAYS

    lines = []
    for name, why in sorted((last or {}).get("refused", {}).items()):
        word, option = _OPTIONS.get(name, ("key", "its key option"))
        lines.append(
            f"{name} {why}: events recorded with that {word} wait until they expire "
            f"({EVENT_MAX_AGE_DAYS} days) or `blackboxai analytics pending --clear`; "
            f"new events take theirs from {option}"
        )
    return lines


def policy_text(p: dict[str, Any]) -> str:
    """The machine's policy in one line: its file and each thing it decided, as written there."""
    if p["problem"]:
        return f"{shown(p['problem'])}; analytics are off (it may have said so)"
    said = p["said"]
    decided = [f"{key}: {_yaml(value)}" for key, value in said.items()]
    return f"{shown(p['file'])}: " + ("; ".join(decided) if decided else "decides nothing")


def _yaml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return shown(value)


def _catalogue_text(c: dict[str, Any]) -> str:
    if c["agreed"] is None:
        return f"version {c['current']} (you have not agreed to any)"
    text = f"you agreed to version {c['agreed']} of {c['current']}"
    if c["unseen"]:
        text += f"; withheld until you answer: {', '.join(c['unseen'])}"
    if c["declined"]:
        text += f"; never sent (you said no): {', '.join(c['declined'])}"
    return text


def _collector_text(c: dict[str, str | None] | None) -> str:
    if c is None:
        return "not configured (a team's own: set analytics-otlp-endpoint)"
    text = f"logs to {c.get('logs', '-')}, metrics to {c.get('metrics', '-')} ({c['protocol']})"
    if c.get("required_by"):
        text += f"; every event, whatever you chose, required by {c['required_by']}"
    return text


def render_status(s: dict[str, Any]) -> str:
    stored = stored_text(s["stored"])
    if s["state_problem"]:
        stored += f" ({s['state_problem']})"
    if s.get("held_by_marker"):
        stored += " (held by analytics.disabled until analytics.json can be written)"
    posthog, mixpanel = s["backends"]["posthog"], s["backends"]["mixpanel"]
    policy = s.get("policy")
    hosted_off = None
    if policy is not None and not policy["hosted"]:
        hosted_off = f"turned off by {shown(policy['file'] or 'the policy')}"
        hosted_off += "" if policy["problem"] else " (analytics-hosted: false)"
    lines = [
        f"Reporting:     {'yes' if s['would_report'] else 'no'} ({s['why']})",
        f"Stored choice: {stored}",
        f"Anonymous id:  {s['uuid'] or 'none (one is made when you opt in)'}",
        f"State file:    {s['state_file']}",
        f"Catalogue:     {_catalogue_text(s['catalogue'])}",
        "PostHog:       "
        + (
            posthog["host"]
            if posthog
            else hosted_off
            or "not configured (no project API key: set analytics-posthog-project-api-key, "
            "BLACKBOXAI_ANALYTICS_POSTHOG_PROJECT_API_KEY or --analytics-posthog-project-api-key)"
        ),
        f"Mixpanel:      {mixpanel['host'] if mixpanel else hosted_off or 'not configured'}",
        f"Collector:     {_collector_text(s['collector'])}",
        f"Waiting:       {_events(s['pending'])}"
        + (f" ({_older(s['dropped'])} dropped: the queue was full)" if s["dropped"] else ""),
        f"Last delivery: {delivery_text(s['last_delivery'])}",
    ]
    lines += [f"Refused:       {line}" for line in refused_text(s["last_delivery"])]
    for i, line in enumerate(health_lines(s["destinations"])):
        lines.append(f"{'Destinations:' if i == 0 else ''}{' ' * (15 if i else 2)}{line}")
    if policy is not None:
        lines.append(f"Policy:        {policy_text(policy)}")
    if s["debug"]:
        lines.append("Debug:         on (dry run: events are printed, nothing is sent)")
    return "\n".join(lines)
