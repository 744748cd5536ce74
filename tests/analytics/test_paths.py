"""The analytics data directory is platformdirs' user data dir for blackboxai: on Linux the
common case is computed without importing platformdirs, and must agree with it exactly."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import platformdirs
import pytest

from blackboxai.analytics.paths import default_data_dir
from tests.support import imported_by_a_session

linux = pytest.mark.skipif(sys.platform != "linux", reason="the XDG rule is computed on Linux")


@linux
@pytest.mark.parametrize(
    ("xdg", "home"),
    [
        (None, "/home/ann"),
        ("", "/home/ann"),
        ("/data/ann", "/home/ann"),
        ("/data/ann/", "/home/ann"),
        ("/data//ann", "/home/ann/"),
        (None, "/home/ann/"),
        (" /data/ann", "/home/ann"),  # not absolute as written: platformdirs decides
        ("relative/dir", "/home/ann"),
        ("   ", "/home/ann"),
        (None, "/"),
    ],
)
def test_the_directory_is_the_one_platformdirs_names(
    xdg: str | None, home: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", home)
    if xdg is None:
        monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    else:
        monkeypatch.setenv("XDG_DATA_HOME", xdg)
    theirs = Path(platformdirs.user_data_dir("blackboxai", appauthor=False))
    if not theirs.is_absolute():
        with pytest.raises(LookupError):
            default_data_dir()
    else:
        assert default_data_dir() == theirs


@linux
def test_a_session_on_linux_does_not_import_platformdirs(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "HOME": str(tmp_path),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
    }
    found, stderr = imported_by_a_session(env, "platformdirs")
    assert found == ["False", "0"], stderr
