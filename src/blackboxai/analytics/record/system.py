"""The facts every event carries: the machine's, computed once without `platform`, and the run's
own session id, made with each Analytics object."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from functools import cache

from blackboxai.analytics.record.encoding import encode

__all__ = ["RunFacts", "run_facts", "system_properties"]


@cache
def system_properties() -> dict[str, str]:
    from blackboxai import __version__

    if hasattr(os, "uname"):
        uname = os.uname()
        system, release, machine = uname.sysname, uname.release, uname.machine
    else:  # pragma: no cover - Windows
        import platform

        system, release, machine = platform.system(), platform.release(), platform.machine()
    return {
        "python_version": "{}.{}.{}".format(*sys.version_info[:3]),
        "os_platform": system,
        "os_release": release,
        "machine": machine,
        "blackboxai_version": __version__,
    }


@dataclass(frozen=True)
class RunFacts:
    """The properties every event of one run carries, and the same as JSON (the inside of an
    object and its closing brace), serialised once: a line splices it after the caller's."""

    properties: dict[str, str]
    json: str


def run_facts(session_id: str) -> RunFacts:
    """The machine's facts and this run's session id (a random id, new for each run: it tells
    one session's events from the next, and links them to nothing else)."""
    properties = {**system_properties(), "session_id": session_id}
    return RunFacts(properties, encode(properties)[1:])
