"""Issue #22: the library (`blackboxai.analytics.Analytics`, docs/library.md) used as another
program would use it: an empty data dir, and a program that forgets close()."""

from __future__ import annotations

import glob
import os
import subprocess
import sys
from pathlib import Path

import pytest

import blackboxai
from blackboxai.analytics import Analytics
from tests.loopback import Backend, refused_url
from tests.support import wait_for_no_uploaders, wait_until


def test_an_empty_data_dir_is_refused_and_nothing_is_written_to_the_current_directory() -> None:
    """As an empty log path is: Path("") is the current directory, which is no place for
    consent (and would make whatever directory a user runs from hold it)."""
    here = Path.cwd()
    analytics = Analytics(
        data_dir="", posthog_host=refused_url(), posthog_project_api_key="phc_test"
    )
    assert analytics.opt_in() is False
    assert analytics.last_error is not None and "data_dir is empty" in analytics.last_error
    assert analytics.enable() is False
    analytics.event("launched")
    assert analytics.disable(permanently=True) is False
    assert analytics.last_error is not None and "data_dir is empty" in analytics.last_error
    assert analytics.reset_id() is False
    assert analytics.clear_pending() == 0
    assert analytics.pending_count() == 0
    analytics.close()
    assert os.listdir(here) == []


# -- item 3: a program that forgets close() --------------------------------------------------------

# A program as docs/library.md allows it to be written: each Analytics object records an event
# and is dropped without close(). The promise: its events are handed over when the object is
# collected or at interpreter exit, and a failing launch is contained (never a traceback). The
# program then imports subprocess itself, as many do: the collector may run mid-import.
FORGETFUL = """
import sys
from blackboxai.analytics import Analytics

def record(first):
    analytics = Analytics(
        data_dir=sys.argv[1], posthog_host=sys.argv[2], posthog_project_api_key="phc_test"
    )
    if first:
        assert analytics.opt_in()
    analytics.enable()
    analytics.event("launched")

for i in range(int(sys.argv[3])):
    record(i == 0)
import subprocess
"""
OBJECTS = 3
SRC = Path(blackboxai.__file__).resolve().parent.parent
PYENV = Path(os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv"))  # before HOME moves


def forget_close(python: str, data_dir: Path, url: str, env: dict[str, str]) -> str:
    """Run FORGETFUL on `python`; its stderr (it must exit 0)."""
    script = Path.cwd() / "forgetful.py"  # the test's own working directory
    script.write_text(FORGETFUL)
    ran = subprocess.run(
        [python, str(script), str(data_dir), url, str(OBJECTS)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert ran.returncode == 0, ran.stderr
    return ran.stderr


def no_uploader_left(home: Path) -> None:
    if Path("/proc").is_dir():  # where uploaders can be listed (tests.support.uploaders)
        wait_for_no_uploaders(home)


def test_forgetting_close_hands_events_over_quietly(
    data_dir: Path, backend: Backend, isolated: Path
) -> None:
    try:
        stderr = forget_close(sys.executable, data_dir, backend.url, dict(os.environ))
        assert "Traceback" not in stderr and "Exception ignored" not in stderr, stderr
        assert backend.wait_for(posthog=OBJECTS, timeout=30), "not every event was handed over"
    finally:
        no_uploader_left(isolated / "home")


def python_313() -> str | None:
    """A CPython 3.13 on this machine: the one running the tests, or a pyenv build."""
    if sys.version_info[:2] == (3, 13):
        return sys.executable
    found = sorted(glob.glob(str(PYENV / "versions" / "3.13.*" / "bin" / "python")))
    return found[-1] if found else None


def test_forgetting_close_hands_events_over_quietly_on_python_313(
    data_dir: Path, backend: Backend, isolated: Path
) -> None:
    """On 3.13.0 one forgotten object is enough. That interpreter may lack the analytics SDKs
    (a bare pyenv build): the hand-over is then seen as the uploader's own record of its run,
    upload.last.json, rather than as events at the loopback backend."""
    python = python_313()
    if python is None:
        pytest.skip("no Python 3.13 on this machine (CI runs the suite on 3.13 too)")
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    try:
        stderr = forget_close(python, data_dir, backend.url, env)
        assert "Traceback" not in stderr and "Exception ignored" not in stderr, stderr
        ran = wait_until(lambda: (data_dir / "upload.last.json").exists(), 30)
        assert ran, "no uploader ran: the events were left waiting"
    finally:
        no_uploader_left(isolated / "home")
