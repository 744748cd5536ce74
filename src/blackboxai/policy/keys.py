"""What a policy may say: each key, what it takes and what it locks, and how a value is checked.

Pure: no file is read here (the policy package reads the file and builds a Policy from it).
"""

from __future__ import annotations

import os

from blackboxai.addresses import valid_name, web_address

__all__ = [
    "COLLECTOR",
    "HOSTED",
    "HOSTED_OPTIONS",
    "KEYS",
    "Key",
    "absolute",
    "problem",
]

HOSTED = ("posthog", "mixpanel")  # the hosted services `analytics-hosted: false` turns off
# The options that choose them: without effect under `analytics-hosted: false`.
HOSTED_OPTIONS = (
    "analytics-posthog-host",
    "analytics-posthog-project-api-key",
    "analytics-mixpanel-token",
    "analytics-mixpanel-host",
)


class Key:
    """What one policy key takes. `group`, a phrase naming what its keys set together ("the
    OpenTelemetry collector"): the key locks the option of its own name, and with it every
    option of the same group, to the policy's value or the option's default (a collector's
    endpoint, protocol and headers go together: a user's own headers must never reach the
    organisation's endpoint, nor the reverse). A plain class: a dataclass costs every start-up
    about a millisecond to build."""

    __slots__ = ("choices", "group", "kind", "only", "secret")

    def __init__(
        self,
        kind: str,  # "bool", "str", "url" (http:// or https://) or "path"
        *,
        only: bool | None = None,  # the one value a policy may give (a bool key)
        group: str | None = None,
        secret: bool = False,  # never shown: a header can hold a token
        choices: tuple[str, ...] = (),  # the values a str key may take (none: any)
    ) -> None:
        self.kind, self.only, self.group, self.secret = kind, only, group, secret
        self.choices = choices


COLLECTOR = "the OpenTelemetry collector"


# Every key a policy may hold. `analytics` and a `group` key lock the option of the same name
# (config/options.py: tests/test_policy.py checks that they are options of the same kind).
KEYS: dict[str, Key] = {
    "analytics": Key("bool", only=False),
    "analytics-hosted": Key("bool"),
    "analytics-log": Key("path"),
    "analytics-otlp-endpoint": Key("url", group=COLLECTOR),
    "analytics-otlp-protocol": Key("str", group=COLLECTOR, choices=("http/protobuf", "http/json")),
    "analytics-otlp-headers": Key("str", group=COLLECTOR, secret=True),
    "analytics-otlp-required": Key("bool"),
}


def problem(key: object, value: object) -> str | None:
    """What is wrong with one entry, in words ("unknown key 'analytcs' (...)"), or None."""
    from blackboxai.yamlfile import describe

    if not isinstance(key, str) or key not in KEYS:
        return f"unknown key {describe(key)} (a policy can set {', '.join(KEYS)})"
    rule = KEYS[key]
    if rule.kind == "bool":
        if not isinstance(value, bool):
            return f"{key} must be true or false, not {describe(value)}"
        if rule.only is not None and value is not rule.only:
            only = "true" if rule.only else "false"
            return f"{key} can only be {only} in a policy (leave it out to let each user choose)"
        return None
    if not isinstance(value, str):
        return f"{key} must be a string, not {describe(value)}"
    if not value:
        return f"{key} must not be empty"
    if rule.choices and value not in rule.choices:
        return f"{key} must be one of {', '.join(rule.choices)}, not {describe(value)}"
    if rule.kind == "url" and not web_address(value):
        return f"{key} must be an http:// or https:// address, not {describe(value)}"
    if rule.kind == "path" and not valid_name(value):
        return f"{key} names {describe(value)}, which is not a valid file name"
    return None


def absolute(value: object, policy_file: str) -> object:
    """A path in the policy: `~` is the home of whoever runs blackboxai (each user their own
    log), a relative one starts at the policy file's directory, as in a config file."""
    if not isinstance(value, str):
        return value
    if value == "~" or value.startswith(("~/", "~" + os.sep)):
        value = os.path.expanduser(value)
    return os.path.join(os.path.dirname(os.path.abspath(policy_file)), value)
