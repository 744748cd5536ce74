"""Where analytics state lives: platformdirs' user data dir (imported only when needed)."""

from __future__ import annotations

from pathlib import Path

__all__ = ["default_data_dir"]


def default_data_dir() -> Path:
    """On Linux $XDG_DATA_HOME/blackboxai, by default ~/.local/share/blackboxai.

    Raises LookupError when it is not an absolute path: without HOME (and a passwd entry), or
    with a relative XDG_DATA_HOME, platformdirs answers a relative path, which would put the
    state in whatever directory the user happens to be in."""
    from platformdirs import user_data_dir

    path = Path(user_data_dir("blackboxai", appauthor=False))
    if not path.is_absolute():
        raise LookupError("the user data directory is unknown: set HOME (or XDG_DATA_HOME)")
    return path
