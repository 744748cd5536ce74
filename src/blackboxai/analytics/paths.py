"""Where analytics state lives: platformdirs' user data dir (imported only when needed)."""

from __future__ import annotations

from pathlib import Path

__all__ = ["default_data_dir"]


def default_data_dir() -> Path:
    """On Linux $XDG_DATA_HOME/blackboxai, by default ~/.local/share/blackboxai."""
    from platformdirs import user_data_dir

    return Path(user_data_dir("blackboxai", appauthor=False))
