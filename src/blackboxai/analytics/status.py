"""What `analytics status` and `/analytics` show: the setting and the rule that decided it."""

from __future__ import annotations

import contextlib
import json
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from blackboxai.analytics.core import Analytics

__all__ = [
    "collect_status",
    "delivery_text",
    "last_delivery",
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
    from blackboxai.analytics.catalogue import catalogue_version

    decision = analytics.decision
    state = analytics.state
    hosts = {backend.name: backend.host for backend in analytics.destinations}
    consented = state.stored.value == "consented"
    return {
        "would_report": bool(decision and decision.report and analytics.destinations),
        "why": _why(analytics),
        "stored": state.stored.value,
        "state_problem": state.problem,
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
        "pending": analytics.pending_count(),
        "dropped": analytics.spool.dropped(),
        "last_delivery": last_delivery(analytics),
        "debug": analytics.debug,
    }


def _why(analytics: Analytics) -> str:
    """The rule that decided; consent with nowhere to send is no reporting either."""
    decision = analytics.decision
    if decision is None:
        return "not decided"
    if decision.report and not analytics.destinations:
        return f"{decision.why}, but no analytics backend is configured"
    return decision.why


def last_delivery(analytics: Analytics) -> dict[str, Any] | None:
    """What the uploader recorded about its latest run; None unless it is well-formed."""
    from blackboxai.analytics.fileops import read_regular

    with contextlib.suppress(OSError, ValueError, RecursionError):
        last = json.loads(read_regular(analytics.data_dir / "upload.last.json", 1 << 20))
        if _well_formed(last):
            return dict(last)
    return None


def _counts(value: object, kind: type) -> bool:
    return isinstance(value, dict) and all(
        isinstance(k, str) and type(v) is kind for k, v in value.items()
    )


def _well_formed(last: object) -> bool:
    """A file anyone could have edited: check every field we read before trusting it."""
    if not isinstance(last, dict):
        return False
    when = last.get("time")
    if isinstance(when, bool) or not isinstance(when, (int, float)) or not 0 <= when < 2**40:
        return False
    tallies = [last.get(k, {}) for k in ("sent", "kept", "rejected")]
    notes = [last.get(k, {}) for k in ("errors", "refused")]
    numbers = [last.get(k, 0) for k in ("discarded", "expired")]
    return (
        all(_counts(t, int) for t in tallies)
        and all(_counts(n, str) for n in notes)
        and all(type(n) is int and n >= 0 for n in numbers)
    )


def delivery_text(last: dict[str, Any] | None) -> str:
    if not last:
        return "none yet"
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(last.get("time", 0)))
    parts = [f"{name} sent {n}" for name, n in sorted(last.get("sent", {}).items())]
    parts += [f"{name} failed ({why})" for name, why in sorted(last.get("errors", {}).items())]
    rejected = sorted(last.get("rejected", {}).items())
    parts += [f"{name} refused {n} as invalid" for name, n in rejected]
    kept = sum(last.get("kept", {}).values())
    if kept:
        parts.append(f"{kept} kept for later")
    if last.get("expired"):
        parts.append(f"{last['expired']} expired unsent")
    if last.get("discarded"):
        parts.append(f"{last['discarded']} deleted unsent (consent changed)")
    return f"{when}: " + (", ".join(parts) if parts else "nothing to send")


# How to fix a refused key or token, and how to name a destination, per service.
_OPTIONS = {
    "posthog": "analytics-posthog-project-api-key",
    "mixpanel": "analytics-mixpanel-token",
}


def refused_text(last: dict[str, Any] | None) -> list[str]:
    """One line per service whose key or token was refused at the last delivery."""
    refused = (last or {}).get("refused", {})
    return [
        f"{name} {why}: check {_OPTIONS.get(name, 'its key')} (events wait meanwhile)"
        for name, why in sorted(refused.items())
    ]


def _catalogue_text(c: dict[str, Any]) -> str:
    if c["agreed"] is None:
        return f"version {c['current']} (you have not agreed to any)"
    text = f"you agreed to version {c['agreed']} of {c['current']}"
    if c["unseen"]:
        text += f"; withheld until you answer: {', '.join(c['unseen'])}"
    if c["declined"]:
        text += f"; never sent (you said no): {', '.join(c['declined'])}"
    return text


def render_status(s: dict[str, Any]) -> str:
    stored = stored_text(s["stored"])
    if s["state_problem"]:
        stored += f" ({s['state_problem']})"
    posthog, mixpanel = s["backends"]["posthog"], s["backends"]["mixpanel"]
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
            else "not configured (no project API key: set analytics-posthog-project-api-key, "
            "BLACKBOXAI_ANALYTICS_POSTHOG_PROJECT_API_KEY or --analytics-posthog-project-api-key)"
        ),
        f"Mixpanel:      {mixpanel['host'] if mixpanel else 'not configured'}",
        f"Waiting:       {s['pending']} event{'' if s['pending'] == 1 else 's'}"
        + (f" ({s['dropped']} older ones dropped: the queue was full)" if s["dropped"] else ""),
        f"Last delivery: {delivery_text(s['last_delivery'])}",
    ]
    lines += [f"Refused:       {line}" for line in refused_text(s["last_delivery"])]
    if s["debug"]:
        lines.append("Debug:         on (dry run: events are printed, nothing is sent)")
    return "\n".join(lines)
