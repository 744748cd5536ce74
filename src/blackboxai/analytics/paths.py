"""Where analytics state lives: platformdirs' user data dir for blackboxai.

On Linux, in the common case, the directory is computed here by the same XDG rule that
platformdirs applies (`tests/analytics/test_paths.py` checks the two agree): importing
platformdirs costs a CLI start-up about 5 ms (bench/README.md, 1e). Anything else asks
platformdirs itself."""

from __future__ import annotations

import os
import posixpath
import sys
from pathlib import Path

TYPE_CHECKING = False  # avoids importing typing at runtime; mypy treats the name as True
if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["default_data_dir", "locate_data_dir"]

APP = "blackboxai"


def _xdg_rule(env: Mapping[str, str]) -> str | None:
    """platformdirs' user data dir on Linux, where every version we allow agrees on it: an
    absolute $XDG_DATA_HOME, else an absolute $HOME's .local/share. None: ask platformdirs."""
    if sys.platform != "linux" or hasattr(sys, "getandroidapilevel") or "ANDROID_DATA" in env:
        return None
    xdg = env.get("XDG_DATA_HOME", "")
    if xdg:
        return posixpath.join(xdg, APP) if posixpath.isabs(xdg) and xdg == xdg.strip() else None
    home = env.get("HOME", "")
    if not posixpath.isabs(home):
        return None
    return posixpath.join(os.path.expanduser("~/.local/share"), APP)


def default_data_dir() -> Path:
    """On Linux $XDG_DATA_HOME/blackboxai, by default ~/.local/share/blackboxai.

    Raises LookupError when it is not an absolute path: without HOME (and a passwd entry), or
    with a relative XDG_DATA_HOME, platformdirs may answer a relative path, which would put the
    state in whatever directory the user happens to be in."""
    found = _xdg_rule(os.environ)
    if found is None:
        try:
            from platformdirs import user_data_dir

            found = user_data_dir(APP, appauthor=False)
        except RuntimeError as exc:  # newer platformdirs: no absolute home to expand
            raise LookupError(
                "the user data directory is unknown: set HOME (or XDG_DATA_HOME)"
            ) from exc
    path = Path(found)
    if not path.is_absolute():
        raise LookupError("the user data directory is unknown: set HOME (or XDG_DATA_HOME)")
    return path


def locate_data_dir(data_dir: str | os.PathLike[str] | None) -> Path | str:
    """The data directory a caller gave, or the default; why there is none, when so. "" is
    refused, as an empty log path is: Path("") would be whatever directory the program is in."""
    if data_dir is not None:
        if not os.fspath(data_dir):
            return "data_dir is empty: name your program's own directory"
        return Path(data_dir)
    try:
        return default_data_dir()
    except LookupError as exc:
        return str(exc)
