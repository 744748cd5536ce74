"""Addresses a user or a policy gives: whether a value is a web address we can send to, or a
name the system can take as a file name, and how to show a web address without the credentials
it may hold. Pure, and below everything that reads settings (config/, the policy, a team's
collector), so that each checks and shows them alike."""

from __future__ import annotations

import os

__all__ = ["valid_name", "web_address", "without_credentials"]


def valid_name(name: str) -> bool:
    """Whether the system can take `name` as a file name at all: no NUL byte, and encodable
    (a lone surrogate written in YAML is not; undecodable bytes from the command line are)."""
    if "\0" in name:
        return False
    try:
        os.fsencode(name)
    except UnicodeError:
        return False
    return True


def web_address(value: str) -> bool:
    """An http:// or https:// URL with a host, and a port that is a port (0-65535) if it has
    one: anything else would fail every delivery, so it is refused when it is given."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(value.strip())
        parts.port  # noqa: B018  # raises for a port that is no port (99999, "abc")
    except ValueError:  # an unbalanced [ in the host, or that port
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def without_credentials(url: str) -> str:
    """A URL as shown to anyone (a message, status, the audit log): the user name and password
    in it (`https://user:pass@host`, which the request sends as Basic auth) read `<set>`, as a
    header does; anything else is left as it is."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    end = min((i for i in map(rest.find, "/?#") if i >= 0), default=len(rest))
    at = rest.rfind("@", 0, end)
    return url if at < 0 else f"{scheme}://<set>@{rest[at + 1 :]}"
