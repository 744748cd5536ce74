"""What the machine's policy locks: it wins over every source, and whoever tried is told.

The policy (`blackboxai.policy`) is read before the user's files and applied after every source,
so defaults < YAML files < --config < variables < the command line < the policy. An option it
locks that a user's or a project's source set to something else gets one line naming the
policy file, and the session runs on: the organisation decided, and nothing here is an error.
"""

from __future__ import annotations

from blackboxai.config.options import DEFAULTS, OPTIONS, env_name
from blackboxai.policy import Policy
from blackboxai.terminal import shown

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["lock", "unreadable"]


def unreadable(policy: Policy) -> list[str]:
    """The one line for a policy that cannot be read: analytics are off, as it may have said."""
    if policy.problem is None:
        return []
    return [f"blackboxai: {policy.problem}; analytics are off in this run (it may have said so)"]


def lock(policy: Policy, values: dict[str, Any], sources: dict[str, str]) -> list[str]:
    """Give every option the policy locks its value (None: the option's default), with the policy
    as its source; one line for each reason a source that set one otherwise now has no effect."""
    tried: dict[str, list[str]] = {}  # why -> the sources that tried, named
    source = policy.path if policy.path is not None else "the machine's policy"
    for option, (value, why) in policy.locked.items():
        if option not in OPTIONS:  # a key for an option this release does not have
            continue
        locked = DEFAULTS[option] if value is None else value
        if option in values and values[option] != locked:
            tried.setdefault(why, []).append(_who(option, sources.get(option), values[option]))
        values[option], sources[option] = locked, source
    lines = []
    for why, who in tried.items():
        named = who[0] if len(who) == 1 else ", ".join(who[:-1]) + " and " + who[-1]
        lines.append(f"blackboxai: {named} {'has' if len(who) == 1 else 'have'} no effect: {why}")
    return lines


def _who(option: str, source: str | None, value: object) -> str:
    """The source that set an option, for a message: a flag, a variable, or the key in a file."""
    if source is None or source.startswith("--"):
        return source or f"--{option}"
    if source in (env_name(option), OPTIONS[option].env_alias):
        return source
    said = f"{option}: {'true' if value else 'false'}" if isinstance(value, bool) else option
    return f"{said} in {shown(source)}"
