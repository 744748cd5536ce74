"""Smoke test: `python -m bench.run --quick` runs to the end and prints every measurement with a
ratio."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import REPO

ROOT = REPO
MEASURES = [
    *("1a", "1b", "1c", "1d", "1e", "1f", "2a", "2b", "2c", "2d", "2e", "2f"),
    *("3a", "3b", "4", "5a", "5b", "5c"),
]


@pytest.mark.slow
def test_quick_run_prints_every_measurement(isolated: Path) -> None:
    env = dict(os.environ)  # the isolated fixture already cleared CI and tracking variables
    env["HOME"] = str(isolated / "home")
    env["XDG_DATA_HOME"] = str(isolated / "home" / ".local" / "share")
    done = subprocess.run(
        [sys.executable, "-m", "bench.run", "--quick"],
        cwd=ROOT,  # as bench/README.md says to run it
        capture_output=True,
        text=True,
        env=env,
        timeout=240,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    for ident in MEASURES:
        line = rf"^{ident}\s.*\bours\s.*\| baseline\s.*\| ratio (>=)?\d+(\.\d+)?x$"
        assert re.search(line, done.stdout, re.MULTILINE), f"no line for {ident}:\n{done.stdout}"
    assert "Summary" in done.stdout
    assert "CRASHED" not in done.stdout
