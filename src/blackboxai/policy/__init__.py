"""The machine's policy: what an organisation decides about analytics, above every other source.

One file, `policy.yml` in the site config dirs (docs/policy.md). It sits below config/ (which
locks the options it sets, whatever a user or a project says) and analytics/ (which honours it
for any program that embeds `Analytics`): those two may not import each other, and both must read
this file the same way. A machine without a policy pays one stat() per site config directory.
"""

from __future__ import annotations

import os
import posixpath
import sys
from dataclasses import dataclass, field

from blackboxai.addresses import valid_name, without_credentials
from blackboxai.policy.keys import (
    HOSTED,
    HOSTED_OPTIONS,
    KEYS,
    Key,
    absolute,
    problem,
)
from blackboxai.terminal import shown

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy honours the name)
if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = [
    "HOSTED",
    "HOSTED_OPTIONS",
    "KEYS",
    "NO_POLICY",
    "POLICY_FILE",
    "Key",
    "Policy",
    "find_policy",
    "policy_dirs",
    "read_policy",
    "resolve_policy",
    "still_requires",
    "system_policy",
]

APP = "blackboxai"
POLICY_FILE = "policy.yml"


@dataclass(frozen=True)
class Policy:
    """What the policy file says, checked. `Policy()` (NO_POLICY) is a machine without one.

    `said`: each key as the file gives it (paths made absolute), in the file's order. `problem`:
    why the file could not be read, in one line naming it; analytics are then off, as the file
    may have said so. `machine`: this is what this machine's policy was when it was looked up
    (`system_policy`), which may change (an uploader looks it up again); not part of what it
    says, so not compared."""

    path: str | None = None
    said: Mapping[str, object] = field(default_factory=dict)
    problem: str | None = None
    machine: bool = field(default=False, compare=False)

    @property
    def exists(self) -> bool:
        return self.path is not None or self.problem is not None

    @property
    def where(self) -> str:
        """The file, for a message."""
        return shown(self.path) if self.path is not None else "the machine's policy"

    @property
    def off(self) -> str | None:
        """Why analytics are off on this machine ("turned off by /etc/xdg/blackboxai/policy.yml"),
        or None when the policy leaves them to each user."""
        if self.problem is not None:
            return f"turned off by {self.where}, which cannot be read"
        if self.said.get("analytics") is False:
            return f"turned off by {self.where}"
        return None

    @property
    def hosted(self) -> bool:
        """Whether PostHog and Mixpanel may be destinations at all."""
        return self.problem is None and self.said.get("analytics-hosted") is not False

    @property
    def log(self) -> str | None:
        """Where every session also writes its audit log (the organisation's own record)."""
        value = self.said.get("analytics-log") if self.problem is None else None
        return value if isinstance(value, str) else None

    @property
    def collector(self) -> tuple[str | None, str | None, str | None]:
        """The organisation's collector (endpoint, protocol, headers), or three Nones: what no
        user or project setting changes or removes."""
        if self.problem is not None or "analytics-otlp-endpoint" not in self.said:
            return None, None, None
        get = self.said.get
        values = (
            get("analytics-otlp-endpoint"),
            get("analytics-otlp-protocol"),
            get("analytics-otlp-headers"),
        )
        return tuple(v if isinstance(v, str) else None for v in values)  # type: ignore[return-value]

    @property
    def otlp_required(self) -> bool:
        """The organisation's collector receives the events whatever the user chose."""
        return self.problem is None and self.said.get("analytics-otlp-required") is True

    @property
    def locked(self) -> dict[str, tuple[object, str]]:
        """Option -> the value every source is overridden with (None: the option's default), and
        why, for a line to whoever tried to set it ("analytics are turned off by …")."""
        off = self.off
        if self.problem is not None:
            return {"analytics": (False, f"analytics are {off}")}
        locked: dict[str, tuple[object, str]] = {}
        if off is not None:
            locked["analytics"] = (False, f"analytics are {off}")
        if not self.hosted:
            why = f"PostHog and Mixpanel are turned off by {self.where}"
            locked.update({option: (None, why) for option in HOSTED_OPTIONS})
        for key, value in self.said.items():
            group = KEYS[key].group
            if group is None:
                continue
            why = f"{group} is set by {self.where}"
            for other, rule in KEYS.items():
                if rule.group == group:
                    locked.setdefault(other, (None, why))
            locked[key] = (value, why)
        return locked

    def public(self, key: str) -> object:
        """A key's value as anyone may see it: a secret never (`<set>`), nor the credentials
        in a URL."""
        value = self.said[key]
        if KEYS[key].secret:
            return "<set>"
        if KEYS[key].kind == "url" and isinstance(value, str):
            return without_credentials(value)
        return value

    def shown_value(self, key: str) -> str:
        """A key's value for `analytics status`: YAML's words, a secret never."""
        value = self.public(key)
        if isinstance(value, bool):
            return "true" if value else "false"
        return shown(value)


NO_POLICY = Policy()


def policy_dirs(app: str = APP) -> list[str]:
    """The site config dirs, most important first: platformdirs'
    `site_config_dir(app, appauthor=False, multipath=True)`.

    On Linux computed here by the XDG rule (each absolute entry of $XDG_CONFIG_DIRS, else
    /etc/xdg), which tests/test_policy.py checks against platformdirs: importing platformdirs
    costs a session's start-up about 5 ms (bench/README.md, 1e). Elsewhere, platformdirs."""
    if sys.platform == "linux" and not hasattr(sys, "getandroidapilevel"):
        if "ANDROID_DATA" not in os.environ:
            entries = os.environ.get("XDG_CONFIG_DIRS", "").split(":")
            dirs = [entry for entry in entries if posixpath.isabs(entry)] or ["/etc/xdg"]
            return [posixpath.join(entry, app) for entry in dirs]
    from platformdirs import site_config_dir

    return site_config_dir(app, appauthor=False, multipath=True).split(os.pathsep)


def find_policy(app: str = APP) -> str | None:
    """The policy file that counts: the first site config dir that has one (XDG orders them by
    importance). Anything by that name counts, so that one that cannot be read turns analytics
    off rather than being skipped."""
    for directory in policy_dirs(app):
        path = os.path.join(directory, POLICY_FILE)
        if os.path.lexists(path):
            return path
    return None


def system_policy(app: str = APP) -> Policy:
    """This machine's policy for `app`; never raises. Site dirs that cannot be listed at all
    (platformdirs failing) leave in doubt whether there is one: then analytics are off."""
    from dataclasses import replace

    try:
        found = find_policy(app)
    except Exception as exc:
        problem = f"the policy's place cannot be found ({type(exc).__name__})"
        return Policy(problem=problem, machine=True)
    return replace(NO_POLICY if found is None else read_policy(found), machine=True)


def resolve_policy(source: Policy | str | os.PathLike[str] | None) -> Policy:
    """The policy a program asked for (`Analytics(policy=...)`): None is this machine's, a path
    that file's, a Policy itself. Never raises: what cannot be told turns analytics off."""
    if isinstance(source, Policy):
        return source
    try:
        return system_policy() if source is None else read_policy(source)
    except Exception as exc:  # not a path at all (policy=3): in doubt, off
        return Policy(problem=f"the policy cannot be read ({type(exc).__name__})")


def still_requires(policy: Policy) -> bool:
    """Whether the organisation's collector is still required, read afresh from the policy's
    file (events recorded under the requirement go only while it holds); a Policy made in code
    (no file) answers for itself."""
    return (policy if policy.path is None else read_policy(policy.path)).otlp_required


def read_policy(path: str | os.PathLike[str]) -> Policy:
    """The policy in `path`, checked; never raises. A file that does not exist is no policy.
    Any other failure (not YAML, an unknown key, a wrong type, a wrong value) is a `problem`."""
    name = os.fspath(path)
    try:
        if not isinstance(name, str) or not valid_name(name):  # lexists() would say absent
            return Policy(problem=f"the policy file {shown(repr(name))} is not a valid file name")
        if not os.path.lexists(name):
            return NO_POLICY
        return _read(name)
    except Exception as exc:  # a bug, an odd file system: in doubt, analytics are off
        return Policy(
            name, problem=f"policy file {shown(name)} cannot be read ({type(exc).__name__})"
        )


def _read(name: str) -> Policy:
    from pathlib import Path

    from blackboxai.yamlfile import ConfigError, hashable, load_yaml

    try:
        data, lines = load_yaml(Path(name), "policy file")
    except ConfigError as exc:
        return Policy(name, problem=str(exc))
    if data is None:  # an empty file decides nothing
        return Policy(name)
    if not isinstance(data, dict):
        return Policy(name, problem=f"policy file {shown(name)}: expected a mapping of key: value")
    said: dict[str, object] = {}
    for key, value in data.items():
        wrong = problem(key, value)
        if wrong is not None:
            line = lines.get(hashable(key), ("?", []))[0]
            return Policy(name, problem=f"policy file {shown(name)}, line {line}: {wrong}")
        said[key] = absolute(value, name) if KEYS[key].kind == "path" else value
    if said.get("analytics") is False and said.get("analytics-otlp-required") is True:
        return Policy(
            name,
            problem=f"policy file {shown(name)}: analytics: false and "
            "analytics-otlp-required: true contradict each other",
        )
    if said.get("analytics-otlp-required") is True and "analytics-otlp-endpoint" not in said:
        return Policy(
            name,
            problem=f"policy file {shown(name)}: analytics-otlp-required: true needs the "
            "collector it requires (analytics-otlp-endpoint)",
        )
    return Policy(name, said)
