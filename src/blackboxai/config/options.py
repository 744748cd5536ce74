"""Every option once: its type, default, help and who may set it; `Settings` is their typed record.

A new option is one field of `Settings` (with `option(...)`) and one Typer parameter in
`commands.py`; the loader, the fast command-line parser, the environment variable and the
project-file rules all read this registry. Cheap to import: it sits on every session's path.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, fields

from blackboxai.policy import NO_POLICY, Policy
from blackboxai.terminal import shown

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy honours the name)
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

__all__ = [
    "COMMANDS",
    "CONFIG_NAME",
    "DEFAULTS",
    "EDIT_FORMATS",
    "OPTIONS",
    "Kind",
    "Settings",
    "Spec",
    "Trust",
    "env_name",
    "ident",
]

CONFIG_NAME = ".blackboxai.conf.yml"
EDIT_FORMATS = ("whole", "diff")
# The subcommands, by group; the fast parser and the misspelt-command check need their names
# without building the Typer app (a test checks that this matches the app).
COMMANDS: dict[str, tuple[str, ...]] = {
    "analytics": ("status", "on", "off", "reset-id", "pending", "send", "events", "report"),
}


class Kind(enum.Enum):
    """How a value is written in YAML and in a variable, and how it is checked."""

    BOOL = "bool"
    STR = "str"
    URL = "url"  # an http:// or https:// address
    CHOICE = "choice"  # a string from Spec.choices
    PATH = "path"  # a file name; `~` and relative paths are resolved (see settings.py)
    PATHS = "paths"  # a list of file names (one path in YAML, os.pathsep-separated in a variable)


class Trust(enum.Enum):
    """What a project's config file (git root or current directory) may do with the option.

    The user's own sources (~/.blackboxai.conf.yml, --config, the environment, the command line)
    may always set it: a cloned repository is not the user.
    """

    ANY = "any"  # e.g. the model: harmless either way
    PRIVATE = "private"  # only Spec.private, the value that reports less, counts
    INSIDE = "inside"  # paths count only when they resolve inside the checkout
    USER = "user"  # destinations, keys and the audit log: never from a project file


@dataclass(frozen=True)
class Spec:
    """The registry entry of one option (kept in its `Settings` field's metadata)."""

    kind: Kind
    trust: Trust
    help: str
    metavar: str | None = None
    private: bool | None = None  # Trust.PRIVATE: the value a project file may set
    choices: tuple[str, ...] = ()
    env_alias: str | None = None  # an older, widely used variable, below BLACKBOXAI_*
    negatable: bool = False  # --NAME/--no-NAME: a tri-state flag (None: not given)


def option(default: object, spec: Spec) -> Any:
    """A `Settings` field that is an option (the other fields record where values came from)."""
    return field(default=default, metadata={"spec": spec})


@dataclass(frozen=True)
class Settings:
    """One session's settings, merged from every source (settings.load_settings)."""

    analytics: bool | None = option(
        None,
        Spec(
            Kind.BOOL,
            Trust.PRIVATE,
            "Report anonymous analytics in this session (if you opted in), or not.",
            private=False,
            negatable=True,
        ),
    )
    analytics_disable: bool = option(
        False,
        Spec(
            Kind.BOOL,
            Trust.PRIVATE,
            "Permanently opt out of analytics; waiting events are deleted.",
            private=True,
        ),
    )
    analytics_log: str | None = option(
        None,
        Spec(
            Kind.PATH,
            Trust.USER,  # a checkout must not start a record of the user's id in a tracked file
            "Append every analytics event to FILE as a JSON line (with --no-analytics too).",
            "FILE",
        ),
    )
    analytics_debug: bool = option(
        False,
        Spec(
            Kind.BOOL,
            Trust.PRIVATE,
            "Dry run: print each event as it would be sent, and send nothing.",
            private=True,
        ),
    )
    analytics_posthog_host: str | None = option(
        None,
        Spec(Kind.STR, Trust.USER, "PostHog host.  [default: https://us.i.posthog.com]", "URL"),
    )
    analytics_posthog_project_api_key: str | None = option(
        None,
        Spec(
            Kind.STR, Trust.USER, "PostHog project API key (PostHog is used only when set).", "KEY"
        ),
    )
    analytics_mixpanel_token: str | None = option(
        None,
        Spec(
            Kind.STR,
            Trust.USER,
            "Mixpanel project token (Mixpanel is used only when set).",
            "TOKEN",
        ),
    )
    analytics_mixpanel_host: str | None = option(
        None,
        Spec(
            Kind.STR,
            Trust.USER,
            "Mixpanel base URL; events go to URL/import.  [default: https://api.mixpanel.com]",
            "URL",
        ),
    )
    analytics_otlp_endpoint: str | None = option(
        None,
        Spec(
            Kind.URL,
            Trust.USER,
            "Your team's OpenTelemetry collector (OTLP/HTTP base URL, e.g. "
            "https://otel.example.com:4318): what you agreed to send also goes there, as log "
            "records and usage metrics.",
            "URL",
        ),
    )
    analytics_otlp_protocol: str | None = option(
        None,
        Spec(
            Kind.CHOICE,
            Trust.USER,
            "How events reach that collector.  [default: http/protobuf]",
            "http/protobuf|http/json",
            choices=("http/protobuf", "http/json"),
        ),
    )
    analytics_otlp_headers: str | None = option(
        None,
        Spec(
            Kind.STR,
            Trust.USER,
            "Headers for that collector, as OTLP writes them: name=value,name=value "
            "(an authorization token, say).",
            "HEADERS",
        ),
    )
    model: str = option(
        "gpt-4o-mini", Spec(Kind.STR, Trust.ANY, "Model name for the chat endpoint.", "NAME")
    )
    edit_format: str = option(
        "whole",
        Spec(
            Kind.CHOICE,
            Trust.ANY,
            "How the model edits files: whole files, or search/replace blocks.",
            "whole|diff",
            choices=EDIT_FORMATS,
        ),
    )
    openai_api_base: str | None = option(
        None,
        Spec(
            Kind.STR,
            Trust.USER,
            "OpenAI-compatible API base URL (or OPENAI_API_BASE).",
            "URL",
            env_alias="OPENAI_API_BASE",
        ),
    )
    openai_api_key: str | None = option(
        None,
        Spec(
            Kind.STR,
            Trust.USER,
            "API key for that endpoint (or OPENAI_API_KEY).",
            "KEY",
            env_alias="OPENAI_API_KEY",
        ),
    )
    file: tuple[str, ...] = option(
        (), Spec(Kind.PATHS, Trust.INSIDE, "Add a file to the chat (repeatable).", "PATH")
    )
    # Where each option's value came from (a file, a variable, a flag) and what was ignored.
    sources: Mapping[str, str] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    # The machine's policy, read first: what it locks wins over every source above.
    policy: Policy = NO_POLICY

    def source(self, option: str) -> str:
        """Where the value came from, for a message: a file (control characters escaped: a
        project's directory name is the project's to choose), a variable, or the flag itself."""
        return shown(self.sources.get(option, f"--{option}"))

    def locked(self, option: str) -> str | None:
        """Why the machine's policy decides this option, whoever sets it; None when it doesn't."""
        lock = self.policy.locked.get(option)
        return None if lock is None else lock[1]


def ident(option: str) -> str:
    """The `Settings` attribute (and Typer parameter) of an option: dashes as underscores."""
    return option.replace("-", "_")


def env_name(option: str) -> str:
    return "BLACKBOXAI_" + ident(option).upper()


# Option name (as on the command line, without --) -> its entry, in declaration order.
OPTIONS: dict[str, Spec] = {
    f.name.replace("_", "-"): f.metadata["spec"] for f in fields(Settings) if "spec" in f.metadata
}
DEFAULTS: dict[str, object] = {
    f.name.replace("_", "-"): f.default for f in fields(Settings) if "spec" in f.metadata
}
