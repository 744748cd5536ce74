"""Issue #22: a symlink loop is refused on every Python blackboxai supports (3.10 to 3.13).

Python 3.13's Path.resolve() no longer raises for a loop: it returns the looping path as it is.
So the same session is run on each interpreter found on this machine, not only the one running
the tests (the CLI's start-up and `/add` need nothing but blackboxai's own source).
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import blackboxai

SRC = Path(blackboxai.__file__).resolve().parent.parent
# PyYAML runs without its C extension: another interpreter can import this one's package.
YAML = Path(yaml.__file__).resolve().parent
VERSIONS = ["3.10", "3.11", "3.12", "3.13"]
LOOP_LINE = "Cannot use loop/y.py: too many levels of symbolic links."
# Read at import: each test runs with a HOME of its own.
PYENV = Path(os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv"))


def interpreter(version: str) -> str | None:
    """A Python `version` on this machine that runs: this one, `pythonX.Y` on PATH, or a pyenv
    build (a pyenv shim on PATH may only say that the version is not selected)."""
    if f"{sys.version_info.major}.{sys.version_info.minor}" == version:
        return sys.executable
    pyenv = sorted(glob.glob(str(PYENV / "versions" / f"{version}.*" / "bin" / "python")))
    for candidate in [shutil.which(f"python{version}"), *reversed(pyenv)]:
        if candidate is not None and _runs_as(candidate, version):
            return candidate
    return None


def _runs_as(python: str, version: str) -> bool:
    probe = "import sys; print('%d.%d' % sys.version_info[:2])"
    try:
        ran = subprocess.run([python, "-c", probe], capture_output=True, text=True, timeout=30)
    except OSError:
        return False
    return ran.returncode == 0 and ran.stdout.strip() == version


def session(python: str, *args: str, typed: str) -> subprocess.CompletedProcess[str]:
    """A session on `python`, fed `typed`, with blackboxai's source and PyYAML (to read a
    config file) first on its path: nothing else is imported before a message is sent."""
    shared = Path.cwd().parent / "pylib"
    if not shared.exists():
        shared.mkdir()
        (shared / "yaml").symlink_to(YAML, target_is_directory=True)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), str(shared)])}
    return subprocess.run(
        [python, "-m", "blackboxai", "--no-analytics", *args],
        input=typed,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


@pytest.fixture(params=VERSIONS)
def python(request: pytest.FixtureRequest) -> str:
    found = interpreter(request.param)
    if found is None:
        pytest.skip(f"no Python {request.param} on this machine (CI runs the suite on each)")
    return found


@pytest.fixture
def loop() -> Path:
    link = Path("loop")
    link.symlink_to("loop")
    return link


def test_add_refuses_a_name_inside_a_symlink_loop(python: str, loop: Path) -> None:
    result = session(python, typed="/add loop/y.py\n/ls\n")
    assert result.returncode == 0, result.stderr
    assert LOOP_LINE in result.stderr
    assert "Added loop/y.py" not in result.stdout
    assert "No files in the chat" in result.stdout


def test_a_project_file_cannot_name_a_file_inside_a_symlink_loop(python: str, loop: Path) -> None:
    Path(".blackboxai.conf.yml").write_text("file: [loop/y.py]\n")
    result = session(python, "--exit", typed="")
    assert result.returncode == 0, result.stderr
    [warning] = [line for line in result.stderr.splitlines() if "loop/y.py" in line]
    assert warning.startswith("blackboxai: ignoring file 'loop/y.py'")
