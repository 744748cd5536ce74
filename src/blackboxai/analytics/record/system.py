"""The few facts about the machine that every event carries; computed once, without `platform`."""

from __future__ import annotations

import os
import sys
from functools import cache

__all__ = ["system_properties"]


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
